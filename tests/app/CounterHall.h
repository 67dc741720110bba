// hailong tests — a counter hall for tests that drive real hosts: tablets paired through the
// device API that tap ratings and send them in batches, keeping what is not acknowledged, and
// the checks that every acknowledged rating is stored once. Used by test_durability (kills and
// outages) and test_cluster (several hosts behind nginx). Not thread-safe unless said.
#pragma once

#include "common/Clock.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hailong::counters {

using namespace Poco::Data::Keywords;
using Poco::JSON::Object;

constexpr int kTablets = 8;

inline Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

inline std::string tabletCode(int i) {
    return "TAB-0" + std::to_string(i + 1);
}

inline std::vector<std::string> serveArgs(const std::string& url, std::uint16_t port,
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
inline void prepareCounters(const std::string& url) {
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
    // A given rating at the end of the queue (to replay another tablet's ratings).
    void add(const std::string& uuid, int rating, std::int64_t tappedAt) {
        queue_.push_back({uuid, rating, tappedAt});
    }
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
inline std::vector<std::string> storedUuids(Database& db) {
    std::vector<std::string> keys;
    db.read([&](Poco::Data::Session& s) {
        s << "SELECT idempotency_key FROM responses WHERE channel = 'counter'", into(keys), now;
    });
    for (auto& k : keys) k = k.substr(k.find(':') + 1);  // "counter:<uuid>"
    return keys;
}

// Checks every acknowledged uuid is stored exactly once, and that the aggregates equal the raw
// responses (`hailong index verify`).
inline void checkStoredOnce(Database& db, const std::string& url,
                            const std::set<std::string>& acked) {
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
inline bool waitFor(int seconds, const std::function<bool()>& ready) {
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

}  // namespace hailong::counters
