// hailong — Database: a pool of Poco::Data sessions on SQLite or PostgreSQL, with transactions.
#pragma once

#include "store/DatabaseUrl.h"

#include <hailong/Problem.h>

#include <Poco/Data/Session.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hailong {

/// Owns the connections to one database. Thread-safe: any thread may acquire a session; a
/// session (and the Lease holding it) belongs to one thread at a time.
///
/// SQL conventions on both backends: placeholders $1..$n in ascending order, never reused;
/// times as integer epoch milliseconds; `{{id}}` in DDL becomes the backend's identity column.
/// Errors meaning "the database is not reachable or busy right now" become hailong::Unavailable;
/// other database errors propagate as Poco exceptions (they are bugs).
class Database {
public:
    struct Options {
        std::size_t poolSize = 8;
        int busyTimeoutMs = 5000;
        int sqliteCacheMb = 16;  ///< SQLite: page cache of each connection
        std::chrono::milliseconds acquireTimeout{10000};
    };

    /// A session on loan from the pool; returned (or dropped if broken) on destruction.
    class Lease {
    public:
        Lease(Database& db, std::unique_ptr<Poco::Data::Session> session);
        Lease(Lease&&) noexcept;
        Lease& operator=(Lease&& other) noexcept;
        ~Lease();
        Poco::Data::Session& operator*() { return *session_; }
        Poco::Data::Session* operator->() { return session_.get(); }
        /// The session is suspect (a transient error): close it instead of pooling it.
        void discard() noexcept { broken_ = true; }

    private:
        Database* db_;
        std::unique_ptr<Poco::Data::Session> session_;
        bool broken_ = false;
    };

    Database(const DatabaseUrl& url, Options options);
    explicit Database(const DatabaseUrl& url) : Database(url, Options{}) {}
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    Backend backend() const noexcept { return url_.backend; }
    const DatabaseUrl& url() const noexcept { return url_; }

    /// A session from the pool; waits up to Options::acquireTimeout, then throws Unavailable.
    Lease acquire();

    /// Runs fn(Session&) inside a write transaction (BEGIN IMMEDIATE on SQLite) and commits.
    /// Rolls back and rethrows if fn throws; maps transient failures to Unavailable.
    template <class F>
    auto write(F&& fn) {
        auto lease = acquire();
        // A pooled PostgreSQL connection may have died (server restart, failover). Failing at
        // BEGIN sent nothing, so a second try on a fresh connection is safe.
        try {
            begin(*lease, true);
        } catch (const Poco::Exception& e) {
            lease.discard();
            if (!isTransient(e)) throw;
            { auto dead = std::move(lease); }
            lease = acquire();
            guarded([&] { begin(*lease, true); });
        }
        return guarded([&] { return commitAfter(*lease, fn); });
    }

    /// Runs fn(Session&) inside a read-only transaction that sees one consistent snapshot
    /// (SQLite's WAL read transaction; PostgreSQL REPEATABLE READ), then ends it.
    template <class F>
    auto snapshot(F&& fn) {
        auto lease = acquire();
        return guarded([&] {
            begin(*lease, false);
            return commitAfter(*lease, fn);
        });
    }
    /// Runs fn(Session&) on a pooled session outside any explicit transaction.
    template <class F>
    auto read(F&& fn) {
        auto lease = acquire();
        return guarded([&] { return fn(*lease); });
    }

    /// Replaces the dialect tokens of `sql` ({{id}}, {{real}}, {{blob}}) for this backend.
    std::string dialect(std::string_view sql) const;

    /// Checks the connection with a trivial query; false and `error` when it fails.
    bool ping(std::string& error);

    /// Runs `f`, translating transient database errors into Unavailable.
    template <class F>
    auto guarded(F&& f) {
        try {
            return f();
        } catch (const Poco::Exception& e) {
            if (isTransient(e)) throw Unavailable("database unavailable: " + e.displayText());
            throw;
        }
    }

private:
    // Runs fn(s) in the transaction begun on `s`: commits after it, rolls back if it throws.
    template <class F>
    auto commitAfter(Poco::Data::Session& s, F& fn) {
        try {
            if constexpr (std::is_void_v<decltype(fn(s))>) {
                fn(s);
                commit(s);
            } else {
                auto result = fn(s);
                commit(s);
                return result;
            }
        } catch (...) {
            rollback(s);
            throw;
        }
    }
    void begin(Poco::Data::Session& s, bool write);
    void commit(Poco::Data::Session& s);
    static void rollback(Poco::Data::Session& s) noexcept;
    void release(std::unique_ptr<Poco::Data::Session> s, bool broken);
    std::unique_ptr<Poco::Data::Session> open();
    /// Whether `e` means the database is unreachable, busy or full (worth a retry later).
    bool isTransient(const Poco::Exception& e) const;
    /// Whether an idle pooled session still answers.
    bool alive(Poco::Data::Session& s) noexcept;

    DatabaseUrl url_;
    Options options_;
    std::mutex mutex_;
    std::condition_variable returned_;
    struct Idle {
        std::unique_ptr<Poco::Data::Session> session;
        std::chrono::steady_clock::time_point since;
    };
    std::vector<Idle> idle_;
    std::size_t open_ = 0;  // sessions alive (idle or leased)

    // SQLite: the write-ahead log is copied back into the database by this thread, on its own
    // connection, every half second (PASSIVE: it never waits for nor blocks a writer), instead
    // of by whichever commit fills it: a checkpoint inside a commit held up every response
    // waiting on that commit.
    void checkpoints();
    std::thread checkpointer_;
    bool stopping_ = false;  // guarded by mutex_
    std::condition_variable stop_;
};

}  // namespace hailong
