#include <catch2/catch.hpp>
#include "export/Readers.h"
#include "export/XlsxSink.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace hailong;
using namespace hailong::exports;
namespace fs = std::filesystem;

namespace {

// Fixed Vietnamese texts for the keys the XLSX export uses; any other key comes back as itself.
class FakeMessages final : public Messages {
public:
    std::string text(std::string_view, std::string_view key,
                     const std::map<std::string, std::string>& = {}) const override {
        static const std::map<std::string, std::string, std::less<>> texts = {
            {"export.sheet.responses", "Phiếu trả lời"},
            {"export.sheet.codebook", "Danh mục biến"},
            {"export.codebook.name", "Biến"},
            {"export.codebook.label", "Nhãn"},
            {"export.codebook.type", "Kiểu"},
            {"export.codebook.measure", "Thang đo"},
            {"export.codebook.values", "Nhãn giá trị"},
            {"export.type.numeric", "Số"},
            {"export.type.text", "Chuỗi"},
            {"export.measure.nominal", "Định danh"},
            {"export.measure.ordinal", "Thứ bậc"},
            {"export.measure.scale", "Khoảng/tỉ lệ"},
        };
        const auto it = texts.find(key);
        return it == texts.end() ? std::string(key) : it->second;
    }
    std::string pickLanguage(std::string_view) const override { return "vi"; }
};

// A directory of its own under the system's temporary directory, removed with what it holds.
struct TempDir {
    fs::path path;
    TempDir() {
        static std::atomic<int> counter{0};
        const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
        path = fs::temp_directory_path() / ("hailong-xlsx-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(now) + "-" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

// A number as the export makes it: its text printed plainly (whole numbers without ".0").
ExportValue num(double n) {
    ExportValue v;
    v.missing = false;
    v.number = n;
    if (n == std::floor(n)) {
        v.text = std::to_string(static_cast<long long>(n));
    } else {
        std::ostringstream out;
        out.precision(15);
        out << n;
        v.text = out.str();
    }
    return v;
}

ExportValue txt(std::string s) {
    ExportValue v;
    v.missing = s.empty();
    v.text = std::move(s);
    return v;
}

const ExportValue kMissing{};

// A CSV cell as LibreOffice wrote it: its text and whether it was quoted (a text cell, since
// the export quotes every text cell and no number).
struct Field {
    std::string text;
    bool quoted = false;
};
using Table = std::vector<std::vector<Field>>;

// RFC 4180 with LF or CRLF line ends.
Table parseCsv(const std::string& s) {
    Table rows;
    std::vector<Field> row;
    Field field;
    bool inQuotes = false, any = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (inQuotes) {
            if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
                field.text += '"';
                ++i;
            } else if (c == '"') {
                inQuotes = false;
            } else {
                field.text += c;
            }
        } else if (c == '"') {
            inQuotes = true;
            field.quoted = true;
            any = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field = Field{};
            any = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
            row.push_back(std::move(field));
            rows.push_back(std::move(row));
            row.clear();
            field = Field{};
            any = false;
        } else {
            field.text += c;
            any = true;
        }
    }
    if (any) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    return rows;
}

// Every sheet of `xlsx` converted by LibreOffice, parsed.
std::map<std::string, Table> convertWithLibreOffice(const fs::path& xlsx, const fs::path& work) {
    std::map<std::string, Table> sheets;
    for (const auto& [name, csv] : test::libreOfficeCsv(xlsx, work)) sheets[name] = parseCsv(csv);
    return sheets;
}

// The texts of a table's rows, "" for empty cells; `quoted` tells which cells were texts.
std::vector<std::vector<std::string>> texts(const Table& t) {
    std::vector<std::vector<std::string>> out;
    for (const auto& row : t) {
        out.emplace_back();
        for (const Field& f : row) out.back().push_back(f.text);
    }
    return out;
}

std::size_t openFiles() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

Column column(std::string name, std::string label, bool numeric, Measure measure,
              std::vector<ValueLabel> values = {}) {
    Column c;
    c.name = std::move(name);
    c.label = std::move(label);
    c.numeric = numeric;
    c.measure = measure;
    c.values = std::move(values);
    return c;
}

std::vector<Column> columns() {
    return {column("q1_rating", "Mức độ hài lòng với thái độ của công chức", true, Measure::Ordinal,
                   {{1, "Rất không hài lòng"},
                    {2, "Không hài lòng"},
                    {3, "Bình thường"},
                    {4, "Hài lòng"},
                    {5, "Rất hài lòng"}}),
            column("ward", "Phường/xã", false, Measure::Nominal),
            column("comment_raw", "Góp ý", false, Measure::Nominal),
            column("minutes", "Thời gian chờ (phút)", true, Measure::Scale, {{0.5, "Dưới 1"}})};
}

}  // namespace

TEST_CASE("xlsx: LibreOffice reads back the responses, the codebook and the extra sheets",
          "[export]") {
    TempDir dir;
    const fs::path file = dir.path / "export.xlsx";
    FakeMessages messages;

    std::vector<Sheet> extra(1);
    extra[0].name = "Chỉ số 2024/2025";  // '/' is not allowed in a sheet name
    extra[0].header = {"Chỉ số", "Điểm", "Mã"};
    extra[0].numeric = {false, true, false};
    extra[0].rows = {{txt("SIPAS"), num(85.25), txt("007")},
                     {txt("Hài lòng về thủ tục"), num(90), txt("-1")}};

    const std::string longText(40000, 'x');
    // 32,766 letters and an emoji (two UTF-16 units): one unit too many, cut before the emoji.
    const std::string emojiAtEnd = std::string(32766, 'a') + "\xF0\x9F\x98\x80";
    std::string vietnameseLong;
    for (int i = 0; i < 33000; ++i) vietnameseLong += "ạ";  // 3 bytes, one UTF-16 unit each

    const auto cols = columns();
    const std::vector<std::vector<ExportValue>> rows = {
        {num(5), txt("Phường Bến Nghé, Quận 1"), txt("=HYPERLINK(\"x\")"), num(2.5)},
        {num(1), txt("Xã Đông Hòa"), txt("@bấm"), kMissing},
        {kMissing, kMissing, txt("-5"), num(-3)},
        {num(3), txt("Phường Hòa Cường Bắc"), txt("dòng một\ndòng \"hai\", ba"), num(1234567.125)},
        {num(4), txt("a\x01z \xFF!"), txt(longText), num(0)},
        {num(2), txt(emojiAtEnd), txt(vietnameseLong), kMissing},
    };

    {
        auto sink = xlsxSink(file.string(), dir.path.string(), messages, "vi", extra);
        sink->begin(cols, rows.size());
        for (const auto& r : rows) sink->row(r);
        sink->end();
    }
    REQUIRE(fs::exists(file));

    auto sheets = convertWithLibreOffice(file, dir.path);
    std::vector<std::string> names;
    for (const auto& [name, table] : sheets) names.push_back(name);
    INFO("sheets: " << names.size());
    REQUIRE(sheets.size() == 3);
    REQUIRE(sheets.contains("Phiếu trả lời"));
    REQUIRE(sheets.contains("Danh mục biến"));
    REQUIRE(sheets.contains("Chỉ số 2024_2025"));

    const Table& responses = sheets["Phiếu trả lời"];
    const std::vector<std::vector<std::string>> expected = {
        {"q1_rating", "ward", "comment_raw", "minutes"},
        {"5", "Phường Bến Nghé, Quận 1", "=HYPERLINK(\"x\")", "2.5"},
        {"1", "Xã Đông Hòa", "@bấm", ""},
        {"", "", "-5", "-3"},
        {"3", "Phường Hòa Cường Bắc", "dòng một\ndòng \"hai\", ba", "1234567.125"},
        {"4", "a\xEF\xBF\xBDz \xEF\xBF\xBD!", std::string(32767, 'x'), "0"},
        {"2", std::string(32766, 'a'),
         [] {
             std::string s;
             for (int i = 0; i < 32767; ++i) s += "ạ";
             return s;
         }(),
         ""},
    };
    const auto got = texts(responses);
    REQUIRE(got.size() == expected.size());
    for (std::size_t r = 0; r < expected.size(); ++r) {
        INFO("row " << r);
        REQUIRE(got[r].size() == expected[r].size());
        for (std::size_t c = 0; c < expected[r].size(); ++c) {
            INFO("column " << c << ", " << got[r][c].size() << " bytes");
            CHECK(got[r][c] == expected[r][c]);
        }
    }
    // Texts arrive as texts (every text cell is quoted), numbers as numbers.
    CHECK(responses[1][2].quoted);        // the formula-looking text was not run
    CHECK(responses[2][2].quoted);        // "@bấm"
    CHECK(responses[3][2].quoted);        // "-5" the text
    CHECK_FALSE(responses[3][3].quoted);  // -3 the number
    CHECK_FALSE(responses[1][0].quoted);
    CHECK_FALSE(responses[1][3].quoted);  // 2.5

    const std::vector<std::vector<std::string>> codebook = {
        {"Biến", "Nhãn", "Kiểu", "Thang đo", "Nhãn giá trị"},
        {"q1_rating", "Mức độ hài lòng với thái độ của công chức", "Số", "Thứ bậc",
         "1 = Rất không hài lòng; 2 = Không hài lòng; 3 = Bình thường; 4 = Hài lòng; 5 = Rất hài "
         "lòng"},
        {"ward", "Phường/xã", "Chuỗi", "Định danh", ""},
        {"comment_raw", "Góp ý", "Chuỗi", "Định danh", ""},
        {"minutes", "Thời gian chờ (phút)", "Số", "Khoảng/tỉ lệ", "0.5 = Dưới 1"},
    };
    CHECK(texts(sheets["Danh mục biến"]) == codebook);

    const Table& indices = sheets["Chỉ số 2024_2025"];
    const std::vector<std::vector<std::string>> expectedIndices = {
        {"Chỉ số", "Điểm", "Mã"},
        {"SIPAS", "85.25", "007"},
        {"Hài lòng về thủ tục", "90", "-1"},
    };
    REQUIRE(texts(indices) == expectedIndices);
    CHECK_FALSE(indices[1][1].quoted);  // numbers stay numbers
    CHECK(indices[1][2].quoted);        // "007" is a text, not 7
    CHECK(indices[2][2].quoted);        // so is "-1"
}

TEST_CASE("xlsx: a file in a missing directory fails at end(), not before", "[export]") {
    TempDir dir;
    const fs::path file = dir.path / "missing" / "export.xlsx";
    FakeMessages messages;
    auto sink = xlsxSink(file.string(), dir.path.string(), messages, "vi", {});
    // libxlsxwriter opens the file only when it closes the workbook.
    REQUIRE_NOTHROW(sink->begin(columns(), 1));
    REQUIRE_NOTHROW(sink->row({num(5), txt("Phường 1"), kMissing, num(2.5)}));
    try {
        sink->end();
        FAIL("end() did not throw");
    } catch (const std::runtime_error& e) {
        // "cannot write <path>: " and libxlsxwriter's reason.
        const std::string what = e.what(), prefix = "cannot write " + file.string() + ": ";
        CHECK(what.rfind(prefix, 0) == 0);
        CHECK(what.size() > prefix.size());
    }
    CHECK_FALSE(fs::exists(file));
    CHECK_THROWS_AS(sink->row({num(1)}), std::logic_error);
}

TEST_CASE("xlsx: an export dropped before end() writes nothing and leaves no file open",
          "[export]") {
    TempDir dir;
    const fs::path file = dir.path / "export.xlsx.part";
    FakeMessages messages;
    const std::size_t before = openFiles();
    {
        std::vector<Sheet> extra(2);
        extra[0].name = "Trống";  // a sheet without cells
        extra[1].name = "Chỉ số";
        extra[1].header = {"a"};
        auto sink = xlsxSink(file.string(), dir.path.string(), messages, "vi", extra);
        sink->begin(columns(), 3);
        sink->row({num(5), txt("Phường 1"), kMissing, num(2.5)});
        CHECK(openFiles() > before);  // a temporary file per sheet
    }
    CHECK(openFiles() == before);
    CHECK_FALSE(fs::exists(file));
    CHECK(fs::is_empty(dir.path));

    SECTION("and a completed one with an empty sheet leaves none open either") {
        std::vector<Sheet> extra(1);
        extra[0].name = "Trống";
        auto sink = xlsxSink(file.string(), dir.path.string(), messages, "vi", extra);
        sink->begin(columns(), 0);
        sink->end();
        CHECK(openFiles() == before);
        CHECK(fs::exists(file));
    }
}

// Sheet names in order, and of each sheet: its number of rows, its last row's number, the texts
// of its first and last rows (read with Python's zipfile: LibreOffice takes long on a million).
std::string sheetsOf(const fs::path& xlsx, const fs::path& work) {
    const std::string script =
        "import re, sys, zipfile\n"
        "z = zipfile.ZipFile(sys.argv[1])\n"
        "out = open(sys.argv[2], 'w', encoding='utf-8')\n"
        "names = re.findall(r'<sheet name=\"([^\"]*)\"', z.read('xl/workbook.xml').decode())\n"
        "for i, name in enumerate(names, 1):\n"
        "    xml = z.read('xl/worksheets/sheet%d.xml' % i).decode()\n"
        "    rows = re.findall(r'<row r=\"(\\d+)\"[^>]*>(.*?)</row>', xml)\n"
        "    text = lambda r: re.sub('<[^>]+>', '', r[1])\n"
        "    out.write('%s|%d|%s|%s|%s\\n' % (name, len(rows), rows[-1][0], text(rows[0]),\n"
        "                                      text(rows[-1])))\n";
    const fs::path program = work / "sheets.py", report = work / "sheets.txt";
    std::ofstream(program) << script;
    const std::string command =
        "python3 '" + program.string() + "' '" + xlsx.string() + "' '" + report.string() + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    return test::readFile(report);
}

TEST_CASE("xlsx: rows past Excel's last row continue on another sheet, header repeated",
          "[export]") {
    TempDir dir;
    FakeMessages messages;
    constexpr std::size_t kSheetRows = 1048575;  // Excel's 1,048,576 rows less the header
    const std::vector<Column> cols = {column("n", "Số thứ tự", true, Measure::Scale)};
    auto write = [&](const fs::path& file, std::size_t announced, std::size_t rows) {
        auto sink = xlsxSink(file.string(), dir.path.string(), messages, "vi", {});
        sink->begin(cols, announced);
        std::vector<ExportValue> cells(1);
        cells[0].missing = false;
        for (std::size_t i = 1; i <= rows; ++i) {
            cells[0].number = static_cast<double>(i);
            sink->row(cells);
        }
        sink->end();
    };

    // Announced: the sheets the rows need come first, in order.
    write(dir.path / "announced.xlsx", kSheetRows + 1, 3);
    CHECK(sheetsOf(dir.path / "announced.xlsx", dir.path) ==
          "Phiếu trả lời|4|4|n|3\n"
          "Phiếu trả lời 2|1|1|n|n\n"
          "Danh mục biến|2|2|BiếnNhãnKiểuThang đoNhãn giá trị|nSố thứ tựSốKhoảng/tỉ lệ\n");

    // More rows than announced: one more sheet, after the others.
    write(dir.path / "more.xlsx", 0, kSheetRows + 2);
    CHECK(sheetsOf(dir.path / "more.xlsx", dir.path) ==
          "Phiếu trả lời|1048576|1048576|n|1048575\n"
          "Danh mục biến|2|2|BiếnNhãnKiểuThang đoNhãn giá trị|nSố thứ tựSốKhoảng/tỉ lệ\n"
          "Phiếu trả lời 2|3|3|n|1048577\n");
}
