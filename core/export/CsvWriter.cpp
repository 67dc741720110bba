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

}  // namespace

CsvDialect CsvDialect::plain() {
    return CsvDialect{',', false, true};
}

CsvDialect CsvDialect::excel(char delimiter) {
    return CsvDialect{delimiter, true, true};
}

std::string neutralised(std::string_view cell) {
    if (cell.empty()) return std::string();
    const char first = cell.front();
    const bool risky = first == '=' || first == '+' || first == '-' || first == '@' ||
                       first == '\t' || first == '\r';
    if (!risky || plainNumber(cell)) return std::string(cell);
    return "'" + std::string(cell);
}

CsvWriter::CsvWriter(std::ostream& out, CsvDialect dialect) : out_(out), dialect_(dialect) {
    if (dialect_.delimiter != ',' && dialect_.delimiter != ';')
        throw std::invalid_argument("CSV delimiter must be ',' or ';'");
}

void CsvWriter::cell(std::string_view text) {
    const std::string safe = dialect_.neutraliseFormulas ? neutralised(text) : std::string(text);
    bool quote = !safe.empty() && (safe.front() == ' ' || safe.back() == ' ');
    for (char c : safe)
        if (c == dialect_.delimiter || c == '"' || c == '\r' || c == '\n') quote = true;
    if (!quote) {
        out_ << safe;
        return;
    }
    out_ << '"';
    for (char c : safe) {
        if (c == '"') out_ << '"';
        out_ << c;
    }
    out_ << '"';
}

void CsvWriter::row(const std::vector<std::string>& cells) {
    if (!started_) {
        if (dialect_.bom) out_ << "\xEF\xBB\xBF";
        started_ = true;
    }
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i > 0) out_ << dialect_.delimiter;
        cell(cells[i]);
    }
    out_ << "\r\n";
    ++rows_;
}

}  // namespace hailong::exports
