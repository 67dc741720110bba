#include "store/Database.h"

#include <hailong/Problem.h>

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/File.h>
#include <Poco/Path.h>

#include <mutex>

#include <libpq-fe.h>
#include <sqlite3.h>

using namespace Poco::Data::Keywords;

namespace hailong {
namespace {

void registerConnectors() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Before SQLite starts: no global memory statistics (each allocation would take a lock
        // that parallel readers fight over), and no lock on each connection (the pool lends a
        // connection to one thread at a time).
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        Poco::Data::SQLite::Utility::setThreadMode(Poco::Data::SQLite::Utility::THREAD_MODE_MULTI);
        Poco::Data::SQLite::Connector::registerConnector();
        Poco::Data::PostgreSQL::Connector::registerConnector();
    });
}

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

Database::Lease::Lease(Database& db, std::unique_ptr<Poco::Data::Session> session)
    : db_(&db), session_(std::move(session)) {}

Database::Lease::Lease(Lease&& other) noexcept
    : db_(other.db_), session_(std::move(other.session_)), broken_(other.broken_) {}

Database::Lease& Database::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        if (session_) db_->release(std::move(session_), broken_);
        db_ = other.db_;
        session_ = std::move(other.session_);
        broken_ = other.broken_;
    }
    return *this;
}

Database::Lease::~Lease() {
    if (session_) db_->release(std::move(session_), broken_);
}

Database::Database(const DatabaseUrl& url, Options options) : url_(url), options_(options) {
    registerConnectors();
    if (url_.backend == Backend::SQLite) {
        Poco::Path parent = Poco::Path(url_.sqlitePath).parent();
        if (!parent.toString().empty()) Poco::File(parent).createDirectories();
        checkpointer_ = std::thread([this] { checkpoints(); });
    }
}

Database::~Database() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    std::lock_guard lock(mutex_);
    idle_.clear();
}

void Database::checkpoints() {
    std::unique_ptr<Poco::Data::Session> own;
    std::unique_lock lock(mutex_);
    while (!stop_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
        lock.unlock();
        try {
            if (!own) own = open();
            *own << "PRAGMA wal_checkpoint(PASSIVE)", now;
        } catch (const std::exception&) {
            own.reset();  // the next round opens another connection
        }
        lock.lock();
    }
    lock.unlock();
    if (own) {
        try {  // leave a short log behind for the next start
            *own << "PRAGMA wal_checkpoint(TRUNCATE)", now;
        } catch (const std::exception&) {
        }
    }
}

std::unique_ptr<Poco::Data::Session> Database::open() {
    if (url_.backend == Backend::PostgreSQL) {
        // Poco's connector leaks the libpq connection of each failed attempt (about 12 kB), so
        // with the server down every request would leak one. libpq's ping frees what it uses:
        // ask it first. (Bad parameters are left to the real attempt, which names them.)
        switch (PQping(url_.connectionString.c_str())) {
            case PQPING_NO_RESPONSE:
                throw Unavailable("cannot open database " + url_.redacted +
                                  ": the server does not answer");
            case PQPING_REJECT:
                throw Unavailable(
                    "cannot open database " + url_.redacted +
                    ": the server is not accepting connections (starting or stopping)");
            default:
                break;
        }
    }
    try {
        auto s = std::make_unique<Poco::Data::Session>(url_.connector, url_.connectionString);
        if (url_.backend == Backend::SQLite) {
            *s << "PRAGMA journal_mode=WAL", now;
            *s << "PRAGMA synchronous=FULL", now;  // acknowledged means on disk
            *s << "PRAGMA foreign_keys=ON", now;
            *s << "PRAGMA wal_autocheckpoint=0", now;  // the checkpointer thread does it
            *s << ("PRAGMA busy_timeout=" + std::to_string(options_.busyTimeoutMs)), now;
            // A page cache that holds what a report reads (the 2 MB default made the index's
            // larger reports read the same pages from the file again at each request).
            *s << ("PRAGMA cache_size=-" + std::to_string(options_.sqliteCacheMb * 1024)), now;
        } else {
            *s << "SET client_min_messages = warning", now;  // no NOTICE chatter on stderr
        }
        return s;
    } catch (const Poco::Exception& e) {
        throw Unavailable("cannot open database " + url_.redacted + ": " + e.displayText());
    }
}

Database::Lease Database::acquire() {
    constexpr auto kCheckAfter = std::chrono::seconds(5);
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + options_.acquireTimeout;
    for (;;) {
        while (idle_.empty() && open_ >= options_.poolSize) {
            if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
                open_ >= options_.poolSize)
                throw Unavailable("all database connections are busy");
        }
        if (idle_.empty()) break;
        Idle idle = std::move(idle_.back());
        idle_.pop_back();
        // A PostgreSQL connection idle for a while may have been cut: check before lending.
        if (url_.backend == Backend::SQLite ||
            std::chrono::steady_clock::now() - idle.since < kCheckAfter)
            return Lease(*this, std::move(idle.session));
        lock.unlock();
        const bool ok = alive(*idle.session);
        lock.lock();
        if (ok) return Lease(*this, std::move(idle.session));
        --open_;  // dropped; look again
    }
    ++open_;
    lock.unlock();
    try {
        return Lease(*this, open());
    } catch (...) {
        std::lock_guard relock(mutex_);
        --open_;
        returned_.notify_one();
        throw;
    }
}

bool Database::alive(Poco::Data::Session& s) noexcept {
    try {
        int one = 0;
        s << "SELECT 1", into(one), now;
        return one == 1;
    } catch (...) {
        return false;
    }
}

void Database::release(std::unique_ptr<Poco::Data::Session> s, bool broken) {
    bool healthy = !broken;
    try {
        healthy = healthy && s->isConnected();
    } catch (...) {
        healthy = false;
    }
    std::lock_guard lock(mutex_);
    if (healthy) {
        idle_.push_back({std::move(s), std::chrono::steady_clock::now()});
    } else {
        --open_;
    }
    returned_.notify_one();
}

void Database::begin(Poco::Data::Session& s, bool write) {
    if (url_.backend == Backend::SQLite)
        s << (write ? "BEGIN IMMEDIATE" : "BEGIN"), now;
    else
        s << (write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), now;
}

void Database::commit(Poco::Data::Session& s) {
    s << "COMMIT", now;
}

void Database::rollback(Poco::Data::Session& s) noexcept {
    try {
        s << "ROLLBACK", now;
    } catch (...) {  // nothing to roll back, or the connection is gone: both fine here
    }
}

std::string Database::dialect(std::string_view sql) const {
    std::string out(sql);
    const bool pg = url_.backend == Backend::PostgreSQL;
    const std::pair<std::string_view, std::string_view> tokens[] = {
        {"{{id}}",
         pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY"},
        {"{{real}}", pg ? "DOUBLE PRECISION" : "REAL"},
        {"{{blob}}", pg ? "BYTEA" : "BLOB"},
        // A table stored in its primary key's order (SQLite); PostgreSQL has no such option.
        {"{{clustered}}", pg ? "" : " WITHOUT ROWID"},
    };
    for (const auto& [token, replacement] : tokens) {
        for (auto pos = out.find(token); pos != std::string::npos; pos = out.find(token, pos))
            out.replace(pos, token.size(), replacement);
    }
    return out;
}

bool Database::ping(std::string& error) {
    try {
        return read([](Poco::Data::Session& s) {
            int one = 0;
            s << "SELECT 1", into(one), now;
            return one == 1;
        });
    } catch (const std::exception& e) {
        error = e.what();
        return false;
    }
}

bool Database::isTransient(const Poco::Exception& e) const {
    const std::string text = e.displayText();
    bool transient = false;
    if (url_.backend == Backend::SQLite) {
        transient = contains(text, "locked") || contains(text, "busy") ||
                    contains(text, "disk is full") || contains(text, "disk I/O") ||
                    contains(text, "unable to open");
    } else {
        // libpq reports lost or refused connections through these messages.
        transient = dynamic_cast<const Poco::Data::ConnectionFailedException*>(&e) != nullptr ||
                    contains(text, "connection") || contains(text, "server closed") ||
                    contains(text, "terminating") || contains(text, "could not connect") ||
                    contains(text, "no connection") || contains(text, "the database system");
    }
    return transient;
}

}  // namespace hailong
