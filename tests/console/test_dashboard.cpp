// Tests for the analyst's dashboard data (GET /api/v1/dashboard and /console/dashboard): the
// headline of the last month, counters worst first, the caller's scope, and comments found with
// or without diacritics.
#include "common/Clock.h"
#include "index/Periods.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

using namespace hailong;
using Poco::JSON::Object;

namespace {

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

}  // namespace

TEST_CASE("dashboard: last month's counters worst first, in scope, with their comments",
          "[console][dashboard]") {
    test::onEachBackend([](Backend b) {
        test::TempDir dir;
        test::TestDatabase tdb(b);
        test::TestHost host(tdb.url(), dir);
        Runtime& rt = host.runtime();
        DirectoryStore& d = rt.directory();
        test::saveProvinceWithTwoCommunes(d);
        d.save(CounterInput{"XA-Q1", "Quầy một", "XA", true});
        d.save(CounterInput{"XA-Q2", "Quầy hai", "XA", true});
        d.save(CounterInput{"XB-Q1", "Quầy bên", "XB", true});
        // Last month, in Vietnam time: the dashboard's default period.
        const std::int64_t month = index::monthOf(index::localDay(nowMs())) - 1;
        const std::int64_t start = index::dayStartMs(index::firstDayOfMonth(month)) + 3600000;
        int n = 0;
        auto rate = [&](const std::string& counter, const std::string& rating,
                        const std::string& comment) {
            Submission s;
            s.idempotencyKey = "t-" + std::to_string(++n);
            s.surveyId = "counter-quick";
            s.channel = "counter";
            s.counterCode = counter;
            s.answeredAtMs = start + n * 60000;
            s.answers.push_back({"rating", std::nullopt, {rating}, ""});
            if (!comment.empty()) s.answers.push_back({"comment", std::nullopt, {}, comment});
            rt.ingest().submit(s);
        };
        for (int i = 0; i < 40; ++i)
            rate("XA-Q1", i % 4 ? "1" : "3", i % 4 ? "Phải chờ lâu, cán bộ vắng mặt." : "");
        for (int i = 0; i < 40; ++i) rate("XA-Q2", "3", "");
        for (int i = 0; i < 35; ++i) rate("XB-Q1", "2", "");
        rt.indices().foldAll();

        const User official =
            rt.users().add({"can.bo.xa", "", "official", "XA"}, "mat-khau-dai-1", false);
        const std::string cookie =
            std::string(kSessionCookie) + "=" + rt.sessions().open(official, "127.0.0.1", "t");
        auto get = [&](const std::string& path) {
            return test::http(host.port(), "GET", path, "", {{"Cookie", cookie}});
        };
        auto r = get("/api/v1/dashboard?survey=counter-quick");
        REQUIRE(r.status == 200);
        const Object::Ptr data = parse(r.body);
        CHECK(data->getValue<std::string>("agency") == "XA");
        CHECK(data->getValue<std::string>("from") == index::format(index::firstDayOfMonth(month)));
        CHECK(data->getObject("total")->getObject("headline")->getValue<int>("n") == 80);
        const auto counters = data->getArray("counters");
        REQUIRE(counters->size() == 2);  // XB's counter is not the official's
        CHECK(counters->getObject(0)->getValue<std::string>("code") == "XA-Q1");  // worst first
        CHECK(counters->getObject(0)->getValue<int>("rank") == 2);
        CHECK(counters->getObject(1)->getValue<std::string>("code") == "XA-Q2");
        CHECK(data->getArray("trend")->size() >= 1);
        // Its comments, found without diacritics; another counter's none.
        r = get("/api/v1/dashboard?survey=counter-quick&counter=XA-Q1&q=cho%20lau");
        REQUIRE(r.status == 200);
        const auto comments = parse(r.body)->getArray("comments");
        CHECK(comments->size() == 30);
        CHECK(comments->getObject(0)->getValue<std::string>("text") ==
              "Phải chờ lâu, cán bộ vắng mặt.");
        CHECK(parse(get("/api/v1/dashboard?survey=counter-quick&counter=XA-Q2").body)
                  ->getArray("comments")
                  ->size() == 0);
        // Outside the scope, and bad queries.
        CHECK(get("/api/v1/dashboard?survey=counter-quick&agency=XB").status == 403);
        CHECK(get("/api/v1/dashboard?survey=nope").status == 404);
        CHECK(get("/api/v1/dashboard?survey=counter-quick&from=2026-13-40").status == 400);
        CHECK(test::http(host.port(), "GET", "/api/v1/dashboard").status == 401);
        // The page shows the same, for a person.
        r = get("/console/dashboard?survey=counter-quick&counter=XA-Q1&q=cho+lau");
        REQUIRE(r.status == 200);
        CHECK(r.body.find("XA-Q1") != std::string::npos);
        CHECK(r.body.find("Phải chờ lâu, cán bộ vắng mặt.") != std::string::npos);
        CHECK(r.body.find("XB-Q1") == std::string::npos);
        // The links of the page keep its survey.
        CHECK(r.body.find("/console/dashboard?survey=counter-quick&amp;agency=XA&amp;") !=
              std::string::npos);
    });
}
