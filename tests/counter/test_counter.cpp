// Tests for the counter channel plugin as a tablet and an official reach it over HTTP, in a real
// test host on SQLite and on PostgreSQL: pairing and tokens, ratings and their bindings, clock
// correction, the form without JavaScript, held floods and their review, button boxes, and
// officers' shifts.
#include "common/Clock.h"
#include "support/TestSupport.h"

#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

constexpr std::int64_t kHour = 3600000;
constexpr std::int64_t kMinute = 60000;
const std::string kDossierXA = "XA-250304-00001";
const std::string kDossierXB = "XB-250304-00001";

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

// The problem code of an error answer ("" when the body is not a JSON object).
std::string problemCode(const test::HttpResult& r) {
    try {
        return parse(r.body)->optValue<std::string>("code", "");
    } catch (const std::exception&) {
        return "";
    }
}

// The code of the first field error of an error answer.
std::string fieldErrorCode(const test::HttpResult& r) {
    const Array::Ptr errors = parse(r.body)->getArray("errors");
    return errors && errors->size() > 0 ? errors->getObject(0)->getValue<std::string>("code") : "";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A valid UUID numbered n, so that tests read which item is which.
std::string uuid(int n) {
    char out[40];
    std::snprintf(out, sizeof out, "00000000-0000-4000-8000-%012d", n);
    return out;
}

// One item of a ratings batch; `more` are further JSON members, each starting with a comma.
std::string item(const std::string& id, const std::string& rating, std::int64_t tappedAt,
                 const std::string& more = "") {
    return R"({"uuid":")" + id + R"(","rating":")" + rating + R"(","tapped_at":)" +
           std::to_string(tappedAt) + more + "}";
}

std::string batch(std::int64_t sentAt, const std::vector<std::string>& items,
                  const std::string& member = "ratings") {
    std::string out = R"({"sent_at":)" + std::to_string(sentAt) + R"(,")" + member + R"(":[)";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
    return out + "]}";
}

std::string press(const std::string& id, const std::string& button, std::int64_t at) {
    return R"({"uuid":")" + id + R"(","button":)" + button + R"(,"at":)" + std::to_string(at) + "}";
}

Array::Ptr results(const test::HttpResult& r) {
    const Array::Ptr out = parse(r.body)->getArray("results");
    REQUIRE(out);
    return out;
}

std::string status(const Array::Ptr& results, unsigned i) {
    return results->getObject(i)->getValue<std::string>("status");
}

std::string receipt(const Array::Ptr& results, unsigned i) {
    return results->getObject(i)->optValue<std::string>("receipt", "");
}

// A stored response as the database holds it, with its references as codes ("" for none).
struct Stored {
    std::string channel, survey, agency, counter, officer, procedure, dossier, device;
    std::int64_t answeredAt = 0;
    std::optional<std::int64_t> deviceAt;
    std::map<std::string, std::vector<std::string>> answers;  // by question, in order
};

std::string text(const Object::Ptr& o, const std::string& name) {
    return o->isNull(name) ? std::string() : o->getValue<std::string>(name);
}

std::map<std::string, std::string> withCounter(std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> out{{"paths.plugins", test::pluginDir()},
                                           {"plugins.enabled", "counter"},
                                           // Most tests tap faster than a citizen could.
                                           {"plugin.counter.max_per_minute", "1000"}};
    for (auto& [k, v] : extra) out[k] = v;
    return out;
}

// A host with the counter plugin, serving, on a fresh database with a small directory: province
// PT with communes XA and XB; counter XA-Q1 with the tablet TAB-01; officers of XA, XB and PT;
// one dossier of XA (with officer XA-CB1) and one of XB.
struct Desk {
    explicit Desk(Backend b, std::map<std::string, std::string> extra = {})
        : tdb(b), host(tdb.url(), dir, false, withCounter(std::move(extra))) {
        Runtime& rt = host.runtime();
        test::serveWithPlugin(rt, "counter");
        DirectoryStore& d = rt.directory();
        d.save(AgencyInput{"PT", "Tỉnh Phú Thọ", "", "province", "", true});
        d.save(AgencyInput{"XA", "Xã Thử", "PT", "commune", "", true});
        d.save(AgencyInput{"XB", "Xã Bên", "PT", "commune", "", true});
        d.save(CounterInput{"XA-Q1", "Quầy 1", "XA", true});
        d.save(OfficerInput{"XA-CB1", "Nguyễn Văn An", "Công chức", "XA", true});
        d.save(OfficerInput{"XA-CB2", "Trần Thị Bình", "Công chức", "XA", true});
        d.save(OfficerInput{"XB-CB1", "Lê Văn Cường", "Công chức", "XB", true});
        d.save(OfficerInput{"PT-CB1", "Phạm Thị Dung", "Chuyên viên", "PT", true});
        d.save(ProcedureInput{"1.001193", "Đăng ký khai sinh", "Hộ tịch", "full", 1, true});
        for (const auto& [code, agency] : std::vector<std::pair<std::string, std::string>>{
                 {kDossierXA, "XA"}, {kDossierXB, "XB"}}) {
            DossierInput x;
            x.code = code;
            x.agencyCode = agency;
            x.procedureCode = "1.001193";
            if (agency == "XA") x.officerCode = "XA-CB1";
            x.receivedAtMs = nowMs() - 24 * kHour;
            d.save(x);
        }
        d.save(DeviceInput{"TAB-01", "Máy tính bảng quầy 1", "XA-Q1"});
    }

    Runtime& rt() { return host.runtime(); }
    std::uint16_t port() { return rt().port(); }

    // A call of the official API with the test token.
    test::HttpResult official(const std::string& method, const std::string& path,
                              const std::string& body = "") {
        std::map<std::string, std::string> headers{{"Authorization", "Bearer test-token"}};
        if (!body.empty()) headers["Content-Type"] = "application/json";
        return test::http(port(), method, path, body, headers);
    }

    std::string pairingCode(const std::string& device = "TAB-01") {
        auto r = official("POST", "/api/v1/devices/" + device + "/pairing");
        REQUIRE(r.status == 201);
        auto body = parse(r.body);
        CHECK(body->getValue<std::string>("device") == device);
        CHECK(body->getValue<std::string>("pair_at") == "/c/counter/");
        return body->getValue<std::string>("pairing_code");
    }

    test::HttpResult pairWith(const std::string& code) {
        return test::http(port(), "POST", "/c/counter/pair", R"({"code":")" + code + R"("})",
                          {{"Content-Type", "application/json"}});
    }

    // Pairs `device` as a tablet would; returns its token.
    std::string pair(const std::string& device = "TAB-01") {
        auto r = pairWith(pairingCode(device));
        REQUIRE(r.status == 201);
        return parse(r.body)->getValue<std::string>("token");
    }

    // A call of the device API with the token as a bearer token.
    test::HttpResult call(const std::string& method, const std::string& path,
                          const std::string& token, const std::string& body = "",
                          std::map<std::string, std::string> headers = {}) {
        if (!token.empty()) headers["Authorization"] = "Bearer " + token;
        if (!body.empty() && !headers.count("Content-Type"))
            headers["Content-Type"] = "application/json";
        return test::http(port(), method, "/c/counter" + path, body, headers);
    }

    test::HttpResult rate(const std::string& token, const std::string& body) {
        return call("POST", "/api/v1/ratings", token, body);
    }

    // Rates once, now, and answers the stored response.
    Stored rateOne(const std::string& token, const std::string& id, const std::string& rating = "3",
                   const std::string& more = "") {
        const std::int64_t now = nowMs();
        auto r = rate(token, batch(now, {item(id, rating, now, more)}));
        REQUIRE(r.status == 200);
        const Array::Ptr res = results(r);
        INFO(r.body);
        REQUIRE(status(res, 0) == "stored");
        return stored(receipt(res, 0));
    }

    // The response stored under `receipt`, read from the database.
    Stored stored(const std::string& receipt) {
        Stored out;
        rt().database().read([&](Session& s) {
            std::string code = receipt;
            Poco::Nullable<std::int64_t> id, deviceAt;
            s << "SELECT r.id, r.channel, r.survey_id, COALESCE(a.code, ''), COALESCE(c.code, ''), "
                 "COALESCE(o.code, ''), COALESCE(p.code, ''), COALESCE(d.code, ''), "
                 "COALESCE(dv.code, ''), r.answered_at, r.device_at FROM responses r "
                 "LEFT JOIN agencies a ON a.id = r.agency_id "
                 "LEFT JOIN counters c ON c.id = r.counter_id "
                 "LEFT JOIN officers o ON o.id = r.officer_id "
                 "LEFT JOIN procedures p ON p.id = r.procedure_id "
                 "LEFT JOIN dossiers d ON d.id = r.dossier_id "
                 "LEFT JOIN devices dv ON dv.id = r.device_id WHERE r.receipt = $1",
                use(code), into(id), into(out.channel), into(out.survey), into(out.agency),
                into(out.counter), into(out.officer), into(out.procedure), into(out.dossier),
                into(out.device), into(out.answeredAt), into(deviceAt), now;
            REQUIRE_FALSE(id.isNull());
            if (!deviceAt.isNull()) out.deviceAt = deviceAt.value();
            std::int64_t responseId = id.value();
            std::vector<std::string> questions, values;
            s << "SELECT question_id, value_text FROM answers WHERE response_id = $1 "
                 "ORDER BY question_id, position",
                bind(responseId), into(questions), into(values), now;
            for (std::size_t i = 0; i < questions.size(); ++i)
                out.answers[questions[i]].push_back(values[i]);
        });
        return out;
    }

    Object::Ptr session(const std::string& device = "TAB-01") {
        auto r = official("GET", "/api/v1/devices/" + device + "/session");
        REQUIRE(r.status == 200);
        return parse(r.body);
    }

    std::string lastReceipt() {
        std::string code;
        rt().database().read([&](Session& s) {
            s << "SELECT receipt FROM responses ORDER BY id DESC LIMIT 1", into(code), now;
        });
        return code;
    }

    // How many counter-quick responses the indices count from yesterday to tomorrow.
    int counted() {
        const std::int64_t now = nowMs();
        auto r = official("GET", "/api/v1/indices?survey=counter-quick&from=" +
                                     formatTimeMs(now - 24 * kHour).substr(0, 10) +
                                     "&to=" + formatTimeMs(now + 24 * kHour).substr(0, 10));
        INFO(r.body);
        REQUIRE(r.status == 200);
        const Array::Ptr groups = parse(r.body)->getArray("groups");
        return groups->size() == 0 ? 0 : groups->getObject(0)->getValue<int>("responses");
    }

    std::int64_t count(const std::string& table, const std::string& where = "1 = 1") {
        std::int64_t n = 0;
        rt().database().read([&](Session& s) {
            s << "SELECT COUNT(*) FROM " + table + " WHERE " + where, into(n), now;
        });
        return n;
    }

    test::TempDir dir;
    test::TestDatabase tdb;
    test::TestHost host;
};

// The configuration the rating screen embeds in <script id="counter-config">, or null.
Object::Ptr embeddedConfig(const std::string& html) {
    const std::size_t tag = html.find(R"(id="counter-config")");
    if (tag == std::string::npos) return nullptr;
    const std::size_t from = html.find('>', tag) + 1, to = html.find("</script>", from);
    if (to == std::string::npos) return nullptr;
    return parse(html.substr(from, to - from));
}

// A pairing code as a person might type it: lower case, spaced, with a dash, and with the
// letters O and I where the code has the digits 0 and 1.
std::string typedLoosely(const std::string& code) {
    std::string out = " ";
    for (char c : code) {
        if (c == '-') {
            out += " - ";
            continue;
        }
        if (c == '0')
            c = 'o';
        else if (c == '1')
            c = 'i';
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out += ' ';
    }
    return out;
}

}  // namespace

// ---- pairing and tokens ----------------------------------------------------------------------

TEST_CASE("counter: a pairing code pairs once and the token works as a header or a cookie",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string code = desk.pairingCode();
        CHECK(code.size() == 9);
        CHECK(code[4] == '-');
        auto paired = desk.pairWith(code);
        REQUIRE(paired.status == 201);
        auto body = parse(paired.body);
        const std::string token = body->getValue<std::string>("token");
        CHECK(token.rfind("hd_", 0) == 0);
        CHECK(body->getValue<std::string>("device") == "TAB-01");
        CHECK(body->getValue<std::string>("counter") == "XA-Q1");
        const std::string cookie = paired.headers["set-cookie"];
        CHECK(contains(cookie, "hl_device=" + token));
        CHECK(contains(cookie, "HttpOnly"));
        CHECK(contains(cookie, "Path=/c/counter"));
        // Once only.
        auto again = desk.pairWith(code);
        CHECK(again.status == 422);
        CHECK(problemCode(again) == "device.pairing_invalid");

        auto state = desk.call("GET", "/api/v1/state", token);
        REQUIRE(state.status == 200);
        auto config = parse(state.body);
        CHECK(config->getObject("device")->getValue<std::string>("code") == "TAB-01");
        CHECK(config->getObject("counter")->getValue<std::string>("code") == "XA-Q1");
        CHECK(config->getObject("agency")->getValue<std::string>("code") == "XA");
        CHECK(config->isNull("officer"));
        CHECK(config->getObject("survey")->getValue<std::string>("id") == "counter-quick");
        auto faces = config->getArray("faces");
        REQUIRE(faces->size() == 3);
        CHECK(faces->getObject(0)->getValue<std::string>("id") == "3");  // best first
        CHECK_FALSE(faces->getObject(0)->getValue<bool>("negative"));
        CHECK(faces->getObject(2)->getValue<std::string>("id") == "1");
        CHECK(faces->getObject(2)->getValue<bool>("negative"));
        // The cookie, among others, does the same as the header.
        auto byCookie = test::http(desk.port(), "GET", "/c/counter/api/v1/state", "",
                                   {{"Cookie", "theme=dark; hl_device=" + token + "; x=1"}});
        CHECK(byCookie.status == 200);
        auto screen =
            test::http(desk.port(), "GET", "/c/counter/", "", {{"Cookie", "hl_device=" + token}});
        CHECK(screen.status == 200);
        CHECK(contains(screen.body, "Quầy 1"));
        const Object::Ptr embedded = embeddedConfig(screen.body);
        REQUIRE(embedded);
        CHECK(embedded->getObject("device")->getValue<std::string>("code") == "TAB-01");
        CHECK(embedded->getValue<std::string>("dossier").empty());
        CHECK(test::http(desk.port(), "GET", "/c/counter/static/counter.js").status == 200);
        // A dossier code from the address cannot end the script element or the attribute.
        auto hostile =
            test::http(desk.port(), "GET", "/c/counter/?dossier=%3C%2Fscript%3E%3Cb%3E%22x", "",
                       {{"Cookie", "hl_device=" + token}});
        CHECK(hostile.status == 200);
        CHECK_FALSE(contains(hostile.body, "</script><b>"));
        CHECK_FALSE(contains(hostile.body, "<b>\"x"));
        const Object::Ptr hostileConfig = embeddedConfig(hostile.body);
        REQUIRE(hostileConfig);
        CHECK(hostileConfig->getValue<std::string>("dossier") == "</script><b>\"x");
    });
}

TEST_CASE("counter: a code typed loosely pairs, and pairing again ends the earlier token",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string first = desk.pair();
        REQUIRE(desk.call("GET", "/api/v1/state", first).status == 200);

        const std::string code = desk.pairingCode();
        auto paired = desk.pairWith(typedLoosely(code));
        INFO("typed as \"" << typedLoosely(code) << "\"");
        REQUIRE(paired.status == 201);
        const std::string second = parse(paired.body)->getValue<std::string>("token");
        CHECK(second != first);
        auto old = desk.call("GET", "/api/v1/state", first);
        CHECK(old.status == 401);
        CHECK(problemCode(old) == "device.unknown");
        auto oldRating = desk.rate(first, batch(nowMs(), {item(uuid(1), "3", nowMs())}));
        CHECK(oldRating.status == 401);
        CHECK(desk.count("responses") == 0);
        CHECK(desk.call("GET", "/api/v1/state", second).status == 200);

        // The form: 303 to the rating screen with the cookie set.
        const std::string formCode = desk.pairingCode();
        auto form = test::http(desk.port(), "POST", "/c/counter/pair", "code=" + formCode,
                               {{"Content-Type", "application/x-www-form-urlencoded"}});
        CHECK(form.status == 303);
        CHECK(form.headers["location"] == "/c/counter/");
        const std::string cookie = form.headers["set-cookie"];
        REQUIRE(contains(cookie, "hl_device=hd_"));
        const std::string third = cookie.substr(10, cookie.find(';') - 10);
        CHECK(desk.call("GET", "/api/v1/state", third).status == 200);
        CHECK(desk.call("GET", "/api/v1/state", second).status == 401);
        // A wrong code on the form answers the pairing page with the reason.
        auto wrong = test::http(desk.port(), "POST", "/c/counter/pair?lang=en", "code=ZZZZ-ZZZZ",
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
        CHECK(wrong.status == 422);
        CHECK(contains(wrong.body, R"(action="/c/counter/pair)"));
        CHECK(contains(wrong.body, "The pairing code is wrong"));
    });
}

TEST_CASE("counter: an unknown or revoked token stores nothing and the page says why",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        const std::string body = batch(now, {item(uuid(1), "3", now)});

        auto none = desk.rate("", body);
        CHECK(none.status == 401);
        CHECK(problemCode(none) == "device.unknown");
        auto unknown = desk.rate("hd_" + std::string(64, '0'), body);
        CHECK(unknown.status == 401);
        CHECK(problemCode(unknown) == "device.unknown");
        CHECK(desk.count("responses") == 0);
        CHECK(desk.count("held_submissions") == 0);

        // Without a cookie: the pairing page, with no complaint.
        auto page = test::http(desk.port(), "GET", "/c/counter/?lang=en", "");
        CHECK(page.status == 200);
        CHECK(contains(page.body, R"(action="/c/counter/pair)"));
        CHECK_FALSE(contains(page.body, "revoked"));

        REQUIRE(desk.official("POST", "/api/v1/devices/TAB-01/revoke").status == 204);
        auto revoked = desk.rate(token, body);
        CHECK(revoked.status == 403);
        CHECK(problemCode(revoked) == "device.revoked");
        auto pressed =
            desk.call("POST", "/api/v1/press", token, press(uuid(2), "3", now) /* single press */);
        CHECK(pressed.status == 403);
        auto form =
            test::http(desk.port(), "POST", "/c/counter/rate", "uuid=" + uuid(3) + "&rating=3",
                       {{"Content-Type", "application/x-www-form-urlencoded"},
                        {"Cookie", "hl_device=" + token}});
        CHECK(form.status == 403);
        CHECK(desk.count("responses") == 0);
        CHECK(desk.count("held_submissions") == 0);
        CHECK(desk.session()->getValue<std::string>("status") == "revoked");

        auto revokedPage = test::http(desk.port(), "GET", "/c/counter/?lang=en", "",
                                      {{"Cookie", "hl_device=" + token}});
        CHECK(revokedPage.status == 200);
        CHECK(contains(revokedPage.body, R"(action="/c/counter/pair)"));
        CHECK(contains(revokedPage.body, "This device was revoked"));

        // Paired again, it rates again.
        const std::string again = desk.pair();
        auto rated = desk.rate(again, body);
        REQUIRE(rated.status == 200);
        CHECK(status(results(rated), 0) == "stored");
        CHECK(desk.session()->getValue<std::string>("status") == "active");
    });
}

// README.md: GET /c/counter/ shows the pairing page "with a message when the device was revoked
// or is unknown": a tablet whose token was replaced (paired again elsewhere) is told so.
TEST_CASE("counter: a tablet with a token that is no longer known is told so", "[counter]") {
    Desk desk(Backend::SQLite);
    const std::string stale = desk.pair();
    desk.pair();
    auto page = test::http(desk.port(), "GET", "/c/counter/?lang=en", "",
                           {{"Cookie", "hl_device=" + stale}});
    CHECK(page.status == 200);
    CHECK(contains(page.body, R"(action="/c/counter/pair)"));
    CHECK(contains(page.body, "This device is not paired"));
}

TEST_CASE("counter: too many wrong pairing codes from one address pause pairing", "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b, {{"plugin.counter.pairing_tries", "3"}});
        const std::string code = desk.pairingCode();
        for (int i = 0; i < 3; ++i) {
            auto wrong = desk.pairWith("ZZZZ-ZZZ" + std::to_string(i));
            CHECK(wrong.status == 422);
            CHECK(problemCode(wrong) == "device.pairing_invalid");
        }
        // Even the right code waits now.
        auto paused = desk.pairWith(code);
        CHECK(paused.status == 429);
        CHECK(problemCode(paused) == "device.pairing_paused");
        CHECK_FALSE(paused.headers["retry-after"].empty());
        auto form = test::http(desk.port(), "POST", "/c/counter/pair", "code=" + code,
                               {{"Content-Type", "application/x-www-form-urlencoded"}});
        CHECK(form.status == 429);
        CHECK(desk.count("devices", "status = 'active'") == 0);
    });
}

// ---- ratings ---------------------------------------------------------------------------------

TEST_CASE("counter: a rating is stored for the counter, device, agency and officer on shift",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        auto r = desk.rate(token, batch(now, {item(uuid(1), "3", now - 2000)}));
        REQUIRE(r.status == 200);
        auto body = parse(r.body);
        CHECK(body->getValue<std::int64_t>("server_time") >= now);
        const Array::Ptr res = body->getArray("results");
        REQUIRE(res->size() == 1);
        CHECK(res->getObject(0)->getValue<std::string>("uuid") == uuid(1));
        CHECK(status(res, 0) == "stored");
        const std::string first = receipt(res, 0);
        CHECK(first.size() == 10);
        const Stored stored = desk.stored(first);
        CHECK(stored.channel == "counter");
        CHECK(stored.survey == "counter-quick");
        CHECK(stored.counter == "XA-Q1");
        CHECK(stored.device == "TAB-01");
        CHECK(stored.agency == "XA");
        CHECK(stored.officer.empty());  // nobody on shift
        CHECK(stored.deviceAt == now - 2000);
        CHECK(stored.answers.at("rating") == std::vector<std::string>{"3"});

        // With an officer on shift, the rating is theirs.
        REQUIRE(desk.official("PUT", "/api/v1/devices/TAB-01/shift", R"({"officer":"XA-CB1"})")
                    .status == 200);
        auto withOfficer = desk.rateOne(token, uuid(2), "2");
        CHECK(withOfficer.officer == "XA-CB1");
        CHECK(withOfficer.answers.at("rating") == std::vector<std::string>{"2"});

        // The same uuid again, later or twice in one batch: stored once.
        auto again =
            desk.rate(token, batch(nowMs(), {item(uuid(1), "1", now - 2000),
                                             item(uuid(3), "3", now), item(uuid(3), "3", now)}));
        REQUIRE(again.status == 200);
        const Array::Ptr res2 = results(again);
        CHECK(status(res2, 0) == "duplicate");
        CHECK(receipt(res2, 0) == first);
        CHECK(status(res2, 1) == "stored");
        CHECK(status(res2, 2) == "duplicate");
        CHECK(receipt(res2, 2) == receipt(res2, 1));
        CHECK(desk.count("responses") == 3);
        CHECK(desk.stored(first).answers.at("rating") == std::vector<std::string>{"3"});
    });
}

TEST_CASE("counter: a negative rating keeps its reasons, other reason and comment", "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        auto stored = desk.rateOne(
            token, uuid(1), "1",
            R"(,"reasons":["waiting","late"],"other":"Quá đông","comment":"Cán bộ đi vắng")");
        CHECK(stored.answers.at("rating") == std::vector<std::string>{"1"});
        CHECK(stored.answers.at("reasons") ==
              std::vector<std::string>{"waiting", "late", "Quá đông"});
        CHECK(stored.answers.at("comment") == std::vector<std::string>{"Cán bộ đi vắng"});
        // A negative rating without reasons is fine too.
        auto plain = desk.rateOne(token, uuid(2), "1");
        CHECK_FALSE(plain.answers.count("reasons"));
    });
}

TEST_CASE("counter: a bad item is rejected with its reason and the rest of its batch is stored",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        auto r = desk.rate(
            token,
            batch(now, {item(uuid(1), "3", now),
                        item(uuid(2), "3", now, R"(,"reasons":["waiting"])"),  // not asked
                        item("not-a-uuid", "3", now), item(uuid(4), "7", now), R"("just a string")",
                        item(uuid(6), "2", now),
                        item(uuid(7), "3", now, R"(,"comment":"Tốt")"),  // not asked either
                        R"({"uuid":")" + uuid(8) + R"(","rating":"3","tapped_at":"yesterday"})",
                        item(uuid(9), "2", now, R"(,"reasons":["no-such-reason"])")}));
        REQUIRE(r.status == 200);
        const Array::Ptr res = results(r);
        REQUIRE(res->size() == 9);
        const std::vector<std::string> expected{"stored",   "rejected", "rejected",
                                                "rejected", "rejected", "stored",
                                                "rejected", "rejected", "rejected"};
        for (unsigned i = 0; i < res->size(); ++i) {
            INFO("item " << i << ": " << r.body);
            CHECK(status(res, i) == expected[i]);
            if (expected[i] == "rejected") {
                const Object::Ptr error = res->getObject(i)->getObject("error");
                REQUIRE(error);
                CHECK_FALSE(error->getValue<std::string>("detail").empty());
                CHECK_FALSE(res->getObject(i)->has("receipt"));
            }
        }
        auto errorCode = [&](unsigned i) {
            return res->getObject(i)->getObject("error")->getValue<std::string>("code");
        };
        CHECK(errorCode(1) == "submission.not_asked");
        CHECK(errorCode(2) == "counter.uuid_invalid");
        CHECK(errorCode(3) == "counter.rating_invalid");
        CHECK(errorCode(4) == "field.object");
        CHECK(errorCode(6) == "submission.not_asked");
        CHECK(errorCode(7) == "counter.time_invalid");
        CHECK(desk.count("responses") == 2);
        // A rejected item may be sent again, corrected, under its uuid.
        auto fixed = desk.rate(
            token, batch(nowMs(), {item(uuid(2), "1", now, R"(,"reasons":["waiting"])")}));
        CHECK(status(results(fixed), 0) == "stored");
        CHECK(desk.count("responses") == 3);
    });
}

TEST_CASE("counter: malformed, oversized and misshapen rating requests are refused whole",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        std::vector<std::string> many;
        for (int i = 0; i < 201; ++i) many.push_back(item(uuid(100 + i), "3", now));
        auto tooMany = desk.rate(token, batch(now, many));
        CHECK(tooMany.status == 413);
        CHECK(problemCode(tooMany) == "counter.too_many");
        many.pop_back();  // 200 is fine
        auto enough = desk.rate(token, batch(now, many));
        REQUIRE(enough.status == 200);
        CHECK(results(enough)->size() == 200);
        CHECK(desk.count("responses") == 200);

        auto malformed = desk.rate(token, R"({"ratings":[)");
        CHECK(malformed.status == 400);
        CHECK(problemCode(malformed) == "json.malformed");
        auto notObject = desk.rate(token, "[" + item(uuid(1), "3", now) + "]");
        CHECK(notObject.status == 400);
        CHECK(problemCode(notObject) == "json.not_object");
        auto noList = desk.rate(token, R"({"ratings":{"uuid":"x"}})");
        CHECK(noList.status == 422);
        CHECK(fieldErrorCode(noList) == "field.array");
        auto badTime = desk.rate(token, R"({"sent_at":"soon","ratings":[]})");
        CHECK(badTime.status == 422);
        CHECK(problemCode(badTime) == "counter.time_invalid");
        auto plainText = desk.call("POST", "/api/v1/ratings", token, batch(now, {}),
                                   {{"Content-Type", "text/plain"}});
        CHECK(plainText.status == 415);
        CHECK(desk.count("responses") == 200);
    });
}

TEST_CASE("counter: a dossier code binds the rating and an unknown code still counts",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        auto r = desk.rate(
            token, batch(now, {item(uuid(1), "3", now, R"(,"dossier":")" + kDossierXA + "\""),
                               item(uuid(2), "2", now, R"(,"dossier":"NO-SUCH-DOSSIER")")}));
        REQUIRE(r.status == 200);
        const Array::Ptr res = results(r);
        CHECK(status(res, 0) == "stored");
        CHECK_FALSE(res->getObject(0)->has("warning"));
        CHECK(status(res, 1) == "stored");
        CHECK(res->getObject(1)->optValue<std::string>("warning", "") == "dossier_unknown");
        const Stored bound = desk.stored(receipt(res, 0));
        CHECK(bound.dossier == kDossierXA);
        CHECK(bound.procedure == "1.001193");
        CHECK(bound.officer == "XA-CB1");  // the dossier's officer
        CHECK(bound.counter == "XA-Q1");
        CHECK(bound.agency == "XA");
        const Stored unbound = desk.stored(receipt(res, 1));
        CHECK(unbound.dossier.empty());
        CHECK(unbound.counter == "XA-Q1");
        // One rating per dossier: another tap for it answers with the first receipt.
        auto second = desk.rate(
            token,
            batch(nowMs(), {item(uuid(3), "1", now, R"(,"dossier":")" + kDossierXA + "\"")}));
        CHECK(status(results(second), 0) == "duplicate");
        CHECK(receipt(results(second), 0) == receipt(res, 0));
        CHECK(desk.count("responses") == 2);

        // The tablet may look a dossier of its own agency up, not another's.
        auto own = desk.call("GET", "/api/v1/dossier/" + kDossierXA, token);
        REQUIRE(own.status == 200);
        CHECK(parse(own.body)->getValue<std::string>("code") == kDossierXA);
        CHECK(desk.call("GET", "/api/v1/dossier/" + kDossierXB, token).status == 404);
        CHECK(desk.call("GET", "/api/v1/dossier/NO-SUCH-DOSSIER", token).status == 404);
    });
}

// README.md: GET /c/counter/api/v1/dossier/{code} answers {"code", "procedure"} (the screen shows
// the procedure once a code is scanned). The answer has the agency and status, no procedure.
TEST_CASE("counter: the dossier lookup tells the tablet the dossier's procedure", "[counter]") {
    Desk desk(Backend::SQLite);
    const std::string token = desk.pair();
    auto r = desk.call("GET", "/api/v1/dossier/" + kDossierXA, token);
    REQUIRE(r.status == 200);
    INFO(r.body);
    auto body = parse(r.body);
    CHECK(body->getValue<std::string>("code") == kDossierXA);
    REQUIRE(body->has("procedure"));
    CHECK(contains(body->get("procedure").toString(), "Đăng ký khai sinh"));
}

// GET /c/counter/api/v1/dossier/{code} confirms only dossiers of the counter's agency tree; a
// rating with another agency's dossier code is nonetheless bound to it (and takes that
// dossier's one rating). Expected: treated like an unknown code.
TEST_CASE("counter: a dossier of another agency does not bind a counter's rating", "[counter]") {
    Desk desk(Backend::SQLite);
    const std::string token = desk.pair();
    const std::int64_t now = nowMs();
    auto r = desk.rate(
        token, batch(now, {item(uuid(1), "1", now, R"(,"dossier":")" + kDossierXB + "\"")}));
    REQUIRE(r.status == 200);
    const Array::Ptr res = results(r);
    REQUIRE(status(res, 0) == "stored");
    CHECK(res->getObject(0)->optValue<std::string>("warning", "") == "dossier_unknown");
    CHECK(desk.stored(receipt(res, 0)).dossier.empty());
}

// GET /api/v1/responses/{receipt} and GET /api/v1/responses must answer valid JSON with the
// codes as strings. On PostgreSQL the codes come out unquoted ("agency":XA): ResponseApi.cpp
// hands the raw column value to the JSON writer, which does not take it for a string there.
TEST_CASE("counter: the response API shows a counter rating with its bindings", "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        auto r = desk.rate(token, batch(now, {item(uuid(1), "1", now - 2000,
                                                   R"(,"reasons":["waiting"],"comment":"Lâu",)"
                                                   R"("dossier":")" +
                                                       kDossierXA + "\"")}));
        REQUIRE(r.status == 200);
        REQUIRE(status(results(r), 0) == "stored");
        const std::string code = receipt(results(r), 0);

        auto one = desk.official("GET", "/api/v1/responses/" + code);
        REQUIRE(one.status == 200);
        INFO(one.body);
        Object::Ptr o;
        REQUIRE_NOTHROW(o = parse(one.body));
        CHECK(o->getValue<std::string>("receipt") == code);
        CHECK(o->getValue<std::string>("channel") == "counter");
        CHECK(text(o, "agency") == "XA");
        CHECK(text(o, "counter") == "XA-Q1");
        CHECK(text(o, "device") == "TAB-01");
        CHECK(text(o, "officer") == "XA-CB1");
        CHECK(text(o, "dossier") == kDossierXA);
        CHECK(text(o, "procedure") == "1.001193");
        CHECK(o->getValue<std::string>("device_at") == formatTimeMs(now - 2000));
        CHECK(o->has("answered_at"));
        const Object::Ptr answers = o->getObject("answers");
        REQUIRE(answers);
        CHECK(answers->getArray("rating")->getElement<std::string>(0) == "1");
        CHECK(answers->getArray("reasons")->getElement<std::string>(0) == "waiting");
        CHECK(answers->getArray("comment")->getElement<std::string>(0) == "Lâu");

        auto list = desk.official("GET", "/api/v1/responses?channel=counter&device=TAB-01");
        REQUIRE(list.status == 200);
        INFO(list.body);
        Object::Ptr body;
        REQUIRE_NOTHROW(body = parse(list.body));
        REQUIRE(body->getArray("items")->size() == 1);
        CHECK(body->getArray("items")->getObject(0)->getValue<std::string>("receipt") == code);
        CHECK(desk.official("GET", "/api/v1/responses/NOSUCHCODE").status == 404);
    });
}

// DeviceRegistry keeps sessions two seconds, but a directory write on this host (here: the
// tablet moved to another counter) makes them stale at once, on SQLite too, where it does not
// read the device's row on each request.
TEST_CASE("counter: a tablet moved to another counter rates for the new counter at once",
          "[counter]") {
    Desk desk(Backend::SQLite);
    desk.rt().directory().save(CounterInput{"XA-Q2", "Quầy 2", "XA", true});
    const std::string token = desk.pair();
    CHECK(desk.rateOne(token, uuid(1)).counter == "XA-Q1");
    desk.rt().directory().save(DeviceInput{"TAB-01", "Máy tính bảng quầy 2", "XA-Q2"});
    CHECK(desk.rateOne(token, uuid(2)).counter == "XA-Q2");
    auto state = parse(desk.call("GET", "/api/v1/state", token).body);
    CHECK(state->getObject("counter")->getValue<std::string>("code") == "XA-Q2");
}

TEST_CASE("counter: a device clock an hour off is corrected and the device's time is kept",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        // An hour behind: tapped 5 s before it sent.
        const std::int64_t behindTap = now - kHour - 5000;
        // An hour ahead: tapped 8 s before it sent.
        const std::int64_t aheadTap = now + kHour - 8000;
        auto behind = desk.rate(token, batch(now - kHour, {item(uuid(1), "3", behindTap)}));
        auto ahead = desk.rate(token, batch(now + kHour, {item(uuid(2), "3", aheadTap)}));
        // Without sent_at an old tap keeps its time, and one from the future is now.
        auto old = desk.rate(token, R"({"ratings":[)" + item(uuid(3), "3", now - kHour) + "]}");
        auto future = desk.rate(token, R"({"ratings":[)" + item(uuid(4), "3", now + kHour) + "]}");
        const std::int64_t after = nowMs();
        for (const auto* r : {&behind, &ahead, &old, &future}) {
            REQUIRE(r->status == 200);
            REQUIRE(status(results(*r), 0) == "stored");
        }
        const Stored behindStored = desk.stored(receipt(results(behind), 0));
        CHECK(behindStored.deviceAt == behindTap);
        CHECK(behindStored.answeredAt >= now - 5000);
        CHECK(behindStored.answeredAt <= after - 5000);
        const Stored aheadStored = desk.stored(receipt(results(ahead), 0));
        CHECK(aheadStored.deviceAt == aheadTap);
        CHECK(aheadStored.answeredAt >= now - 8000);
        CHECK(aheadStored.answeredAt <= after - 8000);
        const Stored oldStored = desk.stored(receipt(results(old), 0));
        CHECK(oldStored.answeredAt == now - kHour);
        CHECK(oldStored.deviceAt == now - kHour);
        const Stored futureStored = desk.stored(receipt(results(future), 0));
        CHECK(futureStored.deviceAt == now + kHour);
        CHECK(futureStored.answeredAt >= now);
        CHECK(futureStored.answeredAt <= after);
    });
}

TEST_CASE("counter: the form without JavaScript stores the rating and thanks the citizen",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        const std::map<std::string, std::string> headers{
            {"Content-Type", "application/x-www-form-urlencoded"},
            {"Cookie", "hl_device=" + token}};
        // "Quá đông" and "Chờ lâu" percent-encoded, spaces as '+'.
        const std::string body = "uuid=" + uuid(1) +
                                 "&rating=1&reasons=waiting&reasons=fees"
                                 "&other=Qu%C3%A1+%C4%91%C3%B4ng&comment=Ch%E1%BB%9D+l%C3%A2u";
        auto thanks = test::http(desk.port(), "POST", "/c/counter/rate?lang=en", body, headers);
        REQUIRE(thanks.status == 200);
        CHECK(contains(thanks.body, R"(data-screen="thanks")"));
        CHECK(contains(thanks.body, "Thank you for your rating!"));
        REQUIRE(desk.count("responses") == 1);
        const std::string code = desk.lastReceipt();
        CHECK(contains(thanks.body, "<strong>" + code + "</strong>"));
        const Stored stored = desk.stored(code);
        CHECK(stored.answers.at("rating") == std::vector<std::string>{"1"});
        CHECK(stored.answers.at("reasons") ==
              std::vector<std::string>{"waiting", "fees", "Quá đông"});
        CHECK(stored.answers.at("comment") == std::vector<std::string>{"Chờ lâu"});
        CHECK(stored.counter == "XA-Q1");
        CHECK(stored.device == "TAB-01");
        // Sent twice (a reload): still one.
        CHECK(test::http(desk.port(), "POST", "/c/counter/rate", body, headers).status == 200);
        CHECK(desk.count("responses") == 1);
        // A value that is no face: the screen again, with the reason, and nothing stored.
        auto wrong = test::http(desk.port(), "POST", "/c/counter/rate",
                                "uuid=" + uuid(2) + "&rating=9&lang=en", headers);
        CHECK(wrong.status == 200);
        CHECK(contains(wrong.body, R"(id="counter-config")"));
        CHECK(contains(wrong.body, "is not a point of the survey"));
        CHECK(desk.count("responses") == 1);
        // Without the cookie, nothing.
        auto anonymous =
            test::http(desk.port(), "POST", "/c/counter/rate", "uuid=" + uuid(3) + "&rating=3",
                       {{"Content-Type", "application/x-www-form-urlencoded"}});
        CHECK(anonymous.status == 401);
        CHECK(desk.count("responses") == 1);
    });
}

// ---- floods, held ratings and button boxes ----------------------------------------------------

TEST_CASE("counter: taps beyond max_per_minute are held, not counted, until an official decides",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b, {{"plugin.counter.max_per_minute", "5"}});
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        std::vector<std::string> taps;
        for (int i = 0; i < 12; ++i) taps.push_back(item(uuid(i + 1), "3", now - 12000 + i * 1000));
        auto r = desk.rate(token, batch(now, taps));
        REQUIRE(r.status == 200);
        const Array::Ptr res = results(r);
        REQUIRE(res->size() == 12);
        for (unsigned i = 0; i < 12; ++i) {
            INFO("tap " << i);
            CHECK(status(res, i) == (i < 5 ? "stored" : "held"));
            CHECK(receipt(res, i).size() == 10);
        }
        CHECK(desk.count("responses") == 5);
        CHECK(desk.count("held_submissions") == 7);
        CHECK(desk.counted() == 5);

        auto held = desk.official("GET", "/api/v1/held");
        REQUIRE(held.status == 200);
        auto items = parse(held.body)->getArray("items");
        REQUIRE(items->size() == 7);
        auto first = items->getObject(0);
        CHECK(first->getValue<std::string>("reason") == "rate_limit");
        CHECK(first->getValue<std::string>("status") == "held");
        CHECK(first->getValue<std::string>("channel") == "counter");
        CHECK(first->getValue<std::string>("device") == "TAB-01");
        CHECK(first->getValue<std::string>("counter") == "XA-Q1");
        CHECK(first->getValue<std::string>("agency") == "XA");
        CHECK(first->getValue<std::string>("receipt") == receipt(res, 5));
        CHECK(first->getValue<std::string>("device_at") == formatTimeMs(now - 12000 + 5000));
        CHECK(first->getObject("answers")->getValue<double>("rating") == 3);
        // The same held tap sent again is still held, once.
        auto resent = desk.rate(token, batch(nowMs(), {taps[5]}));
        CHECK(status(results(resent), 0) == "held");
        CHECK(receipt(results(resent), 0) == receipt(res, 5));
        CHECK(desk.count("held_submissions") == 7);

        const std::string id = std::to_string(first->getValue<std::int64_t>("id"));
        auto released = desk.official("POST", "/api/v1/held/" + id + "/release");
        REQUIRE(released.status == 200);
        auto releasedBody = parse(released.body);
        CHECK(releasedBody->getValue<std::string>("status") == "released");
        CHECK_FALSE(releasedBody->getValue<bool>("duplicate"));
        CHECK(desk.count("responses") == 6);
        CHECK(desk.counted() == 6);
        auto twice = desk.official("POST", "/api/v1/held/" + id + "/release");
        CHECK(twice.status == 409);
        CHECK(problemCode(twice) == "held.already_decided");
        CHECK(desk.count("responses") == 6);
        // The released response keeps the tap's own time and bindings.
        const std::int64_t responseId = releasedBody->getValue<std::int64_t>("response_id");
        CHECK(desk.count("responses", "id = " + std::to_string(responseId) +
                                          " AND device_at = " + std::to_string(now - 7000)) == 1);

        const std::string other = std::to_string(items->getObject(1)->getValue<std::int64_t>("id"));
        CHECK(desk.official("POST", "/api/v1/held/" + other + "/discard").status == 204);
        CHECK(desk.official("POST", "/api/v1/held/" + other + "/discard").status == 409);
        CHECK(desk.official("POST", "/api/v1/held/" + other + "/release").status == 409);
        CHECK(desk.count("responses") == 6);
        CHECK(parse(desk.official("GET", "/api/v1/held").body)->getArray("items")->size() == 5);
        auto discarded =
            parse(desk.official("GET", "/api/v1/held?status=discarded").body)->getArray("items");
        REQUIRE(discarded->size() == 1);
        CHECK(discarded->getObject(0)->getValue<std::string>("status") == "discarded");
        CHECK(discarded->getObject(0)->has("decided_at"));
        auto releasedList =
            parse(desk.official("GET", "/api/v1/held?status=released").body)->getArray("items");
        REQUIRE(releasedList->size() == 1);
        CHECK(releasedList->getObject(0)->getValue<std::int64_t>("response_id") == responseId);

        CHECK(desk.official("POST", "/api/v1/held/999999/release").status == 404);
        CHECK(desk.official("POST", "/api/v1/held/abc/release").status == 400);
        CHECK(test::http(desk.port(), "GET", "/api/v1/held").status == 401);
        CHECK(desk.official("GET", "/api/v1/held?status=maybe").status == 400);
    });
}

TEST_CASE("counter: a queue drained after an outage is judged by when it was tapped", "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b, {{"plugin.counter.max_per_minute", "5"}});
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        // Twelve taps over the last ten minutes, sent at once; the second batch from a device
        // whose clock is an hour behind.
        std::vector<std::string> queue, skewed;
        for (int i = 0; i < 12; ++i) {
            queue.push_back(item(uuid(i + 1), "3", now - 22 * kMinute + i * 50000));
            skewed.push_back(item(uuid(i + 101), "2", now - kHour - 11 * kMinute + i * 50000));
        }
        auto r = desk.rate(token, batch(now, queue));
        REQUIRE(r.status == 200);
        auto r2 = desk.rate(token, batch(now - kHour, skewed));
        REQUIRE(r2.status == 200);
        for (unsigned i = 0; i < 12; ++i) {
            INFO("tap " << i);
            CHECK(status(results(r), i) == "stored");
            CHECK(status(results(r2), i) == "stored");
        }
        CHECK(desk.count("responses") == 24);
        CHECK(desk.count("held_submissions") == 0);
    });
}

// A device that did not get the answer sends its batch again; the duplicates must not use up
// its allowance for the minute, or the next citizens' taps are held. The limiter remembers a tap
// before ingest finds it is a duplicate (CounterPlugin.cpp, submit()).
TEST_CASE("counter: a batch sent again does not use up the device's allowance", "[counter]") {
    Desk desk(Backend::SQLite, {{"plugin.counter.max_per_minute", "5"}});
    const std::string token = desk.pair();
    const std::int64_t now = nowMs();
    std::vector<std::string> taps;
    for (int i = 0; i < 3; ++i) taps.push_back(item(uuid(i + 1), "3", now - 10000 + i * 1000));
    auto first = desk.rate(token, batch(now, taps));
    REQUIRE(first.status == 200);
    auto again = desk.rate(token, batch(nowMs(), taps));
    REQUIRE(again.status == 200);
    for (unsigned i = 0; i < 3; ++i) CHECK(status(results(again), i) == "duplicate");
    auto next = desk.rate(
        token, batch(nowMs(), {item(uuid(4), "3", now - 5000), item(uuid(5), "3", now - 4000)}));
    REQUIRE(next.status == 200);
    CHECK(status(results(next), 0) == "stored");
    CHECK(status(results(next), 1) == "stored");
    CHECK(desk.count("responses") == 5);
    CHECK(desk.count("held_submissions") == 0);
}

// A flood dated more than 30 minutes before the device's newest tap escapes the limit: the
// limiter forgets each old tap before it judges the next (TapLimiter.cpp, judge()).
TEST_CASE("counter: a flood of backdated taps is held like any other", "[counter]") {
    Desk desk(Backend::SQLite, {{"plugin.counter.max_per_minute", "5"}});
    const std::string token = desk.pair();
    const std::int64_t now = nowMs();
    REQUIRE(status(results(desk.rate(token, batch(now, {item(uuid(1), "3", now)}))), 0) ==
            "stored");
    std::vector<std::string> flood;
    for (int i = 0; i < 12; ++i)
        flood.push_back(item(uuid(i + 10), "3", now - 40 * kMinute + i * 1000));
    auto r = desk.rate(token, batch(now, flood));
    REQUIRE(r.status == 200);
    int stored = 0;
    for (unsigned i = 0; i < 12; ++i) stored += status(results(r), i) == "stored";
    CHECK(stored == 5);
    CHECK(desk.count("held_submissions") == 7);
}

TEST_CASE("counter: a button box's presses are stored, bounces debounced, bad buttons rejected",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b, {{"plugin.counter.debounce_ms", "1000"}});
        const std::string token = desk.pair();
        const std::int64_t now = nowMs();
        auto single = desk.call("POST", "/api/v1/press", token,
                                R"({"uuid":")" + uuid(1) + R"(","button":3,"at":)" +
                                    std::to_string(now - 30000) + R"(,"sent_at":)" +
                                    std::to_string(now) + "}");
        REQUIRE(single.status == 200);
        REQUIRE(results(single)->size() == 1);
        CHECK(status(results(single), 0) == "stored");
        const Stored top = desk.stored(receipt(results(single), 0));
        CHECK(top.answers.at("rating") == std::vector<std::string>{"3"});
        CHECK(top.device == "TAB-01");
        CHECK(top.counter == "XA-Q1");
        CHECK(top.deviceAt == now - 30000);

        auto r = desk.call(
            "POST", "/api/v1/press", token,
            batch(now,
                  {press(uuid(2), "1", now - 20000), press(uuid(3), "1", now - 19500),  // a bounce
                   press(uuid(4), "2", now - 19000),  // 1 s later: a press
                   press(uuid(5), "0", now - 15000), press(uuid(6), "4", now - 14000),
                   press(uuid(7), R"("2")", now - 13000), press("nope", "2", now - 12000)},
                  "presses"));
        REQUIRE(r.status == 200);
        const Array::Ptr res = results(r);
        REQUIRE(res->size() == 7);
        CHECK(status(res, 0) == "stored");
        CHECK(status(res, 1) == "debounced");
        CHECK_FALSE(res->getObject(1)->has("receipt"));
        CHECK(status(res, 2) == "stored");
        for (unsigned i = 3; i < 6; ++i) {
            INFO("press " << i);
            CHECK(status(res, i) == "rejected");
            CHECK(res->getObject(i)->getObject("error")->getValue<std::string>("code") ==
                  "counter.button_invalid");
        }
        CHECK(status(res, 6) == "rejected");
        CHECK(desk.stored(receipt(res, 0)).answers.at("rating") == std::vector<std::string>{"1"});
        CHECK(desk.stored(receipt(res, 2)).answers.at("rating") == std::vector<std::string>{"2"});
        CHECK(desk.count("responses") == 3);

        // A box whose clock is an hour behind.
        const std::int64_t at = now - kHour - 10000;
        auto skewed =
            desk.call("POST", "/api/v1/press", token,
                      R"({"uuid":")" + uuid(8) + R"(","button":2,"at":)" + std::to_string(at) +
                          R"(,"sent_at":)" + std::to_string(now - kHour) + "}");
        const std::int64_t after = nowMs();
        REQUIRE(skewed.status == 200);
        REQUIRE(status(results(skewed), 0) == "stored");
        const Stored stored = desk.stored(receipt(results(skewed), 0));
        CHECK(stored.deviceAt == at);
        CHECK(stored.answeredAt >= now - 10000);
        CHECK(stored.answeredAt <= after - 10000);

        std::vector<std::string> many;
        for (int i = 0; i < 201; ++i) many.push_back(press(uuid(1000 + i), "2", now - i * 2000));
        CHECK(desk.call("POST", "/api/v1/press", token, batch(now, many, "presses")).status == 413);
        CHECK(desk.count("responses") == 4);
    });
}

// ---- officers' shifts ------------------------------------------------------------------------

TEST_CASE("counter: officers' PINs have 4 to 8 digits", "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        for (const char* bad : {"123", "abcd", "123456789", "12a4", "12 34"}) {
            INFO(bad);
            auto r = desk.official("PUT", "/api/v1/officers/XA-CB1/pin",
                                   std::string(R"({"pin":")") + bad + "\"}");
            CHECK(r.status == 422);
        }
        CHECK(desk.count("officers", "pin_hash <> ''") == 0);
        CHECK(desk.official("PUT", "/api/v1/officers/NOPE/pin", R"({"pin":"1234"})").status == 404);
        CHECK(desk.official("PUT", "/api/v1/officers/XA-CB1/pin", R"({"pin":"1234"})").status ==
              204);
        CHECK(desk.official("PUT", "/api/v1/officers/XA-CB2/pin", R"({"pin":"12345678"})").status ==
              204);
        CHECK(desk.count("officers", "pin_hash <> ''") == 2);
        CHECK(test::http(desk.port(), "PUT", "/api/v1/officers/XA-CB1/pin", R"({"pin":"9999"})",
                         {{"Content-Type", "application/json"}})
                  .status == 401);
    });
}

TEST_CASE("counter: an officer signs in with a PIN and ratings are theirs until the shift ends",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        // Without a PIN set, nobody signs in from the tablet.
        auto noPin =
            desk.call("POST", "/api/v1/shift", token, R"({"officer":"XA-CB1","pin":"2468"})");
        CHECK(noPin.status == 403);
        CHECK(problemCode(noPin) == "shift.no_pin");
        REQUIRE(desk.official("PUT", "/api/v1/officers/XA-CB1/pin", R"({"pin":"2468"})").status ==
                204);

        auto signedIn =
            desk.call("POST", "/api/v1/shift", token, R"({"officer":"XA-CB1","pin":"2468"})");
        REQUIRE(signedIn.status == 200);
        auto officer = parse(signedIn.body)->getObject("officer");
        CHECK(officer->getValue<std::string>("code") == "XA-CB1");
        CHECK(officer->getValue<std::string>("name") == "Nguyễn Văn An");
        auto session = desk.session()->getObject("officer");
        REQUIRE(session);
        CHECK(session->getValue<std::string>("code") == "XA-CB1");
        auto state = parse(desk.call("GET", "/api/v1/state", token).body);
        CHECK(state->getObject("officer")->getValue<std::string>("code") == "XA-CB1");
        auto screen =
            test::http(desk.port(), "GET", "/c/counter/", "", {{"Cookie", "hl_device=" + token}});
        CHECK(contains(screen.body, "Nguyễn Văn An"));
        CHECK(desk.rateOne(token, uuid(1)).officer == "XA-CB1");

        REQUIRE(desk.call("DELETE", "/api/v1/shift", token).status == 204);
        CHECK(desk.rateOne(token, uuid(2)).officer.empty());
        CHECK(desk.session()->isNull("officer"));

        auto wrong =
            desk.call("POST", "/api/v1/shift", token, R"({"officer":"XA-CB1","pin":"1111"})");
        CHECK(wrong.status == 403);
        CHECK(problemCode(wrong) == "shift.bad_pin");
        CHECK(desk.session()->isNull("officer"));
        auto unknown =
            desk.call("POST", "/api/v1/shift", token, R"({"officer":"NOPE","pin":"1111"})");
        CHECK(unknown.status == 422);
        CHECK(desk.call("POST", "/api/v1/shift", token, R"({"pin":"2468"})").status == 422);

        // Officers of the counter's agency or one above it; not of a neighbour.
        REQUIRE(desk.official("PUT", "/api/v1/officers/XB-CB1/pin", R"({"pin":"1357"})").status ==
                204);
        auto other =
            desk.call("POST", "/api/v1/shift", token, R"({"officer":"XB-CB1","pin":"1357"})");
        CHECK(other.status == 422);
        CHECK(fieldErrorCode(other) == "shift.other_agency");
        CHECK(desk.session()->isNull("officer"));
        REQUIRE(desk.official("PUT", "/api/v1/officers/PT-CB1/pin", R"({"pin":"8642"})").status ==
                204);
        CHECK(desk.call("POST", "/api/v1/shift", token, R"({"officer":"PT-CB1","pin":"8642"})")
                  .status == 200);
        CHECK(desk.rateOne(token, uuid(3)).officer == "PT-CB1");
    });
}

TEST_CASE("counter: five wrong PINs pause the officer's sign-in, even with the right PIN",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        REQUIRE(desk.official("PUT", "/api/v1/officers/XA-CB1/pin", R"({"pin":"2468"})").status ==
                204);
        REQUIRE(desk.official("PUT", "/api/v1/officers/XA-CB2/pin", R"({"pin":"1357"})").status ==
                204);
        for (int i = 0; i < 5; ++i) {
            auto wrong =
                desk.call("POST", "/api/v1/shift", token, R"({"officer":"XA-CB2","pin":"0000"})");
            CHECK(wrong.status == 403);
        }
        auto paused =
            desk.call("POST", "/api/v1/shift", token, R"({"officer":"XA-CB2","pin":"1357"})");
        CHECK(paused.status == 429);
        CHECK(problemCode(paused) == "shift.paused");
        CHECK_FALSE(paused.headers["retry-after"].empty());
        CHECK(desk.session()->isNull("officer"));
        // Another officer is not paused.
        CHECK(desk.call("POST", "/api/v1/shift", token, R"({"officer":"XA-CB1","pin":"2468"})")
                  .status == 200);
    });
}

TEST_CASE("counter: an official starts and ends a shift from the console without a PIN",
          "[counter]") {
    test::onEachBackend([](Backend b) {
        Desk desk(b);
        const std::string token = desk.pair();
        auto started =
            desk.official("PUT", "/api/v1/devices/TAB-01/shift", R"({"officer":"XA-CB2"})");
        REQUIRE(started.status == 200);
        CHECK(parse(started.body)->getValue<std::string>("code") == "XA-CB2");
        auto session = desk.session();
        CHECK(session->getValue<std::string>("device") == "TAB-01");
        CHECK(session->getValue<std::string>("counter") == "XA-Q1");
        CHECK(session->getValue<std::string>("agency") == "XA");
        CHECK(session->getObject("officer")->getValue<std::string>("code") == "XA-CB2");
        CHECK(desk.rateOne(token, uuid(1)).officer == "XA-CB2");
        // Another officer takes over: one open shift.
        REQUIRE(desk.official("PUT", "/api/v1/devices/TAB-01/shift", R"({"officer":"XA-CB1"})")
                    .status == 200);
        CHECK(desk.count("device_shifts", "ended_at IS NULL") == 1);
        CHECK(desk.rateOne(token, uuid(2)).officer == "XA-CB1");

        auto other =
            desk.official("PUT", "/api/v1/devices/TAB-01/shift", R"({"officer":"XB-CB1"})");
        CHECK(other.status == 422);
        CHECK(fieldErrorCode(other) == "shift.other_agency");
        CHECK(
            desk.official("PUT", "/api/v1/devices/NOPE/shift", R"({"officer":"XA-CB1"})").status ==
            404);
        CHECK(desk.official("PUT", "/api/v1/devices/TAB-01/shift", R"({"officer":""})").status ==
              422);

        REQUIRE(desk.official("DELETE", "/api/v1/devices/TAB-01/shift").status == 204);
        CHECK(desk.session()->isNull("officer"));
        CHECK(desk.rateOne(token, uuid(3)).officer.empty());
        // Revoking the tablet ends its shift too.
        REQUIRE(desk.official("PUT", "/api/v1/devices/TAB-01/shift", R"({"officer":"XA-CB1"})")
                    .status == 200);
        REQUIRE(desk.official("POST", "/api/v1/devices/TAB-01/revoke").status == 204);
        CHECK(desk.count("device_shifts", "ended_at IS NULL") == 0);
    });
}

TEST_CASE("counter: a counter may ask its own survey, chosen by an official", "[counter]") {
    Desk desk(Backend::SQLite);
    // A second survey fit for counters: the shipped one under another id, with other words.
    Poco::FileInputStream in(test::sourceDir() + "/surveys/counter-quick.json");
    std::string json;
    Poco::StreamCopier::copyToString(in, json);
    json.replace(json.find("\"counter-quick\""), 15, "\"counter-other\"");
    desk.rt().surveys().publish(json, "test");
    const std::string token = desk.pair();
    auto surveyOf = [&] {
        return parse(desk.call("GET", "/api/v1/state", token).body)
            ->getObject("survey")
            ->getValue<std::string>("id");
    };
    CHECK(surveyOf() == "counter-quick");
    // Only surveys open at counters can be chosen.
    auto refused = desk.official("PATCH", "/api/v1/counters/XA-Q1", R"({"survey":"sipas-2017"})");
    CHECK(refused.status == 422);
    CHECK(fieldErrorCode(refused) == "counter.survey_unfit");
    auto chosen = desk.official("PATCH", "/api/v1/counters/XA-Q1", R"({"survey":"counter-other"})");
    REQUIRE(chosen.status == 200);
    CHECK(parse(chosen.body)->getObject("item")->getValue<std::string>("survey") ==
          "counter-other");
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // the directory's cache
    CHECK(surveyOf() == "counter-other");
    const auto res = results(desk.rate(token, batch(nowMs(), {item(uuid(1), "3", nowMs())})));
    REQUIRE(status(res, 0) == "stored");
    CHECK(desk.stored(receipt(res, 0)).survey == "counter-other");
    // Back to the general setting.
    REQUIRE(desk.official("PATCH", "/api/v1/counters/XA-Q1", R"({"survey":""})").status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    CHECK(surveyOf() == "counter-quick");
}

TEST_CASE("counter: a tablet says how many ratings it still holds, and the console sees it",
          "[counter]") {
    Desk desk(Backend::SQLite);
    const std::string token = desk.pair();
    std::string body = batch(nowMs(), {item(uuid(1), "3", nowMs())});
    body.insert(body.size() - 1, R"(,"queued":7)");
    REQUIRE(status(results(desk.rate(token, body)), 0) == "stored");
    desk.rt().devices().flushSeen();
    desk.rt().directory().forgetCached();  // device lookups are cached for two seconds
    auto device = parse(desk.official("GET", "/api/v1/devices/TAB-01").body);
    CHECK(device->getValue<int>("queued") == 7);
    // Nonsense is ignored, not stored: a negative count is none, a text no count at all.
    body = batch(nowMs(), {item(uuid(2), "3", nowMs())});
    body.insert(body.size() - 1, R"(,"queued":-5)");
    REQUIRE(status(results(desk.rate(token, body)), 0) == "stored");
    desk.rt().devices().flushSeen();
    desk.rt().directory().forgetCached();  // device lookups are cached for two seconds
    CHECK(parse(desk.official("GET", "/api/v1/devices/TAB-01").body)->getValue<int>("queued") == 0);
    body = batch(nowMs(), {item(uuid(3), "3", nowMs())});
    body.insert(body.size() - 1, R"(,"queued":"lots")");
    REQUIRE(status(results(desk.rate(token, body)), 0) == "stored");
    desk.rt().devices().flushSeen();
    desk.rt().directory().forgetCached();  // device lookups are cached for two seconds
    CHECK(parse(desk.official("GET", "/api/v1/devices/TAB-01").body)->getValue<int>("queued") == 0);
}
