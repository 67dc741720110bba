// The scope table: every route of the API and the console that reads or changes something of
// an agency, called by every kind of caller (nobody, an admin, an official of commune XA, an
// analyst of XA, an official of the province PT above both communes) on things of XA, of XB and
// of no agency. Every cell is asserted: what each caller may do succeeds, everything else is
// refused (401 or a redirect to sign-in for nobody, 403 for the others; 404 where a route hides
// what lies outside the caller's subtree, so that unknown and out of reach look the same).
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <functional>

using namespace hailong;

namespace {

enum class Who { Nobody, Admin, OfficialXA, AnalystXA, OfficialPT };
const char* nameOf(Who w) {
    switch (w) {
        case Who::Nobody:
            return "nobody";
        case Who::Admin:
            return "admin";
        case Who::OfficialXA:
            return "official of XA";
        case Who::AnalystXA:
            return "analyst of XA";
        case Who::OfficialPT:
            return "official of PT";
    }
    return "?";
}

// What a route touches: things of XA, of XB, of no agency (national: procedures), or the
// caller's own part (lists that show the caller's subtree, whoever asks).
enum class Target { XA, XB, National, Own, AdminPage };

struct Route {
    std::string method, path, body;
    bool change = false;   // a change (analysts never may)
    bool console = false;  // a console page or form (else the JSON API)
    Target target = Target::XA;
    bool hides = false;  // outside the caller's subtree it answers 404, as if unknown
};

bool allowed(Who w, const Route& r) {
    switch (w) {
        case Who::Nobody:
            return false;
        case Who::Admin:
            return true;
        case Who::OfficialPT:
            return r.target != Target::National && r.target != Target::AdminPage;
        case Who::OfficialXA:
            return r.target == Target::XA || r.target == Target::Own;
        case Who::AnalystXA:
            return !r.change && (r.target == Target::XA || r.target == Target::Own);
    }
    return false;
}

// Whether the route's target lies outside the caller's subtree.
bool outside(Who w, const Route& r) {
    return (w == Who::OfficialXA || w == Who::AnalystXA) && r.target == Target::XB;
}

struct Caller {
    std::string cookie, csrf;
};

}  // namespace

TEST_CASE("console: the scope table of routes, callers and agencies", "[console][scope]") {
    test::TempDir dir;
    test::TestDatabase tdb(Backend::SQLite);
    test::TestHost host(tdb.url(), dir);
    Runtime& rt = host.runtime();
    DirectoryStore& d = rt.directory();
    test::saveProvinceWithTwoCommunes(d);
    for (const std::string a : {"XA", "XB"}) {
        d.save(CounterInput{a + "-Q1", "Quầy 1", a, true});
        d.save(OfficerInput{a + "-CB1", "Cán bộ", "Công chức", a, true});
        d.save(DeviceInput{a + "-T1", "Máy 1", a + "-Q1"});
        DossierInput x;
        x.code = a + "-1";
        x.agencyCode = a;
        x.receivedAtMs = 1764000000000;
        d.save(x);
    }
    // An alert rule of each commune: rules 1 (XA) and 2 (XB).
    for (const std::string a : {"XA", "XB"}) {
        AlertRuleInput rule;
        rule.agencyCode = a, rule.kind = "unhappy_share", rule.threshold = "30";
        rule.window = "60", rule.minN = "10";
        rt.alerts().save(0, rule, "test");
    }
    // A follow-up case of each commune: ids 1 (XA) and 2 (XB).
    std::map<std::string, std::string> caseCode;
    for (const std::string a : {"XA", "XB"}) {
        Complaint c;
        c.channel = "sms";
        c.dossierCode = a + "-1";
        c.text = "Phản ánh về hồ sơ " + a + "-1";
        caseCode[a] = rt.cases().complain(c).code;
    }
    // A webhook subscription of each commune: ids 1 (XA) and 2 (XB). (A public address, as
    // officials must give; an event the table never raises, so that nothing is delivered.)
    for (const std::string a : {"XA", "XB"})
        rt.webhooks().add({"motcua-" + a, "http://192.0.2.10/hooks", a, {"alert.raised"}}, "test");
    std::map<Who, Caller> callers;
    const std::vector<std::tuple<Who, std::string, std::string, std::string>> accounts{
        {Who::Admin, "quan.tri", "admin", ""},
        {Who::OfficialXA, "can.bo.xa", "official", "XA"},
        {Who::AnalystXA, "phan.tich.xa", "analyst", "XA"},
        {Who::OfficialPT, "can.bo.tinh", "official", "PT"}};
    for (const auto& [who, username, role, agency] : accounts) {
        const User u = rt.users().add({username, "", role, agency}, "mat-khau-dai-1", false);
        const std::string token = rt.sessions().open(u, "127.0.0.1", "test");
        callers[who] = {std::string(kSessionCookie) + "=" + token,
                        rt.sessions().find(token, 1)->csrf};
    }

    int n = 0;
    auto unique = [&n] { return "N" + std::to_string(++n); };
    // Rows: built per call so that creations never collide.
    std::vector<std::function<Route()>> rows;
    auto both = [&](const std::function<Route(const std::string& a, Target t)>& make) {
        rows.push_back([make] { return make("XA", Target::XA); });
        rows.push_back([make] { return make("XB", Target::XB); });
    };
    // API reads of case data.
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/dossiers?agency=" + a, "", false, false, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/dossiers/" + a + "-1", "", false, false, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/devices/" + a + "-T1", "", false, false, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/devices/" + a + "-T1/session", "", false, false, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/responses?agency=" + a, "", false, false, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/indices?survey=counter-quick&agency=" + a, "", false, false,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/dossiers/" + a + "-1/survey-link", "", false, false, t};
    });
    rows.push_back([] { return Route{"GET", "/api/v1/held", "", false, false, Target::Own}; });
    // The dashboard and the alerts.
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/dashboard?survey=counter-quick&agency=" + a, "", false, false,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/alert-rules/" + std::string(a == "XA" ? "1" : "2"),
                     "",    false,
                     false, t};
    });
    rows.push_back([] { return Route{"GET", "/api/v1/alerts", "", false, false, Target::Own}; });
    rows.push_back(
        [] { return Route{"GET", "/api/v1/alert-rules", "", false, false, Target::Own}; });
    both([](const std::string& a, Target t) {
        return Route{"POST",
                     "/api/v1/alert-rules",
                     R"({"agency":")" + a +
                         R"(","kind":"unhappy_share","threshold":25,"window":30,"min_n":5})",
                     true,
                     false,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{"PUT",
                     "/api/v1/alert-rules/" + std::string(a == "XA" ? "1" : "2"),
                     R"({"agency":")" + a +
                         R"(","kind":"unhappy_share","threshold":35,"window":60,"min_n":10})",
                     true,
                     false,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{
            "POST", "/api/v1/alert-rules/" + std::string(a == "XA" ? "1" : "2") + "/enable",
            "",     true,
            false,  t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/console/dashboard?survey=counter-quick&agency=" + a, "", false, true,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/console/report?survey=counter-quick&agency=" + a, "", false, true, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"POST",
                     "/console/alerts",
                     "agency=" + a + "&kind=unhappy_share&threshold=25&window=30&min_n=5",
                     true,
                     true,
                     t};
    });
    // Follow-up cases: read in the subtree, handled by its officials.
    rows.push_back([] { return Route{"GET", "/api/v1/cases", "", false, false, Target::Own}; });
    rows.push_back([] { return Route{"GET", "/console/cases", "", false, true, Target::Own}; });
    both([&caseCode](const std::string& a, Target t) {
        return Route{"GET", "/api/v1/cases/" + caseCode[a], "", false, false, t};
    });
    both([&caseCode](const std::string& a, Target t) {
        return Route{
            "POST", "/api/v1/cases/" + caseCode[a] + "/note", R"({"note":"Đã xem"})", true, false,
            t};
    });
    both([](const std::string& a, Target t) {
        return Route{"GET", "/console/cases/" + std::string(a == "XA" ? "1" : "2"), "", false, true,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{"POST",   "/console/cases/" + std::string(a == "XA" ? "1" : "2") + "/note",
                     "note=x", true,
                     true,     t};
    });
    both([](const std::string& a, Target t) {
        return Route{"POST",
                     "/console/cases/policy",
                     "agency=" + a + "&working_days=7&rating_at_or_below=2",
                     true,
                     true,
                     t};
    });
    // Webhooks: read in the subtree (another subtree's look unknown: 404), changed by its
    // officials.
    rows.push_back([] { return Route{"GET", "/console/webhooks", "", false, true, Target::Own}; });
    both([](const std::string& a, Target t) {
        return Route{
            "GET", "/console/webhooks/" + std::string(a == "XA" ? "1" : "2"), "", false, true, t,
            true};
    });
    both([&](const std::string& a, Target t) {
        return Route{"POST",
                     "/console/webhooks",
                     "name=" + unique() + "&url=http%3A%2F%2F192.0.2.10%2Fh&agency=" + a +
                         "&events=alert.raised",
                     true,
                     true,
                     t};
    });
    for (const std::string action : {"pause", "resume"})
        both([action](const std::string& a, Target t) {
            return Route{
                "POST", "/console/webhooks/" + std::string(a == "XA" ? "1" : "2") + "/" + action,
                "",     true,
                true,   t,
                true};
        });
    // Deleting: a subscription of its own for each call (confirmed: deleted at once).
    both([&](const std::string& a, Target t) {
        const auto made = rt.webhooks().add(
            {"xoa-" + unique(), "http://192.0.2.10/hooks", a, {"alert.raised"}}, "test");
        return Route{"POST",      "/console/webhooks/" + std::to_string(made.first.id) + "/delete",
                     "confirm=1", true,
                     true,        t,
                     true};
    });
    // Exports: anyone may export, only inside their own subtree.
    both([](const std::string& a, Target t) {
        return Route{
            "POST", "/console/exports", "survey=counter-quick&format=csv&agency=" + a, false, true,
            t};
    });
    both([](const std::string& a, Target t) {
        return Route{"POST", "/console/alerts/" + std::string(a == "XA" ? "1" : "2") + "/disable",
                     "",     true,
                     true,   t};
    });
    // API changes.
    both([&](const std::string& a, Target t) {
        return Route{"POST",
                     "/api/v1/counters",
                     R"({"code":")" + unique() + R"(","name":"Q","agency":")" + a + R"("})",
                     true,
                     false,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{
            "PATCH", "/api/v1/counters/" + a + "-Q1", R"({"name":"Quầy một"})", true, false, t};
    });
    both([&](const std::string& a, Target t) {
        return Route{"POST",
                     "/api/v1/officers",
                     R"({"code":")" + unique() + R"(","name":"O","agency":")" + a + R"("})",
                     true,
                     false,
                     t};
    });
    both([&](const std::string& a, Target t) {
        return Route{"POST",
                     "/api/v1/agencies",
                     R"({"code":")" + unique() + R"(","name":"Thôn","parent":")" + a + R"("})",
                     true,
                     false,
                     t};
    });
    both([&](const std::string& a, Target t) {
        return Route{"POST",
                     "/api/v1/dossiers",
                     R"({"code":")" + unique() + R"(","agency":")" + a +
                         R"(","received_at":"2026-01-01T00:00:00Z"})",
                     true,
                     false,
                     t};
    });
    both([&](const std::string& a, Target t) {
        return Route{"POST",
                     "/api/v1/devices",
                     R"({"code":")" + unique() + R"(","name":"M","counter":")" + a + R"(-Q1"})",
                     true,
                     false,
                     t};
    });
    both([](const std::string& a, Target t) {
        return Route{"POST", "/api/v1/devices/" + a + "-T1/pairing", "", true, false, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"PUT", "/api/v1/officers/" + a + "-CB1/pin", R"({"pin":"2468"})", true, false,
                     t};
    });
    rows.push_back([&] {
        return Route{"POST",
                     "/api/v1/procedures",
                     R"({"code":")" + unique() + R"(","name":"Thủ tục","field":"Hộ tịch"})",
                     true,
                     false,
                     Target::National};
    });
    rows.push_back([&] {
        return Route{"POST",
                     "/api/v1/agencies",
                     R"({"code":")" + unique() + R"(","name":"Tỉnh khác"})",
                     true,
                     false,
                     Target::National};
    });
    // Console pages (lists show the caller's own part) and forms.
    for (const std::string page :
         {"/console/", "/console/agencies", "/console/counters", "/console/officers",
          "/console/alerts", "/console/dashboard", "/console/devices", "/console/audit",
          "/console/surveys", "/console/surveys/nps-service", "/console/procedures",
          "/console/exports"})
        rows.push_back([page] { return Route{"GET", page, "", false, true, Target::Own}; });
    // The import page is for those who may change something.
    rows.push_back([] { return Route{"GET", "/console/import", "", true, true, Target::Own}; });
    rows.push_back([&] {
        return Route{"POST", "/console/procedures", "code=" + unique() + "&name=Thu+tuc", true,
                     true,   Target::National};
    });
    rows.push_back([] {
        return Route{"POST",
                     "/console/import",
                     "kind=dossiers&format=csv&content=code%2Cagency%2Creceived_at%0A",
                     true,
                     true,
                     Target::Own};
    });
    rows.push_back(
        [] { return Route{"GET", "/console/users", "", false, true, Target::AdminPage}; });
    both([&](const std::string& a, Target t) {
        return Route{
            "POST", "/console/counters", "code=" + unique() + "&name=Q&agency=" + a, true, true, t};
    });
    both([&](const std::string& a, Target t) {
        return Route{
            "POST", "/console/officers", "code=" + unique() + "&name=O&agency=" + a, true, true, t};
    });
    both([&](const std::string& a, Target t) {
        return Route{
            "POST", "/console/agencies", "code=" + unique() + "&name=T&parent=" + a, true, true, t};
    });
    both([](const std::string& a, Target t) {
        return Route{"POST", "/console/devices/" + a + "-T1/pairing", "", true, true, t};
    });
    rows.push_back([&] {
        return Route{"POST",
                     "/console/users",
                     "username=" + std::string("u") + unique() + "x&role=analyst&agency=XA",
                     true,
                     true,
                     Target::AdminPage};
    });

    int cells = 0;
    for (const auto& row : rows) {
        for (Who who :
             {Who::Nobody, Who::Admin, Who::OfficialXA, Who::AnalystXA, Who::OfficialPT}) {
            const Route route = row();
            std::map<std::string, std::string> headers;
            std::string body = route.body;
            if (who != Who::Nobody) {
                headers["Cookie"] = callers[who].cookie;
                if (route.console && route.method == "POST")
                    body = "csrf=" + callers[who].csrf + (body.empty() ? "" : "&" + body);
                else if (route.method != "GET")
                    headers["X-CSRF-Token"] = callers[who].csrf;
            }
            if (!body.empty() || route.method != "GET")
                headers["Content-Type"] =
                    route.console ? "application/x-www-form-urlencoded" : "application/json";
            const auto r = test::http(host.port(), route.method, route.path, body, headers);
            INFO(nameOf(who) << " " << route.method << " " << route.path << " " << route.body
                             << " → " << r.status << " " << r.body.substr(0, 300));
            ++cells;
            if (allowed(who, route)) {
                // Console forms answer with the page (200) or a redirect after saving (303).
                CHECK(r.status < 400);
                const auto location = r.headers.find("location");
                const bool toSignIn =
                    location != r.headers.end() && location->second.starts_with("/console/signin");
                CHECK_FALSE(toSignIn);
            } else if (who == Who::Nobody) {
                if (route.console) {
                    CHECK(r.status == 303);
                    const auto location = r.headers.find("location");
                    CHECK((location != r.headers.end() &&
                           location->second.starts_with("/console/signin")));
                } else {
                    CHECK(r.status == 401);
                }
            } else {
                CHECK(r.status == (route.hides && outside(who, route) ? 404 : 403));
            }
        }
    }
    std::printf("scope table: %zu routes x 5 callers = %d cells\n", rows.size(), cells);
    CHECK(cells == static_cast<int>(rows.size()) * 5);
    // Every change that went through left an entry: none for a refused one.
    const auto entries = rt.audit().list({});
    CHECK_FALSE(entries.empty());
    for (const AuditEntry& e : entries) CHECK(e.actor.starts_with("user:"));
}
