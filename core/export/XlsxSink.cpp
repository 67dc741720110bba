#include "export/XlsxSink.h"

#include <xlsxwriter.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace hailong::exports {

namespace {

constexpr lxw_row_t kDataRowsPerSheet = LXW_ROW_MAX - 1;   // Excel's rows, less the header
constexpr std::size_t kCellMax = 32767;                    // Excel's cell length, in UTF-16 units
constexpr std::size_t kSheetNameMax = LXW_SHEETNAME_MAX;   // 31
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The code point of the UTF-8 sequence at s[i] and its length, or length 0 when it is invalid
// (truncated, overlong, a surrogate, beyond U+10FFFF).
std::size_t decode(std::string_view s, std::size_t i, char32_t& cp) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t least = 0;
    if (lead < 0x80) {
        cp = lead;
        return 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2, cp = lead & 0x1Fu, least = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3, cp = lead & 0x0Fu, least = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4, cp = lead & 0x07u, least = 0x10000;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0u) != 0x80u) return 0;
        cp = (cp << 6) | (c & 0x3Fu);
    }
    if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// `s` as XML and Excel take it: invalid UTF-8 and characters XML forbids (control characters
// other than tab, LF and CR; U+FFFE, U+FFFF) become U+FFFD, and the text is cut on a character
// boundary to at most `max` UTF-16 units (how Excel counts; libxlsxwriter counts characters).
std::string clean(std::string_view s, std::size_t max) {
    std::string out;
    out.reserve(std::min(s.size(), max));
    std::size_t units = 0;
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        std::size_t n = decode(s, i, cp);
        std::string_view piece = s.substr(i, n);
        if (n == 0) {
            n = 1;
            piece = kReplacement;
        } else if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE ||
                   cp == 0xFFFF) {
            piece = kReplacement;
        }
        const std::size_t width = cp >= 0x10000 ? 2 : 1;
        if (units + width > max) break;
        units += width;
        out += piece;
        i += n;
    }
    return out;
}

// `raw` made a sheet name Excel accepts, not yet unique: no []:*?/\ (they become '_') nor line
// breaks, no apostrophe or space first or last, at most `max` (≤ 31) UTF-16 units.
std::string sheetName(std::string_view raw, std::size_t max) {
    std::string s = clean(raw, kCellMax);
    for (char& c : s) {
        if (c == '[' || c == ']' || c == ':' || c == '*' || c == '?' || c == '/' || c == '\\')
            c = '_';
        else if (c == '\t' || c == '\n' || c == '\r')
            c = ' ';
    }
    auto trim = [](std::string& t) {
        const auto edge = [](char c) { return c == '\'' || c == ' '; };
        while (!t.empty() && edge(t.back())) t.pop_back();
        std::size_t first = 0;
        while (first < t.size() && edge(t[first])) ++first;
        t.erase(0, first);
    };
    trim(s);
    s = clean(s, max);
    trim(s);
    return s;
}

// Excel compares sheet names without case; this folds ASCII letters only.
std::string folded(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// The column width (in characters) that shows `header` whole, within reason.
double widthFor(const std::string& header) {
    return static_cast<double>(std::clamp<std::size_t>(clean(header, 64).size() + 2, 10, 40));
}

// libxlsxwriter 1.1 closes a constant-memory worksheet's temporary file only when it copies the
// sheet's cells into the workbook: neither for a sheet without cells nor when the workbook is
// freed without being closed. This closes it in those two cases.
void releaseTmpfile(lxw_worksheet* ws) {
    if (ws->optimize_tmpfile == nullptr) return;
    std::fclose(ws->optimize_tmpfile);
    ws->optimize_tmpfile = nullptr;
    ws->file = nullptr;
}

// One XLSX workbook being written. Owns the libxlsxwriter workbook (and through it, one temporary
// file per worksheet in the temporary directory) until end() closes it or the destructor drops
// it, and the extra sheets until begin() writes them. The worksheets are added in begin(), in the
// order they appear: the responses (as many sheets as the announced row count needs), the
// codebook, the extras; a sheet for rows beyond those announced comes last. The codebook and the
// extras are written whole in begin(), the responses a row at a time after: each sheet's rows
// come in increasing order, as constant-memory mode requires (libxlsxwriter keeps one row per
// sheet in memory and writes it out when a later row of that sheet starts). Not thread-safe.
class XlsxSink final : public RowSink {
public:
    XlsxSink(const std::string& path, const std::string& tmpDir, const Messages& messages,
             const std::string& language, std::vector<Sheet> extra)
        : path_(path), messages_(messages), language_(language), extra_(std::move(extra)) {
        std::string dir = tmpDir;  // libxlsxwriter copies it
        lxw_workbook_options options{};
        options.constant_memory = LXW_TRUE;
        options.tmpdir = dir.empty() ? nullptr : dir.data();
        workbook_ = workbook_new_opt(path.c_str(), &options);
        if (workbook_ == nullptr) throw std::runtime_error("cannot create workbook " + path);
        bold_ = workbook_add_format(workbook_);
        if (bold_ == nullptr) {
            lxw_workbook_free(workbook_);
            throw std::runtime_error("cannot create workbook " + path);
        }
        format_set_bold(bold_);
        used_.insert("history");  // Excel reserves it
    }

    XlsxSink(const XlsxSink&) = delete;
    XlsxSink& operator=(const XlsxSink&) = delete;

    ~XlsxSink() override {
        if (workbook_ == nullptr) return;
        // Never completed: drop everything without writing a file (the caller may already
        // have removed its half-written one). Writing out each sheet's pending row frees its
        // cells, which lxw_workbook_free leaves.
        for (lxw_worksheet* ws : sheets_) {
            if (ws->optimize_tmpfile != nullptr) lxw_worksheet_write_single_row(ws);
            releaseTmpfile(ws);
        }
        lxw_workbook_free(workbook_);
    }

    void begin(const std::vector<Column>& columns, std::size_t rows) override {
        if (begun_) throw std::logic_error("XLSX export begun twice");
        begun_ = true;
        for (const Column& c : columns) {
            header_.push_back(c.name);
            numeric_.push_back(c.numeric);
        }
        responsesName_ =
            sheetName(messages_.text(language_, "export.sheet.responses"), kSheetNameMax);
        const std::size_t sheets =
            std::max<std::size_t>(1, (rows + kDataRowsPerSheet - 1) / kDataRowsPerSheet);
        for (std::size_t k = 0; k < sheets; ++k) addResponsesSheet();
        writeCodebook(columns);
        for (const Sheet& sheet : extra_) writeExtra(sheet);
        extra_.clear();
        extra_.shrink_to_fit();
    }

    void row(const std::vector<ExportValue>& cells) override {
        if (!begun_ || workbook_ == nullptr)
            throw std::logic_error("XLSX row outside begin() and end()");
        if (next_ >= LXW_ROW_MAX) {  // this sheet is full: on to the next, header repeated
            if (++current_ == responses_.size()) addResponsesSheet();
            next_ = 1;
        }
        lxw_worksheet* ws = responses_[current_];
        for (std::size_t i = 0; i < cells.size(); ++i)
            write(ws, next_, i, cells[i], i < numeric_.size() && numeric_[i]);
        ++next_;
    }

    void end() override {
        if (workbook_ == nullptr) throw std::logic_error("XLSX export ended twice");
        if (!begun_) begin({}, 0);
        for (lxw_worksheet* ws : sheets_)
            if (ws->dim_rowmin == LXW_ROW_MAX) releaseTmpfile(ws);  // no cells: file unread
        lxw_workbook* workbook = workbook_;
        workbook_ = nullptr;  // workbook_close frees it, whether it succeeds or not
        const lxw_error err = workbook_close(workbook);
        if (err != LXW_NO_ERROR)
            throw std::runtime_error("cannot write " + path_ + ": " + lxw_strerror(err));
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("XLSX " + path_ + ": " + what);
    }

    void check(lxw_error err) const {
        if (err != LXW_NO_ERROR) fail(lxw_strerror(err));
    }

    // A new worksheet named `wanted` made valid and unique (" (2)", " (3)"… when taken).
    lxw_worksheet* addSheet(const std::string& wanted) {
        std::string base = sheetName(wanted, kSheetNameMax);
        if (base.empty()) base = "Sheet " + std::to_string(sheets_.size() + 1);
        std::string name = base;
        for (int k = 2; used_.contains(folded(name)); ++k) {
            const std::string suffix = " (" + std::to_string(k) + ")";
            name = sheetName(base, kSheetNameMax - suffix.size()) + suffix;
        }
        lxw_worksheet* ws = workbook_add_worksheet(workbook_, name.c_str());
        if (ws == nullptr) fail("cannot add the sheet " + name);
        used_.insert(folded(name));
        sheets_.push_back(ws);
        return ws;
    }

    // A bold header on the first row, frozen, its columns wide enough to read.
    void writeHeader(lxw_worksheet* ws, const std::vector<std::string>& header) {
        if (header.empty()) return;
        for (std::size_t i = 0; i < header.size(); ++i) {
            writeText(ws, 0, i, header[i], bold_);
            check(worksheet_set_column(ws, col(i), col(i), widthFor(header[i]), nullptr));
        }
        worksheet_freeze_panes(ws, 1, 0);
    }

    // Another sheet of responses: the first takes the localized name, the next "<name> 2"…
    void addResponsesSheet() {
        std::string name = responsesName_;
        if (!responses_.empty()) {
            const std::string suffix = " " + std::to_string(responses_.size() + 1);
            name = sheetName(responsesName_, kSheetNameMax - suffix.size()) + suffix;
        }
        lxw_worksheet* ws = addSheet(name);
        writeHeader(ws, header_);
        responses_.push_back(ws);
    }

    void writeCodebook(const std::vector<Column>& columns) {
        auto text = [&](const char* key) { return messages_.text(language_, key); };
        lxw_worksheet* ws = addSheet(text("export.sheet.codebook"));
        writeHeader(ws, {text("export.codebook.name"), text("export.codebook.label"),
                         text("export.codebook.type"), text("export.codebook.measure"),
                         text("export.codebook.values")});
        check(worksheet_set_column(ws, 1, 1, 50, nullptr));
        check(worksheet_set_column(ws, 4, 4, 60, nullptr));
        lxw_row_t r = 1;
        for (const Column& c : columns) {
            const char* measure = "export.measure.nominal";
            switch (c.measure) {
                case Measure::Nominal:
                    break;
                case Measure::Ordinal:
                    measure = "export.measure.ordinal";
                    break;
                case Measure::Scale:
                    measure = "export.measure.scale";
                    break;
            }
            std::string values;
            for (const ValueLabel& v : c.values)
                values += (values.empty() ? "" : "; ") + numberText(v.value) + " = " + v.label;
            writeText(ws, r, 0, c.name);
            writeText(ws, r, 1, c.label);
            writeText(ws, r, 2, text(c.numeric ? "export.type.numeric" : "export.type.text"));
            writeText(ws, r, 3, text(measure));
            writeText(ws, r, 4, values);
            if (r + 1 >= LXW_ROW_MAX) fail("too many columns for the codebook");
            ++r;
        }
    }

    void writeExtra(const Sheet& sheet) {
        lxw_worksheet* ws = addSheet(sheet.name);
        writeHeader(ws, sheet.header);
        lxw_row_t r = sheet.header.empty() ? 0 : 1;
        for (const auto& cells : sheet.rows) {
            if (r >= LXW_ROW_MAX) fail("too many rows in the sheet " + sheet.name);
            for (std::size_t i = 0; i < cells.size(); ++i)
                write(ws, r, i, cells[i], i < sheet.numeric.size() && sheet.numeric[i]);
            ++r;
        }
    }

    lxw_col_t col(std::size_t i) const {
        if (i >= LXW_COL_MAX) fail("more than 16,384 columns");
        return static_cast<lxw_col_t>(i);
    }

    void writeText(lxw_worksheet* ws, lxw_row_t r, std::size_t c, const std::string& text,
                   lxw_format* format = nullptr) {
        if (text.empty()) return;
        // A string cell, never a formula: "=HYPERLINK(…)" stays the text it is.
        check(worksheet_write_string(ws, r, col(c), clean(text, kCellMax).c_str(), format));
    }

    // Missing cells and numbers that are not finite stay empty.
    void write(lxw_worksheet* ws, lxw_row_t r, std::size_t c, const ExportValue& v, bool number) {
        if (v.missing) return;
        if (!number) {
            writeText(ws, r, c, v.text);
        } else if (std::isfinite(v.number)) {
            check(worksheet_write_number(ws, r, col(c), v.number, nullptr));
        }
    }

    std::string path_;
    const Messages& messages_;
    std::string language_;
    std::vector<Sheet> extra_;
    lxw_workbook* workbook_ = nullptr;       // null once closed
    lxw_format* bold_ = nullptr;             // owned by the workbook
    std::vector<lxw_worksheet*> sheets_;     // every sheet, in order (owned by the workbook)
    std::vector<lxw_worksheet*> responses_;  // the responses' sheets, in order
    std::set<std::string> used_;             // sheet names taken, folded
    std::string responsesName_;
    std::vector<std::string> header_;
    std::vector<bool> numeric_;
    std::size_t current_ = 0;  // the responses' sheet being written
    lxw_row_t next_ = 1;       // its next row
    bool begun_ = false;
};

}  // namespace

std::unique_ptr<RowSink> xlsxSink(const std::string& path, const std::string& tmpDir,
                                  const Messages& messages, const std::string& language,
                                  std::vector<Sheet> extra) {
    return std::make_unique<XlsxSink>(path, tmpDir, messages, language, std::move(extra));
}

}  // namespace hailong::exports
