// Exporting responses: every answer in its column, filters and scope, formula cells neutralised,
// and the CSV read back by Python's csv module, on SQLite and PostgreSQL.
#include "common/Clock.h"
#include "directory/Csv.h"
#include "export/ResponseExport.h"
#include "index/Periods.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include <sstream>

using namespace hailong;
using namespace hailong::exports;

namespace {

// Rows of a CSV export as maps from column name to cell, read by the project's own reader.
std::vector<std::map<std::string, std::string>> csvRows(const std::string& csv) {
    CsvReader reader(csv);
    CsvRecord header, record;
    std::vector<std::map<std::string, std::string>> out;
    if (!reader.next(header)) return out;
    while (reader.next(record)) {
        REQUIRE(record.fields.size() == header.fields.size());
        std::map<std::string, std::string> m;
        for (std::size_t c = 0; c < record.fields.size(); ++c)
            m[header.fields[c]] = record.fields[c];
        out.push_back(m);
    }
    return out;
}

}  // namespace

TEST_CASE("export: every answer in its column, filters and scope, neutralised cells", "[export]") {
    test::onEachProvince([&](test::TestHost& host) {
        Runtime& rt = host.runtime();
        auto rate = [&](const std::string& key, const std::string& agency,
                        const std::string& rating, std::vector<std::string> reasons,
                        const std::string& other, const std::string& typed,
                        const std::string& channel) {
            Submission s;
            s.idempotencyKey = key;
            s.surveyId = "counter-quick";
            s.channel = channel;
            s.agencyCode = agency;
            s.answers.push_back({"rating", std::nullopt, {rating}, ""});
            if (!reasons.empty() || !other.empty())
                s.answers.push_back({"reasons", std::nullopt, reasons, other});
            if (!typed.empty()) s.answers.push_back({"comment", std::nullopt, {}, typed});
            return rt.ingest().submit(s).code;
        };
        const std::string a =
            rate("k1", "XA", "1", {"waiting", "fees"}, "", "Chờ đợi quá lâu", "counter");
        const std::string b = rate("k2", "XB", "3", {}, "", "", "sms");
        const std::string c = rate("k3", "XA", "1", {}, "=HYPERLINK(\"x\")", "@bấm", "web");

        auto run = [&](ExportFilter f) {
            std::ostringstream out;
            auto sink = csvSink(out, false, ',');
            std::size_t progressed = 0;
            const std::size_t n =
                exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink,
                                [&](std::size_t done, std::size_t) { progressed = done; });
            CHECK(progressed == n);
            const auto rows = csvRows(out.str());
            CHECK(rows.size() == n);
            return rows;
        };
        ExportFilter all;
        all.surveyId = "counter-quick";
        const auto rows = run(all);
        REQUIRE(rows.size() == 3);
        std::map<std::string, std::map<std::string, std::string>> byReceipt;
        for (const auto& r : rows) byReceipt[r.at("receipt")] = r;
        const auto& first = byReceipt.at(a);
        CHECK(first.at("agency_code") == "XA");
        CHECK(first.at("agency_path") == "Tỉnh Phú Thọ / Xã Thử");
        CHECK(first.at("rating") == "1");
        CHECK(first.at("reasons_waiting") == "1");
        CHECK(first.at("reasons_fees") == "1");
        CHECK(first.at("reasons_attitude") == "0");  // answered, not chosen
        CHECK(first.at("comment") == "Chờ đợi quá lâu");
        CHECK(first.at("channel") == "counter");
        CHECK(first.at("version") == "1");
        CHECK(first.at("answered_at").size() == 19);
        const auto& second = byReceipt.at(b);
        CHECK(second.at("rating") == "3");
        CHECK(second.at("reasons_waiting").empty());  // not asked: missing
        const auto& third = byReceipt.at(c);
        CHECK(third.at("reasons_other") == "'=HYPERLINK(\"x\")");
        CHECK(third.at("reasons_waiting") == "0");  // only the other text: no option chosen
        CHECK(third.at("comment") == "'@bấm");
        for (const auto& r : rows)
            for (const auto& [name, value] : r) CHECK(name.find("phone") == std::string::npos);

        ExportFilter xa = all;
        xa.scopePath = rt.directory().agency("XA")->path;
        CHECK(run(xa).size() == 2);
        ExportFilter sms = all;
        sms.channel = "sms";
        CHECK(run(sms).size() == 1);
        ExportFilter past = all;
        past.toDay = index::localDay(nowMs()) - 1;
        CHECK(run(past).empty());
        ExportFilter unknown = all;
        unknown.surveyId = "khong-co";
        CHECK_THROWS_AS(run(unknown), Problem);

        // JSON Lines: numbers as numbers, missing as null.
        std::ostringstream jsonl;
        auto sink = jsonLinesSink(jsonl);
        CHECK(exportResponses(rt.database(), rt.surveys(), rt.messages(), all, *sink) == 3);
        std::istringstream lines(jsonl.str());
        std::string line;
        int n = 0;
        while (std::getline(lines, line)) {
            auto o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
            CHECK(o->get("rating").isNumeric());
            if (o->getValue<std::string>("receipt") == b) CHECK(o->isNull("reasons_waiting"));
            ++n;
        }
        CHECK(n == 3);
    });
}
