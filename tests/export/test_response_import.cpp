// Paper forms imported: a TCVN3 file and its UTF-8 twin give identical responses, re-running
// imports nothing twice, bad rows are reported with their line and kept out, an XLSX export
// reads back in, on SQLite and PostgreSQL.
#include "export/ResponseExport.h"
#include "export/ResponseImport.h"
#include "export/XlsxSink.h"
#include "support/TestSupport.h"

#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace hailong;
using namespace hailong::exports;

namespace {

// `utf8` in TCVN3, from the project's own table (read the other way round).
std::string toTcvn3(const std::string& utf8) {
    std::ifstream in(std::string(HAILONG_SOURCE_DIR) + "/locale/vi/encodings/tcvn3.tsv");
    std::map<std::string, char> bytes;  // the character's UTF-8 → its TCVN3 byte
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string byte, code, ch;
        std::getline(fields, byte, '\t');
        std::getline(fields, code, '\t');
        std::getline(fields, ch, '\t');
        bytes[ch] = static_cast<char>(std::stoi(byte, nullptr, 16));
    }
    std::string out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto lead = static_cast<unsigned char>(utf8[i]);
        const std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        const std::string ch = utf8.substr(i, n);
        if (n == 1) {
            out += ch;
        } else {
            auto it = bytes.find(ch);
            REQUIRE(it != bytes.end());  // the test's text stays within TCVN3
            out += it->second;
        }
        i += n;
    }
    return out;
}

// The export's rows without what differs between two imports of the same forms (receipt, time
// received).
std::vector<std::string> exported(Runtime& rt) {
    std::ostringstream out;
    auto sink = jsonLinesSink(out);
    ExportFilter f;
    f.surveyId = "counter-quick";
    exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink);
    std::vector<std::string> rows;
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line);) {
        for (const char* field : {"\"receipt\":", "\"received_at\":"}) {
            const auto at = line.find(field);
            REQUIRE(at != std::string::npos);
            line.erase(at, line.find(',', at) + 1 - at);
        }
        rows.push_back(line);
    }
    return rows;
}

const std::string kForms =
    "Số phiếu,Cơ quan,Ngày,rating,reasons,comment\r\n"
    "P-001,XA,2026-11-20 09:15,1,\"waiting;Phí, lệ phí chưa rõ ràng hoặc phải trả thêm\","
    "Chờ đợi quá lâu mà không ai hướng dẫn\r\n"
    ",XB,21/11/2026,3,,\r\n"
    ",XB,21/11/2026,3,,\r\n"
    "\r\n"
    "P-004,XA,31/11/2026,2,,\r\n"
    "P-005,XA,2026-11-22,9,,\r\n"
    "P-006,XA,2026-11-22,1,trả chậm,\r\n";

}  // namespace

TEST_CASE("import: TCVN3 and UTF-8 give the same responses; nothing twice; bad rows by line",
          "[export][import]") {
    std::vector<std::string> fromUtf8;
    test::onEachProvince([&](test::TestHost& host) {
        Runtime& rt = host.runtime();
        const vi::LegacyTables tables(std::string(HAILONG_SOURCE_DIR) + "/locale/vi/encodings");
        ResponseImportOptions options;
        options.surveyId = "counter-quick";
        auto run = [&](const std::string& content) {
            auto report = importResponses(rt.ingest(), rt.surveys(), rt.text(), tables,
                                          rt.messages(), content, "forms.csv", options);
            return report;
        };
        // A dry run checks every row as storing it would (an unknown agency too), stores none.
        options.dryRun = true;
        options.check = [&](const Submission& s) { rt.ingest().check(s); };
        const auto dry = run(kForms + "P-007,NOPE,2026-11-22,1,,\r\n");
        CHECK(dry.imported == 3);
        REQUIRE(dry.rejected.size() == 4);
        CHECK(dry.rejected[3].errors.at(0).field == "agency");
        CHECK(exported(rt).empty());
        options.dryRun = false;

        const auto first = run(kForms);
        CHECK(first.encoding == "utf8");
        CHECK(first.rows == 6);  // the blank line is not a form
        CHECK(first.imported == 3);
        CHECK(first.duplicates == 0);
        REQUIRE(first.rejected.size() == 3);
        CHECK(first.rejected[0].line == 6);
        CHECK(first.rejected[0].code == "P-004");
        CHECK(first.rejected[0].errors.at(0).code == "import.bad_date");
        CHECK(first.rejected[1].line == 7);
        CHECK(first.rejected[1].errors.at(0).code == "import.unknown_option");
        CHECK(first.rejected[1].errors.at(0).field == "rating");
        CHECK(first.rejected[2].errors.at(0).params.at("value") == "trả chậm");
        const std::string why = rt.messages().text("vi", first.rejected[1].errors.at(0).code,
                                                   first.rejected[1].errors.at(0).params);
        CHECK(why.find("«9»") != std::string::npos);

        // Stored as typed, on the paper channel, two identical forms as two responses.
        const auto rows = exported(rt);
        REQUIRE(rows.size() == 3);
        CHECK(rows[0].find("\"agency_code\":\"XA\"") != std::string::npos);
        CHECK(rows[0].find("\"channel\":\"paper\"") != std::string::npos);
        CHECK(rows[0].find("\"answered_at\":\"2026-11-20 09:15:00\"") != std::string::npos);
        CHECK(rows[0].find("\"reasons_waiting\":1") != std::string::npos);
        CHECK(rows[0].find("\"reasons_fees\":1") != std::string::npos);
        CHECK(rows[0].find("\"reasons_attitude\":0") != std::string::npos);
        CHECK(rows[0].find("Chờ đợi quá lâu mà không ai hướng dẫn") != std::string::npos);
        CHECK(rows[1].find("\"answered_at\":\"2026-11-21 12:00:00\"") != std::string::npos);
        CHECK(rows[1] == rows[2]);

        // The same file again: nothing new.
        const auto again = run(kForms);
        CHECK(again.imported == 0);
        CHECK(again.duplicates == 3);
        CHECK(exported(rt).size() == 3);

        // Its TCVN3 twin, read as TCVN3, is the same forms: nothing new either.
        const auto legacy = run(toTcvn3(kForms));
        CHECK(legacy.encoding == "tcvn3");
        CHECK(legacy.duplicates == 3);
        CHECK(legacy.imported == 0);
        fromUtf8 = exported(rt);
    });

    // Into an empty province, the TCVN3 file alone gives the very same rows.
    test::onEachProvince([&](test::TestHost& host) {
        Runtime& rt = host.runtime();
        const vi::LegacyTables tables(std::string(HAILONG_SOURCE_DIR) + "/locale/vi/encodings");
        ResponseImportOptions options;
        options.surveyId = "counter-quick";
        const auto report = importResponses(rt.ingest(), rt.surveys(), rt.text(), tables,
                                            rt.messages(), toTcvn3(kForms), "forms.csv", options);
        CHECK(report.encoding == "tcvn3");
        CHECK(report.imported == 3);
        CHECK(exported(rt) == fromUtf8);
    });
}

TEST_CASE("import: an XLSX export reads back in; unreadable files are refused",
          "[export][import]") {
    test::onEachProvince([&](test::TestHost& host) {
        Runtime& rt = host.runtime();
        const vi::LegacyTables tables(std::string(HAILONG_SOURCE_DIR) + "/locale/vi/encodings");
        ResponseImportOptions options;
        options.surveyId = "counter-quick";
        REQUIRE(importResponses(rt.ingest(), rt.surveys(), rt.text(), tables, rt.messages(), kForms,
                                "forms.csv", options)
                    .imported == 3);
        const std::vector<std::string> before = exported(rt);

        // Exported as XLSX, then imported back as another system's file: the same answers.
        test::TempDir dir;
        {
            ExportFilter f;
            f.surveyId = "counter-quick";
            auto sink = xlsxSink(dir.file("out.xlsx"), dir.path(), rt.messages(), "vi", {});
            exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink);
        }
        std::string bytes;
        {
            Poco::FileInputStream in(dir.file("out.xlsx"));
            Poco::StreamCopier::copyToString(in, bytes);
        }
        const auto rows = readXlsxSheet(bytes);
        REQUIRE(rows.size() == 4);
        CHECK(rows[0].first == 1);
        CHECK(rows[0].second.at(0) == "receipt");
        options.channel = "import";
        const auto report = importResponses(rt.ingest(), rt.surveys(), rt.text(), tables,
                                            rt.messages(), bytes, "out.xlsx", options);
        CHECK(report.encoding == "xlsx");
        // The receipt column is read as the form number: each form once more, on "import".
        CHECK(report.imported == 3);
        CHECK(report.rejected.empty());
        const auto after = exported(rt);
        REQUIRE(after.size() == 6);
        for (std::size_t i = 0; i < 3; ++i) {
            std::string copy = after[i + 3];
            const auto at = copy.find("\"channel\":\"import\"");
            REQUIRE(at != std::string::npos);
            copy.replace(at, 18, "\"channel\":\"paper\"");
            CHECK(copy == before[i]);
        }
        // Not a workbook, or no header at all.
        CHECK_THROWS_AS(importResponses(rt.ingest(), rt.surveys(), rt.text(), tables, rt.messages(),
                                        "PK\x03\x04garbage", "x.xlsx", options),
                        Problem);
        CHECK_THROWS_AS(importResponses(rt.ingest(), rt.surveys(), rt.text(), tables, rt.messages(),
                                        "", "x.csv", options),
                        Problem);
        CHECK_THROWS_AS(importResponses(rt.ingest(), rt.surveys(), rt.text(), tables, rt.messages(),
                                        "a,b\n1,2\n", "x.csv", options),
                        Problem);
    });
}
