// Tests for core/store: database URLs, the session pool, transactions and migrations, on
// SQLite and on a real PostgreSQL.
#include "store/Database.h"
#include "store/DatabaseUrl.h"
#include "store/Migrations.h"
#include "store/RepeatedStatement.h"
#include "support/TestSupport.h"

#include <hailong/Problem.h>

#include <Poco/FileStream.h>
#include <Poco/Nullable.h>

#include <catch2/catch.hpp>

#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

TEST_CASE("database URLs") {
    auto sqlite = DatabaseUrl::parse("sqlite:data/hailong.db");
    CHECK(sqlite.backend == Backend::SQLite);
    CHECK(sqlite.sqlitePath == "data/hailong.db");
    auto pg = DatabaseUrl::parse("postgresql://hl:s%40cret@db.local:5433/hailong?sslmode=require");
    CHECK(pg.backend == Backend::PostgreSQL);
    CHECK(pg.connectionString.find("host='db.local' port=5433") == 0);
    CHECK(pg.connectionString.find("password='s@cret'") != std::string::npos);
    CHECK(pg.connectionString.find("sslmode='require'") != std::string::npos);
    CHECK(pg.redacted.find("cret") == std::string::npos);
    CHECK_THROWS_AS(DatabaseUrl::parse("mysql://x"), Problem);
    CHECK_THROWS_AS(DatabaseUrl::parse("postgresql://host:5432/"), Problem);
    CHECK_THROWS_AS(DatabaseUrl::parse("sqlite:"), Problem);
}

TEST_CASE("migrations run once and record their version") {
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            Database& db = tdb.db();
            CHECK(Migrations::currentVersion(db) == 0);
            auto applied = Migrations::apply(db);
            CHECK(applied.size() == Migrations::all().size());
            CHECK(Migrations::currentVersion(db) == Migrations::all().back().version);
            CHECK(Migrations::apply(db).empty());
            // The tables exist and take rows.
            db.write([](Session& s) {
                s << "INSERT INTO procedures (code, name, created_at, updated_at) VALUES "
                     "('1.000001', 'Thủ tục thử', 1, 1)",
                    now;
            });
            std::string name;
            db.read([&](Session& s) {
                s << "SELECT name FROM procedures WHERE code = '1.000001'", into(name), now;
            });
            CHECK(name == "Thủ tục thử");
        }
    }
}

TEST_CASE("a newer schema than the binary is refused") {
    test::TestDatabase tdb(Backend::SQLite);
    Migrations::apply(tdb.db());
    tdb.db().write([](Session& s) {
        s << "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 1)",
            now;
    });
    CHECK_THROWS_WITH(Migrations::apply(tdb.db()), Catch::Contains("newer than this hailong"));
}

TEST_CASE("a write that throws is rolled back, placeholders, RETURNING and NULLs work") {
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            Database& db = tdb.migrated();
            CHECK_THROWS_AS(db.write([](Session& s) {
                s << "INSERT INTO procedures (code, name, created_at, updated_at) "
                     "VALUES ('X', 'x', 1, 1)",
                    now;
                throw std::runtime_error("boom");
            }),
                            std::runtime_error);
            std::int64_t count = -1;
            db.read([&](Session& s) { s << "SELECT COUNT(*) FROM procedures", into(count), now; });
            CHECK(count == 0);

            std::int64_t id = 0;
            std::string code = "1.2", name = "Tên có dấu";
            std::int64_t big = 1741050900123;
            db.write([&](Session& s) {
                s << "INSERT INTO procedures (code, name, created_at, updated_at) VALUES ($1, $2, "
                     "$3, $4) RETURNING id",
                    use(code), use(name), use(big), use(big), into(id), now;
            });
            CHECK(id > 0);
            Poco::Nullable<std::int64_t> nothing;
            std::int64_t created = 0;
            db.read([&](Session& s) {
                s << "SELECT created_at FROM procedures WHERE id = $1", use(id), into(created), now;
                s << "SELECT MAX(id) FROM counters", into(nothing), now;
            });
            CHECK(created == big);
            CHECK(nothing.isNull());
        }
    }
}

TEST_CASE("the pool waits for a free session and then reports Unavailable") {
    test::TestDatabase tdb(Backend::SQLite);
    Database::Options o;
    o.poolSize = 1;
    o.acquireTimeout = std::chrono::milliseconds(200);
    Database db(DatabaseUrl::parse(tdb.url()), o);
    {
        auto held = db.acquire();
        CHECK_THROWS_AS(db.acquire(), Unavailable);
    }
    std::atomic<bool> got{false};
    {
        auto held = db.acquire();
        std::thread t([&] {
            auto second = db.acquire();  // waits for the first to come back
            got = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        CHECK_FALSE(got);
        { auto released = std::move(held); }
        t.join();
    }
    CHECK(got);
}

TEST_CASE("an unreachable PostgreSQL is Unavailable, not a crash") {
    const std::uint16_t port = test::freePort();  // nothing listens there
    Database db(
        DatabaseUrl::parse("postgresql://hailong@127.0.0.1:" + std::to_string(port) + "/x"));
    CHECK_THROWS_AS(db.acquire(), Unavailable);
    std::string error;
    CHECK_FALSE(db.ping(error));
    CHECK_FALSE(error.empty());
}

TEST_CASE("writes go on after the PostgreSQL server restarts under a warm pool") {
    test::TempDir dir;
    const std::string script = test::sourceDir() + "/scripts/pg-test-server.sh";
    const std::string folder = dir.file("pg");
    REQUIRE(std::system((script + " start " + folder + " > /dev/null").c_str()) == 0);
    struct Stop {
        std::string command;
        ~Stop() { (void)std::system(command.c_str()); }
    } stop{script + " stop " + folder};
    std::string url;
    {
        Poco::FileInputStream in(folder + "/url");
        std::getline(in, url);
    }
    Database db(DatabaseUrl::parse(url));
    Migrations::apply(db);
    auto insert = [&](const std::string& code) {
        db.write([&](Session& s) {
            std::string c = code;
            s << "INSERT INTO procedures (code, name, created_at, updated_at) VALUES ($1, 'x', 1, "
                 "1)",
                use(c), now;
        });
    };
    insert("before");
    REQUIRE(std::system((script + " restart " + folder + " > /dev/null").c_str()) == 0);
    // The pooled connection is dead; the write must notice at BEGIN and use a fresh one.
    CHECK_NOTHROW(insert("after"));
    std::int64_t count = 0;
    db.read([&](Session& s) { s << "SELECT COUNT(*) FROM procedures", into(count), now; });
    CHECK(count == 2);
}

// The crash this guards against: Poco's PostgreSQL connector keeps a freed result when a second
// run fails, and a plain Statement's destructor then frees it again (glibc aborts). Checked
// with a plain Statement in place of RepeatedStatement: this test dies with SIGABRT.
TEST_CASE("a statement run again after its PostgreSQL connection is cut fails without a crash") {
    test::TestDatabase tdb(Backend::PostgreSQL);
    Database& db = tdb.db();
    const std::size_t keptBefore = RepeatedStatement::keptAside();
    {
        auto lease = db.acquire();
        int pid = 0;
        *lease << "SELECT pg_backend_pid()", into(pid), now;
        int value = 1, echo = 0;
        {
            RepeatedStatement st(*lease);
            *st << "SELECT $1::int", use(value), into(echo);
            CHECK(st.execute() == 1);
            CHECK(echo == 1);
            db.read([&](Session& other) {
                bool cut = false;
                other << "SELECT pg_terminate_backend($1)", use(pid), into(cut), now;
                REQUIRE(cut);
            });
            value = 2;
            CHECK_THROWS_AS(st.execute(), Poco::Exception);
            CHECK_THROWS_AS(st.execute(), std::logic_error);  // it cannot run again
        }
        lease.discard();
    }
    CHECK(RepeatedStatement::keptAside() == keptBefore + 1);
    // The pool goes on with a fresh connection.
    int one = 0;
    db.read([&](Session& s) { s << "SELECT 1", into(one), now; });
    CHECK(one == 1);
}

TEST_CASE("a repeated statement runs again with new values and vector bindings") {
    test::onEachBackend([](Backend backend) {
        test::TestDatabase tdb(backend);
        Database& db = tdb.migrated();
        db.write([&](Session& s) {
            std::vector<std::string> codes{"a", "b", "c"};
            RepeatedStatement bulk(s);
            *bulk << "INSERT INTO procedures (code, name, created_at, updated_at) VALUES ($1, "
                     "'x', 1, 1)",
                use(codes);
            bulk.execute();  // what it returns differs: 3 on SQLite, the last run's 1 on PostgreSQL
            std::int64_t count = 0;
            s << "SELECT COUNT(*) FROM procedures", into(count), now;
            CHECK(count == 3);
            std::string code = "a";
            RepeatedStatement byCode(s);
            *byCode << "SELECT COUNT(*) FROM procedures WHERE code = $1", use(code), into(count);
            byCode.execute();
            CHECK(count == 1);
            code = "z";
            byCode.execute();
            CHECK(count == 0);
        });
    });
}

TEST_CASE("failed connection attempts to PostgreSQL do not use up memory") {
    // Poco's connector leaked about 12 kB per refused attempt: 24 MB for these 2,000, which is
    // what a host under an outage of a few minutes went through.
    const std::uint16_t port = test::freePort();  // nothing listens there
    Database db(
        DatabaseUrl::parse("postgresql://hailong@127.0.0.1:" + std::to_string(port) + "/x"));
    for (int i = 0; i < 100; ++i) CHECK_THROWS_AS(db.acquire(), Unavailable);
    const long before = test::residentKb();
    for (int i = 0; i < 2000; ++i) CHECK_THROWS_AS(db.acquire(), Unavailable);
    const long grown = test::residentKb() - before;
    INFO("resident memory grew by " << grown << " kB");
    CHECK(grown < 4096);
}
