// Acknowledged means durable: a real `hailong serve` child is killed with SIGKILL right after
// acknowledging responses, on SQLite and on PostgreSQL; every acknowledged response is there
// exactly once, and retries after the restart are recognised as duplicates.
#include "support/TestSupport.h"

#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;

namespace {

std::string submission(const std::string& key, int rating) {
    return R"({"idempotency_key":")" + key +
           R"(","survey":"counter-quick","channel":"api","answers":{"rating":)" +
           std::to_string(rating) + "}}";
}

std::vector<std::string> serveArgs(const std::string& url, std::uint16_t port,
                                   const test::TempDir& dir) {
    return {"serve",
            "--db",
            url,
            "--port",
            std::to_string(port),
            "--set",
            "api.token=test-token",
            "--set",
            "paths.plugins=" + dir.path(),
            "--set",
            "http.log_requests=false",
            "--set",
            "paths.data=" + dir.path()};
}

}  // namespace

TEST_CASE("responses acknowledged before a SIGKILL are all stored, exactly once") {
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            test::TempDir dir;
            const std::uint16_t port = test::freePort();
            std::set<std::string> acknowledged;
            std::mutex m;
            {
                test::Child server(serveArgs(tdb.url(), port, dir), {}, dir.file("serve.log"));
                REQUIRE(test::waitForHealth(port, 30));
                std::atomic<bool> stop{false};
                std::atomic<int> acks{0};
                std::vector<std::thread> clients;
                for (int c = 0; c < 8; ++c) {
                    clients.emplace_back([&, c] {
                        for (int i = 0; !stop; ++i) {
                            const std::string key =
                                "kill-" + std::to_string(c) + "-" + std::to_string(i);
                            try {
                                auto r = test::postJson(port, "/api/v1/responses",
                                                        submission(key, 1 + i % 3));
                                if (r.status == 201 || r.status == 200) {
                                    std::lock_guard lock(m);
                                    acknowledged.insert(key);
                                    ++acks;
                                }
                            } catch (const std::exception&) {
                                return;  // the server is gone
                            }
                        }
                    });
                }
                while (acks < 200) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                server.kill9();  // while the clients are still sending
                stop = true;
                for (auto& t : clients) t.join();
                CHECK(server.wait() == 128 + 9);
            }
            REQUIRE(acknowledged.size() >= 200);

            // Every acknowledged key is in the database once.
            std::vector<std::string> keys;
            tdb.db().read([&](Poco::Data::Session& s) {
                s << "SELECT idempotency_key FROM responses", into(keys), now;
            });
            std::set<std::string> stored(keys.begin(), keys.end());
            CHECK(stored.size() == keys.size());
            std::size_t missing = 0;
            for (const auto& k : acknowledged) missing += stored.contains(k) ? 0 : 1;
            CHECK(missing == 0);

            // After a restart, clients retrying the acknowledged keys create nothing new.
            test::Child again(serveArgs(tdb.url(), port, dir), {}, dir.file("serve2.log"));
            REQUIRE(test::waitForHealth(port, 30));
            int duplicates = 0;
            int tried = 0;
            for (const auto& k : acknowledged) {
                if (++tried > 50) break;
                auto r = test::postJson(port, "/api/v1/responses", submission(k, 3));
                auto body = Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>();
                if (r.status == 200 && body->getValue<bool>("duplicate")) ++duplicates;
            }
            CHECK(duplicates == 50);
            std::int64_t count = 0;
            tdb.db().read([&](Poco::Data::Session& s) {
                s << "SELECT COUNT(*) FROM responses", into(count), now;
            });
            CHECK(static_cast<std::size_t>(count) == keys.size());
        }
    }
}

TEST_CASE("SIGTERM stops cleanly: in-flight responses are answered and kept") {
    test::TestDatabase tdb(Backend::SQLite);
    test::TempDir dir;
    const std::uint16_t port = test::freePort();
    test::Child server(serveArgs(tdb.url(), port, dir), {}, dir.file("serve.log"));
    REQUIRE(test::waitForHealth(port, 30));
    std::atomic<int> acks{0};
    std::atomic<bool> stop{false};
    std::set<std::string> acknowledged;
    std::mutex m;
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
        clients.emplace_back([&, c] {
            for (int i = 0; !stop; ++i) {
                const std::string key = "term-" + std::to_string(c) + "-" + std::to_string(i);
                try {
                    auto r = test::postJson(port, "/api/v1/responses", submission(key, 2));
                    if (r.status == 201) {
                        std::lock_guard lock(m);
                        acknowledged.insert(key);
                        ++acks;
                    }
                } catch (const std::exception&) {
                    return;
                }
            }
        });
    }
    while (acks < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server.terminate();
    const int code = server.wait();
    stop = true;
    for (auto& t : clients) t.join();
    CHECK(code == 0);
    std::int64_t count = 0;
    tdb.db().read(
        [&](Poco::Data::Session& s) { s << "SELECT COUNT(*) FROM responses", into(count), now; });
    CHECK(static_cast<std::size_t>(count) >= acknowledged.size());
    std::size_t missing = 0;
    for (const auto& k : acknowledged) {
        std::int64_t n = 0;
        std::string key = k;
        tdb.db().read([&](Poco::Data::Session& s) {
            s << "SELECT COUNT(*) FROM responses WHERE idempotency_key = $1", use(key), into(n),
                now;
        });
        missing += n == 1 ? 0 : 1;
    }
    CHECK(missing == 0);
}
