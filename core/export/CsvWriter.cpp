#include "export/CsvWriter.h"

#include <stdexcept>

namespace hailong::exports {

namespace {

// "-2", "+1.5", "3,25": what a number typed by hand looks like, which is safe as it is.
bool plainNumber(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    bool digits = false, mark = false;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c >= '0' && c <= '9') {
            digits = true;
        } else if ((c == '.' || c == ',') && digits && !mark) {
            mark = true;
            digits = false;  // a digit must follow the decimal mark
        } else {
            return false;
        }
    }
    return digits;
}

// Whether a spreadsheet would run `cell` as a formula.
bool risky(std::string_view cell) {
    if (cell.empty()) return false;
    const char first = cell.front();
    return (first == '=' || first == '+' || first == '-' || first == '@' || first == '\t' ||
            first == '\r') &&
           !plainNumber(cell);
}

}  // namespace

CsvDialect CsvDialect::plain() {
    return CsvDialect{',', false, true};
}

CsvDialect CsvDialect::excel(char delimiter) {
    return CsvDialect{delimiter, true, true};
}

std::string neutralised(std::string_view cell) {
    return risky(cell) ? "'" + std::string(cell) : std::string(cell);
}

CsvWriter::CsvWriter(std::ostream& out, CsvDialect dialect) : out_(out), dialect_(dialect) {
    if (dialect_.delimiter != ',' && dialect_.delimiter != ';')
        throw std::invalid_argument("CSV delimiter must be ',' or ';'");
}

void CsvWriter::cell(std::string_view text) {
    if (!started_) {
        if (dialect_.bom) out_ << "\xEF\xBB\xBF";
        started_ = true;
    }
    if (!first_) out_.put(dialect_.delimiter);
    first_ = false;
    const bool prefix = dialect_.neutraliseFormulas && risky(text);
    const char specials[] = {dialect_.delimiter, '"', '\r', '\n', '\0'};
    const bool quote = (!text.empty() && (text.front() == ' ' || text.back() == ' ')) ||
                       text.find_first_of(specials) != std::string_view::npos;
    if (quote) out_.put('"');
    if (prefix) out_.put('\'');
    if (quote) {
        for (std::size_t at; (at = text.find('"')) != std::string_view::npos;) {
            out_.write(text.data(), static_cast<std::streamsize>(at + 1));
            out_.put('"');
            text.remove_prefix(at + 1);
        }
    }
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (quote) out_.put('"');
}

void CsvWriter::endRow() {
    out_ << "\r\n";
    first_ = true;
    ++rows_;
}

void CsvWriter::row(const std::vector<std::string>& cells) {
    for (const std::string& c : cells) cell(c);
    endRow();
}

}  // namespace hailong::exports
