// CSV output: the dialects, quoting, formula cells, and Python's csv module reading it back.
#include "export/CsvWriter.h"

#include <Poco/File.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Path.h>
#include <Poco/TemporaryFile.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace hailong::exports;

namespace {

const std::vector<std::vector<std::string>> kTricky{
    {"mã", "góp ý", "điểm"},
    {"HS-001", "Chờ đợi quá lâu, quầy đông người.", "1"},
    {"HS-002", "Cán bộ nói \"sẽ gọi lại\"; không ai gọi", "-2"},
    {"HS-003", "dòng một\r\ndòng hai\nba", "+1.5"},
    {"HS-004", "=HYPERLINK(\"http://x\",\"bấm\")", "3,25"},
    {"HS-005", "+84 gọi tôi", "@SUM(A1)"},
    {"HS-006", "\tthụt lề", "-"},
    {"HS-007", " có dấu cách ", ""},
    {"HS-008", "chỉ xuống dòng\nkhông CR", "4"},
};

std::string write(const CsvDialect& d, const std::vector<std::vector<std::string>>& rows) {
    std::ostringstream out;
    CsvWriter w(out, d);
    for (const auto& r : rows) w.row(r);
    CHECK(w.rows() == rows.size());
    return out.str();
}

}  // namespace

TEST_CASE("csv: quoting, CRLF and the Excel dialect's BOM") {
    const std::string plain = write(CsvDialect::plain(), {{"a", "b,c", "d\"e"}, {"", " x", "y"}});
    CHECK(plain == "a,\"b,c\",\"d\"\"e\"\r\n,\" x\",y\r\n");
    const std::string excel = write(CsvDialect::excel(';'), {{"a", "b,c", "d;e"}});
    CHECK(excel ==
          "\xEF\xBB\xBF"
          "a;b,c;\"d;e\"\r\n");
    CHECK(write(CsvDialect::excel(','), {}).empty());  // no rows: not even a BOM
    CHECK_THROWS_AS(CsvWriter(std::cout, CsvDialect{'\t', false, true}), std::invalid_argument);
}

TEST_CASE("csv: cells a spreadsheet would run are neutralised, numbers are not") {
    CHECK(neutralised("=1+1") == "'=1+1");
    CHECK(neutralised("+84 gọi") == "'+84 gọi");
    CHECK(neutralised("-x") == "'-x");
    CHECK(neutralised("@SUM(A1)") == "'@SUM(A1)");
    CHECK(neutralised("\tcmd") == "'\tcmd");
    CHECK(neutralised("\rcmd") == "'\rcmd");
    CHECK(neutralised("-") == "'-");
    CHECK(neutralised("+") == "'+");
    for (const char* n : {"-2", "+1.5", "3,25", "0", "-0.5", "12"}) CHECK(neutralised(n) == n);
    // Not quite numbers: left alone when harmless, neutralised when a spreadsheet would run them.
    CHECK(neutralised("1.") == "1.");
    CHECK(neutralised("-.5") == "'-.5");
    CHECK(neutralised("-1.") == "'-1.");
    CHECK(neutralised("--1") == "'--1");
    CHECK(neutralised("-1.2.3") == "'-1.2.3");
    CHECK(neutralised("Chờ đợi") == "Chờ đợi");
    CHECK(neutralised("") == "");
    // Off for a caller that wants the text as it is.
    CHECK(write(CsvDialect{',', false, false}, {{"=1"}}) == "=1\r\n");
}

TEST_CASE("csv: Python's csv module reads every dialect back, value for value") {
    for (const CsvDialect& d :
         {CsvDialect::plain(), CsvDialect::excel(';'), CsvDialect::excel(',')}) {
        Poco::TemporaryFile csv, json;
        {
            std::ofstream out(csv.path(), std::ios::binary);
            out << write(d, kTricky);
        }
        std::ifstream raw(csv.path(), std::ios::binary);
        std::string head(3, '\0');
        raw.read(head.data(), 3);
        CHECK((head == "\xEF\xBB\xBF") == d.bom);
        const std::string command =
            std::string(
                "python3 -c 'import csv, json, sys\n"
                "with open(sys.argv[1], newline=\"\", encoding=\"utf-8-sig\") as f:\n"
                "    rows = list(csv.reader(f, delimiter=sys.argv[3], strict=True))\n"
                "json.dump(rows, open(sys.argv[2], \"w\"))' ") +
            csv.path() + " " + json.path() + " '" + d.delimiter + "'";
        REQUIRE(std::system(command.c_str()) == 0);
        std::ifstream in(json.path());
        const auto rows = Poco::JSON::Parser().parse(in).extract<Poco::JSON::Array::Ptr>();
        REQUIRE(rows->size() == kTricky.size());
        for (std::size_t r = 0; r < kTricky.size(); ++r) {
            const auto row = rows->getArray(static_cast<unsigned>(r));
            REQUIRE(row->size() == kTricky[r].size());
            for (std::size_t c = 0; c < kTricky[r].size(); ++c)
                CHECK(row->getElement<std::string>(static_cast<unsigned>(c)) ==
                      neutralised(kTricky[r][c]));
        }
    }
}
