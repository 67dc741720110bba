// Tests for core/plugin: a good plugin, a missing file, a wrong API version and a plugin that
// throws in start(); the host reports each and keeps serving.
#include "support/TestSupport.h"

#include <hailong/Version.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

#include <catch2/catch.hpp>

using namespace hailong;

namespace {
const PluginStatus* find(const Runtime& rt, const std::string& name) {
    for (const auto& p : rt.plugins().statuses())
        if (p.name == name) return &p;
    return nullptr;
}
}  // namespace

TEST_CASE("plugins: loaded, refused and failed ones are reported and the host serves on") {
    test::TempDir dir;
    Settings settings =
        test::testSettings("sqlite:" + dir.file("hl.db"), dir,
                           {{"plugins.enabled", "echo,wrongapi,throwing,ghost,notaplugin"},
                            {"plugin.echo.greeting", "xin chào"}});
    Paths paths = Paths::resolve(settings.config(), Paths::executableDir());
    Runtime rt(settings.config(), paths, Poco::Logger::get("test.plugins"));
    rt.prepare();
    rt.loadPlugins();

    const PluginStatus* echo = find(rt, "echo");
    REQUIRE(echo);
    CHECK(echo->state == "running");
    CHECK(echo->file.find("libecho.so") != std::string::npos);

    const PluginStatus* wrong = find(rt, "wrongapi");
    REQUIRE(wrong);
    CHECK(wrong->state == "refused");
    const std::string api = std::to_string(HAILONG_PLUGIN_API);
    CHECK(wrong->reason.find("plugin API version " + std::to_string(HAILONG_PLUGIN_API + 100) +
                             ", this host needs " + api) != std::string::npos);

    const PluginStatus* throwing = find(rt, "throwing");
    REQUIRE(throwing);
    CHECK(throwing->state == "failed");
    CHECK(throwing->reason.find("start failed: cannot reach the SMS gateway") != std::string::npos);

    const PluginStatus* ghost = find(rt, "ghost");
    REQUIRE(ghost);
    CHECK(ghost->state == "refused");
    CHECK(ghost->reason.find("libghost.so not found") != std::string::npos);

    const PluginStatus* stranger = find(rt, "notaplugin");
    REQUIRE(stranger);
    CHECK(stranger->state == "refused");
    CHECK(stranger->reason.find("not a hailong plugin") != std::string::npos);

    rt.serve();
    const auto port = rt.port();
    // The good plugin's routes are mounted under /c/echo/ and get their configuration.
    CHECK(test::http(port, "GET", "/c/echo/ping").body == "xin chào");
    // The failed plugin's half-registered route was never published, its sender withdrawn.
    CHECK(test::http(port, "GET", "/c/throwing/half").status == 404);
    rt.outbox().enqueue({"throwing", "84912345678", "xin chào", "t-1", 0});
    CHECK(rt.outbox().deliverDue() == 0);
    // A plugin stores ratings through the one ingest path.
    auto rated = test::http(port, "POST", "/c/echo/rate", R"({"key":"p-1","rating":3})",
                            {{"Content-Type", "application/json"}});
    CHECK(rated.status == 201);
    CHECK(test::http(port, "POST", "/c/echo/rate", R"({"key":"p-1","rating":3})",
                     {{"Content-Type", "application/json"}})
              .status == 200);
    // Health shows every plugin with its state and reason.
    auto health = Poco::JSON::Parser()
                      .parse(test::http(port, "GET", "/api/v1/health", "",
                                        {{"Authorization", "Bearer test-token"}})
                                 .body)
                      .extract<Poco::JSON::Object::Ptr>();
    CHECK(health->getValue<std::string>("status") == "degraded");
    auto plugins = health->getArray("plugins");
    REQUIRE(plugins->size() == 5);
    std::map<std::string, std::string> states;
    for (std::size_t i = 0; i < plugins->size(); ++i) {
        auto p = plugins->getObject(static_cast<unsigned>(i));
        states[p->getValue<std::string>("name")] = p->getValue<std::string>("state");
        if (p->getValue<std::string>("state") != "running") CHECK(p->has("reason"));
    }
    CHECK(states == std::map<std::string, std::string>{{"echo", "running"},
                                                       {"wrongapi", "refused"},
                                                       {"throwing", "failed"},
                                                       {"ghost", "refused"},
                                                       {"notaplugin", "refused"}});
    rt.shutdown();
}

TEST_CASE("hailong plugins lists what loads and why not") {
    test::TempDir dir;
    std::string out;
    const int code = test::runHailong(
        {"plugins", "--db", "sqlite:" + dir.file("hl.db"), "--plugins-dir", test::testPluginDir()},
        out);
    CHECK(code != 0);  // some plugins are broken on purpose
    CHECK(out.find("echo") != std::string::npos);
    CHECK(out.find("running") != std::string::npos);
    CHECK(out.find("wrongapi        refused   plugin API version " +
                   std::to_string(HAILONG_PLUGIN_API + 100)) != std::string::npos);
    CHECK(out.find("throwing        failed    start failed") != std::string::npos);

    const int good =
        test::runHailong({"plugins", "--db", "sqlite:" + dir.file("hl.db"), "--plugins-dir",
                          test::testPluginDir(), "--set", "plugins.enabled=echo"},
                         out);
    CHECK(good == 0);
}
