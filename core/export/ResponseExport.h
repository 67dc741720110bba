// hailong — exporting a survey's responses, row by row, to any format.
#pragma once

#include "export/Codebook.h"
#include "hailong/Messages.h"
#include "hailong/Survey.h"
#include "store/Database.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace hailong::exports {

/// Which responses an export holds.
struct ExportFilter {
    std::string surveyId;
    std::optional<int> version;                  ///< none: every version (the latest's columns)
    std::string scopePath;                       ///< an agency subtree's path; "" every response
    std::optional<std::int64_t> fromDay, toDay;  ///< local days, inclusive
    std::optional<std::string> channel;
    std::optional<std::string> procedureCode;
    std::string language = "vi";  ///< of labels and value labels
};

/// One cell: missing, a number, or a text.
struct ExportValue {
    bool missing = true;
    double number = 0;
    std::string text;
};

/// Receives an export: its columns and how many rows will follow, then the rows one at a time,
/// then the end. Formats (CSV, JSON Lines, XLSX, SAV) implement it.
class RowSink {
public:
    virtual ~RowSink() = default;
    virtual void begin(const std::vector<Column>& columns, std::size_t rows) = 0;
    /// Whether begin() needs each text column's longest cell (Column::width): a format with
    /// fixed-width strings (SAV). Measuring costs a pass over the rows.
    virtual bool needsWidths() const { return false; }
    virtual void row(const std::vector<ExportValue>& cells) = 0;
    virtual void end() = 0;
};

/// CSV through CsvWriter: a header row of column names, numbers printed plainly, missing cells
/// empty. Not thread-safe.
std::unique_ptr<RowSink> csvSink(std::ostream& out, bool excel, char delimiter);
/// A worksheet of a table that is not the responses (the codebook, the indices).
struct Sheet {
    std::string name;
    std::vector<std::string> header;
    std::vector<bool> numeric;  ///< per column: numbers (a column not listed holds texts)
    std::vector<std::vector<ExportValue>> rows;
};

/// How every export prints a number: whole numbers without decimals ("5"), others with up to
/// 15 significant digits ("2.5").
std::string numberText(double v);

/// One JSON object per line, keyed by column name: numbers as numbers, missing as null.
std::unique_ptr<RowSink> jsonLinesSink(std::ostream& out);

/// Progress of a running export: rows written so far, of how many.
using ExportProgress = std::function<void(std::size_t done, std::size_t total)>;

/// Reads the responses of `filter` in the order they were stored, a batch at a time (memory
/// does not grow with the number of rows), and writes them to `sink` with the columns of the
/// survey's codebook. Phone numbers are never read. Throws Problem 404 for an unknown survey
/// or version. Returns the number of rows. Thread-safe as far as the database is.
std::size_t exportResponses(Database& db, const SurveyCatalog& surveys, const Messages& messages,
                            const ExportFilter& filter, RowSink& sink,
                            const ExportProgress& progress = {});

}  // namespace hailong::exports
