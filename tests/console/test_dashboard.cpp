// Tests for the analyst's dashboard data (GET /api/v1/dashboard and /console/dashboard): the
// headline of the last month, counters worst first, the caller's scope, and comments found with
// or without diacritics.
#include "common/Clock.h"
#include "index/IndexStore.h"
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
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            DirectoryStore& d = rt.directory();
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
            CHECK(data->getValue<std::string>("from") ==
                  index::format(index::firstDayOfMonth(month)));
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
        },
        true);
}

TEST_CASE(
    "dashboard: breakdowns, the hour-of-week heat map, comment topics and filters, the "
    "report and the open alerts",
    "[console][dashboard]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            DirectoryStore& d = rt.directory();
            d.save(CounterInput{"XA-Q1", "Quầy một", "XA", true});
            d.save(OfficerInput{"XA-CB1", "Nguyễn Văn An", "Công chức", "XA", true});
            d.save(OfficerInput{"XA-CB2", "Trần Thị Bình", "Công chức", "XA", true});
            d.save(ProcedureInput{"1.001193", "Đăng ký khai sinh", "Hộ tịch", "full", 1, true});
            // Last month's first Monday (weekday 0) and the Tuesday after it, in Vietnam time.
            const std::int64_t month = index::monthOf(index::localDay(nowMs())) - 1;
            std::int64_t monday = index::firstDayOfMonth(month);
            while (index::hourOfWeek(index::dayStartMs(monday)) != 0) ++monday;
            const std::int64_t mondayAt8 = index::dayStartMs(monday) + 8 * 3600000;
            const std::int64_t tuesdayAt14 = index::dayStartMs(monday + 1) + 14 * 3600000;
            int n = 0;
            auto rate = [&](std::int64_t at, const std::string& rating, const std::string& officer,
                            const std::string& channel, const std::string& comment) {
                Submission s;
                s.idempotencyKey = "h-" + std::to_string(++n);
                s.surveyId = "counter-quick";
                s.channel = channel;
                s.counterCode = "XA-Q1";
                s.officerCode = officer;
                s.procedureCode = "1.001193";
                s.answeredAtMs = at + n * 1000;
                s.answers.push_back({"rating", std::nullopt, {rating}, ""});
                // The comment question is asked of the unhappy; the others comment freely.
                if (rating == "1" && !comment.empty())
                    s.answers.push_back({"comment", std::nullopt, {}, comment});
                else
                    s.comment = comment;
                try {
                    rt.ingest().submit(s);
                } catch (const Problem& p) {
                    for (const auto& e : p.errors()) FAIL(e.field << ": " << e.code);
                }
            };
            for (int i = 0; i < 10; ++i)
                rate(mondayAt8, "1", "XA-CB1", "counter", i < 4 ? "Phải chờ đợi quá lâu 100%" : "");
            for (int i = 0; i < 12; ++i)
                rate(tuesdayAt14, "3", "XA-CB2", i % 2 ? "sms" : "counter",
                     i < 3 ? "Cán bộ nhiệt tình, chu đáo." : "");
            rate(tuesdayAt14, "2", "XA-CB2", "sms", "");  // the 23rd: a different hour cell, alone
            rt.indices().foldAll();

            const User official =
                rt.users().add({"can.bo.xa", "", "official", "XA"}, "mat-khau-dai-1", false);
            const User other =
                rt.users().add({"can.bo.xb", "", "official", "XB"}, "mat-khau-dai-1", false);
            auto cookieOf = [&](const User& u) {
                return std::string(kSessionCookie) + "=" + rt.sessions().open(u, "127.0.0.1", "t");
            };
            const std::string cookie = cookieOf(official);
            auto get = [&](const std::string& path, const std::string& c) {
                return test::http(host.port(), "GET", path, "", {{"Cookie", c}});
            };
            auto json = [&](const std::string& query) {
                const auto r = get("/api/v1/dashboard?survey=counter-quick" + query, cookie);
                INFO(r.body);
                REQUIRE(r.status == 200);
                return parse(r.body);
            };
            Object::Ptr data = json("");
            // Breakdowns: officers worst first, the procedure, the two channels.
            const auto officers = data->getArray("officers");
            REQUIRE(officers->size() == 2);
            CHECK(officers->getObject(0)->getValue<std::string>("code") == "XA-CB1");
            CHECK(officers->getObject(0)->getValue<std::string>("name") == "Nguyễn Văn An");
            CHECK(data->getArray("procedures")->getObject(0)->getValue<std::string>("code") ==
                  "1.001193");
            std::map<std::string, int> channels;
            for (const auto& c : *data->getArray("channels")) {
                const auto o = c.extract<Object::Ptr>();
                channels[o->getValue<std::string>("code")] = o->getValue<int>("responses");
            }
            CHECK(channels == std::map<std::string, int>{{"counter", 16}, {"sms", 7}});
            // The distribution of the rating question.
            const auto rating = data->getArray("distribution")->getObject(0);
            CHECK(rating->getValue<std::string>("question") == "rating");
            CHECK(rating->getArray("options")->getObject(0)->getValue<int>("count") == 10);
            CHECK(rating->getArray("options")->getObject(2)->getValue<int>("count") == 12);
            // The heat map: Monday 8h all unhappy, Tuesday 14h none.
            std::map<std::pair<int, int>, Object::Ptr> cells;
            for (const auto& c : *data->getObject("heatmap")->getArray("cells")) {
                const auto o = c.extract<Object::Ptr>();
                cells[{o->getValue<int>("weekday"), o->getValue<int>("hour")}] = o;
            }
            REQUIRE(cells.count({0, 8}));
            CHECK(cells[{0, 8}]->getValue<int>("responses") == 10);
            CHECK(cells[{0, 8}]->getValue<double>("unhappy_share") == Approx(100));
            REQUIRE(cells.count({1, 14}));
            CHECK(cells[{1, 14}]->getValue<int>("rated") == 13);
            CHECK(cells[{1, 14}]->getValue<double>("unhappy_share") == Approx(0));
            CHECK(cells.size() == 2);
            // Topics of the comments, and the filters.
            const auto topics = data->getObject("comment_topics");
            CHECK(topics->getValue<int>("comments") == 7);
            CHECK(topics->getObject("sentiment")->getValue<int>("negative") == 4);
            CHECK(topics->getObject("sentiment")->getValue<int>("positive") == 3);
            std::map<std::string, int> byTopic;
            for (const auto& t : *topics->getArray("topics")) {
                const auto o = t.extract<Object::Ptr>();
                byTopic[o->getValue<std::string>("topic")] = o->getValue<int>("count");
            }
            CHECK(byTopic["waiting"] == 4);
            CHECK(byTopic["attitude"] == 3);
            CHECK(json("&topic=waiting")->getValue<int>("comments_matching") == 4);
            CHECK(json("&sentiment=positive")->getValue<int>("comments_matching") == 3);
            CHECK(json("&rating=unhappy")->getValue<int>("comments_matching") == 4);
            CHECK(json("&rating=satisfied")->getValue<int>("comments_matching") == 3);
            CHECK(json("&q=CHO%20DOI")->getValue<int>("comments_matching") == 4);
            // A search is text, not a pattern: "%" finds the comments that say "%" only.
            CHECK(json("&q=%25")->getValue<int>("comments_matching") == 4);
            CHECK(json("&q=_")->getValue<int>("comments_matching") == 0);
            const auto first = json("&topic=waiting")->getArray("comments")->getObject(0);
            CHECK(first->getValue<bool>("unhappy"));
            CHECK(first->getValue<std::string>("sentiment") == "negative");
            CHECK(first->getArray("topics")->getElement<std::string>(0) == "waiting");
            for (const char* bad : {"&topic=noise", "&sentiment=angry", "&rating=4", "&trend=day"})
                CHECK(get("/api/v1/dashboard?survey=counter-quick" + std::string(bad), cookie)
                          .status == 400);
            // Weekly trend; a range that cuts months: officers and counters over whole months.
            CHECK(json("&trend=week")->getArray("trend")->size() == 13);
            const std::string from = index::format(index::firstDayOfMonth(month) + 2);
            const auto cut =
                json("&from=" + from + "&to=" + index::format(index::lastDayOfMonth(month)));
            REQUIRE(cut->has("whole_months"));
            CHECK(cut->getObject("whole_months")->getValue<std::string>("from") ==
                  index::format(index::firstDayOfMonth(month)));

            // Open alerts show to those who see their agency.
            AlertRuleInput rule;
            rule.agencyCode = "XA", rule.kind = "index_floor", rule.surveyId = "counter-quick";
            rule.threshold = "90", rule.window = "90", rule.minN = "5";
            rt.alerts().save(0, rule, "test");
            REQUIRE(rt.alertMonitor().evaluate({}, nowMs()).size() == 1);
            CHECK(json("")->getArray("alerts")->size() == 1);
            const auto theirs = get("/api/v1/dashboard?survey=counter-quick", cookieOf(other));
            REQUIRE(theirs.status == 200);
            CHECK(parse(theirs.body)->getArray("alerts")->size() == 0);

            // The page, the report and the alerts page, for a person.
            auto page = get("/console/dashboard?survey=counter-quick", cookie);
            REQUIRE(page.status == 200);
            for (const char* part :
                 {"Theo giờ trong tuần", "Nguyễn Văn An", "Đăng ký khai sinh", "Tin nhắn SMS",
                  "Phân bố câu trả lời", "Chờ đợi", "Cảnh báo đang mở", "Chỉ số counter-quick: "}) {
                INFO(part);
                CHECK(page.body.find(part) != std::string::npos);
            }
            auto report = get("/console/report?survey=counter-quick&counter=XA-Q1&q=x", cookie);
            REQUIRE(report.status == 200);
            CHECK(report.body.find("Báo cáo mức độ hài lòng") != std::string::npos);
            CHECK(report.body.find("<details open>") != std::string::npos);
            CHECK(report.body.find("Phải chờ đợi quá lâu") !=
                  std::string::npos);  // filters dropped
            CHECK(report.headers["content-security-policy"].find("default-src 'none'") !=
                  std::string::npos);
            auto alerts = get("/console/alerts", cookie);
            REQUIRE(alerts.status == 200);
            CHECK(alerts.body.find("Chỉ số counter-quick: ") != std::string::npos);
            CHECK(alerts.body.find("id=\"rule-form\"") !=
                  std::string::npos);  // an official may add
            CHECK(get("/console/alerts", cookieOf(other)).body.find("Chỉ số counter-quick: ") ==
                  std::string::npos);
        },
        true);
}
