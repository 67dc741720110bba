// Acknowledged means durable: a real `hailong serve` child is killed with SIGKILL while it is
// acknowledging responses, twenty times in a row on SQLite and on PostgreSQL; every acknowledged
// response is there exactly once, retries after each restart are recognised as duplicates, and
// the aggregates agree with the raw responses.
#include "support/TestSupport.h"

#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
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
    // Twenty kills in a row on each backend. After each restart: every key acknowledged so far
    // is stored once, retries of acknowledged keys are duplicates, and `hailong index verify`
    // finds the aggregates equal to the raw responses.
    constexpr int kKills = 20;
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            test::TempDir dir;
            const std::uint16_t port = test::freePort();
            std::set<std::string> acknowledged;
            std::mutex m;
            int kills = 0, retried = 0;
            for (int round = 0; round < kKills; ++round) {
                test::Child server(serveArgs(tdb.url(), port, dir), {},
                                   dir.file("serve-" + std::to_string(round) + ".log"));
                REQUIRE(test::waitForHealth(port, 30));
                // Retries of keys acknowledged before the last kill create nothing new.
                std::size_t tried = 0;
                for (const auto& k : acknowledged) {
                    if (++tried > 10) break;
                    auto r = test::postJson(port, "/api/v1/responses", submission(k, 3));
                    auto body =
                        Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>();
                    CHECK(r.status == 200);
                    CHECK(body->getValue<bool>("duplicate"));
                    ++retried;
                }
                std::atomic<bool> stop{false};
                std::atomic<int> acks{0};
                std::vector<std::thread> clients;
                for (int c = 0; c < 8; ++c) {
                    clients.emplace_back([&, c] {
                        for (int i = 0; !stop; ++i) {
                            const std::string key = "kill-" + std::to_string(round) + "-" +
                                                    std::to_string(c) + "-" + std::to_string(i);
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
                // A random moment: after 20 to 120 acknowledgments of this round.
                const int after = 20 + (round * 37) % 100;
                while (acks < after) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                server.kill9();  // while the clients are still sending
                stop = true;
                for (auto& t : clients) t.join();
                CHECK(server.wait() == 128 + 9);
                ++kills;

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
                // The aggregates folded before the kill, with the raw tail, equal the raw rows.
                std::string said;
                CHECK(test::runHailong({"index", "verify", "--db", tdb.url()}, said) == 0);
                CHECK(said.find("mismatch") == std::string::npos);
            }
            std::printf(
                "SIGKILL durability (%s): %d kills, %zu responses acknowledged, %d retries "
                "recognised\n",
                test::name(b), kills, acknowledged.size(), retried);
            CHECK(kills == kKills);
            CHECK(acknowledged.size() >= 20 * kKills);
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
