// hailong — CSV output for exports: RFC 4180 for programs, or the variant Excel opens correctly.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace hailong::exports {

/// The dialect of a CSV file.
struct CsvDialect {
    char delimiter = ',';  ///< ',' or ';' (Excel in locales whose decimal mark is a comma)
    bool bom = false;      ///< UTF-8 byte order mark first: how Excel knows the file is UTF-8
    /// Cells a spreadsheet would run as formulas get a leading apostrophe (see neutralised()).
    bool neutraliseFormulas = true;

    /// RFC 4180: ',' and CRLF, no BOM; for R, Stata, Python and other programs.
    static CsvDialect plain();
    /// For Excel: a BOM, CRLF and the delimiter chosen (',' or ';').
    static CsvDialect excel(char delimiter);
};

/// `cell` as a spreadsheet should show it: a cell starting with = + - @, a tab or a carriage
/// return (which Excel and LibreOffice run as a formula, "CSV injection") gets a leading
/// apostrophe; plain numbers such as "-2" or "+1.5" are left alone.
std::string neutralised(std::string_view cell);

/// Writes rows of cells as CSV to a stream, one row at a time (memory does not grow with the
/// number of rows). Cells are quoted when they hold the delimiter, a quote, CR or LF, or begin or
/// end with a space; quotes are doubled; lines end in CRLF. Owns nothing but its dialect and a
/// row count; not thread-safe (one writer per stream).
class CsvWriter {
public:
    /// Rejects a delimiter other than ',' or ';' (std::invalid_argument: a bug in the caller).
    CsvWriter(std::ostream& out, CsvDialect dialect);

    void row(const std::vector<std::string>& cells);
    /// A row a cell at a time (no copies): cell() for each, then endRow().
    void cell(std::string_view text);
    void endRow();
    std::size_t rows() const { return rows_; }

private:
    std::ostream& out_;
    CsvDialect dialect_;
    std::size_t rows_ = 0;
    bool started_ = false, first_ = true;  // the file's first cell; the row's first cell
};

}  // namespace hailong::exports
