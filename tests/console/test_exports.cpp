// Console exports: an analyst asks for an export of their part of the tree, the page follows
// it in the background, and the file downloaded is the same as the command line's; nobody else
// can download it. On SQLite and PostgreSQL.
#include "common/Clock.h"
#include "export/ResponseExport.h"
#include "support/TestSupport.h"

#include <Poco/Base64Encoder.h>
#include <Poco/URI.h>

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

TEST_CASE("console import of paper forms: a TCVN3 file as its bytes, inside the official's subtree",
          "[console][import]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            const User official =
                rt.users().add({"can.bo.xa", "", "official", "XA"}, "mat-khau-dai-1", false);
            const std::string token = rt.sessions().open(official, "127.0.0.1", "t");
            const std::string cookie = std::string(kSessionCookie) + "=" + token;
            const std::string csrf = rt.sessions().find(token, nowMs())->csrf;
            // "Số phiếu,Cơ quan,rating,comment" and two forms, in TCVN3 (ố ơ ờ ợ á â as its bytes).
            const std::string tcvn3 =
                "S\xe8"
                " phi\xd5"
                "u,C\xac"
                " quan,rating,comment\r\n"
                "G-1,XA,1,Ch\xea"
                " \xae\xee"
                "i qu\xb8"
                " l\xa9"
                "u\r\n"
                "G-2,XB,3,\r\n";
            std::ostringstream b64;
            {
                Poco::Base64Encoder encoder(b64);
                encoder.rdbuf()->setLineLength(0);
                encoder << tcvn3;
            }
            std::string encoded;
            Poco::URI::encode(b64.str(), "+/=", encoded);
            auto post = [&](const std::string& extra) {
                return test::http(
                    host.port(), "POST", "/console/import/responses",
                    "csrf=" + csrf + "&survey=counter-quick&paper_name=phieu.csv&paper_content=" +
                        encoded + extra,
                    {{"Cookie", cookie}, {"Content-Type", "application/x-www-form-urlencoded"}});
            };
            const auto page = post("");
            REQUIRE(page.status == 200);
            CHECK(page.body.find("<code>tcvn3</code>") != std::string::npos);
            CHECK(page.body.find("Số phiếu → form_id") != std::string::npos);
            CHECK(page.body.find("<code>G-2</code>") != std::string::npos);  // XB: not theirs
            exports::ExportFilter f;
            f.surveyId = "counter-quick";
            std::ostringstream out;
            auto sink = exports::jsonLinesSink(out);
            REQUIRE(exports::exportResponses(rt.database(), rt.surveys(), rt.messages(), f,
                                             *sink) == 1);
            CHECK(out.str().find("\"comment\":\"Chờ đợi quá lâu\"") != std::string::npos);
            CHECK(out.str().find("\"channel\":\"paper\"") != std::string::npos);
            // Again: nothing new.
            CHECK(post("").body.find("Đã có từ trước: 1") != std::string::npos);
        },
        true);
}
