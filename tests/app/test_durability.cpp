// Acknowledged means durable, whatever happens to the host or its database:
// - a real `hailong serve` child is killed with SIGKILL while counter tablets post ratings through
//   the device API, twenty times in a row on SQLite and on PostgreSQL; every acknowledged rating is
//   there exactly once, retries after each restart are duplicates, and the aggregates agree with
//   the raw responses;
// - PostgreSQL stopped for 30 s under load: the host answers 503 with Retry-After, the tablets
//   keep their queues, and the host recovers by itself when the database returns;
// - SQLite's disk full (a small tmpfs filled by another file): a clear 503, no corruption, and
//   writes again as soon as space returns.
#include "app/CounterHall.h"
#include "common/Clock.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

using namespace hailong;
using namespace hailong::counters;
using namespace Poco::Data::Keywords;
using Poco::JSON::Object;

namespace {

std::string submission(const std::string& key, int rating) {
    return R"({"idempotency_key":")" + key +
           R"(","survey":"counter-quick","channel":"api","answers":{"rating":)" +
           std::to_string(rating) + "}}";
}

}  // namespace

TEST_CASE("ratings acknowledged before a SIGKILL are all stored, exactly once") {
    // Twenty kills in a row on each backend, at moments that vary from round to round, while
    // eight tablets post batches through the counter's device API. After each restart: every
    // rating acknowledged so far is stored once, retries are duplicates, and `hailong index
    // verify` finds the aggregates equal to the raw responses.
    // scripts/test.sh --long (HAILONG_SOAK) kills a hundred times.
    const int kKills = std::getenv("HAILONG_SOAK") ? 100 : 20;
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            prepareCounters(tdb.url());
            test::TempDir dir;
            const std::uint16_t port = test::freePort();
            std::vector<std::unique_ptr<Tablet>> tablets;
            std::set<std::string> acknowledged;
            std::mutex m;
            std::vector<std::string> unexpected;
            int kills = 0, retried = 0, unanswered = 0;
            for (int round = 0; round < kKills; ++round) {
                test::Child server(serveArgs(tdb.url(), port, dir), {},
                                   dir.file("serve-" + std::to_string(round) + ".log"));
                REQUIRE(test::waitForHealth(port, 30));
                for (int t = 0; round == 0 && t < kTablets; ++t)
                    tablets.push_back(std::make_unique<Tablet>(port, t));
                // What was in flight at the kill is still queued on its tablet: sent again, it
                // is stored now or recognised as stored. An acknowledged one sent again is a
                // duplicate.
                for (const auto& t : tablets) unanswered += static_cast<int>(t->queued());
                std::atomic<bool> stop{false};
                std::atomic<int> acks{0};
                std::vector<std::string> again;
                for (const auto& k : acknowledged)
                    if (again.size() < 4) again.push_back(k);
                // Records what a tablet was told; false when the host is gone.
                auto record = [&](const Tablet::Sent& s) {
                    std::lock_guard lock(m);
                    if (!s.unexpected.empty()) unexpected.push_back(s.unexpected);
                    for (const auto& k : s.acknowledged) acknowledged.insert(k);
                    for (const auto& k : s.duplicates) {
                        retried += acknowledged.contains(k) ? 1 : 0;
                        acknowledged.insert(k);
                    }
                    acks += static_cast<int>(s.acknowledged.size());
                    return s.status != 0;
                };
                for (const auto& k : again) tablets[0]->again(k);
                while (tablets[0]->queued() > 0 && record(tablets[0]->send())) {
                }
                std::vector<std::thread> clients;
                for (int c = 0; c < kTablets; ++c) {
                    clients.emplace_back([&, c] {
                        Tablet& t = *tablets[static_cast<std::size_t>(c)];
                        while (!stop) {
                            if (t.queued() < 8) t.tap();
                            if (!record(t.send(1 + static_cast<std::size_t>(c % 4))))
                                return;  // the server is gone
                        }
                    });
                }
                // A moment that varies: after 20 to 120 acknowledgments of this round.
                const int after = 20 + (round * 37) % 100;
                while (acks < after) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                server.kill9();  // while the tablets are still sending
                stop = true;
                for (auto& t : clients) t.join();
                CHECK(server.wait() == 128 + 9);
                ++kills;
                checkStoredOnce(tdb.db(), tdb.url(), acknowledged);
                CHECK(unexpected.empty());
            }
            std::printf(
                "SIGKILL durability through the counter API (%s): %d kills, %zu ratings "
                "acknowledged, %d acknowledged ones sent again and recognised, %d in flight at "
                "a kill and sent again\n",
                test::name(b), kills, acknowledged.size(), retried, unanswered);
            CHECK(kills == kKills);
            CHECK(retried >= 4 * (kKills - 1));
            CHECK(acknowledged.size() >= static_cast<std::size_t>(20 * kKills));
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

namespace {
int healthStatus(std::uint16_t port) {
    try {
        return test::http(port, "GET", "/api/v1/health").status;
    } catch (const std::exception&) {
        return 0;
    }
}

// A `hailong serve` child on `url`, with the counter directory, and its tablets paired.
struct Counters {
    Counters(const std::string& url, const test::TempDir& dir)
        : port(test::freePort()),
          // the directory is written before the host starts
          server((prepareCounters(url), serveArgs(url, port, dir)), {}, dir.file("serve.log")) {
        REQUIRE(test::waitForHealth(port, 30));
        for (int t = 0; t < kTablets; ++t) tablets.push_back(std::make_unique<Tablet>(port, t));
    }
    std::uint16_t port;
    test::Child server;
    std::vector<std::unique_ptr<Tablet>> tablets;
};

int pgServer(const std::string& command, const std::string& dir) {
    return std::system(
        (test::sourceDir() + "/scripts/pg-test-server.sh " + command + " " + dir + " >/dev/null")
            .c_str());
}

}  // namespace

TEST_CASE("PostgreSQL stopped for 30 s under load: 503 with Retry-After, then recovery") {
    // A PostgreSQL server of this test's own (the shared one serves the other tests).
    test::TempDir dir;
    const std::string pg = dir.file("pg");
    REQUIRE(pgServer("start", pg) == 0);
    std::string url;
    std::getline(std::ifstream(pg + "/url"), url);
    struct StopPg {
        std::string dir;
        ~StopPg() { pgServer("stop", dir); }
    } stopPg{pg};
    Counters counters(url, dir);
    auto& [port, server, tablets] = counters;

    Hall hall(tablets);
    HALL_WAIT(60, hall.acknowledged().size() >= 200);
    REQUIRE(pgServer("halt", pg) == 0);
    const std::size_t beforeOutage = hall.acknowledged().size();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    CHECK(healthStatus(port) == 503);  // the operator's probe sees it too
    std::this_thread::sleep_for(std::chrono::seconds(27));
    const std::size_t duringOutage = hall.acknowledged().size() - beforeOutage;
    const int refused = hall.answers(503), itemsRetried = hall.itemsToRetry();
    if (!server.running()) {  // what the host said before it went, for whoever looks
        std::ifstream log(dir.file("serve.log"));
        std::stringstream text;
        text << log.rdbuf();
        const std::string said = text.str();
        FAIL("the host stopped during the outage (status "
             << server.wait() << "); its log ends:\n"
             << said.substr(said.size() > 4000 ? said.size() - 4000 : 0));
    }
    REQUIRE(pgServer("resume", pg) == 0);
    // Back by itself: new ratings are acknowledged again, and the queues drain.
    HALL_WAIT(60, hall.acknowledged().size() > beforeOutage + duringOutage);
    CHECK(healthStatus(port) == 200);
    hall.stopTapping();
    HALL_WAIT(90, hall.drained());
    hall.stop();
    const std::set<std::string> acknowledged = hall.acknowledged();
    std::printf(
        "PostgreSQL outage of 30 s: %zu ratings acknowledged before, %zu during (a write already "
        "committed), %zu in all; %d answers 503 (%d with Retry-After), %d items asked to be sent "
        "again; the queues drained after the database came back\n",
        beforeOutage, duringOutage, acknowledged.size(), refused, hall.withRetryAfter(),
        itemsRetried);
    CHECK(refused + itemsRetried > 0);
    CHECK(hall.withRetryAfter() == hall.answers(503));
    CHECK(hall.answers(500) == 0);
    CHECK(hall.unexpected().empty());
    server.terminate();
    CHECK(server.wait() == 0);
    Database db(DatabaseUrl::parse(url));
    checkStoredOnce(db, url, acknowledged);
    // Nothing a tablet tapped is missing: every tap was acknowledged in the end.
    CHECK(storedUuids(db).size() == acknowledged.size());
}

TEST_CASE("SQLite disk full: a clear 503, no corruption, writing again when space returns") {
    // A 24 MB tmpfs holds the database; another file then takes the rest of its space.
    test::TempDir dir;
    const std::string disk = dir.file("disk");
    ::mkdir(disk.c_str(), 0755);
    {
        INFO("mounting a tmpfs needs root (scripts/test.sh runs as root)");
        REQUIRE(::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=24m") == 0);
    }
    struct Unmount {
        std::string at;
        ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
    } unmount{disk};
    const std::string url = "sqlite:" + disk + "/hailong.db";
    Counters counters(url, dir);
    auto& [port, server, tablets] = counters;
    Hall hall(tablets);
    HALL_WAIT(60, hall.acknowledged().size() >= 200);

    // Something else fills the disk.
    const std::string ballast = disk + "/ballast";
    {
        std::FILE* f = std::fopen(ballast.c_str(), "wb");
        REQUIRE(f);
        const std::string block(64 * 1024, 'x');
        while (std::fwrite(block.data(), 1, block.size(), f) == block.size() &&
               std::fflush(f) == 0) {
        }
        std::fclose(f);
    }
    // The tablets keep tapping; soon the host cannot write and says so.
    HALL_WAIT(120, hall.itemsToRetry() > 20);
    // The official API says it in words, with a time to come back.
    const auto full = test::postJson(
        port, "/api/v1/responses",
        R"({"idempotency_key":"disk-full-1","survey":"counter-quick","channel":"api",)"
        R"("answers":{"rating":3}})");
    CHECK(full.status == 503);
    CHECK(full.headers.count("retry-after") == 1);
    CHECK(parse(full.body)->getValue<std::string>("detail").size() > 10);
    const std::size_t whileFull = hall.acknowledged().size();
    CHECK(server.running());

    std::remove(ballast.c_str());  // space returns
    HALL_WAIT(60, hall.acknowledged().size() > whileFull + 100);
    CHECK(test::postJson(port, "/api/v1/responses",
                         R"({"idempotency_key":"disk-full-1","survey":"counter-quick",)"
                         R"("channel":"api","answers":{"rating":3}})")
              .status == 201);
    hall.stopTapping();
    HALL_WAIT(60, hall.drained());
    hall.stop();
    std::printf(
        "SQLite disk full: %zu ratings acknowledged in all, %d items asked to be sent "
        "again while the disk was full, %d answers 503\n",
        hall.acknowledged().size(), hall.itemsToRetry(), hall.answers(503));
    CHECK(hall.answers(500) == 0);
    CHECK(hall.unexpected().empty());
    server.terminate();
    CHECK(server.wait() == 0);
    Database db(DatabaseUrl::parse(url));
    std::string integrity;
    db.read([&](Poco::Data::Session& s) { s << "PRAGMA integrity_check", into(integrity), now; });
    CHECK(integrity == "ok");
    const auto acknowledged = hall.acknowledged();
    checkStoredOnce(db, url, acknowledged);
    CHECK(storedUuids(db).size() == acknowledged.size());
}
