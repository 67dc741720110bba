// hailong — CsvReader: RFC 4180 CSV as exported by spreadsheets and one-stop systems.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// One record with the physical line it starts on (1-based).
struct CsvRecord {
    std::size_t line = 0;
    std::vector<std::string> fields;
};

/// Parses a whole CSV text. Accepts a UTF-8 BOM, CRLF or LF, quoted fields with "" escapes and
/// embedded newlines, and ',', ';' or tab as delimiter (detected from the header line).
/// Not thread-safe; use one reader per text.
class CsvReader {
public:
    explicit CsvReader(std::string_view text);
    char delimiter() const { return delimiter_; }
    /// The next record; false at the end. Throws Problem(422, "csv.unterminated_quote") with
    /// the line number for a quote that never closes.
    bool next(CsvRecord& record);

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
    char delimiter_ = ',';
};

}  // namespace hailong
