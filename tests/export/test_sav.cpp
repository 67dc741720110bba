// SPSS output: a .sav file written through savSink, read back by readstat's own tools (the
// `readstat` CLI for the data, `extract_metadata` for labels and value labels) and by
// libreadstat's parser for what the tools do not print (measurement levels, formats).
#include "export/Readers.h"
#include "export/SavSink.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <readstat.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace hailong::exports;
namespace fs = std::filesystem;

namespace {

/// A directory of its own under the system's temporary directory, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::random_device random;
        for (int attempt = 0; attempt < 100; ++attempt) {
            path_ = fs::temp_directory_path() /
                    ("hailong_sav_" + std::to_string(random()) + std::to_string(random()));
            if (fs::create_directory(path_)) return;
        }
        throw std::runtime_error("cannot create a temporary directory");
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

const std::string kE = "\xE1\xBB\x87";                     // "ệ", 3 bytes
const std::string kLongLabel = "ab" + repeat(kE, 100);     // 302 bytes
const std::string kLongValueLabel = "a" + repeat(kE, 50);  // 151 bytes
const std::string kLongText = "a" + repeat(kE, 3333);      // 10,000 bytes
const std::string kComment = "Cán bộ nhiệt tình, \"chu đáo\"; quầy sạch sẽ.\nCảm ơn!";

std::vector<Column> columns() {
    std::vector<Column> c(6);
    c[0].name = "hai_long";
    c[0].label = "Ông/bà hài lòng thế nào với thái độ của cán bộ?";
    c[0].numeric = true;
    c[0].measure = Measure::Ordinal;
    c[0].values = {{1, "Rất không hài lòng"},
                   {2, "Không hài lòng"},
                   {3, "Bình thường"},
                   {4, "Hài lòng"},
                   {5, "Rất hài lòng"}};
    c[0].question = "hai_long";
    c[1].name = "kenh_a";
    c[1].label = kLongLabel;
    c[1].numeric = true;
    c[1].measure = Measure::Nominal;
    c[1].values = {{0, "Không chọn"}, {1, kLongValueLabel}};
    c[1].source = Source::Chosen;
    c[2].name = "nps";
    c[2].label = "Khả năng giới thiệu";
    c[2].numeric = true;
    c[2].measure = Measure::Scale;
    c[3].name = "comment_raw";
    c[3].label = "Góp ý";
    c[3].source = Source::CommentRaw;
    c[4].name = "y_kien";  // readstat would name its 24th segment Y_KIEN, its own short name
    c[4].label = "Ý kiến khác";
    c[4].source = Source::Answer;
    c[5].name = "answered_at";
    c[5].label = "Thời điểm trả lời";
    c[5].source = Source::AnsweredAt;
    return c;
}

ExportValue number(double n) {
    ExportValue v;
    v.missing = false;
    v.number = n;
    std::ostringstream s;
    s << n;
    v.text = s.str();
    return v;
}

ExportValue text(const std::string& s) {
    ExportValue v;
    v.missing = s.empty();
    v.text = s;
    return v;
}

const std::vector<std::vector<ExportValue>> kRows{
    {number(5), number(1), number(9.5), text(kComment), text(kLongText),
     text("2026-11-28 06:11:05")},
    {ExportValue{}, number(0), number(std::nan("")), text(""), text(""), ExportValue{}},
    {number(1), ExportValue{}, number(-2.25), text("Chờ đợi quá lâu"), text("ngắn"),
     text("2026-11-29 17:00:00")},
};

void writeSav(const fs::path& path, const std::vector<Column>& cols,
              const std::vector<std::vector<ExportValue>>& rows) {
    std::ofstream out(path, std::ios::binary);
    REQUIRE(out);
    auto sink = savSink(out);
    sink->begin(cols, rows.size());
    for (const auto& r : rows) sink->row(r);
    sink->end();
}

/// RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks.
std::vector<std::vector<std::string>> parseCsv(const std::string& s) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = any = true;
        } else if (c == ',') {
            record.push_back(field);
            field.clear();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
            record.push_back(field);
            records.push_back(record);
            record.clear();
            field.clear();
            any = false;
        } else {
            field += c;
            any = true;
        }
    }
    if (any || !field.empty() || !record.empty()) {
        record.push_back(field);
        records.push_back(record);
    }
    return records;
}

/// What libreadstat's parser reports of a variable.
struct ParsedVariable {
    std::string name;
    readstat_type_class_t type = READSTAT_TYPE_CLASS_NUMERIC;
    readstat_measure_t measure = READSTAT_MEASURE_UNKNOWN;
    std::string format;
};

std::vector<ParsedVariable> parseVariables(const fs::path& path) {
    std::vector<ParsedVariable> out;
    readstat_parser_t* parser = readstat_parser_init();
    readstat_set_variable_handler(
        parser, [](int, readstat_variable_t* v, const char*, void* ctx) -> int {
            auto& vars = *static_cast<std::vector<ParsedVariable>*>(ctx);
            const char* format = readstat_variable_get_format(v);
            vars.push_back({readstat_variable_get_name(v), readstat_variable_get_type_class(v),
                            readstat_variable_get_measure(v), format ? format : ""});
            return READSTAT_HANDLER_OK;
        });
    const readstat_error_t e = readstat_parse_sav(parser, path.c_str(), &out);
    readstat_parser_free(parser);
    REQUIRE(e == READSTAT_OK);
    return out;
}

}  // namespace

TEST_CASE("sav: the readstat CLI reads back the rows, Vietnamese texts intact", "[export]") {
    TempDir dir;
    const fs::path sav = dir / "export.sav";
    writeSav(sav, columns(), kRows);

    // `readstat file.sav` prints the file's metadata.
    REQUIRE(hailong::test::runTo("readstat '" + sav.string() + "'", dir / "info.txt") == 0);
    const std::string info = hailong::test::readFile(dir / "info.txt");
    CHECK(info.find("Format: SPSS binary file (SAV)") != std::string::npos);
    CHECK(info.find("Columns: 6\n") != std::string::npos);
    CHECK(info.find("Rows: 3\n") != std::string::npos);
    CHECK(info.find("Text encoding: UTF-8") != std::string::npos);
    CHECK(info.find("Compression: rows") != std::string::npos);

    // `readstat file.sav -` prints the data as CSV: a header, then the rows.
    REQUIRE(hailong::test::runTo("readstat '" + sav.string() + "' -", dir / "data.csv") == 0);
    const auto csv = parseCsv(hailong::test::readFile(dir / "data.csv"));
    REQUIRE(csv.size() == 4);
    CHECK(csv[0] == std::vector<std::string>{"hai_long", "kenh_a", "nps", "comment_raw", "y_kien",
                                             "answered_at"});
    for (std::size_t r = 0; r < kRows.size(); ++r) {
        INFO("row " << r + 1);
        const auto& got = csv[r + 1];
        REQUIRE(got.size() == 6);
        for (std::size_t c = 0; c < 3; ++c) {  // numbers: missing cells (and NaN) are empty
            if (kRows[r][c].missing || std::isnan(kRows[r][c].number))
                CHECK(got[c].empty());
            else
                CHECK(std::stod(got[c]) == kRows[r][c].number);
        }
        CHECK(got[3] == kRows[r][3].text);
        CHECK(got[5] == kRows[r][5].text);
    }
    // 10,000 bytes cut to the column's 6,000 on a character boundary: "a" and 1,999 "ệ".
    CHECK(csv[1][4].size() == 5998);
    CHECK(csv[1][4] == "a" + repeat(kE, 1999));
    CHECK(csv[2][4].empty());
    CHECK(csv[3][4] == "ngắn");
}

TEST_CASE("sav: labels, value labels, measurement levels and widths", "[export]") {
    TempDir dir;
    const fs::path sav = dir / "export.sav";
    writeSav(sav, columns(), kRows);

    // extract_metadata: each variable's type, label and value labels, as JSON.
    REQUIRE(hailong::test::runTo(
                "extract_metadata '" + sav.string() + "' '" + (dir / "meta.json").string() + "'",
                dir / "log.txt") == 0);
    Poco::JSON::Parser parser;
    const auto meta =
        parser.parse(hailong::test::readFile(dir / "meta.json")).extract<Poco::JSON::Object::Ptr>();
    const auto variables = meta->getArray("variables");
    REQUIRE(variables);
    REQUIRE(variables->size() == 6);
    const auto cols = columns();
    for (std::size_t i = 0; i < cols.size(); ++i) {
        const auto v = variables->getObject(static_cast<unsigned>(i));
        INFO("column " << cols[i].name);
        CHECK(v->getValue<std::string>("name") == cols[i].name);
        CHECK(v->getValue<std::string>("type") == (cols[i].numeric ? "NUMERIC" : "STRING"));
        if (i != 1) CHECK(v->getValue<std::string>("label") == cols[i].label);
        std::map<double, std::string> labels;
        if (auto categories = v->getArray("categories"))
            for (std::size_t k = 0; k < categories->size(); ++k) {
                const auto category = categories->getObject(static_cast<unsigned>(k));
                labels[category->getValue<double>("code")] =
                    category->getValue<std::string>("label");
            }
        std::map<double, std::string> expected;
        for (const ValueLabel& l : cols[i].values) expected[l.value] = l.label;
        if (i != 1) CHECK(labels == expected);
    }
    // Too long for SPSS: the variable label cut to 255 bytes, the value label to 120, each on a
    // character boundary ("ab" and 84 "ệ"; "a" and 39 "ệ").
    const auto flag = variables->getObject(1);
    CHECK(flag->getValue<std::string>("label") == "ab" + repeat(kE, 84));
    const auto flagLabels = flag->getArray("categories");
    REQUIRE(flagLabels);
    REQUIRE(flagLabels->size() == 2);
    CHECK(flagLabels->getObject(0)->getValue<std::string>("label") == "Không chọn");
    CHECK(flagLabels->getObject(1)->getValue<std::string>("label") == "a" + repeat(kE, 39));
    // Whole numbers shown without decimals, others with 2.
    CHECK_FALSE(variables->getObject(0)->has("decimals"));
    CHECK(variables->getObject(2)->getValue<int>("decimals") == 2);

    // Not printed by the tools: measurement levels and formats (string widths), from libreadstat's
    // parser.
    const auto parsed = parseVariables(sav);
    REQUIRE(parsed.size() == 6);
    CHECK(parsed[0].measure == READSTAT_MEASURE_ORDINAL);
    CHECK(parsed[1].measure == READSTAT_MEASURE_NOMINAL);
    CHECK(parsed[2].measure == READSTAT_MEASURE_SCALE);
    CHECK(parsed[3].measure == READSTAT_MEASURE_NOMINAL);
    CHECK(parsed[0].format == "F8.0");
    CHECK(parsed[2].format == "F8.2");
    CHECK(parsed[3].type == READSTAT_TYPE_CLASS_STRING);
    CHECK(parsed[3].format == "A6000");  // comments: 2,000 characters of up to 3 bytes
    CHECK(parsed[4].format == "A6000");
    CHECK(parsed[5].format == "A19");  // "2026-11-28 06:11:05"
}

TEST_CASE("sav: texts cut on a character boundary, in the file's bytes", "[export]") {
    // readstat's reader drops a split character's first bytes silently: look at the file itself.
    const std::string o = "\xE1\xBB\x99";  // "ộ", 3 bytes
    std::vector<Column> cols(3);
    cols[0].name = "q1";  // readstat would name its second segment Q11, as the next column
    cols[0].label = "Câu 1";
    cols[1].name = "q11";
    cols[1].label = kLongLabel;
    cols[1].numeric = true;
    cols[1].values = {{1, kLongValueLabel}};
    cols[2].name = "receipt";
    cols[2].label = "Mã biên nhận";
    cols[2].source = Source::Receipt;
    TempDir dir;
    const fs::path sav = dir / "cut.sav";
    writeSav(sav, cols, {{text(kLongText), number(1), text("HS-" + repeat(o, 20))}});

    REQUIRE(hailong::test::runTo("readstat '" + sav.string() + "' -", dir / "data.csv") == 0);
    const auto csv = parseCsv(hailong::test::readFile(dir / "data.csv"));
    REQUIRE(csv.size() == 2);
    CHECK(csv[0] == std::vector<std::string>{"q1", "q11", "receipt"});
    REQUIRE(csv[1].size() == 3);
    CHECK(csv[1][0] == "a" + repeat(kE, 1999));
    CHECK(csv[1][2] == "HS-" + repeat(o, 9));  // 63 bytes cut to 30 of the column's 32

    const std::string bytes = hailong::test::readFile(sav);
    // The variable label: its length (254, an int32 in the host's order), then its bytes.
    const std::int32_t length = 254;
    std::string label(sizeof length, '\0');
    std::memcpy(label.data(), &length, sizeof length);
    label += "ab" + repeat(kE, 84);
    CHECK(bytes.find(label) != std::string::npos);
    // The value label: its length (118, a byte), its bytes, then blank padding.
    CHECK(bytes.find('\x76' + ("a" + repeat(kE, 39)) + ' ') != std::string::npos);
    // The receipt, stored in 8-byte blocks: the last holds "ộộ" and 2 blanks.
    CHECK(bytes.find(o + o + "  ") != std::string::npos);
}

TEST_CASE("sav: a row count other than announced, extra cells and failing streams throw",
          "[export]") {
    TempDir dir;
    const auto cols = columns();
    SECTION("fewer rows than announced") {
        std::ofstream out(dir / "short.sav", std::ios::binary);
        auto sink = savSink(out);
        sink->begin(cols, 3);
        sink->row(kRows[0]);
        sink->row(kRows[1]);
        CHECK_THROWS_WITH(sink->end(), Catch::Contains("2 rows written, 3 announced"));
        CHECK_THROWS_AS(sink->end(), std::logic_error);  // ended
    }
    SECTION("more rows than announced") {
        std::ofstream out(dir / "long.sav", std::ios::binary);
        auto sink = savSink(out);
        sink->begin(cols, 1);
        sink->row(kRows[0]);
        CHECK_THROWS_AS(sink->row(kRows[1]), std::runtime_error);
    }
    SECTION("a row of the wrong width") {
        std::ofstream out(dir / "wide.sav", std::ios::binary);
        auto sink = savSink(out);
        sink->begin(cols, 1);
        auto row = kRows[0];
        row.push_back(number(1));
        CHECK_THROWS_AS(sink->row(row), std::runtime_error);
    }
    SECTION("a file in a directory that does not exist") {
        std::ofstream out(dir / "nowhere" / "x.sav", std::ios::binary);
        auto sink = savSink(out);
        sink->begin(cols, 1);
        CHECK_THROWS_WITH(sink->row(kRows[0]), "cannot write the SPSS file");
    }
    SECTION("a stream gone bad, no rows") {
        std::ostringstream out;
        out.setstate(std::ios::badbit);
        auto sink = savSink(out);
        sink->begin(cols, 0);
        CHECK_THROWS_WITH(sink->end(), "cannot write the SPSS file");
    }
    SECTION("no rows make a file all the same") {
        std::ostringstream out;
        auto sink = savSink(out);
        sink->begin(cols, 0);
        sink->end();
        CHECK(out.str().rfind("$FL2", 0) == 0);
    }
}
