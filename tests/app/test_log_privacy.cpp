// The log never prints a citizen's phone number, a password or a token: a real `hailong serve`
// with request logging on goes through what puts them on the wire (an official signing in and
// changing the password, the API token, a tablet's pairing code and token, an SMS and its
// gateway secret, an answer sent back by SMS through a gateway that is down, a dossier
// imported with a phone, a citizen's report asked for on the command line); then its log is
// searched for each of them.
#include "common/Clock.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

using namespace hailong;
using Poco::JSON::Object;

namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string query(const std::string& v) {
    std::string out;
    Poco::URI::encode(v, "&=+?#/ ", out);
    return out;
}

// The value of the hidden field `name` in an HTML form.
std::string hidden(const std::string& html, const std::string& name) {
    std::smatch m;
    const std::regex field("name=\"" + name + "\" value=\"([^\"]*)\"");
    return std::regex_search(html, m, field) ? m[1].str() : "";
}

// The value of cookie `name` among a response's Set-Cookie header.
std::string cookieOf(const test::HttpResult& r, const std::string& name) {
    const auto it = r.headers.find("set-cookie");
    if (it == r.headers.end()) return "";
    const auto at = it->second.find(name + "=");
    if (at == std::string::npos) return "";
    const auto from = at + name.size() + 1;
    return it->second.substr(from, it->second.find(';', from) - from);
}

}  // namespace

TEST_CASE("the log never prints phone numbers, passwords or tokens") {
    test::TestDatabase tdb(Backend::SQLite);
    test::TempDir dir;
    {
        test::TempDir setup;
        test::TestHost host(tdb.url(), setup, false);
        DirectoryStore& d = host.runtime().directory();
        test::saveProvinceWithTwoCommunes(d);
        d.save(CounterInput{"XA-Q1", "Quầy 1", "XA", true});
        d.save(DeviceInput{"TAB-01", "Máy tính bảng", "XA-Q1"});
        DossierInput x;
        x.code = "XA-06";
        x.agencyCode = "XA";
        x.receivedAtMs = nowMs() - 86400000;
        x.phone = "0912 345 678";
        d.save(x);
    }
    const std::uint16_t port = test::freePort();
    const std::string log = dir.file("serve.log");
    const std::string kannelSecret = "kannel-secret-4f9e2", kannelPassword = "sendsms-pw-77ab1";
    test::Child server({"serve",
                        "--db",
                        tdb.url(),
                        "--port",
                        std::to_string(port),
                        "--set",
                        "api.token=api-token-5b3c8d",
                        "--set",
                        "paths.plugins=" + test::pluginDir(),
                        "--set",
                        "plugins.enabled=counter,sms",
                        "--set",
                        "plugin.sms.secret=" + kannelSecret,
                        "--set",
                        "plugin.sms.sendsms_url=http://127.0.0.1:9/cgi-bin/sendsms",
                        "--set",
                        "plugin.sms.sendsms_user=hailong",
                        "--set",
                        "plugin.sms.sendsms_password=" + kannelPassword,
                        "--set",
                        "plugin.sms.quiet_hours=",
                        "--set",
                        "outbox.poll_ms=100",
                        "--set",
                        "outbox.max_attempts=1",  // the first failure is final, and logged
                        "--set",
                        "http.log_requests=true",
                        "--set",
                        "paths.data=" + dir.path()},
                       {}, log);
    REQUIRE(test::waitForHealth(port, 30));
    const std::map<std::string, std::string> api{{"Authorization", "Bearer api-token-5b3c8d"},
                                                 {"Content-Type", "application/json"}};

    // An official signs in with the one-time password and sets their own.
    std::smatch m;
    const std::string start = readFile(log);
    REQUIRE(std::regex_search(start, m, std::regex("admin, [^:]*: ([A-Z0-9]{16})")));
    const std::string oneTime = m[1].str(), chosen = "mat-khau-rieng-9q8w7e";
    const auto signin = test::http(port, "GET", "/console/signin");
    const std::string pre = hidden(signin.body, "pre");
    REQUIRE(pre.size() == 32);
    const auto signedIn = test::http(port, "POST", "/console/signin",
                                     "username=admin&password=" + query(oneTime) + "&pre=" + pre,
                                     {{"Content-Type", kForm}, {"Cookie", "hl_pre=" + pre}});
    REQUIRE(signedIn.status == 303);
    const std::string session = cookieOf(signedIn, "hl_session");
    REQUIRE(!session.empty());
    const auto passwordPage =
        test::http(port, "GET", "/console/password", "", {{"Cookie", "hl_session=" + session}});
    const std::string csrf = hidden(passwordPage.body, "csrf");
    const auto changed = test::http(
        port, "POST", "/console/password",
        "csrf=" + csrf + "&current=" + query(oneTime) + "&new=" + chosen + "&again=" + chosen,
        {{"Content-Type", kForm}, {"Cookie", "hl_session=" + session}});
    REQUIRE(changed.status == 303);
    const std::string newSession = cookieOf(changed, "hl_session");
    // A wrong password too.
    test::http(port, "POST", "/console/signin",
               "username=admin&password=sai-mat-khau-3x&pre=" + pre,
               {{"Content-Type", kForm}, {"Cookie", "hl_pre=" + pre}});

    // A tablet is paired and rates.
    const auto code = test::http(port, "POST", "/api/v1/devices/TAB-01/pairing", "", api);
    REQUIRE(code.status == 201);
    const std::string pairingCode = parse(code.body)->getValue<std::string>("pairing_code");
    const auto paired =
        test::http(port, "POST", "/c/counter/pair", R"({"code":")" + pairingCode + R"("})",
                   {{"Content-Type", "application/json"}});
    REQUIRE(paired.status == 201);
    const std::string deviceToken = parse(paired.body)->getValue<std::string>("token");
    const std::int64_t at = nowMs();
    CHECK(test::http(
              port, "POST", "/c/counter/api/v1/ratings",
              R"({"sent_at":)" + std::to_string(at) +
                  R"(,"ratings":[{"uuid":"00000000-0000-4000-8000-000000000001",)"
                  R"("rating":"3","tapped_at":)" +
                  std::to_string(at) + "}]}",
              {{"Authorization", "Bearer " + deviceToken}, {"Content-Type", "application/json"}})
              .status == 200);
    // ...and with the token in its cookie and in the query, as a kiosk page might.
    test::http(port, "GET", "/c/counter/?token=" + deviceToken, "",
               {{"Cookie", "hl_device=" + deviceToken}});

    // A dossier comes in with a phone; the citizen texts a rating and a complaint; an official
    // answers the complaint, and the answer goes to a gateway that is down (the error is
    // logged).
    CHECK(test::http(port, "POST", "/api/v1/dossiers",
                     R"({"code":"XA-07","agency":"XA","received_at":")" +
                         formatTimeMs(nowMs() - 3600000) + R"(","phone":"+84 987 654 321"})",
                     api)
              .status < 300);
    const std::string from = "+84912345678";
    for (const std::string text : {"DG XA-06 1", "PA XA-06 Goi lai cho toi so 0912345678"})
        CHECK(test::http(port, "GET",
                         "/c/sms/kannel?secret=" + kannelSecret + "&from=" + query(from) +
                             "&to=8077&text=" + query(text))
                  .status < 300);
    const auto cases = test::http(port, "GET", "/api/v1/cases", "", api);
    REQUIRE(cases.status == 200);
    const auto list = parse(cases.body)->getArray("cases");
    REQUIRE(list->size() >= 1);
    const std::string caseCode = list->getObject(0)->getValue<std::string>("code");
    CHECK(test::http(port, "POST", "/api/v1/cases/" + caseCode + "/answer",
                     R"({"answer":"Chúng tôi sẽ gọi lại."})", api)
              .status < 300);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the outbox tries the gateway
    // The operator answers the citizen's request for their data.
    std::string said;
    CHECK(test::runHailong(
              {"privacy", "report", from, "--db", tdb.url(), "--out", dir.file("report.json")},
              said) == 0);
    server.terminate();
    CHECK(server.wait() == 0);

    const std::string text = readFile(log) + said;
    INFO(text);
    CHECK(text.find("GET /c/sms/kannel") != std::string::npos);    // the requests were logged
    CHECK(text.find("sendsms unreachable") != std::string::npos);  // and the failed answer
    // Phone numbers in any form: the last nine digits are enough to find one.
    for (const char* digits : {"912345678", "987654321", "912 345 678", "987 654 321"})
        CHECK(text.find(digits) == std::string::npos);
    for (const std::string& secret :
         {std::string("api-token-5b3c8d"), chosen, std::string("sai-mat-khau-3x"), pairingCode,
          deviceToken, session, newSession, kannelSecret, kannelPassword, csrf})
        CHECK(text.find(secret) == std::string::npos);
    // The one-time password shows once, at the first start, where the operator reads it; it
    // no longer opens anything.
    CHECK(test::occurrences(text, oneTime) == 1);
}
