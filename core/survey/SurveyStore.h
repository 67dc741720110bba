// hailong — SurveyStore: every version of every survey, kept in the database and in memory.
#pragma once

#include "store/Database.h"
#include "survey/SurveyParser.h"

#include <hailong/Survey.h>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

namespace hailong {

/// The SurveyCatalog behind the host. A published version never changes: publishing other
/// content makes a new version, publishing the same content is a no-op, and responses keep
/// pointing at the version they answered. Thread-safe (reader/writer lock over the in-memory
/// copy; writes go to the database first).
class SurveyStore final : public SurveyCatalog {
public:
    explicit SurveyStore(Database& db) : db_(db) {}

    /// Reads every stored version into memory.
    void load();

    struct Published {
        std::string id;
        int version = 0;
        bool created = false;  ///< false: identical to the latest version, nothing new
    };
    /// Validates `json` and publishes it unless it equals the latest version (or, with
    /// `unlessSeen`, any version: what the surveys folder uses, so that a file published once is
    /// not published again over a version an official made or a retirement). Throws
    /// Problem(422, "survey.invalid") listing every error with its JSON path; nothing is stored.
    Published publish(const std::string& json, const std::string& source, bool unlessSeen = false);

    /// What happened to one file of a folder.
    struct FileResult {
        std::string file;
        Published published;
        std::vector<FieldError> errors;  ///< not empty: the file was skipped whole
    };
    /// Publishes every changed `*.json` of `folder` (sorted by name); invalid files are
    /// reported and skipped, never half-loaded.
    std::vector<FileResult> publishFolder(const std::string& folder);

    /// Marks a version retired: it takes no new responses but stays for analysis. Throws
    /// Problem(404) when there is no such version.
    void retire(const std::string& id, int version);

    std::shared_ptr<const Survey> find(std::string_view id, int version = 0) const override;
    std::vector<std::shared_ptr<const Survey>> list() const override;
    std::vector<std::shared_ptr<const Survey>> versions(std::string_view id = {}) const override;

    /// The stored definition (canonical JSON) of a version, for the API and exports.
    std::string definition(const std::string& id, int version) const;

private:
    void remember(std::shared_ptr<const Survey> survey, std::string definition);

    Database& db_;
    mutable std::shared_mutex mutex_;
    struct Entry {
        std::shared_ptr<const Survey> survey;
        std::string definition;
    };
    std::map<std::string, std::map<int, Entry>, std::less<>> surveys_;
};

}  // namespace hailong
