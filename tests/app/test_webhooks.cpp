// Webhooks out: a subscription per agency subtree receives new responses, negative ratings and
// case changes, signed (checked here by a receiver of its own, with Poco's HMAC, not hailong's),
// from the durable outbox: retried after the receiver fails, sent again once it is back, paused
// after a day of failures (what happens while paused is pulled from the API instead), resumed
// with what waited delivered, each delivery in the subscription's log. On SQLite and PostgreSQL.
#include "alerts/AlertStore.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::JSON::Object;

namespace {

// A system of the agency receiving webhooks: checks each signature with the secret it was
// given, and answers 204, or 500 while it is "down".
class Receiver {
public:
    struct Delivery {
        std::string event, id, body;
        bool signatureOk = false;
    };

    Receiver() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
        auto* params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(4);
        server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_, params);
        server_->start();
    }
    ~Receiver() { server_->stopAll(true); }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(socket_.address().port()) + "/hooks/hailong";
    }
    void setSecret(const std::string& s) {
        std::lock_guard lock(mutex_);
        secret_ = s;
    }
    std::atomic<bool> down{false};
    std::vector<Delivery> received() {
        std::lock_guard lock(mutex_);
        return received_;
    }
    std::size_t count(const std::string& event) {
        std::size_t n = 0;
        for (const auto& d : received()) n += d.event == event;
        return n;
    }

private:
    struct Handler : Poco::Net::HTTPRequestHandler {
        explicit Handler(Receiver& receiver) : r(receiver) {}
        void handleRequest(Poco::Net::HTTPServerRequest& q,
                           Poco::Net::HTTPServerResponse& a) override {
            std::string body;
            Poco::StreamCopier::copyToString(q.stream(), body);
            if (r.down) {
                a.setStatus(Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
                a.send() << "down for maintenance";
                return;
            }
            std::string secret;
            {
                std::lock_guard lock(r.mutex_);
                secret = r.secret_;
            }
            // OpenSSL's HMAC, not hailong's: the check does not share the code it checks.
            const std::string signed_ = q.get("X-Hailong-Timestamp", "") + "." + body;
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned int size = 0;
            HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<const unsigned char*>(signed_.data()), signed_.size(), mac,
                 &size);
            std::string expected;
            for (unsigned int i = 0; i < size; ++i) {
                static const char* kHex = "0123456789abcdef";
                expected += kHex[mac[i] >> 4];
                expected += kHex[mac[i] & 15];
            }
            const long long stamp = std::stoll(q.get("X-Hailong-Timestamp", "0"));
            Delivery d{q.get("X-Hailong-Event", ""), q.get("X-Hailong-Delivery", ""), body,
                       expected == q.get("X-Hailong-Signature", "") &&
                           std::llabs(stamp - nowMs() / 1000) < 300};
            {
                std::lock_guard lock(r.mutex_);
                r.received_.push_back(d);
            }
            a.setStatus(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
            a.send();
        }
        Receiver& r;
    };
    struct Factory : Poco::Net::HTTPRequestHandlerFactory {
        explicit Factory(Receiver& receiver) : r(receiver) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(
            const Poco::Net::HTTPServerRequest&) override {
            return new Handler(r);
        }
        Receiver& r;
    };

    Poco::Net::ServerSocket socket_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    std::mutex mutex_;
    std::string secret_;
    std::vector<Delivery> received_;
};

std::string rate(Runtime& rt, const std::string& key, const std::string& agency,
                 const std::string& face, const std::string& comment = "") {
    Submission s;
    s.idempotencyKey = key;
    s.surveyId = "counter-quick";
    s.channel = "counter";
    s.agencyCode = agency;
    s.answers.push_back({"rating", std::nullopt, {face}, ""});
    if (!comment.empty()) s.answers.push_back({"comment", std::nullopt, {}, comment});
    return rt.ingest().submit(s).code;
}

test::HttpResult api(std::uint16_t port, const std::string& method, const std::string& path,
                     const std::string& body = "") {
    return test::http(
        port, method, path, body,
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer test-token"}});
}

// Makes the outbox offer the webhook deliveries again now (instead of after its backoff).
void retryNow(Runtime& rt) {
    rt.database().write([](Poco::Data::Session& s) {
        s << "UPDATE outbox SET next_attempt_at = 0 WHERE channel = 'webhook' AND "
             "status = 'pending'",
            now;
    });
}

}  // namespace

TEST_CASE("webhooks: signed deliveries per subtree, retried, paused after a day, resumed",
          "[webhooks]") {
    test::onEachProvince(
        [](test::TestHost& host) {
            Runtime& rt = host.runtime();
            const auto port = host.port();
            Receiver xa, xb;
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the feed's first look

            // Bad subscriptions are refused with their fields named.
            auto r = api(port, "POST", "/api/v1/webhooks",
                         R"({"name":"x","url":"ftp://example.org/","agency":"XA",)"
                         R"("events":["response.created","response.deleted",7]})");
            CHECK(r.status == 422);
            for (const char* field : {"\"url\"", "\"events.1\"", "\"events.2\""})
                CHECK(r.body.find(field) != std::string::npos);

            // Rated just before the subscription exists: never sent to it.
            rate(rt, "w-0", "XA", "1", "Trước khi đăng ký");
            r = api(port, "POST", "/api/v1/webhooks",
                    R"({"name":"motcua-xa","url":")" + xa.url() +
                        R"(","agency":"XA","events":["response.created","response.negative",)"
                        R"("case.changed"]})");
            REQUIRE(r.status == 201);
            const auto sub = test::jsonObject(r.body);
            const std::string id = std::to_string(sub->getValue<std::int64_t>("id"));
            xa.setSecret(sub->getValue<std::string>("secret"));
            CHECK(sub->getValue<std::string>("secret").starts_with("whsec_"));
            r = api(port, "POST", "/api/v1/webhooks",
                    R"({"name":"motcua-xb","url":")" + xb.url() +
                        R"(","agency":"XB","events":["response.created"]})");
            REQUIRE(r.status == 201);
            xb.setSecret(test::jsonObject(r.body)->getValue<std::string>("secret"));
            // The secret is shown once.
            CHECK(api(port, "GET", "/api/v1/webhooks").body.find("whsec_") == std::string::npos);

            // An unhappy rating at XA: a new response, a negative one, and the case it opens.
            const std::string receipt = rate(rt, "w-1", "XA", "1", "Chờ quá lâu");
            REQUIRE(test::eventually([&] {
                return xa.count("response.created") == 1 && xa.count("response.negative") == 1 &&
                       xa.count("case.changed") >= 1;
            }));
            for (const auto& d : xa.received()) {
                INFO(d.body);
                CHECK(d.signatureOk);
                const auto body = test::jsonObject(d.body);
                CHECK(body->getValue<std::string>("type") == d.event);
                CHECK(d.id == id + "/" + body->getValue<std::string>("id"));
                if (d.event == "response.created") {
                    const auto data = body->getObject("data");
                    CHECK(data->getValue<std::string>("receipt") == receipt);
                    CHECK(data->getValue<std::string>("agency") == "XA");
                    CHECK(data->getValue<bool>("negative"));
                }
            }
            // A happy one: created only. XB's subscription hears nothing of XA.
            rate(rt, "w-2", "XA", "3");
            REQUIRE(test::eventually([&] { return xa.count("response.created") == 2; }));
            CHECK(xa.count("response.negative") == 1);
            CHECK(xb.received().empty());

            // The receiver is down: the delivery is retried, and arrives once when it is back.
            xa.down = true;
            rate(rt, "w-3", "XA", "3");
            auto pending = [&] {
                return rt.database().read([&](Poco::Data::Session& s) {
                    int attempts = 0;
                    std::string recipient = id;
                    s << "SELECT COALESCE(MAX(attempts), 0) FROM outbox WHERE channel = "
                         "'webhook' AND recipient = $1 AND status = 'pending'",
                        use(recipient), into(attempts), now;
                    return attempts;
                });
            };
            REQUIRE(test::eventually([&] { return pending() >= 1; }));
            retryNow(rt);
            REQUIRE(test::eventually([&] { return pending() >= 2; }));
            CHECK(rt.webhooks().find(std::stoll(id))->failingSinceMs);
            xa.down = false;
            retryNow(rt);
            REQUIRE(test::eventually([&] { return xa.count("response.created") == 3; }));
            CHECK(pending() == 0);

            // Down long enough for a delivery to run out of its attempts (3 here), less than a
            // day: once the receiver answers again, what failed goes again.
            xa.down = true;
            rate(rt, "w-3b", "XA", "3");
            auto failed = [&] {
                return rt.database().read([&](Poco::Data::Session& s) {
                    int n = 0;
                    std::string recipient = id;
                    s << "SELECT COUNT(*) FROM outbox WHERE channel = 'webhook' AND "
                         "recipient = $1 AND status = 'failed'",
                        use(recipient), into(n), now;
                    return n;
                });
            };
            REQUIRE(test::eventually([&] {
                retryNow(rt);
                return failed() == 1;
            }));
            xa.down = false;
            rate(rt, "w-3c", "XA", "3");
            REQUIRE(test::eventually([&] { return xa.count("response.created") == 5; }));
            CHECK(failed() == 0);

            // Down again, and failing for more than a day: the subscription is paused, and
            // says why; nothing new is queued for it while paused.
            xa.down = true;
            rate(rt, "w-4", "XA", "3");
            REQUIRE(test::eventually([&] { return pending() >= 1; }));
            rt.database().write([&](Poco::Data::Session& s) {
                std::int64_t dayAgo = nowMs() - 25 * 3600000LL, which = std::stoll(id);
                s << "UPDATE webhook_subscriptions SET failing_since = $1 WHERE id = $2",
                    use(dayAgo), use(which), now;
            });
            retryNow(rt);
            REQUIRE(test::eventually(
                [&] { return rt.webhooks().find(std::stoll(id))->status == "paused"; }));
            r = api(port, "GET", "/api/v1/webhooks");
            CHECK(r.body.find("\"status\":\"paused\"") != std::string::npos);
            CHECK(r.body.find("500") != std::string::npos);  // the reason: what it answered
            const auto queued = rt.webhooks().deliveries(std::stoll(id), 1000).size();
            const std::string missed = rate(rt, "w-5", "XA", "3");
            std::this_thread::sleep_for(std::chrono::milliseconds(3500));
            CHECK(rt.webhooks().deliveries(std::stoll(id), 1000).size() == queued);
            // What a paused subscription missed is pulled: received since the pause, oldest
            // first.
            const auto pausedAt = *rt.webhooks().find(std::stoll(id))->pausedAtMs;
            r = api(port, "GET", "/api/v1/responses?agency=XA&since=" + formatTimeMs(pausedAt));
            REQUIRE(r.status == 200);
            const auto gap = test::jsonObject(r.body)->getArray("items");
            REQUIRE(gap->size() == 1);
            CHECK(gap->getObject(0)->getValue<std::string>("receipt") == missed);
            CHECK(api(port, "GET", "/api/v1/responses?since=yesterday").status == 400);

            // Resumed (the receiver is back): what waited arrives, once.
            xa.down = false;
            r = api(port, "POST", "/api/v1/webhooks/" + id + "/resume");
            REQUIRE(r.status == 200);
            CHECK(test::jsonObject(r.body)->getValue<std::string>("status") == "active");
            retryNow(rt);
            REQUIRE(test::eventually([&] { return xa.count("response.created") == 6; }));
            REQUIRE(test::eventually([&] { return pending() == 0; }));

            // The delivery log: each delivery, its attempts and what the receiver said.
            r = api(port, "GET", "/api/v1/webhooks/" + id + "/deliveries");
            REQUIRE(r.status == 200);
            const auto items = test::jsonObject(r.body)->getArray("items");
            REQUIRE(items->size() == queued);
            int sent = 0, retried = 0;
            for (std::size_t i = 0; i < items->size(); ++i) {
                const auto d = items->getObject(static_cast<unsigned>(i));
                sent += d->getValue<std::string>("status") == "sent";
                retried += d->getValue<int>("attempts") > 1;
            }
            CHECK(sent == static_cast<int>(items->size()));
            CHECK(retried >= 2);
            std::set<std::string> ids;
            for (const auto& d : xa.received()) {
                CHECK(d.signatureOk);
                CHECK(ids.insert(d.id).second);  // never the same event twice
            }
            // Another subtree's official does not see it; removing it stops its deliveries.
            CHECK(api(port, "GET", "/api/v1/webhooks/999/deliveries").status == 404);
            CHECK(api(port, "DELETE", "/api/v1/webhooks/" + id).status == 204);
            CHECK(rt.webhooks().deliveries(std::stoll(id), 1000).empty());  // its log goes too
            CHECK(api(port, "GET", "/api/v1/webhooks/" + id + "/deliveries").status == 404);
        },
        true, {{"outbox.max_attempts", "3"}, {"outbox.poll_ms", "100"}});
}

TEST_CASE("webhooks: an alert raised in the subtree is delivered to who asked for alerts",
          "[webhooks]") {
    test::onEachProvince(
        [](test::TestHost& host) {
            Runtime& rt = host.runtime();
            Receiver receiver;
            auto r = api(host.port(), "POST", "/api/v1/webhooks",
                         R"({"name":"canh-bao","url":")" + receiver.url() +
                             R"(","agency":"PT","events":["alert.raised"]})");
            REQUIRE(r.status == 201);
            receiver.setSecret(test::jsonObject(r.body)->getValue<std::string>("secret"));
            AlertRuleInput rule;
            rule.agencyCode = "XA";
            rule.kind = "unhappy_share";
            rule.threshold = "30";
            rule.window = "60";
            rule.minN = "2";
            rule.recipients = "truong.phong@xa.gov.vn";
            rt.alerts().save(0, rule, "test");
            rate(rt, "a-1", "XA", "1");
            rate(rt, "a-2", "XA", "1");
            rt.alertMonitor().evaluate({rt.directory().agency("XA")->id}, nowMs());
            REQUIRE(test::eventually([&] { return receiver.count("alert.raised") == 1; }));
            const auto d = receiver.received().front();
            CHECK(d.signatureOk);
            const auto data = test::jsonObject(d.body)->getObject("data");
            CHECK(data->getValue<std::string>("agency") == "XA");
            CHECK(data->getValue<double>("value") == Approx(100));
            CHECK(data->getValue<int>("n") == 2);
            // It asked for alerts only: the ratings themselves are not sent to it.
            std::this_thread::sleep_for(std::chrono::milliseconds(2500));
            CHECK(receiver.received().size() == 1);
        },
        true);
}

TEST_CASE("webhooks: only admins point them at this machine or the private network", "[webhooks]") {
    test::onEachProvince([](test::TestHost& host) {
        Runtime& rt = host.runtime();
        WebhookInput in;
        in.name = "noi-bo";
        in.agencyCode = "XA";
        in.events = {"response.created"};
        for (const char* url : {"http://127.0.0.1:8080/x", "http://10.1.2.3/hook",
                                "http://192.168.1.5/", "http://169.254.169.254/latest/meta-data",
                                "http://[::1]/", "http://[fd00::1]/", "http://localhost/"}) {
            INFO(url);
            in.url = url;
            in.privateTargets = false;
            const Problem p = test::problemOf([&] { WebhookStore::check(in, rt.directory()); });
            CHECK(test::hasError(p.errors(), "url", "webhook.private_target"));
            in.privateTargets = true;  // an admin
            CHECK_NOTHROW(WebhookStore::check(in, rt.directory()));
        }
        in.privateTargets = false;
        in.url = "http://no-such-host.invalid/hook";
        CHECK(test::hasError(
            test::problemOf([&] { WebhookStore::check(in, rt.directory()); }).errors(), "url",
            "webhook.unknown_host"));
        in.url = "http://93.184.216.34/hook";  // a public address, not looked up
        CHECK_NOTHROW(WebhookStore::check(in, rt.directory()));
    });
}
