// hailong — responses typed from paper forms (or exported by another system), imported from a
// CSV or XLSX file with a report of every row kept or rejected.
#pragma once

#include "directory/DirectoryImporter.h"
#include "hailong/Ingest.h"
#include "hailong/Messages.h"
#include "hailong/Survey.h"
#include "hailong/TextNormalizer.h"
#include "text/Decoding.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong::exports {

struct ResponseImportOptions {
    std::string surveyId;
    bool dryRun = false;  ///< read and check every row, store nothing
    /// Dry runs: checks a row as storing it would (throws the same Problem), stores nothing.
    std::function<void(const Submission&)> check;
    /// When set, asked for each row before it is checked or stored: an error rejects the row
    /// (the console keeps an official's import inside their subtree).
    std::function<std::optional<FieldError>(const Submission&)> admit;
    /// When set, told how many rows are read (stored, duplicate or rejected) of how many.
    std::function<void(std::size_t done, std::size_t total)> progress;
    std::string channel = "paper";
    std::string language = "vi";  ///< of the report's reasons
};

/// What an import did.
struct ResponseImportReport {
    std::string encoding;  ///< how the file was read: "utf8", "tcvn3", "vni", "cp1258"… or "xlsx"
    double confidence = 1;             ///< how sure the detection is, 0..1
    std::string encodingReason;        ///< why, in a few words
    std::vector<std::string> mapping;  ///< each column used: "header → what it fills"
    std::vector<std::string> ignored;  ///< columns not used, with why
    std::size_t rows = 0, imported = 0, duplicates = 0;
    std::vector<ImportRejection> rejected;  ///< line (CSV) or row (XLSX) and reasons
};

/// Reads `content` (CSV in UTF-8, CP1258, TCVN3 or VNI, detected and reported; or an XLSX
/// workbook's first sheet, by its file name or its bytes) and submits one response per row
/// through `ingest` on channel `options.channel`. Columns are matched to the survey's current
/// version by question id, by the export's column name, or by the question's text (with or
/// without diacritics); answers may be an option's value, code, id or label. Columns for the
/// dossier, agency, counter, officer, procedure, the answer time ("2026-11-28 14:05" or
/// "28/11/2026") and a form number ("form_id", "so_phieu") are read as such. Every row is
/// checked by the survey's rules; a rejected row is reported with its line and reasons and
/// the others are kept. Re-importing a file stores nothing twice: a row's key is its form
/// number, else its content and its rank among identical rows of the file. Throws Problem 404
/// for an unknown survey, 422 for a file that cannot be read at all (no header, bad XLSX), 400
/// ("text.invalid_encoding") for bytes that no encoding reads.
ResponseImportReport importResponses(Ingest& ingest, const SurveyCatalog& surveys,
                                     const TextNormalizer& text, const vi::LegacyTables& tables,
                                     const Messages& messages, std::string_view content,
                                     std::string_view fileName,
                                     const ResponseImportOptions& options);

/// The first sheet of an XLSX workbook as rows of cell texts (numbers as the shortest text that
/// reads back the same), each with its row number. Throws Problem 422 ("import.bad_xlsx") when
/// the bytes are not a workbook. Bounded: at most 1,048,576 rows of 16,384 columns.
std::vector<std::pair<std::size_t, std::vector<std::string>>> readXlsxSheet(std::string_view bytes);

}  // namespace hailong::exports
