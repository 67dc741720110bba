// hailong tests — shared helpers: temporary folders, fresh databases on both backends, a
// Runtime configured for tests, a small HTTP client, and child processes.
#pragma once

#include "app/Runtime.h"
#include "app/Settings.h"
#include "directory/DirectoryStore.h"
#include "store/Database.h"
#include "store/Migrations.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Object.h>

#include <functional>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace hailong::test {

/// A fresh folder under /tmp, removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    /// Writes `content` to `name` inside the folder; returns the full path.
    std::string write(const std::string& name, const std::string& content) const;

private:
    std::string path_;
};

/// Backends every storage test runs on. PostgreSQL is the server the ctest fixture started
/// (scripts/pg-test-server.sh); its absence is a test failure, not a skip.
std::vector<Backend> backends();
const char* name(Backend b);
/// Runs `body` once per backend, each in its own Catch section named after the backend.
void onEachBackend(const std::function<void(Backend)>& body);

/// An empty database of its own: a temporary SQLite file, or a new PostgreSQL database
/// (dropped on destruction).
class TestDatabase {
public:
    explicit TestDatabase(Backend backend);
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;
    /// The db.url for this database.
    const std::string& url() const { return url_; }
    Database& db() { return *db_; }
    /// Opens the database with the migrations applied.
    Database& migrated();

private:
    Backend backend_;
    TempDir dir_;
    std::string url_, pgName_;
    std::unique_ptr<Database> db_;
};

/// The base URL of the PostgreSQL test server.
std::string postgresServerUrl();

/// Paths to things the build produced.
std::string sourceDir();
std::string hailongBinary();
std::string testPluginDir();
/// The folder of the real channel plugins (counter, ...) built with this tree.
std::string pluginDir();

/// Settings for a test host: the given db.url, port 0, token "test-token", sources' folders,
/// the test plugins, plus `extra` overrides.
Settings testSettings(const std::string& dbUrl, const TempDir& dir,
                      std::map<std::string, std::string> extra = {});

/// A prepared Runtime (migrated, surveys published) on `dbUrl` with testSettings(); serving on
/// a free port when `serve`. Not thread-safe; one per test.
class TestHost {
public:
    TestHost(const std::string& dbUrl, const TempDir& dir, bool serve = true,
             std::map<std::string, std::string> extra = {});
    Runtime& runtime() { return *runtime_; }
    std::uint16_t port() const { return runtime_->port(); }

private:
    Settings settings_;
    Paths paths_;
    std::unique_ptr<Runtime> runtime_;
};

/// Loads the configured plugins, requires `plugin` to be running (a test failure naming why
/// not), and starts serving.
void serveWithPlugin(Runtime& rt, const std::string& plugin);

/// Runs `body` once per backend (a Catch section each) with a serving TestHost on a fresh
/// database.
void onEachHost(const std::function<void(Runtime&)>& body);

struct HttpResult {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
};
/// One request on a fresh connection to 127.0.0.1:port. Throws on connection failure.
HttpResult http(std::uint16_t port, const std::string& method, const std::string& path,
                const std::string& body = "", std::map<std::string, std::string> headers = {});
/// The value a response sets for cookie `name` ("" when it sets none).
std::string cookieSet(const HttpResult& r, const std::string& name);
/// A JSON POST with the test token.
HttpResult postJson(std::uint16_t port, const std::string& path, const std::string& json);

/// A free TCP port on 127.0.0.1 (bound and released).
std::uint16_t freePort();
/// This process's resident memory (VmRSS), in kB.
long residentKb();

/// A child process running `hailong` with arguments; killed (SIGKILL) on destruction if alive.
class Child {
public:
    /// Runs `binary` (default: the hailong of this build) with `args`.
    Child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
          const std::string& logFile, const std::string& binary = "");
    ~Child();
    void kill9();
    void terminate();  ///< SIGTERM
    int wait();        ///< exit code
    bool running() const;
    int pid() const { return pid_; }

private:
    int pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
};

/// Runs `hailong args...` to completion; returns exit code and captures stdout+stderr.
int runHailong(const std::vector<std::string>& args, std::string& output,
               const std::map<std::string, std::string>& env = {});

/// The Problem that `fn` throws; a test failure if it throws nothing (or something else).
Problem problemOf(const std::function<void()>& fn);
/// Whether `errors` holds one for `field` with message `code`.
bool hasError(const std::vector<FieldError>& errors, const std::string& field,
              const std::string& code);

/// The agency tree most tests need: province PT with communes XA and XB.
void saveProvinceWithTwoCommunes(DirectoryStore& directory);

/// Runs `body` once per backend (a Catch section each) with a TestHost on a fresh database
/// holding saveProvinceWithTwoCommunes(), serving when `serve` (with `extra` settings).
void onEachProvince(const std::function<void(TestHost&)>& body, bool serve = false,
                    std::map<std::string, std::string> extra = {});

/// How many times `needle` occurs in `haystack` (not overlapping).
std::size_t occurrences(const std::string& haystack, const std::string& needle);

/// The JSON object `body` holds (a test failure if it is not one).
Poco::JSON::Object::Ptr jsonObject(const std::string& body);
/// Whether `done` holds within `seconds` (asked every 100 ms).
bool eventually(const std::function<bool()>& done, int seconds = 10);

/// Waits until GET /api/v1/health answers on `port` (up to `seconds`); false if it never does.
bool waitForHealth(std::uint16_t port, int seconds);

}  // namespace hailong::test
