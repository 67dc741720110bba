// Access, end to end over HTTP on a real serving host (SQLite and PostgreSQL): every route of the
// route table refuses a caller without credentials but a listed few that are public on purpose;
// a session planted before sign-in is never the one after it, and sign-out ends it on the
// server; every changing route of the console (and of the API, for sessions) refuses a missing,
// wrong or foreign anti-forgery key; sessions past their idle or absolute end are refused; a
// counter tablet's token stops at once when its device is revoked or paired again; forged
// dossier links, SMS webhooks with a bad signature and revoked or narrow API keys are refused.
// Every refusal is checked twice: its status, and that the database holds what it held before.
#include "common/Clock.h"
#include "links/SurveyLinkService.h"
#include "support/TestSupport.h"

#include <hailong/Hmac.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/DigestEngine.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/SHA1Engine.h>
#include <Poco/URI.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <regex>
#include <set>
#include <sstream>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using Poco::JSON::Object;

namespace {

constexpr std::int64_t kMinute = 60000;
constexpr const char* kPassword = "mat-khau-dai-1";
constexpr const char* kForm = "application/x-www-form-urlencoded";

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

std::string problemCode(const test::HttpResult& r) {
    try {
        return parse(r.body)->optValue<std::string>("code", "");
    } catch (const std::exception&) {
        return "(not a problem: " + r.body.substr(0, 200) + ")";
    }
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string encode(const std::string& s) {
    std::string out;
    Poco::URI::encode(s, "&=+%#?/ \n,{}\":", out);
    return out;
}

// A string of the locale catalog `file` (e.g. "locale/vi/console.json") under the source tree.
std::string catalogText(const std::string& file, const std::string& key) {
    Poco::FileInputStream in(test::sourceDir() + "/" + file);
    return Poco::JSON::Parser().parse(in).extract<Object::Ptr>()->getValue<std::string>(key);
}

// Everything the database holds, as one digest per table: rows in key order, every value as
// text. Left out: what background jobs derive or note on their own time: the index tables, a
// response's folding into them and its readings (mood, feedback, topics), a session's and a
// device's last use, a tablet's queue, the background jobs' cursors (the webhook feed's).
std::map<std::string, std::string> contents(Runtime& rt) {
    static const std::map<std::string, std::set<std::string>> volatileColumns{
        {"sessions", {"seen_at"}},
        {"devices", {"last_seen_at", "queue_size"}},
        {"housekeeping", {"done_until"}},
        {"responses",
         {"folded", "read_at", "mood", "feedback", "feedback_key", "sentiment", "topics"}}};
    return rt.database().read([&](Session& s) {
        std::vector<std::string> tables;
        if (rt.database().backend() == Backend::SQLite)
            s << "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                into(tables), now;
        else
            s << "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                 "current_schema() AND table_type = 'BASE TABLE'",
                into(tables), now;
        std::map<std::string, std::string> out;
        for (const std::string& table : tables) {
            if (table.starts_with("index_")) continue;
            Poco::Data::Statement st(s);
            st << "SELECT * FROM " + table + " ORDER BY 1";
            st.execute();
            Poco::Data::RecordSet rs(st);
            Poco::SHA1Engine sha;
            std::size_t rows = 0;
            const auto skipped = volatileColumns.find(table);
            for (bool more = rs.moveFirst(); more; more = rs.moveNext(), ++rows)
                for (std::size_t c = 0; c < rs.columnCount(); ++c) {
                    if (skipped != volatileColumns.end() && skipped->second.count(rs.columnName(c)))
                        continue;
                    const Poco::Dynamic::Var v = rs.value(c);
                    const std::string text = v.isEmpty() ? "\x01null" : v.convert<std::string>();
                    sha.update(text + '\x1f');
                }
            out[table] = std::to_string(rows) + ":" + Poco::DigestEngine::digestToHex(sha.digest());
        }
        return out;
    });
}

// The tables whose contents differ between two snapshots.
std::set<std::string> changed(const std::map<std::string, std::string>& before,
                              const std::map<std::string, std::string>& after) {
    std::set<std::string> out;
    for (const auto& [table, digest] : after)
        if (!before.count(table) || before.at(table) != digest) out.insert(table);
    for (const auto& [table, digest] : before)
        if (!after.count(table)) out.insert(table);
    return out;
}

std::string names(const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
    return out.empty() ? "(none)" : out;
}

// Checks that the database holds what `before` saw, naming the tables that changed otherwise.
void checkUnchanged(Runtime& rt, const std::map<std::string, std::string>& before) {
    const auto diff = changed(before, contents(rt));
    INFO("changed: " << names(diff));
    CHECK(diff.empty());
}

// A signed-in browser of a console user: its cookie's token and its form key.
struct Browser {
    std::string token, csrf;
    std::string cookie() const { return std::string(kSessionCookie) + "=" + token; }
};

Browser openSession(Runtime& rt, const User& u) {
    Browser b;
    b.token = rt.sessions().open(u, "127.0.0.1", "test");
    const auto s = rt.sessions().find(b.token, nowMs());
    REQUIRE(s);
    b.csrf = s->csrf;
    return b;
}

// A console form post with `cookie`.
test::HttpResult postForm(std::uint16_t port, const std::string& path, const std::string& cookie,
                          const std::string& body) {
    std::map<std::string, std::string> headers{{"Content-Type", kForm}};
    if (!cookie.empty()) headers["Cookie"] = cookie;
    return test::http(port, "POST", path, body, headers);
}

test::HttpResult getWith(std::uint16_t port, const std::string& path, const std::string& cookie) {
    return test::http(port, "GET", path, "", {{"Cookie", cookie}});
}

bool toSignIn(const test::HttpResult& r) {
    const auto it = r.headers.find("location");
    return r.status == 303 && it != r.headers.end() && it->second.starts_with("/console/signin");
}

// The agency tree PT > XA, XB, each commune with a counter, an officer, a device, a dossier, an
// alert rule (ids 1 and 2) and a follow-up case (ids 1 and 2); an admin, an official of XA.
struct Province {
    /// Serving with the channel plugin `plugin` (of the build's plugins) when one is named.
    explicit Province(Backend b, std::map<std::string, std::string> extra = {},
                      const std::string& plugin = "")
        : tdb(b), host(tdb.url(), dir, plugin.empty(), withPlugin(std::move(extra), plugin)) {
        Runtime& rt = host.runtime();
        if (!plugin.empty()) test::serveWithPlugin(rt, plugin);
        DirectoryStore& d = rt.directory();
        test::saveProvinceWithTwoCommunes(d);
        for (const std::string a : {"XA", "XB"}) {
            d.save(CounterInput{a + "-Q1", "Quầy 1", a, true});
            d.save(OfficerInput{a + "-CB1", "Cán bộ", "Công chức", a, true});
            d.save(DeviceInput{a + "-T1", "Máy 1", a + "-Q1"});
            DossierInput x;
            x.code = a + "-1";
            x.agencyCode = a;
            x.receivedAtMs = nowMs() - 86400000;
            d.save(x);
            AlertRuleInput rule;
            rule.agencyCode = a, rule.kind = "unhappy_share", rule.threshold = "30";
            rule.window = "60", rule.minN = "10";
            rt.alerts().save(0, rule, "test");
            Complaint c;
            c.channel = "sms";
            c.dossierCode = a + "-1";
            c.text = "Phản ánh về hồ sơ " + a + "-1";
            caseCode[a] = rt.cases().complain(c).code;
        }
        admin = rt.users().add({"quan.tri", "", "admin", ""}, kPassword, false);
        official = rt.users().add({"can.bo.xa", "", "official", "XA"}, kPassword, false);
    }
    Runtime& rt() { return host.runtime(); }
    std::uint16_t port() { return rt().port(); }

    static std::map<std::string, std::string> withPlugin(std::map<std::string, std::string> extra,
                                                         const std::string& plugin) {
        if (!plugin.empty()) {
            extra["paths.plugins"] = test::pluginDir();
            extra.emplace("plugins.enabled", plugin);
        }
        return extra;
    }

    test::TempDir dir;
    test::TestDatabase tdb;
    test::TestHost host;
    std::map<std::string, std::string> caseCode;
    User admin, official;
};

// The sign-in form as a browser gets it: the value of its key, set as the hl_pre cookie too.
std::string signInKey(std::uint16_t port, const std::string& cookie = "") {
    const auto page = getWith(port, "/console/signin", cookie);
    REQUIRE(page.status == 200);
    const std::string pre = test::cookieSet(page, "hl_pre");
    REQUIRE(pre.size() == 32);
    CHECK(contains(page.body, pre));
    return pre;
}

}  // namespace

// ---- session fixation, sign-out -----------------------------------------------------------------

TEST_CASE("access: a session planted before sign-in is not the one after it, and sign-out ends it",
          "[console][access]") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        Runtime& rt = p.rt();
        const User mallory = rt.users().add({"ke.gian", "", "analyst", "XB"}, kPassword, false);
        const std::int64_t adminId = p.admin.id;

        // The attacker plants two cookies: an id of their choosing (never issued) and the id of
        // a session of their own.
        const std::string invented(64, 'a');
        const Browser own = openSession(rt, mallory);
        for (const std::string& planted : {invented, own.token}) {
            INFO("planted " << planted.substr(0, 8));
            const std::string cookie = std::string(kSessionCookie) + "=" + planted;
            // The victim opens the sign-in page with the planted cookie (with a session of the
            // attacker's own the page says it is signed in: it redirects to the console).
            const std::string pre = signInKey(p.port());
            const auto signedIn =
                postForm(p.port(), "/console/signin", cookie + "; hl_pre=" + pre,
                         "pre=" + pre + "&username=quan.tri&password=" + kPassword +
                             "&next=%2Fconsole%2Fagencies");
            REQUIRE(signedIn.status == 303);
            CHECK(signedIn.headers.at("location") == "/console/agencies");
            const std::string issued = test::cookieSet(signedIn, kSessionCookie);
            REQUIRE(issued.size() == 64);
            CHECK(issued != planted);  // a new id, always
            CHECK(contains(signedIn.headers.at("set-cookie"), "HttpOnly"));
            CHECK(contains(signedIn.headers.at("set-cookie"), "SameSite=Strict"));
            // The new id is the admin's; the planted one is not (unknown, or still the attacker's).
            const auto mine =
                getWith(p.port(), "/console/users", std::string(kSessionCookie) + "=" + issued);
            CHECK(mine.status == 200);
            CHECK(contains(mine.body, "quan.tri"));
            const auto theirs = getWith(p.port(), "/console/users", cookie);
            if (planted == invented) {
                CHECK(toSignIn(theirs));
            } else {
                CHECK(theirs.status == 403);  // an analyst's session, as before
            }
            CHECK(
                test::http(p.port(), "GET", "/api/v1/dossiers?agency=XA", "", {{"Cookie", cookie}})
                    .status == (planted == invented ? 401 : 403));
            // The database holds the hash of the new id for the admin, never the planted one.
            const auto sessions = rt.sessions().ofUser(adminId);
            REQUIRE(sessions.size() == 1);
            CHECK(rt.sessions().find(issued, nowMs())->tokenHash == sessions.front().tokenHash);
            CHECK(sessions.front().tokenHash.find(planted) == std::string::npos);

            // Signing out ends it on the server: the cookie kept (or copied) opens nothing.
            const std::string csrf = rt.sessions().find(issued, nowMs())->csrf;
            const std::string issuedCookie = std::string(kSessionCookie) + "=" + issued;
            const auto out = postForm(p.port(), "/console/signout", issuedCookie, "csrf=" + csrf);
            CHECK(toSignIn(out));
            CHECK(contains(out.headers.at("set-cookie"), "Max-Age=0"));
            CHECK(rt.sessions().ofUser(adminId).empty());
            CHECK(toSignIn(getWith(p.port(), "/console/", issuedCookie)));
            const auto api =
                test::http(p.port(), "GET", "/api/v1/dossiers", "", {{"Cookie", issuedCookie}});
            CHECK(api.status == 401);
            CHECK(problemCode(api) == "auth.credentials_required");
            const auto before = contents(rt);
            CHECK(toSignIn(postForm(p.port(), "/console/counters", issuedCookie,
                                    "csrf=" + csrf + "&code=XA-Q9&name=Q&agency=XA")));
            checkUnchanged(rt, before);
        }
        // The attacker's own session was never touched by the victim's sign-in.
        CHECK(rt.sessions().find(own.token, nowMs())->user.username == "ke.gian");

        // "Everywhere": every browser of the user, not only this one.
        const Browser one = openSession(rt, p.admin), two = openSession(rt, p.admin);
        CHECK(toSignIn(postForm(p.port(), "/console/signout", one.cookie(),
                                "csrf=" + one.csrf + "&everywhere=1")));
        CHECK(toSignIn(getWith(p.port(), "/console/", one.cookie())));
        CHECK(toSignIn(getWith(p.port(), "/console/", two.cookie())));
        CHECK(rt.sessions().ofUser(adminId).empty());

        // A new password: a new id for this browser, the old id dead, other browsers too.
        const Browser here = openSession(rt, p.admin), there = openSession(rt, p.admin);
        const auto changedPassword = postForm(p.port(), "/console/password", here.cookie(),
                                              "csrf=" + here.csrf + "&current=" + kPassword +
                                                  "&new=mat-khau-moi-2&again=mat-khau-moi-2");
        REQUIRE(changedPassword.status == 303);
        const std::string fresh = test::cookieSet(changedPassword, kSessionCookie);
        CHECK(fresh.size() == 64);
        CHECK(fresh != here.token);
        CHECK(toSignIn(getWith(p.port(), "/console/", here.cookie())));
        CHECK(toSignIn(getWith(p.port(), "/console/", there.cookie())));
        CHECK(getWith(p.port(), "/console/", std::string(kSessionCookie) + "=" + fresh).status ==
              200);
        rt.shutdown();
    });
}

// ---- no credentials

namespace {

// Holds one counter tap of XA for review; returns its id.
std::int64_t holdOne(Runtime& rt) {
    Submission held;
    held.idempotencyKey = "counter:held-1";
    held.surveyId = "counter-quick";
    held.channel = "counter";
    held.agencyCode = "XA";
    held.counterCode = "XA-Q1";
    held.answeredAtMs = nowMs() - 5000;
    held.answers.push_back({"rating", 3, {}, ""});
    REQUIRE(rt.ingest().hold(held, "rate_limit").held);
    std::int64_t id = 0;
    rt.database().read(
        [&](Session& s) { s << "SELECT MAX(id) FROM held_submissions", into(id), now; });
    return id;
}

}  // namespace

namespace {

// A route's pattern with its parameters filled by things the Province holds.
std::string filled(const std::string& pattern, const std::string& caseXA) {
    static const std::map<std::string, std::string> byCollection{
        {"agencies", "XA"},     {"counters", "XA-Q1"},     {"officers", "XA-CB1"},
        {"devices", "XA-T1"},   {"dossiers", "XA-1"},      {"procedures", "1.001193"},
        {"users", "can.bo.xa"}, {"surveys", "nps-service"}};
    std::string out, previous;
    std::size_t at = 1;
    while (at <= pattern.size()) {
        const std::size_t end = std::min(pattern.find('/', at), pattern.size());
        std::string segment = pattern.substr(at, end - at);
        if (segment.starts_with("{")) {
            const std::string name = segment.substr(1, segment.size() - 2);
            if (previous == "cases")
                segment = pattern.starts_with("/api/") ? caseXA : "1";
            else if (name == "action")
                segment = previous == caseXA || previous == "1" ? "note" : "revoke";
            else if (byCollection.count(previous))
                segment = byCollection.at(previous);
            else if (name == "version" || name == "id")
                segment = "1";
            else
                segment = "x";
        }
        out += "/" + segment;
        previous = segment;
        at = end + 1;
    }
    return out.empty() ? "/" : out;
}

}  // namespace

TEST_CASE("access: every route refuses a caller without credentials, but the listed public ones",
          "[console][access]") {
    test::onEachBackend([](Backend b) {
        Province p(b, {{"plugins.enabled", "counter,sms,webform"}, {"plugin.sms.secret", "s"}},
                   "counter");
        Runtime& rt = p.rt();
        rt.directory().save(
            ProcedureInput{"1.001193", "Đăng ký khai sinh", "Hộ tịch", "full", 1, true});
        REQUIRE(holdOne(rt) == 1);
        // Public on purpose, each for its reason; a route not listed here must refuse.
        const std::set<std::string> open{
            // The front page, its assets, health (details only with the token), the summary
            // counts the front page shows, the published surveys.
            "GET /", "GET /favicon.ico", "GET /static/{path*}", "GET /api/v1/health",
            "GET /api/v1/summary", "GET /api/v1/surveys", "GET /api/v1/surveys/{id}",
            "GET /api/v1/surveys/{id}/versions",
            // The API's own description, for integrators before they hold a key.
            "GET /api/v1/openapi.json",
            // The directory's names: tablets, forms and SMS replies show them to citizens.
            "GET /api/v1/agencies", "GET /api/v1/agencies/{code}", "GET /api/v1/counters",
            "GET /api/v1/counters/{code}", "GET /api/v1/officers", "GET /api/v1/officers/{code}",
            "GET /api/v1/procedures", "GET /api/v1/procedures/{code}",
            // Signing in.
            "GET /console/signin", "POST /console/signin",
            // The tablet's pairing page, its assets, and pairing (the code is the credential).
            "GET /c/counter/", "GET /c/counter/static/{path*}", "POST /c/counter/pair",
            // The citizens' web form (its links are signed; its posts carry the browser's key).
            "GET /s/", "GET /s/{survey}", "GET /s/t/{token}", "GET /s/r/{form}", "POST /s/f/{form}",
            "POST /s/r/{form}/verdict", "GET /s/static/{path*}", "GET /c/webform/",
            "GET /c/webform/{survey}", "GET /c/webform/t/{token}", "GET /c/webform/r/{form}",
            "POST /c/webform/f/{form}", "POST /c/webform/r/{form}/verdict",
            "GET /c/webform/static/{path*}"};
        std::set<std::string> seen;
        int refused = 0, publicRoutes = 0;
        for (const auto& route : rt.routes().list()) {
            seen.insert(route.method + " " + route.pattern);
            // The indices check their query first: a valid one, so that the caller is asked.
            const std::string path =
                filled(route.pattern, p.caseCode.at("XA")) +
                (route.pattern.starts_with("/api/v1/indices") ? "?survey=counter-quick" : "");
            INFO(route.method << " " << route.pattern << " as " << path);
            const auto before = contents(rt);
            std::map<std::string, std::string> headers;
            if (route.method != "GET") headers["Content-Type"] = "application/json";
            const auto r = test::http(p.port(), route.method, path,
                                      route.method == "GET" ? "" : "{}", headers);
            INFO(r.status << " " << r.body.substr(0, 200));
            const bool refusal = r.status == 401 || r.status == 403 || toSignIn(r);
            checkUnchanged(rt, before);
            if (open.count(route.method + " " + route.pattern)) {
                ++publicRoutes;
                continue;
            }
            CHECK(refusal);
            ++refused;
        }
        for (const std::string& route : open) {
            INFO(route);
            CHECK(seen.count(route) == 1);  // the list names routes that exist
        }
        std::printf("no credentials (%s): %d routes refused, %d public\n", test::name(b), refused,
                    publicRoutes);
        rt.shutdown();
    });
}

// ---- CSRF
// -----------------------------------------------------------------------------------------

namespace {

// A concrete request for a changing console route: its path and form fields (without csrf).
struct FormCall {
    std::string path, body;
};

std::string surveyDefinition(const std::string& id, const std::string& newTitle) {
    Poco::FileInputStream in(test::sourceDir() + "/surveys/" + id + ".json");
    Object::Ptr o = Poco::JSON::Parser().parse(in).extract<Object::Ptr>();
    o->getObject("title")->set("vi", newTitle);
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

}  // namespace

TEST_CASE("access: every changing console route refuses a missing, wrong or foreign form key",
          "[console][access][csrf]") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        Runtime& rt = p.rt();
        rt.users().add({"nan.nhan", "", "analyst", "XA"}, kPassword, false);
        const std::string expired = catalogText("locale/vi/console.json", "form_expired");
        int n = 0;
        auto unique = [&n] { return "N" + std::to_string(++n); };
        // Every changing console route of the route table, and a request that changes something
        // when its key is right. A route missing here fails the test.
        const std::map<std::string, std::function<FormCall()>> calls{
            {"/console/exports",
             [] {
                 return FormCall{"", "survey=counter-quick&format=csv"};
             }},
            {"/console/surveys/{id}",
             [] {
                 return FormCall{"/console/surveys/nps-service",
                                 "action=publish&definition=" +
                                     encode(surveyDefinition("nps-service", "Đã sửa"))};
             }},
            {"/console/surveys/{id}/{version}/retire",
             [] {
                 return FormCall{"/console/surveys/phan-anh/1/retire", ""};
             }},
            {"/console/alerts",
             [] {
                 return FormCall{"", "agency=XA&kind=unhappy_share&threshold=25&window=30&min_n=5"};
             }},
            {"/console/alerts/{id}/{action}",
             [] {
                 return FormCall{"/console/alerts/1/disable", ""};
             }},
            {"/console/cases/policy",
             [] {
                 return FormCall{"", "agency=XA&working_days=7&rating_at_or_below=2"};
             }},
            {"/console/cases/{id}/{action}",
             [] {
                 return FormCall{"/console/cases/1/note", "note=" + encode("Đã gọi lại")};
             }},
            {"/console/webhooks",
             [&] {
                 return FormCall{"", "name=" + unique() + "&url=" + encode("http://192.0.2.10/h") +
                                         "&agency=XA&events=alert.raised"};
             }},
            {"/console/webhooks/{id}/{action}",
             [&] {
                 const auto made = rt.webhooks().add(
                     {unique(), "http://192.0.2.10/h", "XA", {"alert.raised"}}, "test");
                 return FormCall{"/console/webhooks/" + std::to_string(made.first.id) + "/pause",
                                 ""};
             }},
            {"/console/import",
             [&] {
                 return FormCall{
                     "", "kind=dossiers&format=csv&content=" +
                             encode("code,agency,received_at\n" + unique() + ",XA,2026-01-01\n")};
             }},
            {"/console/import/responses",
             [&] {
                 return FormCall{
                     "", "survey=counter-quick&paper_text=" +
                             encode("Số phiếu,Cơ quan,rating,comment\n" + unique() + ",XA,3,\n")};
             }},
            {"/console/agencies",
             [&] {
                 return FormCall{"", "code=" + unique() + "&name=T&parent=XA"};
             }},
            {"/console/counters",
             [&] {
                 return FormCall{"", "code=" + unique() + "&name=Q&agency=XA"};
             }},
            {"/console/officers",
             [&] {
                 return FormCall{"", "code=" + unique() + "&name=O&agency=XA"};
             }},
            {"/console/devices",
             [&] {
                 return FormCall{"", "code=" + unique() + "&name=M&counter=XA-Q1"};
             }},
            {"/console/procedures",
             [&] {
                 return FormCall{"", "code=" + unique() + "&name=Thu+tuc"};
             }},
            {"/console/devices/{code}/{action}",
             [] {
                 return FormCall{"/console/devices/XA-T1/pairing", ""};
             }},
            {"/console/users",
             [&] {
                 return FormCall{"", "username=u" + unique() + "x&role=analyst&agency=XA"};
             }},
            {"/console/users/{username}/{action}",
             [] {
                 return FormCall{"/console/users/nan.nhan/reset", ""};
             }},
            {"/console/password",
             [] {
                 return FormCall{"", std::string("current=") + kPassword +
                                         "&new=mat-khau-moi-2&again=mat-khau-moi-2"};
             }},
            {"/console/signout",
             [] {
                 return FormCall{"", ""};
             }},
        };
        std::set<std::string> seen;
        int refusals = 0;
        for (const auto& route : rt.routes().list()) {
            if (!route.pattern.starts_with("/console") || route.method == "GET" ||
                route.method == "HEAD")
                continue;
            INFO(route.method << " " << route.pattern);
            CHECK(route.method == "POST");                     // the console's forms are posts only
            if (route.pattern == "/console/signin") continue;  // its own key: below
            seen.insert(route.pattern);
            const auto it = calls.find(route.pattern);
            if (it == calls.end()) {
                FAIL_CHECK("a changing console route this test does not know: add it to `calls`");
                continue;
            }
            FormCall call = it->second();
            if (call.path.empty()) call.path = route.pattern;
            // A fresh admin session for each route (the password and sign-out change it), and
            // another user's session whose key is not this one's.
            const Browser me = openSession(rt, *rt.users().find("quan.tri"));
            const Browser other = openSession(rt, p.official);
            const std::string sep = call.body.empty() ? "" : "&";
            const std::vector<std::pair<std::string, std::string>> forged{
                {"no key", call.body},
                {"an empty key", "csrf=" + sep + call.body},
                {"a wrong key", "csrf=" + std::string(me.csrf.size(), '0') + sep + call.body},
                {"a key one character off", "csrf=" + me.csrf.substr(0, me.csrf.size() - 1) +
                                                (me.csrf.back() == 'a' ? "b" : "a") + sep +
                                                call.body},
                {"another session's key", "csrf=" + other.csrf + sep + call.body},
                {"the session's token as the key", "csrf=" + me.token + sep + call.body},
            };
            for (const auto& [what, body] : forged) {
                INFO(what);
                const auto before = contents(rt);
                const auto r = postForm(p.port(), call.path, me.cookie(), body);
                CHECK(r.status == 403);
                CHECK(contains(r.body, expired));
                checkUnchanged(rt, before);
                ++refusals;
            }
            // The key sent as a header, as the API takes it, is not a form's key either.
            {
                const auto before = contents(rt);
                const auto r = test::http(
                    p.port(), "POST", call.path, call.body,
                    {{"Content-Type", kForm}, {"Cookie", me.cookie()}, {"X-CSRF-Token", me.csrf}});
                CHECK(r.status == 403);
                checkUnchanged(rt, before);
                ++refusals;
            }
            // The same request with its key changes something: the refusals were the key's.
            const auto before = contents(rt);
            const auto ok =
                postForm(p.port(), call.path, me.cookie(), "csrf=" + me.csrf + sep + call.body);
            INFO(ok.status << " " << ok.body.substr(0, 400));
            CHECK(ok.status < 400);
            CHECK_FALSE(contains(ok.body, expired));
            const auto diff = changed(before, contents(rt));
            INFO("changed: " << names(diff));
            CHECK(diff.count("audit_log") == 1);
        }
        CHECK(seen.size() == calls.size());

        // The sign-in form: its key (hl_pre) must be the cookie this browser got with the page.
        {
            const std::string pre = signInKey(p.port()), other = signInKey(p.port());
            // (the admin's password was changed above: the official signs in)
            const std::string login = std::string("&username=can.bo.xa&password=") + kPassword;
            const std::vector<std::tuple<std::string, std::string, std::string>> forged{
                {"no key, no cookie", "", login},
                {"the cookie without the field", "hl_pre=" + pre, login},
                {"the field without the cookie", "", "pre=" + pre + login},
                {"another browser's key", "hl_pre=" + pre, "pre=" + other + login},
                {"a short key", "hl_pre=" + pre.substr(0, 8), "pre=" + pre.substr(0, 8) + login},
            };
            for (const auto& [what, cookie, body] : forged) {
                INFO(what);
                const auto before = contents(rt);
                const auto r = postForm(p.port(), "/console/signin", cookie, body);
                CHECK(r.status == 403);
                CHECK(contains(r.body, expired));
                CHECK(test::cookieSet(r, kSessionCookie).empty());
                checkUnchanged(rt, before);
                ++refusals;
            }
            const auto ok =
                postForm(p.port(), "/console/signin", "hl_pre=" + pre, "pre=" + pre + login);
            CHECK(ok.status == 303);
            CHECK(test::cookieSet(ok, kSessionCookie).size() == 64);
        }
        std::printf("csrf (%s): %zu console routes, %d refusals\n", test::name(b), seen.size() + 1,
                    refusals);
        rt.shutdown();
    });
}

namespace {

// A concrete request for a changing API route, as JSON.
struct ApiCall {
    std::string path, body;
};

}  // namespace

TEST_CASE("access: every changing API route refuses a console session without its key",
          "[console][access][csrf]") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        Runtime& rt = p.rt();
        const std::string caseXA = p.caseCode.at("XA");
        // A held submission of XA (id 1), for the routes that release or discard one.
        REQUIRE(holdOne(rt) == 1);
        // Concrete values for each route parameter; a pattern without an entry is filled with
        // these and a JSON body that would be valid for most.
        const std::map<std::string, ApiCall> calls{
            {"/api/v1/counters", {"", R"({"code":"XA-Q7","name":"Q","agency":"XA"})"}},
            {"/api/v1/counters/{code}", {"/api/v1/counters/XA-Q1", R"({"name":"Q một"})"}},
            {"/api/v1/officers", {"", R"({"code":"XA-CB7","name":"O","agency":"XA"})"}},
            {"/api/v1/officers/{code}", {"/api/v1/officers/XA-CB1", R"({"name":"O một"})"}},
            {"/api/v1/agencies", {"", R"({"code":"XA-T7","name":"T","parent":"XA"})"}},
            {"/api/v1/agencies/{code}", {"/api/v1/agencies/XA", R"({"name":"Xã đổi"})"}},
            {"/api/v1/devices", {"", R"({"code":"XA-T7","name":"M","counter":"XA-Q1"})"}},
            {"/api/v1/devices/{code}", {"/api/v1/devices/XA-T1", R"({"name":"Máy một"})"}},
            {"/api/v1/dossiers",
             {"", R"({"code":"XA-7","agency":"XA","received_at":"2026-01-01T00:00:00Z"})"}},
            {"/api/v1/dossiers/{code}", {"/api/v1/dossiers/XA-1", R"({"status":"returned"})"}},
            {"/api/v1/procedures", {"", R"({"code":"9.999","name":"Thủ tục"})"}},
            {"/api/v1/procedures/{code}", {"/api/v1/procedures/9.999", R"({"name":"Thủ tục"})"}},
            {"/api/v1/alert-rules",
             {"",
              R"({"agency":"XA","kind":"unhappy_share","threshold":25,"window":30,"min_n":5})"}},
            {"/api/v1/alert-rules/{id}",
             {"/api/v1/alert-rules/1",
              R"({"agency":"XA","kind":"unhappy_share","threshold":35,"window":60,"min_n":10})"}},
            {"/api/v1/alert-rules/{id}/enable", {"/api/v1/alert-rules/1/enable", ""}},
            {"/api/v1/alert-rules/{id}/disable", {"/api/v1/alert-rules/1/disable", ""}},
            {"/api/v1/cases/{code}/{action}",
             {"/api/v1/cases/" + caseXA + "/note", R"({"note":"Đã xem"})"}},
            {"/api/v1/devices/{code}/pairing", {"/api/v1/devices/XA-T1/pairing", ""}},
            {"/api/v1/devices/{code}/revoke", {"/api/v1/devices/XA-T1/revoke", ""}},
            {"/api/v1/devices/{code}/shift",
             {"/api/v1/devices/XA-T1/shift", R"({"officer":"XA-CB1"})"}},
            {"/api/v1/officers/{code}/pin", {"/api/v1/officers/XA-CB1/pin", R"({"pin":"2468"})"}},
            {"/api/v1/held/{id}/release", {"/api/v1/held/1/release", ""}},
            {"/api/v1/held/{id}/discard", {"/api/v1/held/1/discard", ""}},
            {"/api/v1/responses",
             {"",
              R"({"idempotency_key":"k-1","survey":"sms-quick","agency":"XA","answers":{"rating":5}})"}},
        };
        const Browser me = openSession(rt, p.admin), other = openSession(rt, p.official);
        int refusals = 0;
        std::set<std::string> routes;
        for (const auto& route : rt.routes().list()) {
            if (!route.pattern.starts_with("/api/") || route.method == "GET" ||
                route.method == "HEAD")
                continue;
            routes.insert(route.method + " " + route.pattern);
            ApiCall call{route.pattern, "{}"};
            if (const auto it = calls.find(route.pattern); it != calls.end()) {
                call = it->second;
                if (call.path.empty()) call.path = route.pattern;
            }
            for (const auto& [what, key] : std::vector<std::pair<std::string, std::string>>{
                     {"no key", ""},
                     {"a wrong key", std::string(me.csrf.size(), '0')},
                     {"another session's key", other.csrf},
                     {"the key in a form field only", "-"}}) {
                INFO(route.method << " " << call.path << " with " << what);
                std::map<std::string, std::string> headers{{"Cookie", me.cookie()},
                                                           {"Content-Type", "application/json"}};
                if (!key.empty() && key != "-") headers["X-CSRF-Token"] = key;
                const auto before = contents(rt);
                const auto r =
                    test::http(p.port(), route.method,
                               call.path + (key == "-" ? "?csrf=" + me.csrf : std::string()),
                               call.body, headers);
                INFO(r.status << " " << r.body.substr(0, 300));
                // auth.csrf for routes that take sessions; 401 for those that take only the token.
                CHECK((r.status == 403 || r.status == 401));
                if (r.status == 403) CHECK(problemCode(r) == "auth.csrf");
                checkUnchanged(rt, before);
                ++refusals;
            }
        }
        CHECK(routes.size() >= calls.size());
        std::printf("api csrf (%s): %zu changing routes, %d refusals\n", test::name(b),
                    routes.size(), refusals);
        rt.shutdown();
    });
}

// ---- expired sessions
// -----------------------------------------------------------------------------

TEST_CASE("access: a session idle too long or past its end is refused: sign-in page, or 401",
          "[console][access][sessions]") {
    test::onEachBackend([](Backend b) {
        // The settings, small: 5 minutes idle, 1 hour at most.
        Province p(b, {{"console.idle_minutes", "5"}, {"console.session_hours", "1"}});
        Runtime& rt = p.rt();
        CHECK(rt.sessions().options().idleMs == 5 * kMinute);
        CHECK(rt.sessions().options().absoluteMs == 60 * kMinute);
        // Time passes for one session: one of its stored times is set to `at`.
        auto set = [&](const Browser& s, const std::string& column, std::int64_t at) {
            const std::string hash = rt.sessions().find(s.token, nowMs())->tokenHash;
            rt.database().write([&](Session& db) {
                std::string h = hash;
                db << "UPDATE sessions SET " + column + " = $1 WHERE token_hash = $2", bind(at),
                    use(h), now;
            });
        };
        auto rows = [&] { return rt.sessions().ofUser(p.official.id).size(); };
        // Every way in with a session: a page, a form, an API read, an API change.
        auto refusedEverywhere = [&](const Browser& s) {
            const auto before = contents(rt);
            const auto page = getWith(p.port(), "/console/counters", s.cookie());
            CHECK(toSignIn(page));
            CHECK(page.headers.at("location") == "/console/signin?next=/console/counters");
            CHECK(toSignIn(postForm(p.port(), "/console/counters", s.cookie(),
                                    "csrf=" + s.csrf + "&code=XA-Q9&name=Q&agency=XA")));
            const auto read =
                test::http(p.port(), "GET", "/api/v1/dossiers", "", {{"Cookie", s.cookie()}});
            CHECK(read.status == 401);
            CHECK(problemCode(read) == "auth.credentials_required");
            CHECK(read.headers.count("www-authenticate") == 1);
            const auto write = test::http(p.port(), "POST", "/api/v1/counters",
                                          R"({"code":"XA-Q9","name":"Q","agency":"XA"})",
                                          {{"Cookie", s.cookie()},
                                           {"Content-Type", "application/json"},
                                           {"X-CSRF-Token", s.csrf}});
            CHECK(write.status == 401);
            CHECK(rt.directory().counter("XA-Q9") == std::nullopt);
            // Nothing else changed but the ended session's row, gone.
            const auto diff = changed(before, contents(rt));
            CHECK(diff.count("counters") == 0);
            CHECK(diff.count("audit_log") == 0);
        };

        SECTION("idle") {
            const Browser s = openSession(rt, p.official);
            // Unused 4 minutes: still in, and that use counts.
            set(s, "seen_at", nowMs() - 4 * kMinute);
            CHECK(getWith(p.port(), "/console/counters", s.cookie()).status == 200);
            // Unused 5 minutes and a second: out.
            set(s, "seen_at", nowMs() - 5 * kMinute - 1000);
            refusedEverywhere(s);
            CHECK(rows() == 0);  // ended on the server, not only refused
            // The same cookie never comes back, even once "fresh" again.
            CHECK(toSignIn(getWith(p.port(), "/console/", s.cookie())));
        }
        SECTION("past its absolute end, though used all along") {
            const Browser s = openSession(rt, p.official);
            const auto stored = rt.sessions().ofUser(p.official.id).front();
            CHECK(stored.expiresAtMs - stored.createdAtMs == 60 * kMinute);
            set(s, "expires_at", nowMs() + 30000);  // half a minute left
            CHECK(getWith(p.port(), "/console/counters", s.cookie()).status == 200);
            set(s, "expires_at", nowMs() - 1000);  // one second past
            refusedEverywhere(s);
            CHECK(rows() == 0);
        }
        SECTION("its user disabled from the console") {
            const Browser s = openSession(rt, p.official), admin = openSession(rt, p.admin);
            CHECK(getWith(p.port(), "/console/counters", s.cookie()).status == 200);
            CHECK(postForm(p.port(), "/console/users/can.bo.xa/disable", admin.cookie(),
                           "csrf=" + admin.csrf)
                      .status == 200);
            refusedEverywhere(s);
            CHECK(rows() == 0);
        }
        SECTION("its password reset by an admin") {
            const Browser s = openSession(rt, p.official), admin = openSession(rt, p.admin);
            CHECK(postForm(p.port(), "/console/users/can.bo.xa/reset", admin.cookie(),
                           "csrf=" + admin.csrf)
                      .status == 200);
            refusedEverywhere(s);
        }
        SECTION("its role lowered: the session keeps only what the role now allows") {
            const Browser s = openSession(rt, p.official);
            const std::string form = "csrf=" + s.csrf + "&code=XA-Q8&name=Q&agency=XA";
            rt.users().update("can.bo.xa", {"can.bo.xa", "", "analyst", "XA"});
            const auto before = contents(rt);
            CHECK(postForm(p.port(), "/console/counters", s.cookie(), form).status == 403);
            CHECK(test::http(p.port(), "POST", "/api/v1/counters",
                             R"({"code":"XA-Q8","name":"Q","agency":"XA"})",
                             {{"Cookie", s.cookie()},
                              {"Content-Type", "application/json"},
                              {"X-CSRF-Token", s.csrf}})
                      .status == 403);
            checkUnchanged(rt, before);
            CHECK(getWith(p.port(), "/console/counters", s.cookie()).status == 200);  // still reads
        }
        rt.shutdown();
    });
}

// ---- counter tablets
// ------------------------------------------------------------------------------

namespace {

std::string uuid(int n) {
    char out[40];
    std::snprintf(out, sizeof out, "00000000-0000-4000-8000-%012d", n);
    return out;
}

std::string ratings(std::int64_t tappedAt, std::initializer_list<int> ids) {
    std::string out = R"({"sent_at":)" + std::to_string(nowMs()) + R"(,"ratings":[)";
    bool first = true;
    for (int id : ids) {
        out += std::string(first ? "" : ",") + R"({"uuid":")" + uuid(id) +
               R"(","rating":"3","tapped_at":)" + std::to_string(tappedAt) + "}";
        first = false;
    }
    return out + "]}";
}

struct Tablets : Province {
    explicit Tablets(Backend b)
        : Province(b, {{"plugin.counter.max_per_minute", "1000"}}, "counter") {}

    test::HttpResult device(const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body = "") {
        std::map<std::string, std::string> headers;
        if (!token.empty()) headers["Authorization"] = "Bearer " + token;
        if (!body.empty()) headers["Content-Type"] = "application/json";
        return test::http(port(), method, "/c/counter" + path, body, headers);
    }
    // A pairing code issued from the console's devices page, and the tablet paired with it.
    std::string pairFromConsole(const Browser& by, const std::string& code) {
        const auto page = postForm(port(), "/console/devices/" + code + "/pairing", by.cookie(),
                                   "csrf=" + by.csrf);
        REQUIRE(page.status == 200);
        // "Mã ghép nối của XA-T1: ABCD-EFGH (dùng được đến ...)."
        const std::size_t notice = page.body.find("Mã ghép nối");
        REQUIRE(notice != std::string::npos);
        const std::string rest = page.body.substr(notice, 200);
        std::smatch m;
        REQUIRE(std::regex_search(rest, m, std::regex(R"(: ([0-9A-Z]{4}-[0-9A-Z]{4}) )")));
        const auto paired = test::http(port(), "POST", "/c/counter/pair",
                                       R"({"code":")" + std::string(m[1]) + R"("})",
                                       {{"Content-Type", "application/json"}});
        REQUIRE(paired.status == 201);
        // The tablet's cookie is never sent by another site's page (its form posts ratings).
        CHECK(contains(paired.headers.at("set-cookie"), "SameSite=Strict"));
        CHECK(contains(paired.headers.at("set-cookie"), "HttpOnly"));
        return parse(paired.body)->getValue<std::string>("token");
    }
    std::int64_t count(const std::string& table) {
        std::int64_t n = 0;
        rt().database().read(
            [&](Session& s) { s << "SELECT COUNT(*) FROM " + table, into(n), now; });
        return n;
    }
    std::string deviceOf(const std::string& receipt) {
        std::string code;
        rt().database().read([&](Session& s) {
            std::string r = receipt;
            s << "SELECT d.code FROM responses x JOIN devices d ON d.id = x.device_id WHERE "
                 "x.receipt = $1",
                use(r), into(code), now;
        });
        return code;
    }
};

}  // namespace

TEST_CASE("access: a tablet's token stops at once when its device is revoked or paired again",
          "[console][access][counter]") {
    test::onEachBackend([](Backend b) {
        Tablets t(b);
        Runtime& rt = t.rt();
        rt.directory().save(DeviceInput{"XA-T2", "Máy 2", "XA-Q1"});
        const Browser official = openSession(rt, t.official);
        const std::string token = t.pairFromConsole(official, "XA-T1");
        const std::string neighbour = t.pairFromConsole(official, "XA-T2");
        REQUIRE(t.device("GET", "/api/v1/state", token).status == 200);
        auto r = t.device("POST", "/api/v1/ratings", token, ratings(nowMs(), {1}));
        REQUIRE(r.status == 200);
        const std::string first =
            parse(r.body)->getArray("results")->getObject(0)->getValue<std::string>("receipt");
        CHECK(t.deviceOf(first) == "XA-T1");

        // Changed, cut, lengthened, or another device's token: never this device.
        std::string flipped = token;
        flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
        std::string flippedInside = token;
        flippedInside[token.size() / 2] = flippedInside[token.size() / 2] == '0' ? '1' : '0';
        for (const std::string& bad :
             {flipped, flippedInside, token.substr(0, token.size() - 1), token.substr(0, 8),
              token + "0", std::string("hd_"), " " + token, token.substr(3)}) {
            INFO("token " << bad);
            const auto before = contents(rt);
            const auto refused = t.device("POST", "/api/v1/ratings", bad, ratings(nowMs(), {2}));
            CHECK(refused.status == 401);
            CHECK(problemCode(refused) == "device.unknown");
            CHECK(t.device("GET", "/api/v1/state", bad).status == 401);
            checkUnchanged(rt, before);
        }
        r = t.device("POST", "/api/v1/ratings", neighbour, ratings(nowMs(), {3}));
        REQUIRE(r.status == 200);
        CHECK(t.deviceOf(parse(r.body)->getArray("results")->getObject(0)->getValue<std::string>(
                  "receipt")) == "XA-T2");
        // A bad token in the header is not rescued by a good cookie.
        CHECK(test::http(t.port(), "GET", "/c/counter/api/v1/state", "",
                         {{"Authorization", "Bearer " + flipped}, {"Cookie", "hl_device=" + token}})
                  .status == 401);

        // Revoked from the console: the next request is refused, including a batch tapped
        // before the revocation and sent after it (a tablet's queue), the button box and the
        // form without JavaScript.
        const std::int64_t tappedBefore = nowMs();
        const std::int64_t responses = t.count("responses");
        const auto revoked = postForm(t.port(), "/console/devices/XA-T1/revoke", official.cookie(),
                                      "csrf=" + official.csrf);
        REQUIRE(revoked.status == 200);
        {
            const auto before = contents(rt);
            const auto queued =
                t.device("POST", "/api/v1/ratings", token, ratings(tappedBefore, {4, 5, 6}));
            CHECK(queued.status == 403);
            CHECK(problemCode(queued) == "device.revoked");
            const auto pressed = t.device("POST", "/api/v1/press", token,
                                          R"({"uuid":")" + uuid(7) + R"(","button":3,"at":)" +
                                              std::to_string(tappedBefore) + "}");
            CHECK(pressed.status == 403);
            const auto form =
                test::http(t.port(), "POST", "/c/counter/rate", "uuid=" + uuid(8) + "&rating=3",
                           {{"Content-Type", kForm}, {"Cookie", "hl_device=" + token}});
            CHECK(form.status == 403);
            CHECK(t.device("GET", "/api/v1/state", token).status == 403);
            CHECK(t.device("POST", "/api/v1/shift", token, R"({"officer":"XA-CB1","pin":"2468"})")
                      .status == 403);
            // Nothing stored, nothing held, the device's row as the revocation left it.
            checkUnchanged(rt, before);
            CHECK(t.count("responses") == responses);
            CHECK(t.count("held_submissions") == 0);
        }
        // The other tablet goes on.
        CHECK(t.device("POST", "/api/v1/ratings", neighbour, ratings(nowMs(), {9})).status == 200);

        // Paired again from the console: a new token; the old one is unknown from then on.
        const std::string again = t.pairFromConsole(official, "XA-T1");
        CHECK(again != token);
        {
            const auto before = contents(rt);
            const auto old = t.device("POST", "/api/v1/ratings", token, ratings(tappedBefore, {4}));
            CHECK(old.status == 401);
            CHECK(problemCode(old) == "device.unknown");
            checkUnchanged(rt, before);
        }
        // Paired again while active (a tablet replaced): the earlier token stops at once too.
        const std::string third = t.pairFromConsole(official, "XA-T1");
        {
            const auto before = contents(rt);
            const auto old = t.device("POST", "/api/v1/ratings", again, ratings(nowMs(), {10}));
            CHECK(old.status == 401);
            checkUnchanged(rt, before);
        }
        r = t.device("POST", "/api/v1/ratings", third, ratings(nowMs(), {11}));
        REQUIRE(r.status == 200);
        CHECK(parse(r.body)->getArray("results")->getObject(0)->getValue<std::string>("status") ==
              "stored");
        // Revoked over the API by the official's session: the same.
        CHECK(test::http(t.port(), "POST", "/api/v1/devices/XA-T1/revoke", "",
                         {{"Cookie", official.cookie()}, {"X-CSRF-Token", official.csrf}})
                  .status == 204);
        const auto before = contents(rt);
        CHECK(t.device("POST", "/api/v1/ratings", third, ratings(nowMs(), {12})).status == 403);
        checkUnchanged(rt, before);
        rt.shutdown();
    });
}

// ---- forged dossier links
// -------------------------------------------------------------------------

namespace {

std::string base64url(const std::string& bytes) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                           static_cast<unsigned char>(bytes[i + 2]);
        out += {abc[n >> 18], abc[(n >> 12) & 63], abc[(n >> 6) & 63], abc[n & 63]};
    }
    if (i + 1 == bytes.size()) {
        const unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
        out += {abc[n >> 18], abc[(n >> 12) & 63]};
    } else if (i + 2 == bytes.size()) {
        const unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += {abc[n >> 18], abc[(n >> 12) & 63], abc[(n >> 6) & 63]};
    }
    return out;
}

std::string title(const std::string& html) {
    std::smatch m;
    return std::regex_search(html, m, std::regex("<title>([^<]*)</title>")) ? std::string(m[1])
                                                                            : std::string();
}

std::string hidden(const std::string& html, const std::string& name) {
    std::smatch m;
    return std::regex_search(
               html, m,
               std::regex(R"(<input type="hidden" name=")" + name + R"re(" value="([^"]*)")re"))
               ? std::string(m[1])
               : std::string();
}

}  // namespace

TEST_CASE("access: forged, foreign or unknown dossier links are refused with a page, store nothing",
          "[console][access][links]") {
    test::onEachBackend([](Backend b) {
        Province p(b, {}, "webform");
        Runtime& rt = p.rt();
        const auto link = test::http(p.port(), "GET", "/api/v1/dossiers/XA-1/survey-link", "",
                                     {{"Authorization", "Bearer test-token"}});
        REQUIRE(link.status == 200);
        const std::string token = parse(link.body)->getValue<std::string>("token");
        const std::string survey = parse(link.body)->getValue<std::string>("survey");
        const std::string payload = token.substr(0, token.find('.')),
                          signature = token.substr(token.find('.') + 1);
        REQUIRE(payload == base64url("XA-1\n" + survey));
        const auto good = test::http(p.port(), "GET", "/s/t/" + token);
        REQUIRE(good.status == 200);

        // Signed by another host's key (another database), and signed right here for a dossier
        // that does not exist.
        test::TestDatabase elsewhere(b);
        SurveyLinkService foreign(elsewhere.migrated(), [] { return std::string(); });
        SurveyLinkService same(rt.database(), [] { return std::string(); });
        const std::string invalidTitle =
            catalogText("plugins/webform/locale/vi.json", "link_invalid_title");
        const std::vector<std::pair<std::string, std::string>> forged{
            {"another dossier, the same signature", base64url("XB-1\n" + survey) + "." + signature},
            {"another survey, the same signature",
             base64url("XA-1\nnps-service") + "." + signature},
            {"a payload with a third line", base64url("XA-1\n" + survey + "\nx") + "." + signature},
            {"a wrong signature", payload + "." + std::string(signature.size(), 'A')},
            {"a signature one character off", payload + "." +
                                                  signature.substr(0, signature.size() - 1) +
                                                  (signature.back() == 'A' ? "B" : "A")},
            {"a cut signature", payload + "." + signature.substr(0, signature.size() - 2)},
            {"no signature", payload + "."},
            {"only a signature", "." + signature},
            {"another host's key", foreign.token("XA-1", survey)},
            {"another host's key, its own dossier", foreign.token("XB-1", survey)},
            {"padded base64", payload + "==." + signature},
        };
        for (const auto& [what, forgedToken] : forged) {
            INFO(what << ": " << forgedToken);
            const auto before = contents(rt);
            const auto r = test::http(p.port(), "GET", "/s/t/" + forgedToken);
            CHECK(r.status == 404);
            CHECK(title(r.body) == invalidTitle);
            const auto en = test::http(p.port(), "GET", "/s/t/" + forgedToken + "?lang=en");
            CHECK(title(en.body) == "This link is not valid");
            checkUnchanged(rt, before);
        }
        {
            const auto r = test::http(p.port(), "GET", "/s/t/" + same.token("XA-404", survey));
            CHECK(r.status == 404);
            CHECK(
                contains(r.body, catalogText("plugins/webform/locale/vi.json", "dossier_missing")));
        }

        // The first page of a good link, then its form posted (with this browser's key) naming a
        // forged token instead: the same refusal, nothing stored, no draft kept.
        const std::string cookie =
            good.headers.at("set-cookie").substr(0, good.headers.at("set-cookie").find(';'));
        std::smatch m;
        REQUIRE(std::regex_search(good.body, m,
                                  std::regex(R"re(<form method="post" action="([^"]+)")re")));
        const std::string action = m[1];
        const std::string csrf = hidden(good.body, "csrf");
        REQUIRE(csrf.size() == 32);
        REQUIRE(hidden(good.body, "token") == token);
        for (const auto& [what, forgedToken] : forged) {
            INFO("posted with " << what);
            const auto before = contents(rt);
            const auto r = test::http(p.port(), "POST", action,
                                      "csrf=" + csrf + "&token=" + encode(forgedToken) +
                                          "&survey=" + survey + "&page=0&lang=vi&action=save",
                                      {{"Content-Type", kForm}, {"Cookie", cookie}});
            CHECK(r.status == 404);
            CHECK(title(r.body) == invalidTitle);
            checkUnchanged(rt, before);
        }
        // The same post with the link's own token is kept (the control).
        const auto before = contents(rt);
        const auto saved = test::http(p.port(), "POST", action,
                                      "csrf=" + csrf + "&token=" + encode(token) +
                                          "&survey=" + survey + "&page=0&lang=vi&action=save",
                                      {{"Content-Type", kForm}, {"Cookie", cookie}});
        CHECK(saved.status == 200);
        CHECK(changed(before, contents(rt)) == std::set<std::string>{"plugin_state"});
        rt.shutdown();
    });
}

// ---- the SMS webhook
// ------------------------------------------------------------------------------

TEST_CASE("access: SMS webhooks without the right signature or secret are refused, store nothing",
          "[console][access][sms]") {
    test::onEachBackend([](Backend b) {
        const std::string secret = "bi-mat-cua-cong-sms";
        Province p(b, {{"plugin.sms.secret", secret}}, "sms");
        Runtime& rt = p.rt();
        DossierInput x;
        x.code = "XA-260101-00001";
        x.agencyCode = "XA";
        x.status = "returned";
        x.phone = "+84 912 345 678";
        x.receivedAtMs = nowMs() - 86400000;
        x.returnedAtMs = nowMs() - 3600000;
        rt.directory().save(x);
        const std::string body =
            R"({"from":"0912345678","to":"8088","text":"DG XA-260101-00001 4","id":"m-1"})";
        auto send = [&](const std::string& text, const std::map<std::string, std::string>& h) {
            std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
            for (const auto& [k, v] : h) headers[k] = v;
            return test::http(p.port(), "POST", "/c/sms/webhook", text, headers);
        };
        const std::string stamp = std::to_string(nowMs());
        const std::string sig = hmacSha256Hex(secret, stamp + "." + body);
        std::string modified = body;
        modified.replace(modified.find(" 4\""), 3, " 1\"");
        const std::string old = std::to_string(nowMs() - 6 * kMinute);
        std::string sigUpper = sig;
        for (char& c : sigUpper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const std::vector<
            std::tuple<std::string, std::string, std::map<std::string, std::string>, std::string>>
            refused{
                {"no signature, no time", body, {}, "sms.bad_signature"},
                {"no signature", body, {{"X-Hailong-Timestamp", stamp}}, "sms.bad_signature"},
                {"no time", body, {{"X-Hailong-Signature", sig}}, "sms.bad_signature"},
                {"an empty signature",
                 body,
                 {{"X-Hailong-Timestamp", stamp}, {"X-Hailong-Signature", ""}},
                 "sms.bad_signature"},
                {"another secret",
                 body,
                 {{"X-Hailong-Timestamp", stamp},
                  {"X-Hailong-Signature", hmacSha256Hex("another", stamp + "." + body)}},
                 "sms.bad_signature"},
                {"the signature with the text changed",
                 modified,
                 {{"X-Hailong-Timestamp", stamp}, {"X-Hailong-Signature", sig}},
                 "sms.bad_signature"},
                {"the signature with a newer time",
                 body,
                 {{"X-Hailong-Timestamp", std::to_string(nowMs() + 1000)},
                  {"X-Hailong-Signature", sig}},
                 "sms.bad_signature"},
                {"a signature cut short",
                 body,
                 {{"X-Hailong-Timestamp", stamp}, {"X-Hailong-Signature", sig.substr(0, 32)}},
                 "sms.bad_signature"},
                {"the body alone signed",
                 body,
                 {{"X-Hailong-Timestamp", stamp},
                  {"X-Hailong-Signature", hmacSha256Hex(secret, body)}},
                 "sms.bad_signature"},
                {"signed six minutes ago",
                 body,
                 {{"X-Hailong-Timestamp", old},
                  {"X-Hailong-Signature", hmacSha256Hex(secret, old + "." + body)}},
                 "sms.stale_signature"},
            };
        for (const auto& [what, text, headers, code] : refused) {
            INFO(what);
            const auto before = contents(rt);
            const auto r = send(text, headers);
            CHECK(r.status == 401);
            CHECK(problemCode(r) == code);
            checkUnchanged(rt, before);
        }
        // Kannel's service: its secret in the address.
        for (const std::string& query :
             {std::string(""), std::string("secret="), "secret=" + secret.substr(1),
              "secret=" + secret + "x", "Secret=" + secret}) {
            INFO("kannel ?" << query);
            const auto before = contents(rt);
            const auto r =
                test::http(p.port(), "GET",
                           "/c/sms/kannel?" + query +
                               "&from=0912345678&to=8088&text=DG+XA-260101-00001+2&coding=0&"
                               "charset=UTF-8&smsc=fake&id=9");
            CHECK(r.status == 403);
            CHECK(problemCode(r) == "sms.bad_secret");
            checkUnchanged(rt, before);
        }

        // The right signature (in upper case too) is taken once; its replay, even signed anew,
        // and a changed text under the same id, are duplicates that store nothing.
        const auto ok =
            send(body, {{"X-Hailong-Timestamp", stamp}, {"X-Hailong-Signature", sigUpper}});
        REQUIRE(ok.status == 200);
        CHECK_FALSE(parse(ok.body)->getValue<bool>("duplicate"));
        std::int64_t responses = 0;
        auto countResponses = [&] {
            rt.database().read([&](Session& s) {
                s << "SELECT COUNT(*) FROM responses WHERE channel = 'sms'", into(responses), now;
            });
            return responses;
        };
        CHECK(countResponses() == 1);
        for (const std::string& text : {body, modified}) {
            const std::string at = std::to_string(nowMs());
            const auto before = contents(rt);
            const auto replay =
                send(text, {{"X-Hailong-Timestamp", at},
                            {"X-Hailong-Signature", hmacSha256Hex(secret, at + "." + text)}});
            CHECK(replay.status == 200);
            CHECK(parse(replay.body)->getValue<bool>("duplicate"));
            checkUnchanged(rt, before);
        }
        CHECK(countResponses() == 1);
        rt.shutdown();
    });
}

// ---- API keys
// -------------------------------------------------------------------------------------

TEST_CASE("access: a revoked API key opens nothing, a commune's key reads only its commune",
          "[console][access][apikeys]") {
    test::onEachBackend([](Backend b) {
        Province p(b);
        Runtime& rt = p.rt();
        const std::string xa = rt.apiKeys().add("mot-cua-xa", "XA");
        const std::string pt = rt.apiKeys().add("mot-cua-tinh", "PT");
        const std::string gone = rt.apiKeys().add("da-thu-hoi", "PT");
        auto get = [&](const std::string& path, const std::string& key) {
            return test::http(p.port(), "GET", path, "", {{"Authorization", "Bearer " + key}});
        };
        const std::string submission =
            R"({"idempotency_key":"k-1","survey":"sms-quick","agency":"XA","answers":{"rating":5}})";
        auto post = [&](const std::string& path, const std::string& body, const std::string& key) {
            return test::http(
                p.port(), "POST", path, body,
                {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
        };
        // Reads of each commune's data.
        auto reads = [](const std::string& a) {
            return std::vector<std::string>{"/api/v1/dossiers?agency=" + a,
                                            "/api/v1/dossiers/" + a + "-1",
                                            "/api/v1/responses?agency=" + a,
                                            "/api/v1/indices?survey=counter-quick&agency=" + a,
                                            "/api/v1/dashboard?survey=counter-quick&agency=" + a,
                                            "/api/v1/devices/" + a + "-T1",
                                            "/api/v1/dossiers/" + a + "-1/survey-link"};
        };
        for (const std::string& path : reads("XA")) {
            INFO(path);
            CHECK(get(path, gone).status == 200);
            CHECK(get(path, xa).status == 200);
        }
        rt.apiKeys().revoke("da-thu-hoi");
        // Revoked: refused at once, reads and writes alike, as an unknown key is.
        for (const std::string& path : reads("XA")) {
            INFO(path);
            const auto r = get(path, gone);
            CHECK(r.status == 401);
            CHECK(problemCode(r) == "apikey.invalid");
        }
        for (const std::string& bad :
             {gone, xa.substr(0, xa.size() - 1), xa + "0", std::string("hl_"), pt.substr(3)}) {
            INFO(bad);
            const auto before = contents(rt);
            const auto r = post("/api/v1/responses", submission, bad);
            CHECK(r.status == 401);
            checkUnchanged(rt, before);
        }
        // XA's key: not XB's data, nor the province's, nor changes to the directory.
        for (const std::string& path : reads("XB")) {
            INFO(path);
            const auto r = get(path, xa);
            CHECK(r.status == 403);
            CHECK_THAT(problemCode(r), Catch::Contains("scope"));  // apikey., index.
            CHECK(get(path, pt).status == 200);  // the province's key: everything below it
        }
        CHECK(get("/api/v1/dossiers?agency=PT", xa).status == 403);
        const auto listed = get("/api/v1/dossiers", xa);
        REQUIRE(listed.status == 200);
        CHECK(contains(listed.body, "\"XA-1\""));
        CHECK_FALSE(contains(listed.body, "\"XB-1\""));
        for (
            const auto& [path, body] : std::vector<std::pair<std::string, std::string>>{
                {"/api/v1/counters", R"({"code":"XA-Q9","name":"Q","agency":"XA"})"},
                {"/api/v1/agencies", R"({"code":"XA-T9","name":"T","parent":"XA"})"},
                {"/api/v1/responses",
                 R"({"idempotency_key":"k-9","survey":"sms-quick","agency":"XB","answers":{"rating":5}})"}}) {
            INFO(path);
            const auto before = contents(rt);
            const auto r = post(path, body, xa);
            CHECK(r.status == 403);
            checkUnchanged(rt, before);
        }
        // The control: the key sends a response of its own commune.
        CHECK(post("/api/v1/responses", submission, xa).status == 201);
        rt.shutdown();
    });
}
