// Tests for core/alerts and the e-mail sender: rules validated field by field; an unhappy share
// over a window of minutes and an index under its floor over days; an alert opens once, clears,
// respects its minimum n, is seen by the agencies above; notices are queued once per recipient,
// reach an SMTP relay, and the whole runs on ingest without waiting for a sweep.
#include "alerts/AlertMonitor.h"
#include "common/Clock.h"
#include "mail/SmtpSender.h"
#include "support/TestSupport.h"

#include <Poco/Data/Statement.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

// A minimal SMTP relay on loopback: accepts every message (or refuses recipients with
// `refuseRcpt`), keeps what DATA carried.
class SmtpSink {
public:
    explicit SmtpSink(int refuseRcpt = 0)
        : server_(Poco::Net::SocketAddress("127.0.0.1", 0)), refuse_(refuseRcpt) {
        thread_ = std::thread([this] { run(); });
    }
    ~SmtpSink() {
        stop_ = true;
        thread_.join();
    }
    std::uint16_t port() const { return server_.address().port(); }
    std::vector<std::string> messages() {
        std::lock_guard lock(mutex_);
        return messages_;
    }

private:
    void run() {
        while (!stop_) {
            if (!server_.poll(Poco::Timespan(0, 50000), Poco::Net::Socket::SELECT_READ)) continue;
            Poco::Net::StreamSocket s = server_.acceptConnection();
            s.setReceiveTimeout(Poco::Timespan(5, 0));
            try {
                session(s);
            } catch (const Poco::Exception&) {
            }
        }
    }
    std::string line(Poco::Net::StreamSocket& s) {
        std::string out;
        char c = 0;
        while (s.receiveBytes(&c, 1) == 1) {
            out += c;
            if (out.ends_with("\r\n")) return out.substr(0, out.size() - 2);
        }
        return out;
    }
    void say(Poco::Net::StreamSocket& s, const std::string& text) {
        const std::string l = text + "\r\n";
        s.sendBytes(l.data(), static_cast<int>(l.size()));
    }
    void session(Poco::Net::StreamSocket& s) {
        say(s, "220 sink ready");
        for (;;) {
            const std::string cmd = line(s);
            if (cmd.empty()) return;
            if (cmd.starts_with("EHLO") || cmd.starts_with("HELO")) {
                say(s, "250 sink");
            } else if (cmd.starts_with("MAIL")) {
                say(s, "250 ok");
            } else if (cmd.starts_with("RCPT")) {
                say(s, refuse_ ? std::to_string(refuse_) + " no such mailbox" : "250 ok");
            } else if (cmd.starts_with("DATA")) {
                say(s, "354 go on");
                std::string data;
                for (std::string l = line(s); l != "."; l = line(s)) data += l + "\n";
                {
                    std::lock_guard lock(mutex_);
                    messages_.push_back(data);
                }
                say(s, "250 queued");
            } else if (cmd.starts_with("QUIT")) {
                say(s, "221 bye");
                return;
            } else {
                say(s, "250 ok");
            }
        }
    }

    Poco::Net::ServerSocket server_;
    int refuse_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::string> messages_;
    std::thread thread_;
};

struct Notice {
    std::string channel, recipient, body, key;
};

std::vector<Notice> notices(Database& db) {
    return db.read([](Session& s) {
        std::vector<std::string> channel, recipient, body, key;
        s << "SELECT channel, recipient, body, dedupe_key FROM outbox WHERE dedupe_key LIKE "
             "'alert:%' ORDER BY id",
            into(channel), into(recipient), into(body), into(key), now;
        std::vector<Notice> out;
        for (std::size_t i = 0; i < channel.size(); ++i)
            out.push_back({channel[i], recipient[i], body[i], key[i]});
        return out;
    });
}

AlertRuleInput shareRule(const std::string& agency, const std::string& threshold = "30",
                         const std::string& minN = "10") {
    AlertRuleInput in;
    in.agencyCode = agency;
    in.kind = "unhappy_share";
    in.threshold = threshold;
    in.window = "60";
    in.minN = minN;
    in.recipients = "truong.phong@xa.gov.vn\n0912 345 678";
    return in;
}

// Rates counter-quick at `agency` now: "1" is unhappy, "2" and "3" are not.
void rate(Runtime& rt, const std::string& agency, const std::string& rating, int times) {
    static std::atomic<int> serial{0};
    for (int i = 0; i < times; ++i) {
        Submission s;
        s.idempotencyKey = "alert-test-" + std::to_string(++serial);
        s.surveyId = "counter-quick";
        s.channel = "counter";
        s.agencyCode = agency;
        s.answers.push_back({"rating", std::nullopt, {rating}, ""});
        rt.ingest().submit(s);
    }
}

bool hasField(const Problem& p, const std::string& field) {
    return std::any_of(p.errors().begin(), p.errors().end(),
                       [&](const FieldError& e) { return e.field == field; });
}

}  // namespace

TEST_CASE("alert rules: every bad field named, recipients read, limits kept", "[alerts]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();

            AlertRuleInput bad;
            bad.agencyCode = "XA";
            bad.kind = "loud";
            bad.threshold = "120";
            bad.window = "2";
            bad.minN = "0";
            bad.recipients = "someone@, 12345, ok@xa.gov.vn";
            const Problem p = test::problemOf([&] { rt.alerts().save(0, bad, "test"); });
            CHECK(p.status() == 422);
            for (const char* field : {"kind", "threshold", "window", "min_n", "recipients"})
                CHECK(hasField(p, field));
            CHECK(test::hasError(p.errors(), "recipients", "alert.bad_email"));
            CHECK(test::hasError(p.errors(), "recipients", "alert.bad_recipient"));

            AlertRuleInput floor = shareRule("XA");
            floor.kind = "index_floor";
            floor.window = "7";
            const Problem noSurvey = test::problemOf([&] { rt.alerts().save(0, floor, "test"); });
            CHECK(test::hasError(noSurvey.errors(), "survey", "field.required"));
            floor.surveyId = "counter-quick";
            floor.indexId = "nonexistent";
            CHECK(test::hasError(test::problemOf([&] { rt.alerts().save(0, floor, "t"); }).errors(),
                                 "index", "index.unknown_index"));
            floor.window = "200";  // days: at most 90
            CHECK(hasField(test::problemOf([&] { rt.alerts().save(0, floor, "t"); }), "window"));

            CHECK(test::problemOf([&] {
                      rt.alerts().save(0, shareRule("NOWHERE"), "t");
                  }).status() == 404);
            CHECK(test::problemOf([&] { rt.alerts().save(99, shareRule("XA"), "t"); }).status() ==
                  404);

            const AlertRule saved = rt.alerts().save(0, shareRule("XA", "33,5"), "user:test");
            CHECK(saved.threshold == Approx(33.5));
            REQUIRE(saved.recipients.size() == 2);
            CHECK(saved.recipients[0] == AlertRecipient{"email", "truong.phong@xa.gov.vn"});
            CHECK(saved.recipients[1] == AlertRecipient{"sms", "+84912345678"});
            CHECK(saved.agencyCode == "XA");
            CHECK(saved.createdBy == "user:test");
            rt.alerts().save(0, shareRule("XB"), "t");
            // Scope: XA's subtree lists XA's rule only; the province's lists both.
            const auto xa = rt.directory().agency("XA");
            const auto pt = rt.directory().agency("PT");
            CHECK(rt.alerts().rules(xa->path).size() == 1);
            CHECK(rt.alerts().rules(pt->path).size() == 2);

            AlertRuleInput many = shareRule("XA");
            many.recipients.clear();
            for (int i = 0; i < 11; ++i) many.recipients += "a" + std::to_string(i) + "@xa.gov.vn,";
            CHECK(test::hasError(test::problemOf([&] { rt.alerts().save(0, many, "t"); }).errors(),
                                 "recipients", "alert.too_many_recipients"));
        },
        false);
}

TEST_CASE("alerts: an unhappy share fires once, clears, and respects its minimum n", "[alerts]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            const AlertRule xa = rt.alerts().save(0, shareRule("XA"), "t");
            const AlertRule pt = rt.alerts().save(0, shareRule("PT", "50", "5"), "t");
            const AlertRule xb = rt.alerts().save(0, shareRule("XB", "10", "1"), "t");
            AlertMonitor& monitor = rt.alertMonitor();
            const auto xaId = rt.directory().agency("XA")->id;

            // 9 unhappy ratings: 100% unhappy but under XA's minimum of 10; the province's rule
            // (at least 5, over 50%) sees its commune's ratings and fires.
            rate(rt, "XA", "1", 9);
            auto changes = monitor.evaluate({xaId}, nowMs());
            REQUIRE(changes.size() == 1);
            CHECK(changes[0].opened);
            CHECK(changes[0].alert.rule.id == pt.id);
            CHECK(changes[0].alert.n == 9);
            CHECK(changes[0].alert.value == Approx(100));
            CHECK(monitor.read(xa, nowMs()).n == 9);
            CHECK_FALSE(monitor.read(xa, nowMs()).holds);

            // The tenth: XA's rule fires, once.
            rate(rt, "XA", "1", 1);
            changes = monitor.evaluate({xaId}, nowMs());
            REQUIRE(changes.size() == 1);
            CHECK(changes[0].alert.rule.id == xa.id);
            CHECK(monitor.evaluate({xaId}, nowMs()).empty());
            CHECK(monitor.evaluate({}, nowMs()).empty());  // a sweep of every rule: nothing new
            // XB's rule saw nothing (no rating of its own).
            CHECK(monitor.read(xb, nowMs()).n == 0);
            const auto xaPath = rt.directory().agency("XA")->path;
            REQUIRE(rt.alerts().alerts(xaPath, true, 10).size() == 1);
            CHECK(rt.alerts().alerts(rt.directory().agency("XB")->path, true, 10).empty());

            // Notices: one per recipient of each alert, e-mail with a subject, SMS in Vietnamese.
            auto queued = notices(rt.database());
            REQUIRE(queued.size() == 4);
            CHECK(queued[2].channel == "email");
            CHECK(queued[2].recipient == "truong.phong@xa.gov.vn");
            CHECK(queued[2].body.starts_with("[hailong] Cảnh báo: Xã Thử\n\n"));
            CHECK(queued[2].body.find("100,0% lượt đánh giá không hài lòng trong 60 phút qua") !=
                  std::string::npos);
            CHECK(queued[2].body.find("100.0% of ratings unhappy") != std::string::npos);
            CHECK(queued[3].channel == "sms");
            CHECK(queued[3].recipient == "+84912345678");
            CHECK(queued[3].body.find("/console/alerts") != std::string::npos);

            // 30 happy ratings: 10 of 40 unhappy is 25%, under XA's 30%: it clears, with notices.
            rate(rt, "XA", "3", 30);
            changes = monitor.evaluate({xaId}, nowMs());
            REQUIRE(changes.size() == 2);  // the province's (50%) clears too
            for (const AlertChange& c : changes) {
                CHECK_FALSE(c.opened);
                REQUIRE(c.alert.clearedValue);
                CHECK(*c.alert.clearedValue == Approx(25));
                CHECK(c.alert.clearedN == 40);
            }
            CHECK(rt.alerts().alerts(xaPath, true, 10).empty());
            CHECK(rt.alerts().alerts(xaPath, false, 10).size() == 1);
            queued = notices(rt.database());
            CHECK(queued.size() == 8);
            CHECK(queued.back().body.find("hết cảnh báo") != std::string::npos);
            CHECK(monitor.evaluate({}, nowMs()).empty());

            // Later, once the window has moved past every rating, a new burst opens a new alert.
            const std::int64_t later = nowMs() + 61 * 60000;
            CHECK(monitor.read(xa, later).n == 0);
            // A rule turned off clears its open alert and is not evaluated.
            rate(rt, "XB", "1", 1);
            REQUIRE(monitor.evaluate({}, nowMs()).size() == 1);  // XB: 1 of 1 over 10%, n >= 1
            rt.alerts().setActive(xb.id, false);
            CHECK(rt.alerts().alerts(rt.directory().agency("XB")->path, true, 10).empty());
            CHECK(monitor.evaluate({}, nowMs()).empty());
        },
        false);
}

TEST_CASE("alerts: an index under its floor over the last days", "[alerts]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            AlertRuleInput in = shareRule("XA", "60", "20");
            in.kind = "index_floor";
            in.surveyId = "counter-quick";
            in.window = "7";
            const AlertRule rule = rt.alerts().save(0, in, "t");
            CHECK(rule.windowMinutes == 7 * 24 * 60);
            const auto xaId = rt.directory().agency("XA")->id;
            rate(rt, "XA", "1", 12);
            rate(rt, "XA", "3", 6);  // 18 ratings, a third satisfied: under 60 but under n = 20
            AlertReading r = rt.alertMonitor().read(rule, nowMs());
            REQUIRE(r.value);
            CHECK(*r.value < 60);
            CHECK(r.n == 18);
            CHECK(rt.alertMonitor().evaluate({xaId}, nowMs()).empty());
            rate(rt, "XA", "1", 2);
            rt.indices().foldAll();  // read from the aggregates as well as from the tail
            const auto changes = rt.alertMonitor().evaluate({xaId}, nowMs());
            REQUIRE(changes.size() == 1);
            CHECK(changes[0].opened);
            CHECK(changes[0].alert.n == 20);
            rate(rt, "XA", "3", 40);
            REQUIRE(rt.alertMonitor().evaluate({xaId}, nowMs()).size() == 1);  // cleared
            CHECK(rt.alerts().alerts("", true, 10).empty());
            CHECK(notices(rt.database()).back().body.find("hết cảnh báo") != std::string::npos);
        },
        false);
}

TEST_CASE("alerts: two hosts evaluating together open one alert", "[alerts]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            const AlertRule rule = rt.alerts().save(0, shareRule("XA"), "t");
            Database other(DatabaseUrl::parse(rt.config().getString("db.url")));
            AlertStore second(other, rt.directory(), rt.surveys(),
                              [](std::string_view) { return std::string(); });
            std::atomic<int> opened{0};
            std::thread a([&] { opened += rt.alerts().open(rule, 80, 12, nowMs()) ? 1 : 0; });
            std::thread c([&] { opened += second.open(rule, 81, 12, nowMs()) ? 1 : 0; });
            a.join();
            c.join();
            CHECK(opened == 1);
            CHECK(rt.alerts().alerts("", true, 10).size() == 1);
            CHECK(second.clear(rule, 10, 40, nowMs()));
            CHECK_FALSE(rt.alerts().clear(rule, 10, 40, nowMs()));
        },
        false);
}

TEST_CASE("alerts: evaluated as ratings arrive, and shown by the API in the caller's scope",
          "[alerts]") {
    test::onEachProvince(
        [&](test::TestHost& host) {
            Runtime& rt = host.runtime();
            const auto body = R"({"agency":"XA","kind":"unhappy_share","threshold":40,"window":30,)"
                              R"("min_n":5,"recipients":["truong.phong@xa.gov.vn"]})";
            auto created = test::postJson(host.port(), "/api/v1/alert-rules", body);
            REQUIRE(created.status == 201);
            auto invalid = test::postJson(host.port(), "/api/v1/alert-rules",
                                          R"({"agency":"XA","kind":"x","threshold":"a","window":1,)"
                                          R"("min_n":5,"recipients":"nobody"})");
            CHECK(invalid.status == 422);
            for (const char* field : {"\"kind\"", "\"threshold\"", "\"window\"", "\"recipients\""})
                CHECK(invalid.body.find(field) != std::string::npos);
            // Let the first sweep at start pass, then rate.
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            rate(rt, "XA", "1", 6);
            bool open = false;
            for (int i = 0; i < 100 && !open; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                open = !rt.alerts().alerts("", true, 10).empty();
            }
            REQUIRE(open);
            const auto listed = test::http(host.port(), "GET", "/api/v1/alerts?open=1", "",
                                           {{"Authorization", "Bearer test-token"}});
            REQUIRE(listed.status == 200);
            auto json = Poco::JSON::Parser().parse(listed.body).extract<Poco::JSON::Object::Ptr>();
            REQUIRE(json->getArray("alerts")->size() == 1);
            CHECK(json->getArray("alerts")->getObject(0)->getValue<std::int64_t>("n") == 6);
            // An official of XB sees no alert and no rule of XA.
            const User u =
                rt.users().add({"can.bo.xb", "", "official", "XB"}, "mat-khau-dai-1", false);
            const std::string cookie =
                std::string(kSessionCookie) + "=" + rt.sessions().open(u, "127.0.0.1", "test");
            for (const char* path : {"/api/v1/alerts", "/api/v1/alert-rules"}) {
                const auto seen = test::http(host.port(), "GET", path, "", {{"Cookie", cookie}});
                REQUIRE(seen.status == 200);
                CHECK(seen.body.find("XA") == std::string::npos);
            }
            const auto id = Poco::JSON::Parser()
                                .parse(created.body)
                                .extract<Poco::JSON::Object::Ptr>()
                                ->getValue<std::int64_t>("id");
            CHECK(test::http(host.port(), "GET", "/api/v1/alert-rules/" + std::to_string(id), "",
                             {{"Cookie", cookie}})
                      .status == 403);
        },
        true,
        // No sweep during the test: only ingest can wake the monitor.
        {{"alerts.sweep_seconds", "3600"}, {"alerts.settle_ms", "50"}});
}

TEST_CASE("e-mail: a notice reaches the SMTP relay, refusals fail, an absent relay waits",
          "[alerts][mail]") {
    SmtpSink relay;
    SmtpOptions o;
    o.host = "127.0.0.1";
    o.port = relay.port();
    o.from = "hailong@tinh.gov.vn";
    auto send = smtpSender(o);
    std::string error;
    OutboundMessage m{"email", "truong.phong@xa.gov.vn",
                      "[hailong] Cảnh báo: Xã A\n\nXã A: 100,0% lượt đánh giá không hài lòng.\n",
                      "k", 0};
    REQUIRE(send(m, error) == DeliveryResult::Sent);
    const auto got = relay.messages();
    REQUIRE(got.size() == 1);
    CHECK(got[0].find("Subject: =?UTF-8?") != std::string::npos);
    CHECK(got[0].find("To: <truong.phong@xa.gov.vn>") != std::string::npos);
    CHECK(got[0].find("text/plain; charset=UTF-8") != std::string::npos);
    CHECK(got[0].find("quoted-printable") != std::string::npos);
    CHECK(got[0].find("X=C3=A3 A") != std::string::npos);  // "Xã A", quoted-printable

    SmtpSink refusing(550);
    o.port = refusing.port();
    CHECK(smtpSender(o)(m, error) == DeliveryResult::Failed);
    CHECK(error.find("550") != std::string::npos);
    o.port = test::freePort();  // nobody listens
    CHECK(smtpSender(o)(m, error) == DeliveryResult::RetryLater);
}
