// hailong — DirectoryImporter: directory and dossier files (CSV or JSON) exported by one-stop
// systems, with a report of what was created, updated and rejected.
#pragma once

#include <functional>
#include <map>
#include <optional>

#include "directory/DirectoryStore.h"

#include <hailong/Problem.h>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

struct ImportOptions {
    bool dryRun = false;  ///< validate and report, write nothing
    bool strict = false;  ///< any rejected row writes nothing
    /// When set, asked for each row (its kind and canonical fields) before it is written: an
    /// error rejects the row (the console keeps an official's import inside their subtree).
    std::function<std::optional<FieldError>(const std::string& kind,
                                            const std::map<std::string, std::string>& fields)>
        admit;
    /// When set, told how many rows are done (written or rejected) of how many, as they go.
    std::function<void(std::size_t done, std::size_t total)> progress;
};

struct ImportRejection {
    std::size_t line = 0;  ///< line in the file (CSV) or item number (JSON, 1-based)
    std::string kind;      ///< "agency", "dossier", ...
    std::string code;      ///< the row's code, if it had one
    std::vector<FieldError> errors;
};

struct ImportReport {
    std::size_t rows = 0, created = 0, updated = 0, unchanged = 0;
    std::vector<ImportRejection> rejected;
    bool committed = false;  ///< false for dry runs, strict runs with rejections, and failures
};

/// Applies an import in one transaction: every good row is written, every bad row is reported
/// with its line and reasons, and a failure of the database writes nothing at all. Rows are
/// applied parents first, whatever their order in the file. Not thread-safe (one per import).
class DirectoryImporter {
public:
    explicit DirectoryImporter(DirectoryStore& store) : store_(store) {}

    /// Directory rows: agencies, procedures, counters, officers, devices. CSV needs a `type`
    /// column; JSON is {"agencies": [...], "counters": [...], ...}.
    ImportReport importDirectory(std::string_view content, std::string_view fileName,
                                 const ImportOptions& options);
    /// Dossier rows: CSV, a JSON array, or {"dossiers": [...]}.
    ImportReport importDossiers(std::string_view content, std::string_view fileName,
                                const ImportOptions& options);

private:
    struct Row {
        std::size_t line = 0;
        std::string kind;
        std::map<std::string, std::string> fields;  // canonical column name -> value
    };
    std::vector<Row> readRows(std::string_view content, std::string_view fileName, bool dossiers);
    ImportReport apply(std::vector<Row> rows, const ImportOptions& options);
    SaveOutcome saveRow(Poco::Data::Session& s, const Row& row);

    DirectoryStore& store_;
};

}  // namespace hailong
