// libFuzzer target for CSV: the reader every import uses (CsvReader: directory, dossiers, paper
// forms) and the writer of exports (CsvWriter). Properties: a refused text is a Problem 422
// (an unterminated quote); records start on lines that go up; the records read, written by
// CsvWriter with the delimiter the reader found and read again, are the same records.
#include "FuzzSupport.h"
#include "directory/Csv.h"
#include "export/CsvWriter.h"

#include <hailong/Problem.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace hailong;
using hailong::fuzz::fail;

namespace {

// Every record of `text`; nullopt when the reader refuses it.
std::optional<std::vector<std::vector<std::string>>> records(std::string_view text,
                                                             char* delimiter = nullptr) {
    CsvReader reader(text);
    if (delimiter) *delimiter = reader.delimiter();
    std::vector<std::vector<std::string>> out;
    CsvRecord record;
    std::size_t lastLine = 0;
    try {
        while (reader.next(record)) {
            if (record.line <= lastLine) fail("a record starts on an earlier line");
            if (record.fields.empty()) fail("a record without fields");
            lastLine = record.line;
            out.push_back(record.fields);
        }
    } catch (const Problem& p) {
        if (p.status() != 422 || p.code() != "csv.unterminated_quote") fail("not a 422");
        return std::nullopt;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    char delimiter = ',';
    const auto read = records(text, &delimiter);
    if (!read || read->empty() || delimiter == '\t') return 0;  // the writer writes , and ;
    // What the writer cannot say: a row of one empty cell is a blank line, which readers skip;
    // a byte order mark at the start of the first cell is taken for the file's own.
    std::vector<std::vector<std::string>> expected;
    for (const auto& r : *read)
        if (!(r.size() == 1 && r[0].empty())) expected.push_back(r);
    if (expected.empty() || expected[0][0].starts_with("\xEF\xBB\xBF")) return 0;

    std::ostringstream out;
    exports::CsvDialect dialect{delimiter, false, false};  // no formula guard: cells as they are
    exports::CsvWriter writer(out, dialect);
    for (const auto& r : expected) writer.row(r);
    // The reader guesses the delimiter from the header line; the writer quotes only its own, so
    // a header whose cells hold more of another delimiter is read with that one.
    if (CsvReader(out.str()).delimiter() != delimiter) return 0;
    const auto back = records(out.str());
    if (!back) fail("the writer wrote an unterminated quote");
    if (*back != expected) fail("records written and read again differ");
    return 0;
}
