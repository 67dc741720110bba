// Tests for core/outbox: durable queue, de-duplication, retries with backoff, failure, and that
// two hosts sharing one database never deliver the same message twice.
#include "common/Clock.h"
#include "outbox/DurableOutbox.h"
#include "store/Migrations.h"
#include "support/TestSupport.h"

#include <Poco/Logger.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

struct Row {
    std::string status;
    int attempts = 0;
    std::string error;
};

Row row(Database& db, std::int64_t id) {
    Row r;
    db.read([&](Session& s) {
        s << "SELECT status, attempts, last_error FROM outbox WHERE id = $1", use(id),
            into(r.status), into(r.attempts), into(r.error), now;
    });
    return r;
}

DurableOutbox::Options options() {
    DurableOutbox::Options o;
    o.pollMs = 20;
    o.maxAttempts = 3;
    return o;
}

}  // namespace

TEST_CASE("outbox: stored, de-duplicated, delivered, retried and failed") {
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            Database& db = tdb.migrated();
            DurableOutbox outbox(db, Poco::Logger::get("test.outbox"), options());

            const auto a =
                outbox.enqueue({"sms", "84912345678", "Mời ông/bà đánh giá", "inv:1", 0});
            CHECK(outbox.enqueue({"sms", "84912345678", "again", "inv:1", 0}) == a);  // deduped
            const auto later =
                outbox.enqueue({"sms", "84900000000", "later", "", nowMs() + 3600000});

            // No sender yet: nothing is attempted and the message waits.
            CHECK(outbox.deliverDue() == 0);
            CHECK(row(db, a).status == "pending");

            std::vector<std::string> sent;
            DeliveryResult next = DeliveryResult::RetryLater;
            outbox.registerSender("sms", [&](const OutboundMessage& m, std::string& error) {
                sent.push_back(m.body);
                if (next != DeliveryResult::Sent) error = "gateway busy";
                return next;
            });
            CHECK(outbox.deliverDue() == 1);  // "later" is not due
            CHECK(row(db, a).status == "pending");
            CHECK(row(db, a).attempts == 1);
            CHECK(row(db, a).error == "gateway busy");
            CHECK(outbox.deliverDue() == 0);  // backing off

            // Make it due again and let it through.
            db.write([&](Session& s) {
                std::int64_t id = a;
                s << "UPDATE outbox SET next_attempt_at = 0 WHERE id = $1", use(id), now;
            });
            next = DeliveryResult::Sent;
            CHECK(outbox.deliverDue() == 1);
            CHECK(row(db, a).status == "sent");
            CHECK(sent == std::vector<std::string>{"Mời ông/bà đánh giá", "Mời ông/bà đánh giá"});
            CHECK(row(db, later).status == "pending");

            // A permanent failure stops the retries.
            const auto bad = outbox.enqueue({"sms", "000", "x", "", 0});
            next = DeliveryResult::Failed;
            CHECK(outbox.deliverDue() == 1);
            CHECK(row(db, bad).status == "failed");

            // An unregistered sender is never called again.
            outbox.unregisterSender("sms");
            outbox.enqueue({"sms", "84911111111", "y", "", 0});
            CHECK(outbox.deliverDue() == 0);
        }
    }
}

TEST_CASE("outbox: two hosts on one database deliver each message once") {
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            tdb.migrated();
            Database db1(DatabaseUrl::parse(tdb.url())), db2(DatabaseUrl::parse(tdb.url()));
            DurableOutbox host1(db1, Poco::Logger::get("test.outbox1"), options());
            DurableOutbox host2(db2, Poco::Logger::get("test.outbox2"), options());
            constexpr int kMessages = 150;
            for (int i = 0; i < kMessages; ++i)
                host1.enqueue(
                    {"sms", "849" + std::to_string(10000000 + i), "m" + std::to_string(i), "", 0});
            std::mutex m;
            std::map<std::string, int> deliveries;
            auto sender = [&](const OutboundMessage& msg, std::string&) {
                std::lock_guard lock(m);
                ++deliveries[msg.body];
                return DeliveryResult::Sent;
            };
            host1.registerSender("sms", sender);
            host2.registerSender("sms", sender);
            std::atomic<int> attempted{0};
            auto drain = [&](DurableOutbox& o) {
                for (int round = 0; round < 50; ++round) attempted += o.deliverDue();
            };
            std::thread t1(drain, std::ref(host1)), t2(drain, std::ref(host2));
            t1.join();
            t2.join();
            CHECK(attempted == kMessages);
            CHECK(deliveries.size() == static_cast<std::size_t>(kMessages));
            int twice = 0;
            for (const auto& [body, n] : deliveries) twice += n > 1 ? 1 : 0;
            CHECK(twice == 0);
        }
    }
}

TEST_CASE("outbox: the background thread delivers soon after enqueue and stops cleanly") {
    test::TestDatabase tdb(Backend::SQLite);
    Database& db = tdb.migrated();
    DurableOutbox::Options o = options();
    o.pollMs = 60000;  // only the enqueue's wake-up can make it deliver within the test
    DurableOutbox outbox(db, Poco::Logger::get("test.outbox"), o);
    std::atomic<int> sent{0};
    outbox.registerSender("sms", [&](const OutboundMessage&, std::string&) {
        ++sent;
        return DeliveryResult::Sent;
    });
    outbox.start();
    outbox.enqueue({"sms", "84912345678", "xin chào", "", 0});
    for (int i = 0; i < 500 && sent == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    outbox.stop();
    CHECK(sent == 1);
}
