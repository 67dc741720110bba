// hailong — JsonSurveyCatalog: surveys read from the JSON files of a folder.
#pragma once

#include <hailong/Survey.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hailong {

/// Loads every `*.json` survey file of a folder at construction. Thread-safe (immutable after
/// construction). Files that fail to parse are skipped and listed in loadErrors().
class JsonSurveyCatalog final : public SurveyCatalog {
public:
    explicit JsonSurveyCatalog(const std::string& folder);

    std::shared_ptr<const Survey> find(std::string_view id, int version = 0) const override;
    std::vector<std::shared_ptr<const Survey>> list() const override;
    const std::vector<std::string>& loadErrors() const { return errors_; }

    /// Parses one survey document; throws std::runtime_error saying what is wrong and where.
    static Survey parse(const std::string& json);

private:
    // id -> version -> survey
    std::map<std::string, std::map<int, std::shared_ptr<const Survey>>, std::less<>> surveys_;
    std::vector<std::string> errors_;
};

}  // namespace hailong
