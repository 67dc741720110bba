// hailong — exports as SPSS system files (.sav), written through libreadstat.
#include "export/SavSink.h"

#include <readstat.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hailong::exports {

namespace {

// SPSS's limits, in bytes. readstat cuts variable labels at 256 bytes and value labels at 120
// without regard to UTF-8; we cut first, on a character boundary (variable labels at 255, the
// bound of the older SPSS versions).
constexpr std::size_t kVariableLabelBytes = 255;
constexpr std::size_t kValueLabelBytes = 120;
constexpr std::size_t kShortString = 255;  ///< longer strings are written in segments

// Storage widths of string variables, in bytes, by where their cells come from (SPSS allows up to
// 32,767). Strings longer than 255 bytes are "very long strings", written as segments of 252
// bytes; with row compression, blank padding costs a byte per 8 bytes. Comments and text
// answers: 2,000 characters (the comment's bound; text answers default to 1,000) of up to 3
// bytes each in UTF-8 (any character of the Basic Multilingual Plane, composed or not); longer
// texts are cut on a character boundary.
constexpr std::size_t kLongTextBytes = 6000;

std::size_t widthOf(Source source) {
    switch (source) {
        case Source::Receipt:
            return 32;
        case Source::Dossier:
        case Source::AgencyCode:
        case Source::Counter:
        case Source::Officer:
        case Source::Procedure:
            return 64;  // codes are at most 64 bytes
        case Source::AgencyPath:
            return 1024;
        case Source::Channel:
            return 32;  // a channel is at most 32 bytes
        case Source::AnsweredAt:
        case Source::ReceivedAt:
            return 19;  // "2026-11-28 06:11:05"
        case Source::Sentiment:
            return 16;
        case Source::Topics:
            return 256;
        case Source::CommentRaw:
        case Source::CommentNorm:
        case Source::Answer:
        case Source::Other:
            return kLongTextBytes;
        case Source::Version:
        case Source::Chosen:
            break;  // numeric columns; as texts, short
    }
    return kShortString;
}

/// The longest prefix of `s` of at most `max` bytes that does not split a UTF-8 sequence.
std::string_view cut(std::string_view s, std::size_t max) {
    if (s.size() <= max) return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}

readstat_measure_t measureOf(Measure m) {
    switch (m) {
        case Measure::Nominal:
            return READSTAT_MEASURE_NOMINAL;
        case Measure::Ordinal:
            return READSTAT_MEASURE_ORDINAL;
        case Measure::Scale:
            return READSTAT_MEASURE_SCALE;
    }
    return READSTAT_MEASURE_UNKNOWN;
}

/// Whether a numeric column holds whole numbers only (option values, versions, 0/1 flags).
bool wholeNumbers(const Column& c) {
    if (c.source == Source::Version || c.source == Source::Chosen) return true;
    if (c.values.empty()) return false;
    for (const ValueLabel& v : c.values)
        if (v.value != std::floor(v.value)) return false;
    return true;
}

/// How many segments readstat writes for a string of `width` bytes: one, or one per 252 bytes.
std::size_t segmentsOf(std::size_t width) {
    return width <= kShortString ? 1 : (width + 251) / 252;
}

std::int32_t int32At(const std::string& bytes, std::size_t at) {
    std::int32_t v = 0;
    std::memcpy(&v, bytes.data() + at, sizeof v);  // readstat writes in the host's byte order
    return v;
}

/// Gives unique names to the extra segments of long strings in `dictionary`, the bytes readstat
/// wrote before the first row; `segment` tells, variable record by variable record, which ones
/// are extra segments. readstat names a string's segments after the first 5 bytes of its short
/// name and the segment's number ("y_kien": Y_KIE1, Y_KIE2 … Y_KIEN, its own name; "q1": Q11, the
/// name of "q11"; WizardMac/ReadStat#380): readers then rename or mismatch variables (PSPP
/// calls q11 VAR001, readstat splits y_kien in 24). Readers find segments by position, not by
/// name, so a segment whose name is taken is renamed SEG<n>. Leaves `dictionary` as it is when
/// it is not laid out as expected.
void renameSegments(std::string& dictionary, const std::vector<bool>& segment) {
    constexpr std::size_t kHeader = 176, kRecord = 32, kName = 24, kNameBytes = 8;
    constexpr std::int32_t kVariableRecord = 2, kContinuation = -1;
    if (dictionary.compare(0, 4, "$FL2") != 0) return;
    std::vector<std::size_t> names;  // offsets of the variable records' names
    std::size_t at = kHeader;
    while (at + kRecord <= dictionary.size() && int32At(dictionary, at) == kVariableRecord) {
        const std::int32_t type = int32At(dictionary, at + 4);
        const std::int32_t hasLabel = int32At(dictionary, at + 8);
        const std::int32_t missing = int32At(dictionary, at + 12);
        if (type != kContinuation) names.push_back(at + kName);
        at += kRecord;
        if (hasLabel != 0) {
            if (at + 4 > dictionary.size()) return;
            const std::int32_t length = int32At(dictionary, at);
            if (length < 0) return;
            at += 4 + (static_cast<std::size_t>(length) + 3) / 4 * 4;
        }
        if (missing < -3 || missing > 3) return;
        at += 8 * static_cast<std::size_t>(missing < 0 ? -missing : missing);
    }
    if (names.size() != segment.size() || at > dictionary.size()) return;

    std::set<std::string> taken;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (!segment[i]) taken.insert(dictionary.substr(names[i], kNameBytes));
    std::size_t next = 1;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!segment[i] || taken.insert(dictionary.substr(names[i], kNameBytes)).second) continue;
        std::string name;
        do {
            name = "SEG" + std::to_string(next++);
            name.resize(kNameBytes, ' ');
        } while (!taken.insert(name).second);
        dictionary.replace(names[i], kNameBytes, name);
    }
}

// Owns a readstat writer (freed in the destructor) and, through it, the variables and label sets
// of the file; writes its bytes to `out`, which it does not own and which must outlive it. Keeps
// the dictionary (the file's header, a few bytes per column) until the first row, to rename long
// strings' segments, then one row at a time, whatever the number of rows. Not thread-safe.
class SavSink final : public RowSink {
public:
    explicit SavSink(std::ostream& out) : out_(out), writer_(readstat_writer_init()) {
        if (writer_ == nullptr) throw std::runtime_error("readstat: cannot create a writer");
    }
    ~SavSink() override { readstat_writer_free(writer_); }
    SavSink(const SavSink&) = delete;
    SavSink& operator=(const SavSink&) = delete;

    bool needsWidths() const override { return true; }

    void begin(const std::vector<Column>& columns, std::size_t rows) override {
        if (begun_) throw std::logic_error("SPSS export: begin() called twice");
        begun_ = true;
        if (rows > static_cast<std::size_t>(LONG_MAX))
            throw std::runtime_error("SPSS export: too many rows");
        rows_ = rows;
        check(readstat_set_data_writer(writer_, &SavSink::write), "setting the data writer");
        check(readstat_writer_set_file_label(writer_, "hailong"), "setting the file label");
        check(readstat_writer_set_compression(writer_, READSTAT_COMPRESS_ROWS),
              "setting the compression");

        variables_.reserve(columns.size());
        widths_.reserve(columns.size());
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const Column& c = columns[i];
            // As wide as the longest cell when measured, within the source's bound.
            const std::size_t width = c.numeric ? 0
                                      : c.width ? std::min(c.width, widthOf(c.source))
                                                : widthOf(c.source);
            readstat_variable_t* v = readstat_add_variable(
                writer_, c.name.c_str(), c.numeric ? READSTAT_TYPE_DOUBLE : READSTAT_TYPE_STRING,
                width);
            if (v == nullptr) throw std::runtime_error("readstat: cannot add column " + c.name);
            readstat_variable_set_label(v, std::string(cut(c.label, kVariableLabelBytes)).c_str());
            readstat_variable_set_measure(v, measureOf(c.measure));
            readstat_variable_set_alignment(
                v, c.numeric ? READSTAT_ALIGNMENT_RIGHT : READSTAT_ALIGNMENT_LEFT);
            if (c.numeric) {
                readstat_variable_set_format(v, wholeNumbers(c) ? "F8.0" : "F8.2");
                if (!c.values.empty()) {
                    // Label sets belong to one type and are not shared: one per column.
                    const std::string set = "labels_" + std::to_string(i + 1);
                    readstat_label_set_t* labels =
                        readstat_add_label_set(writer_, READSTAT_TYPE_DOUBLE, set.c_str());
                    if (labels == nullptr)
                        throw std::runtime_error("readstat: cannot add value labels of column " +
                                                 c.name);
                    for (const ValueLabel& l : c.values)
                        readstat_label_double_value(
                            labels, l.value, std::string(cut(l.label, kValueLabelBytes)).c_str());
                    readstat_variable_set_label_set(v, labels);
                }
            }
            variables_.push_back(v);
            widths_.push_back(width);
            segment_.push_back(false);
            if (!c.numeric) segment_.insert(segment_.end(), segmentsOf(width) - 1, true);
        }
        check(readstat_begin_writing_sav(writer_, this, static_cast<long>(rows)),
              "starting the file");
        for (std::size_t i = 0; i < columns.size(); ++i)  // names, before any row
            check(readstat_validate_variable(writer_, variables_[i]), "column " + columns[i].name);
    }

    void row(const std::vector<ExportValue>& cells) override {
        if (!begun_ || ended_) throw std::logic_error("SPSS export: row() outside begin()/end()");
        if (written_ >= rows_)
            throw std::runtime_error("SPSS export: row " + std::to_string(written_ + 1) +
                                     " is more than the " + std::to_string(rows_) + " announced");
        if (cells.size() != variables_.size())
            throw std::runtime_error("SPSS export: row " + std::to_string(written_ + 1) + " has " +
                                     std::to_string(cells.size()) + " cells, not " +
                                     std::to_string(variables_.size()));
        if (auto e = readstat_begin_row(writer_); e != READSTAT_OK) fail(e, nullptr);
        if (buffering_) flushDictionary();  // the first row's begin wrote the dictionary
        for (std::size_t i = 0; i < cells.size(); ++i) {
            readstat_variable_t* v = variables_[i];
            const ExportValue& cell = cells[i];
            readstat_error_t e = READSTAT_OK;
            if (widths_[i] == 0) {  // a number; NaN and infinities are system-missing too
                e = cell.missing || !std::isfinite(cell.number)
                        ? readstat_insert_missing_value(writer_, v)
                        : readstat_insert_double_value(writer_, v, cell.number);
            } else if (cell.missing || cell.text.empty()) {
                e = readstat_insert_missing_value(writer_, v);  // blank
            } else if (cell.text.size() <= widths_[i]) {
                e = readstat_insert_string_value(writer_, v, cell.text.c_str());
            } else {
                text_.assign(cut(cell.text, widths_[i]));
                e = readstat_insert_string_value(writer_, v, text_.c_str());
            }
            if (e != READSTAT_OK) fail(e, v);
        }
        if (auto e = readstat_end_row(writer_); e != READSTAT_OK) fail(e, nullptr);
        ++written_;
    }

    void end() override {
        if (!begun_ || ended_) throw std::logic_error("SPSS export: end() without begin()");
        ended_ = true;
        // readstat refuses a count other than the one announced (its "row count mismatch").
        check(readstat_end_writing(writer_),
              std::to_string(written_) + " rows written, " + std::to_string(rows_) + " announced");
        if (buffering_) flushDictionary();  // no rows: the dictionary is all there is
        try {
            out_.flush();
        } catch (...) {  // a stream with exceptions enabled
            failed_ = true;
        }
        if (failed_ || !out_) throw std::runtime_error("cannot write the SPSS file");
    }

private:
    /// readstat's data writer: `ctx` is the sink. Until the dictionary is complete, keeps the
    /// bytes. readstat reads the result as a size_t and fails when it is short of `len`, so a
    /// failure returns 0 (not -1).
    static ssize_t write(const void* data, size_t len, void* ctx) {
        auto* self = static_cast<SavSink*>(ctx);
        if (self->buffering_) {
            self->dictionary_.append(static_cast<const char*>(data), len);
            return static_cast<ssize_t>(len);
        }
        self->put(static_cast<const char*>(data), len);
        return self->failed_ ? 0 : static_cast<ssize_t>(len);
    }

    void put(const char* data, std::size_t len) {
        try {
            out_.write(data, static_cast<std::streamsize>(len));
            if (!out_) failed_ = true;
        } catch (...) {  // a stream with exceptions enabled: nothing may cross readstat's C frames
            failed_ = true;
        }
    }

    /// Writes the dictionary, its long strings' segments renamed, and then lets bytes through.
    void flushDictionary() {
        buffering_ = false;
        renameSegments(dictionary_, segment_);
        put(dictionary_.data(), dictionary_.size());
        std::string().swap(dictionary_);
        if (failed_) throw std::runtime_error("cannot write the SPSS file");
    }

    /// Throws when readstat refused what it was asked, `what`.
    void check(readstat_error_t e, const std::string& what) const {
        if (e != READSTAT_OK) raise(e, what);
    }

    /// Throws for readstat's refusal of the current row or of its cell of `column`.
    [[noreturn]] void fail(readstat_error_t e, const readstat_variable_t* column) const {
        std::string where = "row " + std::to_string(written_ + 1);
        if (column != nullptr)
            where += ", column " + std::string(readstat_variable_get_name(column));
        raise(e, where);
    }

    [[noreturn]] void raise(readstat_error_t e, const std::string& what) const {
        if (failed_) throw std::runtime_error("cannot write the SPSS file");
        throw std::runtime_error(std::string("SPSS export: ") + readstat_error_message(e) + " (" +
                                 what + ")");
    }

    std::ostream& out_;
    readstat_writer_t* writer_;
    std::vector<readstat_variable_t*> variables_;  ///< owned by writer_
    std::vector<std::size_t> widths_;              ///< storage widths; 0 for numbers
    std::vector<bool> segment_;  ///< per variable record: an extra segment of a long string
    std::string dictionary_;     ///< what readstat wrote before the first row
    bool buffering_ = true;      ///< whether the dictionary is still being written
    std::size_t rows_ = 0, written_ = 0;
    bool begun_ = false, ended_ = false;
    bool failed_ = false;  ///< the stream refused bytes
    std::string text_;     ///< a cut text, reused
};

}  // namespace

std::unique_ptr<RowSink> savSink(std::ostream& out) {
    return std::make_unique<SavSink>(out);
}

}  // namespace hailong::exports
