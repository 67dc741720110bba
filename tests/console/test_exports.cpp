// Console exports: an analyst asks for an export of their part of the tree, the page follows
// it in the background, and the file downloaded is the same as the command line's; nobody else
// can download it. On SQLite and PostgreSQL.
#include "common/Clock.h"
#include "export/ResponseExport.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

using namespace hailong;

TEST_CASE("console exports: a background job, its progress page and its download",
          "[console][export]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            int n = 0;
            for (const char* agency : {"XA", "XA", "XA", "XB", "XB"}) {
                Submission s;
                s.idempotencyKey = "e-" + std::to_string(++n);
                s.surveyId = "counter-quick";
                s.channel = "web";
                s.agencyCode = agency;
                s.answers.push_back({"rating", std::nullopt, {"1"}, ""});
                s.answers.push_back(
                    {"comment", std::nullopt, {}, "=SUM(A1) góp ý " + std::to_string(n)});
                rt.ingest().submit(s);
            }
            const User analyst =
                rt.users().add({"phan.tich.xa", "", "analyst", "XA"}, "mat-khau-dai-1", false);
            const User other =
                rt.users().add({"phan.tich.xb", "", "analyst", "XB"}, "mat-khau-dai-1", false);
            auto session = [&](const User& u) {
                const std::string token = rt.sessions().open(u, "127.0.0.1", "t");
                return std::pair{std::string(kSessionCookie) + "=" + token,
                                 rt.sessions().find(token, nowMs())->csrf};
            };
            const auto [cookie, csrf] = session(analyst);
            auto get = [&](const std::string& path, const std::string& c) {
                return test::http(host.port(), "GET", path, "", {{"Cookie", c}});
            };

            // Asked without an agency: the analyst's own subtree.
            const auto asked = test::http(
                host.port(), "POST", "/console/exports",
                "csrf=" + csrf + "&survey=counter-quick&format=csv&agency=&from=&to=&channel=",
                {{"Cookie", cookie}, {"Content-Type", "application/x-www-form-urlencoded"}});
            REQUIRE(asked.status == 303);
            std::string page, link;
            for (int i = 0; i < 300 && link.empty(); ++i) {
                page = get("/console/exports", cookie).body;
                std::smatch m;
                if (std::regex_search(page, m,
                                      std::regex("/console/exports/([0-9a-f]{32})/download")))
                    link = m[0];
                else
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            REQUIRE_FALSE(link.empty());
            CHECK(page.find("http-equiv=\"refresh\"") ==
                  std::string::npos);  // nothing left running
            const auto file = get(link, cookie);
            REQUIRE(file.status == 200);
            CHECK(file.headers.at("content-type") == "text/csv; charset=utf-8");
            CHECK(file.headers.at("content-disposition").find("counter-quick-") !=
                  std::string::npos);

            // The same bytes as the command line's export of XA.
            exports::ExportFilter f;
            f.surveyId = "counter-quick";
            f.scopePath = rt.directory().agency("XA")->path;
            std::ostringstream expected;
            auto sink = exports::csvSink(expected, false, ',');
            CHECK(exports::exportResponses(rt.database(), rt.surveys(), rt.messages(), f, *sink) ==
                  3);
            CHECK(file.body == expected.str());
            CHECK(file.body.find("'=SUM(A1) góp ý 1") != std::string::npos);
            CHECK(file.body.find("góp ý 4") == std::string::npos);  // XB's

            // Another analyst sees no such file; XB is not the first analyst's to export.
            CHECK(get(link, session(other).first).status == 404);
            const auto refused = test::http(
                host.port(), "POST", "/console/exports",
                "csrf=" + csrf + "&survey=counter-quick&format=xlsx&agency=XB",
                {{"Cookie", cookie}, {"Content-Type", "application/x-www-form-urlencoded"}});
            CHECK(refused.status == 403);
            const auto unknown = test::http(
                host.port(), "POST", "/console/exports",
                "csrf=" + csrf + "&survey=counter-quick&format=pdf",
                {{"Cookie", cookie}, {"Content-Type", "application/x-www-form-urlencoded"}});
            CHECK(unknown.status == 400);
        },
        true);
}
