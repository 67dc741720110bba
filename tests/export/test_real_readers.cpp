// One export, four formats, real readers (Python reads the JSON Lines beside the CSV): the XLSX
// opened by LibreOffice and the .sav read by the readstat command-line tool hold the same cells as
// the CSV (formula-looking texts apart: the CSV neutralises them with an apostrophe, the others
// store them as plain text).
#include "app/Exports.h"
#include "common/Clock.h"
#include "directory/Csv.h"
#include "export/CsvWriter.h"
#include "export/Readers.h"
#include "export/ResponseExport.h"
#include "export/SavSink.h"
#include "export/XlsxSink.h"
#include "index/Periods.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace hailong;
using namespace hailong::exports;
namespace fs = std::filesystem;

namespace {

std::vector<std::vector<std::string>> table(const std::string& csv) {
    CsvReader reader(csv);
    CsvRecord record;
    std::vector<std::vector<std::string>> out;
    while (reader.next(record)) out.push_back(record.fields);
    return out;
}

}  // namespace

TEST_CASE("real readers: LibreOffice reads the XLSX and readstat the .sav as the CSV",
          "[export][readers]") {
    test::onEachProvince([&](test::TestHost& host) {
        Runtime& rt = host.runtime();
        const std::vector<std::string> comments{"Chờ đợi quá lâu, \"không\" ai hướng dẫn",
                                                "=HYPERLINK(\"http://x\")",
                                                "dòng một\ndòng hai",
                                                "@bấm vào đây",
                                                "-5 điểm",
                                                "",
                                                "Cán bộ nhiệt tình; chu đáo"};
        for (int i = 0; i < 40; ++i) {
            Submission s;
            s.idempotencyKey = "r-" + std::to_string(i);
            s.surveyId = "counter-quick";
            s.channel = i % 3 ? "web" : "sms";
            s.agencyCode = i % 2 ? "XA" : "XB";
            const std::string rating = std::to_string(1 + i % 3);
            s.answers.push_back({"rating", std::nullopt, {rating}, ""});
            if (rating == "1") {
                std::vector<std::string> reasons;
                if (i % 4 == 0) reasons.push_back("waiting");
                if (i % 5 == 0) reasons.push_back("fees");
                if (!reasons.empty()) s.answers.push_back({"reasons", std::nullopt, reasons, ""});
                const std::string& c = comments[static_cast<std::size_t>(i) % comments.size()];
                if (!c.empty()) s.answers.push_back({"comment", std::nullopt, {}, c});
            }
            rt.ingest().submit(s);
        }
        test::TempDir dir;
        ExportFilter f;
        f.surveyId = "counter-quick";
        std::ostringstream csv;
        {
            auto sink = csvSink(csv, false, ',');
            REQUIRE(exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink) == 40);
        }
        {
            auto sink = xlsxSink(dir.file("x.xlsx"), dir.path(), rt.messages(), "vi", {});
            exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink);
        }
        {
            std::ofstream out(dir.file("x.sav"), std::ios::binary);
            auto sink = savSink(out);
            exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink);
        }
        {
            std::ofstream out(dir.file("x.jsonl"), std::ios::binary);
            auto sink = jsonLinesSink(out);
            exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink);
        }
        {
            std::ofstream out(dir.file("x.csv"), std::ios::binary);
            out << csv.str();
        }
        // Python's csv and json modules: the JSON Lines hold the CSV's values (numbers as
        // numbers, missing as null), formula-looking texts apart.
        const std::string script =
            "import csv, json, sys\n"
            "rows = list(csv.DictReader(open(sys.argv[1], encoding='utf-8', newline='')))\n"
            "objs = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')]\n"
            "assert len(rows) == len(objs) == 40, (len(rows), len(objs))\n"
            "for r, o in zip(rows, objs):\n"
            "    assert list(r) == list(o), (list(r), list(o))\n"
            "    for k, v in o.items():\n"
            "        t = '' if v is None else (str(v) if not isinstance(v, str) else v)\n"
            "        if isinstance(v, str) and v[:1] in '=+-@\\t\\r': t = \"'\" + t\n"
            "        assert r[k] == t, (k, r[k], t)\n"
            "print('ok')\n";
        {
            std::ofstream out(dir.file("check.py"));
            out << script;
        }
        REQUIRE(test::runTo("python3 '" + dir.file("check.py") + "' '" + dir.file("x.csv") + "' '" +
                                dir.file("x.jsonl") + "'",
                            dir.file("check.out")) == 0);
        CHECK(test::readFile(dir.file("check.out")) == "ok\n");
        const auto expected = table(csv.str());
        REQUIRE(expected.size() == 41);
        std::vector<bool> numeric;
        for (const Column& c : codebookOf(*rt.surveys().find("counter-quick"), "vi", rt.messages()))
            numeric.push_back(c.numeric);
        REQUIRE(numeric.size() == expected[0].size());

        // LibreOffice: the responses sheet, cell by cell.
        const auto sheets = test::libreOfficeCsv(dir.file("x.xlsx"), dir.file("lo"));
        REQUIRE(sheets.count("Phiếu trả lời") == 1);
        const auto calc = table(sheets.at("Phiếu trả lời"));
        REQUIRE(calc.size() == expected.size());
        for (std::size_t r = 0; r < calc.size(); ++r) {
            REQUIRE(calc[r].size() == expected[r].size());
            for (std::size_t c = 0; c < calc[r].size(); ++c) {
                INFO("row " << r << ", column " << expected[0][c]);
                CHECK((r == 0 ? calc[r][c] : neutralised(calc[r][c])) == expected[r][c]);
            }
        }

        // The indices sheet beside them (through the command line's and console's writeExport):
        // the province's share satisfied as the index report gives it.
        ExportRequest request;
        request.filter = f;
        request.format = "xlsx";
        REQUIRE(writeExport(rt, request, dir.file("i.xlsx")) == 40);
        const auto indexSheets = test::libreOfficeCsv(dir.file("i.xlsx"), dir.file("lo2"));
        REQUIRE(indexSheets.count("Chỉ số") == 1);
        index::IndexRequest ir;
        ir.surveyId = "counter-quick";
        ir.by = "agency";
        ir.fromDay = ir.toDay = index::localDay(nowMs());
        const auto report = rt.indices().report(ir);
        std::string expectedShare;
        for (const auto& g : report.groups)
            if (g.key == "PT")
                for (const auto& v : g.indices)
                    if (v.id == "satisfied")
                        expectedShare = numberText(std::round(*v.value * 1e4) / 1e4);
        REQUIRE_FALSE(expectedShare.empty());
        bool found = false;
        for (const auto& row : table(indexSheets.at("Chỉ số")))
            if (row.size() == 11 && row[1] == "PT" && row[4] == "satisfied") {
                CHECK(row[3] == "40");
                CHECK(row[6] == expectedShare);
                found = true;
            }
        CHECK(found);

        // readstat: the same rows; numbers printed with decimals, texts as stored.
        REQUIRE(test::runTo("readstat '" + dir.file("x.sav") + "' -", dir.file("sav.csv")) == 0);
        const auto stats = table(test::readFile(dir.file("sav.csv")));
        REQUIRE(stats.size() == expected.size());
        CHECK(stats[0] == expected[0]);
        for (std::size_t r = 1; r < stats.size(); ++r) {
            REQUIRE(stats[r].size() == expected[r].size());
            for (std::size_t c = 0; c < stats[r].size(); ++c) {
                INFO("row " << r << ", column " << expected[0][c] << ": " << stats[r][c]);
                if (numeric[c] && !expected[r][c].empty())
                    CHECK(std::stod(stats[r][c]) == std::stod(expected[r][c]));
                else
                    CHECK(neutralised(stats[r][c]) == expected[r][c]);
            }
        }
    });
}
