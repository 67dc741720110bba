// Acknowledged means durable, whatever happens to the host or its database:
// - a real `hailong serve` child is killed with SIGKILL while counter tablets post ratings through
//   the device API, twenty times in a row on SQLite and on PostgreSQL; every acknowledged rating is
//   there exactly once, retries after each restart are duplicates, and the aggregates agree with
//   the raw responses;
// - PostgreSQL stopped for 30 s under load: the host answers 503 with Retry-After, the tablets
//   keep their queues, and the host recovers by itself when the database returns;
// - SQLite's disk full (a small tmpfs filled by another file): a clear 503, no corruption, and
//   writes again as soon as space returns.
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
using namespace Poco::Data::Keywords;
using Poco::JSON::Object;

namespace {

constexpr int kTablets = 8;

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

std::string tabletCode(int i) {
    return "TAB-0" + std::to_string(i + 1);
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
            "paths.plugins=" + test::pluginDir(),
            "--set",
            "plugins.enabled=counter",
            "--set",
            "plugin.counter.max_per_minute=1000000",  // tablets here tap faster than people
            "--set",
            "http.log_requests=false",
            "--set",
            "paths.data=" + dir.path()};
}

// The directory the tablets need: province PT, commune XA, counter XA-Q1 and its tablets.
void prepareCounters(const std::string& url) {
    test::TempDir dir;
    test::TestHost host(url, dir, false);
    DirectoryStore& d = host.runtime().directory();
    test::saveProvinceWithTwoCommunes(d);
    d.save(CounterInput{"XA-Q1", "Quầy 1", "XA", true});
    for (int i = 0; i < kTablets; ++i)
        d.save(DeviceInput{tabletCode(i), "Máy tính bảng " + std::to_string(i + 1), "XA-Q1"});
}

// A counter tablet as the device API sees it: paired through the official API, with a queue of
// ratings it keeps until the host acknowledges each (stored or duplicate).
class Tablet {
public:
    Tablet(std::uint16_t port, int index) : port_(port), index_(index) {
        const auto code = test::http(
            port, "POST", "/api/v1/devices/" + tabletCode(index) + "/pairing", "",
            {{"Authorization", "Bearer test-token"}, {"Content-Type", "application/json"}});
        REQUIRE(code.status == 201);
        const auto paired = test::http(
            port, "POST", "/c/counter/pair",
            R"({"code":")" + parse(code.body)->getValue<std::string>("pairing_code") + R"("})",
            {{"Content-Type", "application/json"}});
        REQUIRE(paired.status == 201);
        token_ = parse(paired.body)->getValue<std::string>("token");
    }

    void setPort(std::uint16_t port) { port_ = port; }

    // A new rating tapped now, at the end of the queue; its uuid.
    std::string tap() {
        char id[40];
        std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%012llx", index_ + 1,
                      static_cast<unsigned long long>(++taps_));
        queue_.push_back({id, 1 + static_cast<int>(taps_ % 3), nowMs()});
        return id;
    }
    // An acknowledged rating sent again, as after a lost answer.
    void again(const std::string& uuid) { queue_.push_front({uuid, 3, nowMs()}); }
    std::size_t queued() const { return queue_.size(); }

    struct Sent {
        int status = 0;           // HTTP status; 0: no answer (connection refused or cut)
        bool retryAfter = false;  // a 503 said when to come back
        std::vector<std::string> acknowledged, duplicates;
        int toRetry = 0;         // items the host asked to send again
        std::string unexpected;  // an answer a tablet does not expect (a test failure)
    };

    // Sends up to `most` queued ratings in one batch; what the host acknowledged leaves the queue.
    Sent send(std::size_t most = 4) {
        Sent out;
        if (queue_.empty()) return out;
        const std::int64_t now = nowMs();
        std::string body = R"({"sent_at":)" + std::to_string(now) + R"(,"queued":)" +
                           std::to_string(queue_.size()) + R"(,"ratings":[)";
        const std::size_t n = std::min(most, queue_.size());
        for (std::size_t i = 0; i < n; ++i)
            body += std::string(i ? "," : "") + R"({"uuid":")" + queue_[i].uuid +
                    R"(","rating":")" + std::to_string(queue_[i].rating) + R"(","tapped_at":)" +
                    std::to_string(queue_[i].at) + "}";
        body += "]}";
        test::HttpResult r;
        try {
            r = test::http(
                port_, "POST", "/c/counter/api/v1/ratings", body,
                {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}});
        } catch (const std::exception&) {
            return out;  // the host is gone: everything stays queued
        }
        out.status = r.status;
        out.retryAfter = r.headers.count("retry-after") > 0;
        if (r.status != 200) return out;
        const auto results = parse(r.body)->getArray("results");
        if (!results || results->size() != n) {
            out.unexpected = r.body;
            return out;
        }
        std::deque<Item> kept;
        for (std::size_t i = 0; i < n; ++i) {
            const auto item = results->getObject(static_cast<unsigned>(i));
            const std::string status = item->getValue<std::string>("status");
            if (status == "stored" || status == "duplicate") {
                (status == "stored" ? out.acknowledged : out.duplicates).push_back(queue_[i].uuid);
                continue;
            }
            if (status != "retry") out.unexpected = r.body;  // never rejected, never held
            ++out.toRetry;
            kept.push_back(queue_[i]);
        }
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        queue_.insert(queue_.begin(), kept.begin(), kept.end());
        return out;
    }

private:
    struct Item {
        std::string uuid;
        int rating;
        std::int64_t at;
    };
    std::uint16_t port_;
    int index_;
    std::string token_;
    std::uint64_t taps_ = 0;
    std::deque<Item> queue_;
};

// The uuids of the stored counter ratings, as often as each is stored.
std::vector<std::string> storedUuids(Database& db) {
    std::vector<std::string> keys;
    db.read([&](Poco::Data::Session& s) {
        s << "SELECT idempotency_key FROM responses WHERE channel = 'counter'", into(keys), now;
    });
    for (auto& k : keys) k = k.substr(k.find(':') + 1);  // "counter:<uuid>"
    return keys;
}

// Checks every acknowledged uuid is stored exactly once, and that the aggregates equal the raw
// responses (`hailong index verify`).
void checkStoredOnce(Database& db, const std::string& url, const std::set<std::string>& acked) {
    const std::vector<std::string> keys = storedUuids(db);
    const std::set<std::string> stored(keys.begin(), keys.end());
    CHECK(stored.size() == keys.size());
    std::size_t missing = 0;
    for (const auto& k : acked) missing += stored.contains(k) ? 0 : 1;
    CHECK(missing == 0);
    std::string said;
    CHECK(test::runHailong({"index", "verify", "--db", url}, said) == 0);
    CHECK(said.find("mismatch") == std::string::npos);
}

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

// The tablets of a counter hall tapping and sending, each in its own thread, as they would
// through an outage: each keeps what is not acknowledged and sends it again, after the
// Retry-After a 503 asks for (at most a second here, so that the test stays short).
class Hall {
public:
    explicit Hall(std::vector<std::unique_ptr<Tablet>>& tablets) : empty_(tablets.size()) {
        for (std::size_t i = 0; i < tablets.size(); ++i) {
            threads_.emplace_back([this, i, &t = *tablets[i]] {
                while (!done_) {
                    if (tapping_ && t.queued() < 20) t.tap();
                    empty_[i] = t.queued() == 0;
                    if (empty_[i]) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(20));
                        continue;
                    }
                    const Tablet::Sent s = t.send();
                    note(s);
                    if (s.status != 200 || s.toRetry > 0)
                        std::this_thread::sleep_for(
                            std::chrono::milliseconds(s.status ? 1000 : 200));
                }
            });
        }
    }
    ~Hall() { stop(); }

    void stopTapping() { tapping_ = false; }
    void stop() {
        done_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    // Whether every tablet's queue is empty (after stopTapping()).
    bool drained() const {
        return std::all_of(empty_.begin(), empty_.end(), [](const auto& e) { return e.load(); });
    }
    std::set<std::string> acknowledged() {
        std::lock_guard lock(m_);
        return acknowledged_;
    }
    int answers(int status) {
        std::lock_guard lock(m_);
        return statuses_[status];
    }
    int withRetryAfter() {
        std::lock_guard lock(m_);
        return retryAfter_;
    }
    int itemsToRetry() {
        std::lock_guard lock(m_);
        return toRetry_;
    }
    // What the tablets were told, for a failure's message.
    std::string summary() {
        std::lock_guard lock(m_);
        std::string out = std::to_string(acknowledged_.size()) + " acknowledged; answers:";
        for (const auto& [status, n] : statuses_)
            out += " " + std::to_string(status) + "×" + std::to_string(n);
        if (!unexpected_.empty()) out += "; unexpected: " + unexpected_.front();
        return out;
    }
    std::vector<std::string> unexpected() {
        std::lock_guard lock(m_);
        return unexpected_;
    }

private:
    void note(const Tablet::Sent& s) {
        std::lock_guard lock(m_);
        acknowledged_.insert(s.acknowledged.begin(), s.acknowledged.end());
        acknowledged_.insert(s.duplicates.begin(), s.duplicates.end());
        ++statuses_[s.status];
        retryAfter_ += s.status == 503 && s.retryAfter ? 1 : 0;
        toRetry_ += s.toRetry;
        if (!s.unexpected.empty()) unexpected_.push_back(s.unexpected);
    }

    std::vector<std::thread> threads_;
    std::vector<std::atomic<bool>> empty_;
    std::atomic<bool> done_{false}, tapping_{true};
    std::mutex m_;
    std::set<std::string> acknowledged_;
    std::map<int, int> statuses_;
    int retryAfter_ = 0, toRetry_ = 0;
    std::vector<std::string> unexpected_;
};

// Waits up to `seconds` for `ready`; whether it came.
bool waitFor(int seconds, const std::function<bool()>& ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!ready()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
}

// Waits for a hall's condition; a failure says what the tablets were told.
#define HALL_WAIT(seconds, condition)                                                        \
    do {                                                                                     \
        if (!waitFor(seconds, [&] { return condition; }))                                    \
            FAIL_CHECK(#condition << " not within " << seconds << " s: " << hall.summary()); \
    } while (false)

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
