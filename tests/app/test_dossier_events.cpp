// Dossier events from the one-stop system (POST /api/v1/dossier-events): kept once by their id,
// applied in the order they happened whatever order they arrive in, a batch of up to 1,000 with
// a result per item, API keys held to their subtree, and a "returned" event inviting the citizen
// once by SMS and giving the web survey link. Through a serving host, on SQLite and PostgreSQL.
#include "app/ApiKeys.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Object.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <sstream>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::JSON::Object;

namespace {

test::HttpResult post(std::uint16_t port, const std::string& json,
                      const std::string& bearer = "test-token") {
    return test::http(
        port, "POST", "/api/v1/dossier-events", json,
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + bearer}});
}

std::string event(const std::string& id, const std::string& type, const std::string& dossier,
                  const std::string& at, const std::string& more = "") {
    return R"({"id":")" + id + R"(","type":")" + type + R"(","dossier":")" + dossier +
           R"(","occurred_at":")" + at + "\"" + (more.empty() ? "" : "," + more) + "}";
}

std::string stateOf(Runtime& rt, const std::string& eventId) {
    return rt.database().read([&](Poco::Data::Session& s) {
        std::string state, id = eventId;
        s << "SELECT state FROM dossier_events WHERE event_id = $1", use(id), into(state), now;
        return state;
    });
}

}  // namespace

TEST_CASE("dossier events: kept once by id and applied in the order they happened",
          "[dossier-events]") {
    test::onEachProvince(
        [](test::TestHost& host) {
            Runtime& rt = host.runtime();
            const auto port = host.port();
            // "returned" arrives first: kept, pending, until the dossier's agency is known.
            auto r = post(port, event("ev-2", "returned", "XA-100", "2026-11-20T10:00:00+07:00"));
            REQUIRE(r.status == 202);
            CHECK(test::jsonObject(r.body)->getValue<std::string>("result") == "pending");
            CHECK(test::jsonObject(r.body)->get("dossier_status").isEmpty());
            CHECK_FALSE(rt.directory().dossier("XA-100"));

            // "received" (earlier) gives the agency: both apply, in their order.
            r = post(port, event("ev-1", "received", "XA-100", "2026-11-18T08:00:00+07:00",
                                 R"("agency":"XA","phone":"0912 345 678",)"
                                 R"("due_at":"2026-11-25T17:00:00+07:00")"));
            REQUIRE(r.status == 201);
            auto o = test::jsonObject(r.body);
            CHECK(o->getValue<std::string>("result") == "applied");
            CHECK(o->getValue<std::string>("dossier_status") == "returned");
            auto d = rt.directory().dossier("XA-100");
            REQUIRE(d);
            CHECK(d->status == "returned");
            CHECK(formatTimeMs(d->receivedAtMs).starts_with("2026-11-18T01:00"));
            REQUIRE(d->returnedAtMs);
            CHECK(formatTimeMs(*d->returnedAtMs).starts_with("2026-11-20T03:00"));
            CHECK(d->dueAtMs);
            CHECK(d->phone == "84912345678");
            CHECK(stateOf(rt, "ev-2") == "applied");

            // The same event again: a duplicate, nothing changes; the same id with other
            // content: refused, and said why.
            r = post(port, event("ev-1", "received", "XA-100", "2026-11-18T08:00:00+07:00",
                                 R"("agency":"XA","phone":"0912 345 678",)"
                                 R"("due_at":"2026-11-25T17:00:00+07:00")"));
            CHECK(r.status == 200);
            CHECK(test::jsonObject(r.body)->getValue<std::string>("result") == "duplicate");
            r = post(port, event("ev-1", "cancelled", "XA-100", "2026-11-18T08:00:00+07:00"));
            CHECK(r.status == 409);
            CHECK(r.body.find("dossier_event.id_reused") != std::string::npos);

            // An event older than the latest changes nothing of the status.
            r = post(port, event("ev-3", "supplement_requested", "XA-100",
                                 "2026-11-19T09:00:00+07:00", R"("officer":"")"));
            REQUIRE(r.status == 201);
            CHECK(test::jsonObject(r.body)->getValue<std::string>("dossier_status") == "returned");
            // A later one does.
            r = post(port, event("ev-4", "cancelled", "XA-100", "2026-11-21T09:00:00+07:00"));
            REQUIRE(r.status == 201);
            CHECK(rt.directory().dossier("XA-100")->status == "cancelled");

            // The events as kept, oldest first.
            r = test::http(port, "GET", "/api/v1/dossier-events?dossier=XA-100", "",
                           {{"Authorization", "Bearer test-token"}});
            REQUIRE(r.status == 200);
            auto list = test::jsonObject(r.body)->getArray("events");
            REQUIRE(list->size() == 4);
            std::vector<std::string> ids;
            for (std::size_t i = 0; i < list->size(); ++i) {
                ids.push_back(list->getObject(i)->getValue<std::string>("id"));
                CHECK(list->getObject(i)->getValue<std::string>("state") == "applied");
            }
            CHECK(ids == std::vector<std::string>{"ev-1", "ev-3", "ev-2", "ev-4"});

            // Bad events: each field named, nothing kept.
            r = post(port, R"({"id":"has space","type":"closed","dossier":"XA 1",)"
                           R"("agency":"NOPE","phone":"abc"})");
            CHECK(r.status == 422);
            INFO(r.body);
            for (const char* field : {"\"id\"", "\"type\"", "\"dossier\"", "\"occurred_at\"",
                                      "\"agency\"", "\"phone\""})
                CHECK(r.body.find(field) != std::string::npos);
            r = post(port, event("ev-9", "received", "XA-101", "2026-11-18T08:00:00+07:00",
                                 R"("agency":"XA","colour":"red")"));
            CHECK(r.status == 422);
            CHECK(r.body.find("colour") != std::string::npos);
            CHECK_FALSE(rt.directory().dossier("XA-101"));
            r = post(port, event("ev-10", "returned", "XA-100", formatTimeMs(nowMs() + 86400000)));
            CHECK(r.status == 422);
            CHECK(r.body.find("dossier_event.in_future") != std::string::npos);
            // A waiting event's phone number goes with an erasure on request, and with the
            // phone retention.
            r = post(port, event("ev-20", "returned", "XA-200", "2026-11-20T10:00:00+07:00",
                                 R"("phone":"0912 777 001")"));
            REQUIRE(r.status == 202);
            r = post(port, event("ev-21", "returned", "XA-201", "2026-11-20T10:00:00+07:00",
                                 R"("phone":"0912 777 002")"));
            REQUIRE(r.status == 202);
            auto phoneOf = [&](const std::string& id) {
                return rt.database().read([&](Poco::Data::Session& s) {
                    std::string phone, key = id;
                    s << "SELECT phone FROM dossier_events WHERE event_id = $1", use(key),
                        into(phone), now;
                    return phone;
                });
            };
            CHECK(phoneOf("ev-20") == "84912777001");
            CHECK(rt.personalData().erase("0912777001").dossierPhones >= 1);
            CHECK(phoneOf("ev-20").empty());
            CHECK(phoneOf("ev-21") == "84912777002");
            Retention keepNone;
            keepNone.phonesBeforeMs = nowMs() + 1000;
            rt.personalData().sweep(keepNone);
            CHECK(phoneOf("ev-21").empty());

            // Without credentials: 401.
            r = test::http(port, "POST", "/api/v1/dossier-events",
                           event("ev-8", "received", "XA-1", "2026-11-18T08:00:00+07:00"),
                           {{"Content-Type", "application/json"}});
            CHECK(r.status == 401);
        },
        true);
}

TEST_CASE("dossier events: a batch of 1,000 in any order, a result for each item",
          "[dossier-events]") {
    test::onEachProvince(
        [](test::TestHost& host) {
            Runtime& rt = host.runtime();
            // 490 dossiers, each received then returned, sent shuffled; plus 20 bad items.
            std::vector<std::string> items;
            for (int i = 0; i < 490; ++i) {
                const std::string code = "XB-" + std::to_string(1000 + i);
                items.push_back(event("rcv-" + std::to_string(i), "received", code,
                                      "2026-11-02T08:00:00+07:00", R"("agency":"XB")"));
                items.push_back(event("ret-" + std::to_string(i), "returned", code,
                                      "2026-11-03T15:30:00+07:00"));
            }
            std::shuffle(items.begin(), items.end(), std::mt19937(42));
            for (int i = 0; i < 10; ++i) items.push_back(R"({"id":"x)" + std::to_string(i) + "\"}");
            for (int i = 0; i < 10; ++i) items.push_back("42");
            std::string body = R"({"events":[)";
            for (std::size_t i = 0; i < items.size(); ++i) body += (i ? "," : "") + items[i];
            body += "]}";
            auto r = post(host.port(), body);
            REQUIRE(r.status == 200);
            auto o = test::jsonObject(r.body);
            CHECK(o->getValue<int>("applied") + o->getValue<int>("pending") == 980);
            CHECK(o->getValue<int>("rejected") == 20);
            CHECK(o->getValue<int>("duplicate") == 0);
            auto results = o->getArray("results");
            REQUIRE(results->size() == 1000);
            CHECK(results->getObject(995)->getValue<std::string>("result") == "rejected");
            CHECK(results->getObject(995)->getValue<std::string>("code") ==
                  "dossier_event.invalid");
            std::ostringstream item;
            results->getObject(985)->stringify(item);
            CHECK(item.str().find("events.985.type") != std::string::npos);
            for (int i : {0, 490, 999}) CHECK(results->getObject(i)->getValue<int>("index") == i);
            // Every dossier ends returned, whichever of its events came first.
            const auto returned = rt.database().read([](Poco::Data::Session& s) {
                int n = 0;
                s << "SELECT COUNT(*) FROM dossiers WHERE status = 'returned' AND "
                     "returned_at IS NOT NULL AND code LIKE 'XB-%'",
                    into(n), now;
                return n;
            });
            CHECK(returned == 490);
            // Sent again whole: all duplicates.
            r = post(host.port(), body);
            CHECK(test::jsonObject(r.body)->getValue<int>("duplicate") == 980);
            // 1,001 events: refused whole.
            std::string tooMany = R"({"events":[)";
            for (int i = 0; i < 1001; ++i) tooMany += (i ? "," : "") + std::string("{}");
            r = post(host.port(), tooMany + "]}");
            CHECK(r.status == 413);
            CHECK(r.body.find("1000") != std::string::npos);
        },
        true);
}

TEST_CASE("dossier events: an API key changes only the dossiers of its subtree",
          "[dossier-events]") {
    test::onEachProvince(
        [](test::TestHost& host) {
            Runtime& rt = host.runtime();
            ApiKeyStore keys(rt.database(), rt.directory());
            const std::string xa = keys.add("motcua-xa", "XA");
            // Its own agency: applied. Another's: 403, not kept.
            auto r = post(
                host.port(),
                event("k-1", "received", "XA-7", "2026-11-02T08:00:00+07:00", R"("agency":"XA")"),
                xa);
            CHECK(r.status == 201);
            r = post(
                host.port(),
                event("k-2", "received", "XB-7", "2026-11-02T08:00:00+07:00", R"("agency":"XB")"),
                xa);
            CHECK(r.status == 403);
            CHECK(stateOf(rt, "k-2").empty());
            // A pending event of XA's key for a dossier that turns out to be XB's is refused
            // when the dossier becomes known, and never changes it.
            r = post(host.port(), event("k-3", "cancelled", "XB-8", "2026-11-05T08:00:00+07:00"),
                     xa);
            CHECK(r.status == 202);
            r = post(host.port(), event("t-1", "received", "XB-8", "2026-11-02T08:00:00+07:00",
                                        R"("agency":"XB")"));
            CHECK(r.status == 201);
            CHECK(rt.directory().dossier("XB-8")->status == "received");
            CHECK(stateOf(rt, "k-3") == "refused");
            // XA's key may not read XB's dossier's events.
            r = test::http(host.port(), "GET", "/api/v1/dossier-events?dossier=XB-8", "",
                           {{"Authorization", "Bearer " + xa}});
            CHECK(r.status == 403);
        },
        true);
}

TEST_CASE("dossier events: a returned dossier is invited once by SMS and gets its survey link",
          "[dossier-events]") {
    test::onEachBackend([](Backend b) {
        test::TestDatabase tdb(b);
        test::TempDir dir;
        test::TestHost host(tdb.url(), dir, false,
                            {{"paths.plugins", test::pluginDir()},
                             {"plugins.enabled", "sms,webform"},
                             {"plugin.sms.secret", "s3cret-for-tests"},
                             {"plugin.sms.sendsms_url", "http://127.0.0.1:9/cgi-bin/sendsms"},
                             {"plugin.sms.quiet_hours", ""},
                             {"plugin.sms.invite_link_survey", "sipas-2017"}});
        Runtime& rt = host.runtime();
        test::serveWithPlugin(rt, "sms");
        test::saveProvinceWithTwoCommunes(rt.directory());
        // The SMS plugin follows returned dossiers from its first look on.
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        const std::string returned = formatTimeMs(nowMs() - 60000);
        const std::string received = formatTimeMs(nowMs() - 86400000);
        auto r = post(rt.port(), event("inv-1", "received", "XA-55", received,
                                       R"("agency":"XA","phone":"0912 000 055")"));
        REQUIRE(r.status == 201);
        CHECK_FALSE(test::jsonObject(r.body)->has("survey_link"));
        r = post(rt.port(), event("inv-2", "returned", "XA-55", returned));
        REQUIRE(r.status == 201);
        auto link = test::jsonObject(r.body)->getObject("survey_link");
        REQUIRE(link);
        const std::string url = link->getValue<std::string>("url");
        CHECK(url.find("/t/" + link->getValue<std::string>("token")) != std::string::npos);
        // The link opens the dossier's web survey.
        const std::string path = url.substr(url.find("/", url.find("//") + 2));
        CHECK(test::http(rt.port(), "GET", path).status == 200);
        // A second "returned" (another id, later) does not invite again.
        r = post(rt.port(), event("inv-3", "returned", "XA-55", formatTimeMs(nowMs() - 30000)));
        REQUIRE(r.status == 201);
        auto invitations = [&] {
            return rt.database().read([](Poco::Data::Session& s) {
                int n = 0;
                s << "SELECT COUNT(*) FROM outbox WHERE dedupe_key = 'sms-invite:XA-55'", into(n),
                    now;
                return n;
            });
        };
        for (int i = 0; i < 100 && invitations() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        CHECK(invitations() == 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // two more looks
        CHECK(invitations() == 1);
        // The invitation carries the same web survey link (plugin.sms.invite_link_survey).
        const std::string sms = rt.database().read([](Poco::Data::Session& s) {
            std::string body;
            s << "SELECT body FROM outbox WHERE dedupe_key = 'sms-invite:XA-55'", into(body), now;
            return body;
        });
        CHECK(sms.find(url) != std::string::npos);
        CHECK(sms.find("XA-55") != std::string::npos);
    });
}
