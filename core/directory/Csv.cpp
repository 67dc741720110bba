#include "directory/Csv.h"

#include <hailong/Problem.h>

namespace hailong {

CsvReader::CsvReader(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);
    // Detect the delimiter from the first line, outside quotes.
    std::size_t commas = 0, semicolons = 0, tabs = 0;
    bool quoted = false;
    for (char c : text_) {
        if (c == '"') quoted = !quoted;
        if (quoted) continue;
        if (c == '\n') break;
        commas += c == ',';
        semicolons += c == ';';
        tabs += c == '\t';
    }
    if (semicolons > commas && semicolons >= tabs) delimiter_ = ';';
    if (tabs > commas && tabs > semicolons) delimiter_ = '\t';
}

bool CsvReader::next(CsvRecord& record) {
    record.fields.clear();
    // Skip blank lines between records.
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
        if (text_[pos_] == '\n') ++line_;
        ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    record.line = line_;
    std::string field;
    bool quoted = false, wasQuoted = false;
    while (pos_ < text_.size()) {
        const char c = text_[pos_++];
        if (quoted) {
            if (c == '"') {
                if (pos_ < text_.size() && text_[pos_] == '"') {
                    field.push_back('"');
                    ++pos_;
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n') ++line_;
                field.push_back(c);
            }
            continue;
        }
        if (c == '"' && field.empty() && !wasQuoted) {
            quoted = wasQuoted = true;
        } else if (c == delimiter_) {
            record.fields.push_back(std::move(field));
            field.clear();
            wasQuoted = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
            ++line_;
            break;
        } else {
            field.push_back(c);
        }
    }
    if (quoted)
        throw Problem(422, "csv.unterminated_quote", {{"line", std::to_string(record.line)}});
    record.fields.push_back(std::move(field));
    return true;
}

}  // namespace hailong
