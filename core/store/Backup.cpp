#include "store/Backup.h"

#include "store/Migrations.h"

#include <Poco/File.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hailong {
namespace {

// An SQLite connection closed on every path.
struct Sqlite {
    sqlite3* db = nullptr;
    Sqlite(const std::string& path, int flags) {
        if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK)
            throw std::runtime_error("cannot open " + path + ": " +
                                     (db ? sqlite3_errmsg(db) : "out of memory"));
        sqlite3_busy_timeout(db, 10000);
    }
    ~Sqlite() { sqlite3_close_v2(db); }
    Sqlite(const Sqlite&) = delete;
    Sqlite& operator=(const Sqlite&) = delete;

    // The first column of the first row of `sql` as text ("" without a row).
    std::string scalar(const std::string& sql) const {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("cannot read the database: ") +
                                     sqlite3_errmsg(db));
        std::string out;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return out;
    }
};

// Copies every page of `from` into `to` (SQLite's online backup), retrying while busy.
void copyPages(Sqlite& from, Sqlite& to, const std::string& what) {
    sqlite3_backup* b = sqlite3_backup_init(to.db, "main", from.db, "main");
    if (!b) throw std::runtime_error(what + ": " + sqlite3_errmsg(to.db));
    int rc = SQLITE_OK;
    // All pages in one step: one read transaction, so one consistent snapshot.
    for (int attempt = 0; attempt < 600; ++attempt) {
        rc = sqlite3_backup_step(b, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        throw std::runtime_error(what + ": " + sqlite3_errstr(rc) + " (" + sqlite3_errmsg(to.db) +
                                 ")");
}

int schemaOf(const Sqlite& db) {
    if (db.scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = "
                  "'schema_migrations'")
            .empty())
        return 0;
    return std::stoi("0" + db.scalar("SELECT MAX(version) FROM schema_migrations"));
}

void checkVersion(int version, const std::string& file) {
    if (version == 0) throw std::runtime_error(file + " is not a hailong backup (no schema)");
    const int newest = Migrations::all().back().version;
    if (version > newest)
        throw std::runtime_error(file + " holds schema version " + std::to_string(version) +
                                 ", newer than this hailong (" + std::to_string(newest) +
                                 "); restore it with a newer hailong");
}

void syncFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// libpq's key=value connection string as the PG* environment of pg_dump and pg_restore (so
// that no password shows in the process list).
Poco::Process::Env pgEnvironment(const std::string& conninfo) {
    static const std::map<std::string, std::string> kNames{
        {"host", "PGHOST"},       {"hostaddr", "PGHOSTADDR"},
        {"port", "PGPORT"},       {"dbname", "PGDATABASE"},
        {"user", "PGUSER"},       {"password", "PGPASSWORD"},
        {"sslmode", "PGSSLMODE"}, {"connect_timeout", "PGCONNECT_TIMEOUT"}};
    Poco::Process::Env env;
    std::istringstream in(conninfo);
    std::string pair;
    while (in >> pair) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos) continue;
        auto it = kNames.find(pair.substr(0, eq));
        std::string value = pair.substr(eq + 1);
        if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
            value = value.substr(1, value.size() - 2);
        if (it != kNames.end()) env[it->second] = value;
    }
    return env;
}

// Runs a PostgreSQL tool; its output, or std::runtime_error with what it said.
std::string runTool(const std::string& tool, const std::vector<std::string>& args,
                    const std::string& conninfo) {
    Poco::Pipe out;
    Poco::ProcessHandle h =
        Poco::Process::launch(tool, args, "", nullptr, &out, &out, pgEnvironment(conninfo));
    Poco::PipeInputStream stream(out);
    std::string said;
    Poco::StreamCopier::copyToString(stream, said);
    const int rc = h.wait();
    if (rc != 0)
        throw std::runtime_error(tool + " failed (exit " + std::to_string(rc) + "): " + said);
    return said;
}

// The schema version a pg_dump archive holds: the rows of its schema_migrations (0: none, or not
// an archive pg_restore reads).
int dumpedSchema(const std::string& file, const std::string& conninfo) {
    std::string data;
    try {
        data = runTool("pg_restore", {"--data-only", "--table=schema_migrations", "--file=-", file},
                       conninfo);
    } catch (const std::runtime_error&) {
        return 0;
    }
    int newest = 0;
    std::istringstream lines(data);
    std::string line;
    bool rows = false;
    while (std::getline(lines, line)) {
        if (line.starts_with("COPY ") && line.find("schema_migrations") != std::string::npos)
            rows = true;
        else if (line == "\\.")
            rows = false;
        else if (rows && !line.empty() && std::isdigit(static_cast<unsigned char>(line[0])))
            newest = std::max(newest, std::stoi(line));
    }
    return newest;
}

std::int64_t sizeOf(const std::string& file) {
    return static_cast<std::int64_t>(Poco::File(file).getSize());
}

}  // namespace

BackupReport backupDatabase(const DatabaseUrl& url, const std::string& file) {
    const std::string part = file + ".part";
    if (Poco::File(part).exists()) Poco::File(part).remove();
    BackupReport report;
    try {
        if (url.backend == Backend::SQLite) {
            Sqlite from(url.sqlitePath, SQLITE_OPEN_READONLY);
            report.schemaVersion = schemaOf(from);
            {
                Sqlite to(part, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
                copyPages(from, to, "backup of " + url.sqlitePath);
                // A backup is one file: no write-ahead log beside it.
                to.scalar("PRAGMA journal_mode = DELETE");
            }
        } else {
            runTool("pg_dump", {"--format=custom", "--no-owner", "--file=" + part},
                    url.connectionString);
            report.schemaVersion = dumpedSchema(part, url.connectionString);
        }
        syncFile(part);
        Poco::File(part).renameTo(file);
    } catch (...) {
        if (Poco::File(part).exists()) Poco::File(part).remove();
        throw;
    }
    report.bytes = sizeOf(file);
    return report;
}

BackupReport restoreDatabase(const DatabaseUrl& url, const std::string& file, bool force) {
    if (!Poco::File(file).exists()) throw std::runtime_error("no file " + file);
    BackupReport report;
    report.bytes = sizeOf(file);
    if (url.backend == Backend::SQLite) {
        Sqlite from(file, SQLITE_OPEN_READONLY);
        const std::string check = from.scalar("PRAGMA integrity_check");
        if (check != "ok")
            throw std::runtime_error(file + " is damaged (integrity_check: " + check + ")");
        report.schemaVersion = schemaOf(from);
        checkVersion(report.schemaVersion, file);
        Sqlite to(url.sqlitePath, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        if (!force && schemaOf(to) > 0 &&
            std::stoll("0" + to.scalar("SELECT COUNT(*) FROM responses")) > 0)
            throw std::runtime_error(url.sqlitePath +
                                     " already holds responses; restore over it with --force");
        copyPages(from, to, "restore into " + url.sqlitePath);
        return report;
    }
    report.schemaVersion = dumpedSchema(file, url.connectionString);
    checkVersion(report.schemaVersion, file);
    auto psql = [&](const std::string& sql) {
        return runTool("psql", {"-XAtq", "-c", sql}, url.connectionString);
    };
    const bool hasResponses = psql("SELECT to_regclass('responses') IS NOT NULL").starts_with("t");
    if (!force && hasResponses && std::stoll("0" + psql("SELECT COUNT(*) FROM responses")) > 0)
        throw std::runtime_error(
            "the target database already holds responses; restore over it "
            "with --force");
    runTool("pg_restore",
            {"--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
             "--dbname=" + pgEnvironment(url.connectionString)["PGDATABASE"], file},
            url.connectionString);
    return report;
}

}  // namespace hailong
