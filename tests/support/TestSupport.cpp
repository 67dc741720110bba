#include "support/TestSupport.h"

#include "common/Random.h"

#include <catch2/catch.hpp>

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

using namespace Poco::Data::Keywords;

namespace hailong::test {

TempDir::TempDir() {
    char tmpl[] = "/tmp/hailong-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    try {
        Poco::File(path_).remove(true);
    } catch (...) {
    }
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
    const std::string full = file(name);
    Poco::FileOutputStream out(full);
    out << content;
    return full;
}

std::vector<Backend> backends() {
    return {Backend::SQLite, Backend::PostgreSQL};
}
const char* name(Backend b) {
    return b == Backend::SQLite ? "sqlite" : "postgresql";
}

void onEachBackend(const std::function<void(Backend)>& body) {
    for (Backend b : backends()) {
        DYNAMIC_SECTION(name(b)) {
            body(b);
        }
    }
}

std::string postgresServerUrl() {
    if (const char* env = std::getenv("TEST_PG_URL"); env && *env) return env;
    Poco::File file(HAILONG_TEST_PG_FILE);
    if (!file.exists())
        throw std::runtime_error(
            "no PostgreSQL test server: run the tests with ctest (fixture pg_start) or set "
            "TEST_PG_URL");
    Poco::FileInputStream in(HAILONG_TEST_PG_FILE);
    std::string url;
    std::getline(in, url);
    return url;
}

TestDatabase::TestDatabase(Backend backend) : backend_(backend) {
    if (backend == Backend::SQLite) {
        url_ = "sqlite:" + dir_.file("hailong.db");
    } else {
        const std::string server = postgresServerUrl();
        pgName_ = "t_" + random::hex(6);
        Database admin(DatabaseUrl::parse(server));
        admin.read([&](Poco::Data::Session& s) { s << "CREATE DATABASE " + pgName_, now; });
        url_ = server.substr(0, server.rfind('/') + 1) + pgName_;
    }
    db_ = std::make_unique<Database>(DatabaseUrl::parse(url_));
}

TestDatabase::~TestDatabase() {
    db_.reset();
    if (pgName_.empty()) return;
    try {
        Database admin(DatabaseUrl::parse(postgresServerUrl()));
        admin.read([&](Poco::Data::Session& s) {
            s << "DROP DATABASE IF EXISTS " + pgName_ + " WITH (FORCE)", now;
        });
    } catch (...) {
    }
}

Database& TestDatabase::migrated() {
    Migrations::apply(*db_);
    return *db_;
}

std::string sourceDir() {
    return HAILONG_SOURCE_DIR;
}
std::string hailongBinary() {
    return HAILONG_BINARY;
}
std::string testPluginDir() {
    return HAILONG_TEST_PLUGIN_DIR;
}
std::string pluginDir() {
    return HAILONG_PLUGIN_DIR;
}

Settings testSettings(const std::string& dbUrl, const TempDir& dir,
                      std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> flags{
        {"db.url", dbUrl},
        {"http.port", "0"},
        {"http.log_requests", "false"},
        {"api.token", "test-token"},
        {"paths.data", dir.path()},
        {"paths.plugins", testPluginDir()},
        {"paths.surveys", sourceDir() + "/surveys"},
        {"paths.web", sourceDir() + "/web"},
        {"paths.locale", sourceDir() + "/locale"},
        {"plugins.enabled", "echo"},
        {"outbox.poll_ms", "50"},
    };
    for (auto& [k, v] : extra) flags[k] = v;
    char* noEnv[] = {nullptr};
    return Settings::load("", flags, noEnv);
}

TestHost::TestHost(const std::string& dbUrl, const TempDir& dir, bool serve,
                   std::map<std::string, std::string> extra)
    : settings_(testSettings(dbUrl, dir, std::move(extra))),
      paths_(Paths::resolve(settings_.config(), Paths::executableDir())),
      runtime_(
          std::make_unique<Runtime>(settings_.config(), paths_, Poco::Logger::get("test.host"))) {
    runtime_->prepare();
    if (serve) runtime_->serve();
}

void onEachProvince(const std::function<void(TestHost&)>& body, bool serve,
                    std::map<std::string, std::string> extra) {
    onEachBackend([&](Backend b) {
        TestDatabase tdb(b);
        TempDir dir;
        TestHost host(tdb.url(), dir, serve, extra);
        saveProvinceWithTwoCommunes(host.runtime().directory());
        body(host);
    });
}

void onEachHost(const std::function<void(Runtime&)>& body) {
    onEachBackend([&](Backend b) {
        TestDatabase tdb(b);
        TempDir dir;
        TestHost host(tdb.url(), dir, true);
        body(host.runtime());
    });
}

HttpResult http(std::uint16_t port, const std::string& method, const std::string& path,
                const std::string& body, std::map<std::string, std::string> headers) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) request.set(k, v);
    if (!body.empty() || method == "POST" || method == "PATCH")
        request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    std::ostream& out = session.sendRequest(request);
    out << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    HttpResult result;
    result.status = response.getStatus();
    for (const auto& [k, v] : response) {
        std::string key = k;
        std::transform(key.begin(), key.end(), key.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        result.headers[key] = v;
    }
    Poco::StreamCopier::copyToString(in, result.body);
    return result;
}

HttpResult postJson(std::uint16_t port, const std::string& path, const std::string& json) {
    return http(port, "POST", path, json,
                {{"Content-Type", "application/json"}, {"Authorization", "Bearer test-token"}});
}

std::uint16_t freePort() {
    Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
    return s.address().port();
}

std::string cookieSet(const HttpResult& r, const std::string& name) {
    const auto it = r.headers.find("set-cookie");
    if (it == r.headers.end() || !it->second.starts_with(name + "=")) return "";
    const std::string& c = it->second;
    return c.substr(name.size() + 1, c.find(';') - name.size() - 1);
}

long residentKb() {
    Poco::FileInputStream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    throw std::runtime_error("no VmRSS in /proc/self/status");
}

Child::Child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
             const std::string& logFile, const std::string& binary) {
    std::vector<std::string> argv{binary.empty() ? hailongBinary() : binary};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        const int fd = ::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        ::execv(cargv[0], cargv.data());
        ::_exit(127);
    }
}

Child::~Child() {
    if (!reaped_) {
        kill9();
        wait();
    }
}

void Child::kill9() {
    if (!reaped_) ::kill(pid_, SIGKILL);
}
void Child::terminate() {
    if (!reaped_) ::kill(pid_, SIGTERM);
}

int Child::wait() {
    if (!reaped_) {
        ::waitpid(pid_, &status_, 0);
        reaped_ = true;
    }
    if (WIFEXITED(status_)) return WEXITSTATUS(status_);
    return 128 + WTERMSIG(status_);
}

bool Child::running() const {
    if (reaped_) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
}

int runHailong(const std::vector<std::string>& args, std::string& output,
               const std::map<std::string, std::string>& env) {
    TempDir dir;
    const std::string log = dir.file("out.txt");
    int code = 0;
    {
        Child child(args, env, log);
        code = child.wait();
    }
    Poco::FileInputStream in(log);
    output.clear();
    Poco::StreamCopier::copyToString(in, output);
    return code;
}

Problem problemOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Problem& p) {
        return p;
    }
    FAIL("expected a Problem, nothing was thrown");
    throw std::logic_error("unreachable");
}

bool hasError(const std::vector<FieldError>& errors, const std::string& field,
              const std::string& code) {
    return std::any_of(errors.begin(), errors.end(),
                       [&](const FieldError& e) { return e.field == field && e.code == code; });
}

bool waitForHealth(std::uint16_t port, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            if (http(port, "GET", "/api/v1/health").status == 200) return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

void serveWithPlugin(Runtime& rt, const std::string& plugin) {
    rt.loadPlugins();
    std::string state = "not loaded";
    for (const auto& p : rt.plugins().statuses())
        if (p.name == plugin) state = p.state + (p.reason.empty() ? "" : ": " + p.reason);
    INFO("plugin " << plugin);
    REQUIRE(state == "running");
    rt.serve();
}

std::size_t occurrences(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size()))
        ++n;
    return n;
}

void saveProvinceWithTwoCommunes(DirectoryStore& d) {
    d.save(AgencyInput{"PT", "Tỉnh Phú Thọ", "", "province", "", true});
    d.save(AgencyInput{"XA", "Xã Thử", "PT", "commune", "", true});
    d.save(AgencyInput{"XB", "Xã Bên", "PT", "commune", "", true});
}

Poco::JSON::Object::Ptr jsonObject(const std::string& body) {
    INFO(body.substr(0, 500));
    const auto parsed = Poco::JSON::Parser().parse(body);
    REQUIRE(parsed.type() == typeid(Poco::JSON::Object::Ptr));
    return parsed.extract<Poco::JSON::Object::Ptr>();
}

bool eventually(const std::function<bool()>& done, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

}  // namespace hailong::test
