// `hailong backup` while ratings keep arriving, and `hailong restore`: the backup taken under
// load restores to a consistent database (its aggregates equal its raw responses), the one taken
// at rest gives back every row of every table; a non-backup file and a target that holds
// responses are refused. On SQLite and PostgreSQL.
#include "store/Migrations.h"
#include "support/TestSupport.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <thread>

using namespace hailong;
using namespace Poco::Data::Keywords;

namespace {

// Every row of every table, as text, sorted: two databases with the same content compare equal.
std::map<std::string, std::vector<std::string>> contentOf(Database& db) {
    return db.read([&](Poco::Data::Session& s) {
        std::vector<std::string> tables;
        if (db.backend() == Backend::SQLite)
            s << "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                 "'sqlite_%'",
                into(tables), now;
        else
            s << "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                 "current_schema() AND table_type = 'BASE TABLE'",
                into(tables), now;
        std::map<std::string, std::vector<std::string>> out;
        for (const std::string& t : tables) {
            Poco::Data::Statement st(s);
            st << "SELECT * FROM " + t;
            st.execute();
            Poco::Data::RecordSet rs(st);
            auto& rows = out[t];
            for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
                std::string row;
                for (std::size_t c = 0; c < rs.columnCount(); ++c)
                    row +=
                        (rs.value(c).isEmpty() ? "NULL" : rs.value(c).convert<std::string>()) + "|";
                rows.push_back(row);
            }
            std::sort(rows.begin(), rows.end());
        }
        return out;
    });
}

std::int64_t responsesIn(Database& db) {
    return db.read([](Poco::Data::Session& s) {
        std::int64_t n = 0;
        s << "SELECT COUNT(*) FROM responses", into(n), now;
        return n;
    });
}

Submission rating(int serial) {
    Submission s;
    s.idempotencyKey = "b-" + std::to_string(serial);
    s.surveyId = "counter-quick";
    s.channel = "counter";
    s.agencyCode = serial % 3 ? "XA" : "XB";
    s.answers.push_back({"rating", std::nullopt, {std::to_string(1 + serial % 3)}, ""});
    if (serial % 3 == 0) s.answers.push_back({"comment", std::nullopt, {}, "Chờ lâu quá"});
    return s;
}

}  // namespace

TEST_CASE("backup under load, restore, every row and aggregate back", "[backup]") {
    test::onEachBackend([](Backend b) {
        test::TempDir dir;
        test::TestDatabase source(b);
        test::TestHost host(source.url(), dir, false);
        Runtime& rt = host.runtime();
        test::saveProvinceWithTwoCommunes(rt.directory());
        int serial = 0;
        for (; serial < 300; ++serial) rt.ingest().submit(rating(serial));
        rt.indices().foldAll();

        // Under load: a writer goes on while the backup runs.
        std::atomic<bool> stop{false};
        std::atomic<int> next{serial};
        std::thread writer([&] {
            while (!stop) rt.ingest().submit(rating(next++));
        });
        std::string said;
        // Runs the command; what it said goes with any failure that follows.
        auto hailong = [&said](const std::vector<std::string>& args) {
            const int code = test::runHailong(args, said);
            UNSCOPED_INFO("hailong " << args.front() << ": " << said);
            return code;
        };
        const std::string underLoad = dir.file("load.bak");
        const int rc = hailong({"backup", "--db", source.url(), "--out", underLoad});
        stop = true;
        writer.join();
        REQUIRE(rc == 0);
        CHECK(said.find("schema version " + std::to_string(Migrations::all().back().version)) !=
              std::string::npos);
        const int written = next - 300;
        INFO("ratings written during the backup: " << written);

        test::TestDatabase loaded(b);
        REQUIRE(hailong({"restore", underLoad, "--db", loaded.url()}) == 0);
        const std::int64_t restored = responsesIn(loaded.db());
        CHECK(restored >= 300);
        CHECK(restored <= 300 + written);
        // A consistent snapshot: its aggregates, with their tail, equal its raw responses.
        REQUIRE(hailong({"index", "verify", "--db", loaded.url()}) == 0);
        CHECK(said.find("mismatch") == std::string::npos);

        // At rest: every row of every table comes back.
        rt.indices().foldAll();
        const std::string atRest = dir.file("rest.bak");
        REQUIRE(hailong({"backup", "--db", source.url(), "--out", atRest}) == 0);
        test::TestDatabase copy(b);
        REQUIRE(hailong({"restore", atRest, "--db", copy.url()}) == 0);
        const auto expected = contentOf(source.db()), got = contentOf(copy.db());
        CHECK(expected.at("responses").size() == static_cast<std::size_t>(300 + written));
        CHECK(expected.at("cases").size() > 0);
        for (const auto& [table, rows] : expected) {
            INFO(table);
            CHECK(got.count(table));
            if (got.count(table)) CHECK(got.at(table) == rows);
        }

        // Refusals: over a database with responses (without --force), a file that is not a
        // backup; neither changes the target.
        CHECK(hailong({"restore", atRest, "--db", copy.url()}) != 0);
        CHECK(said.find("already holds responses") != std::string::npos);
        const std::string junk = dir.file("junk.bak");
        std::ofstream(junk) << "not a backup";
        CHECK(hailong({"restore", junk, "--db", copy.url(), "--force"}) != 0);
        CHECK(contentOf(copy.db()) == expected);
        // --force restores over it.
        CHECK(hailong({"restore", underLoad, "--db", copy.url(), "--force"}) == 0);
        CHECK(responsesIn(copy.db()) == restored);
    });
}
