// Tests for the indices as users reach them: GET /api/v1/indices (auth, scope, bad input) and
// the `hailong index` command on the demo data.
#include "app/Runtime.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

using namespace hailong;
using Poco::JSON::Object;

namespace {

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

test::HttpResult get(Runtime& rt, const std::string& path,
                     const std::string& token = "test-token") {
    std::map<std::string, std::string> headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return test::http(rt.port(), "GET", path, "", headers);
}

}  // namespace

TEST_CASE("GET /api/v1/indices: values with n and intervals, a token required, clear refusals") {
    test::onEachHost([](Runtime& rt) {
        for (const auto& [key, agency, rating] :
             std::vector<std::tuple<std::string, std::string, int>>{
                 {"a", "", 3}, {"b", "", 1}, {"c", "", 2}}) {
            (void)agency;
            const std::string body =
                R"({"idempotency_key":")" + key +
                R"(","survey":"sms-quick","channel":"sms","submitted_at":"2026-03-04T09:00:00+07:00","answers":{"rating":)" +
                std::to_string(rating + 2) + "}}";
            REQUIRE(test::postJson(rt.port(), "/api/v1/responses", body).status == 201);
        }
        // Unfolded yet: the tail counts them.
        auto r = get(rt, "/api/v1/indices?survey=sms-quick&from=2026-03-01&to=2026-03-31");
        REQUIRE(r.status == 200);
        auto body = parse(r.body);
        auto group = body->getArray("groups")->getObject(0);
        CHECK(group->getValue<int>("responses") == 3);
        auto csat = group->getArray("indices")->getObject(0);
        CHECK(csat->getValue<std::string>("id") == "csat");
        CHECK(csat->getValue<double>("value") == Approx(200.0 / 3));  // ratings 5 and 4 of 5, 3, 4
        CHECK(csat->getValue<int>("n") == 3);
        CHECK(csat->getValue<bool>("too_few"));
        CHECK(csat->getValue<std::string>("interval") == "wilson");
        // After the fold, the same numbers from the aggregates.
        rt.indices().foldAll();
        auto folded =
            parse(get(rt, "/api/v1/indices?survey=sms-quick&from=2026-03-01&to=2026-03-31").body);
        CHECK(folded->getArray("groups")
                  ->getObject(0)
                  ->getArray("indices")
                  ->getObject(0)
                  ->getValue<double>("value") == Approx(200.0 / 3));
        // A trend by month, outside any data: no groups, not zeros.
        auto empty = parse(
            get(rt, "/api/v1/indices?survey=sms-quick&from=2025-01-01&to=2025-02-28&period=month")
                .body);
        CHECK(empty->getArray("groups")->size() == 0);

        auto anonymous = get(rt, "/api/v1/indices?survey=sms-quick", "");
        CHECK(anonymous.status == 401);
        CHECK(anonymous.body.find("auth.credentials_required") != std::string::npos);
        CHECK(get(rt, "/api/v1/indices?survey=sms-quick", "wrong").status == 401);
        CHECK(get(rt, "/api/v1/indices?survey=nope").status == 404);
        auto bad = get(rt, "/api/v1/indices?survey=sms-quick&from=2026-02-30");
        CHECK(bad.status == 400);
        CHECK(bad.body.find("from") != std::string::npos);
        CHECK(get(rt, "/api/v1/indices?survey=sms-quick&by=colour").status == 422);
        CHECK(get(rt, "/api/v1/indices?survey=sms-quick&period=fortnight").status == 400);
        // Officers are kept by month: no weekly trend, and a mid-month range covers the month.
        CHECK(get(rt, "/api/v1/indices?survey=sms-quick&by=officer&period=week").status == 422);
        auto months = parse(
            get(rt, "/api/v1/indices?survey=sms-quick&by=officer&from=2026-03-04&to=2026-03-20")
                .body);
        CHECK(months->getValue<std::string>("from") == "2026-03-01");
        CHECK(months->getValue<std::string>("to") == "2026-03-31");
        CHECK(get(rt, "/api/v1/indices?survey=sms-quick&from=2026-03-05&to=2026-03-01").status ==
              400);
        CHECK(get(rt, "/api/v1/indices/rank?survey=sms-quick&by=channel").status == 200);
        // sms-quick's first index is a leaf: it has no criteria to be driven by.
        CHECK(get(rt, "/api/v1/indices/drivers?survey=sms-quick").status == 422);
        auto d766 = get(rt, "/api/v1/indices/d766?from=2026-03-01&to=2026-03-31");
        REQUIRE(d766.status == 200);
        CHECK(parse(d766.body)->getArray("agencies")->size() == 0);  // no dossiers here
        auto compare = get(rt,
                           "/api/v1/indices/"
                           "compare?survey=sms-quick&from=2026-03-01&to=2026-03-31&before_from="
                           "2026-02-01&before_to=2026-02-28");
        REQUIRE(compare.status == 200);
        CHECK(parse(compare.body)->getArray("changes")->getObject(0)->isNull("change"));  // nothing
                                                                                          // before
    });
}

TEST_CASE("hailong index prints SIPAS for the demo data by agency and month") {
    test::TempDir dir;
    const std::string db = "sqlite:" + dir.file("demo.db");
    std::string out;
    REQUIRE(test::runHailong({"demo", "--dossiers", "3000", "--db", db}, out) == 0);
    REQUIRE(test::runHailong({"index", "fold", "--db", db}, out) == 0);
    REQUIRE(test::runHailong({"index", "--survey", "sipas-2017", "--by", "agency", "--period",
                              "month", "--db", db},
                             out) == 0);
    CHECK(out.find("PERIOD      GROUP") == 0);
    CHECK(out.find("sipas [95% CI]") != std::string::npos);
    CHECK(out.find("Tỉnh Phú Thọ") != std::string::npos);
    REQUIRE(test::runHailong({"index", "--survey", "sipas-2017", "--format", "csv", "--db", db},
                             out) == 0);
    CHECK(out.find("period,group,name,responses,index,value,n,low,high,too_few\n") == 0);
    CHECK(out.find(",sipas,") != std::string::npos);
    CHECK(out.find(",officer_polite,") != std::string::npos);
    REQUIRE(test::runHailong({"index", "verify", "--db", db}, out) == 0);
    CHECK(out.find("sipas-2017: ") != std::string::npos);
    CHECK(out.find("aggregates match the raw responses") != std::string::npos);
    CHECK(out.find("MISMATCH") == std::string::npos);
    CHECK(test::runHailong({"index", "--survey", "sipas-2017", "--period", "fortnight", "--db", db},
                           out) != 0);
    CHECK(out.find("period") != std::string::npos);
}
