// The OpenAPI document (web/openapi.json, served at GET /api/v1/openapi.json) against the router of
// a host with every channel plugin: every machine route is documented with its method, and every
// documented operation is a route; the pages for people (console, forms, static files) are left
// out by an explicit list, each with its reason. Also: the document served names the host's
// links.base_url, a missing or broken document stops the host at start, and every problem code it
// lists has its message. Whether it is valid OpenAPI 3 is checked by tests/e2e/openapi.test.mjs.
#include "app/OpenApi.h"
#include "support/TestSupport.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace hailong;
using Poco::JSON::Object;

namespace {

// Registered routes that are not part of the API, and why. An entry with a method names one
// route; one without ("/console/") names every route under that prefix. A route with "/api/" in
// it is never left out: a new machine route must be documented.
struct Excluded {
    std::string route;
    const char* why;
};
const std::vector<Excluded> kExcluded{
    {"GET /", "the front page (HTML)"},
    {"GET /favicon.ico", "an icon"},
    {"/static/", "the front page's and the console's static files"},
    {"/console/", "the console for officials: HTML pages and their form posts"},
    {"GET /c/counter/", "the tablet's rating screen, or its pairing page (HTML)"},
    {"POST /c/counter/rate", "the tablet's form fallback without JavaScript (HTML)"},
    {"/c/counter/static/", "the tablet's script and styles"},
    {"/c/webform/", "the citizen's web form: HTML pages, form posts, static files"},
    {"/s/", "the web form again, at the short address survey links and QR codes carry"},
};

bool matches(const Excluded& e, const std::string& method, const std::string& pattern) {
    if (e.route.starts_with("/")) return pattern.starts_with(e.route);
    return e.route == method + " " + pattern;
}

const Excluded* exclusionOf(const std::string& method, const std::string& pattern) {
    if (pattern.find("/api/") != std::string::npos) return nullptr;
    for (const Excluded& e : kExcluded)
        if (matches(e, method, pattern)) return &e;
    return nullptr;
}

// A router pattern as an OpenAPI path: "{path*}" (the rest of the path) is "{path}".
std::string openApiPath(std::string pattern) {
    for (std::size_t at = pattern.find("*}"); at != std::string::npos; at = pattern.find("*}"))
        pattern.erase(at, 1);
    return pattern;
}

Object::Ptr parse(const std::string& json) {
    return Poco::JSON::Parser().parse(json).extract<Object::Ptr>();
}

Object::Ptr parseFile(const std::string& file) {
    std::ifstream in(file);
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    return parse(text.str());
}

// "METHOD /path" of every operation of the document.
std::set<std::string> documentedOperations(const Object::Ptr& document) {
    static const std::set<std::string> kMethods{"get",     "put",  "post",  "delete",
                                                "options", "head", "patch", "trace"};
    std::set<std::string> out;
    const Object::Ptr paths = document->getObject("paths");
    REQUIRE(paths);
    for (const auto& [path, item] : *paths)
        for (const auto& [method, operation] : *item.extract<Object::Ptr>())
            if (kMethods.contains(method)) {
                std::string upper = method;
                for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
                out.insert(upper + " " + path);
            }
    return out;
}

std::map<std::string, std::string> allPlugins() {
    return {{"paths.plugins", test::pluginDir()}, {"plugins.enabled", "counter,sms,webform"}};
}

}  // namespace

TEST_CASE("OpenAPI: the document lists every API route of a host with all plugins, and no other",
          "[openapi]") {
    test::TestDatabase tdb(Backend::SQLite);
    test::TempDir dir;
    test::TestHost host(tdb.url(), dir, false, allPlugins());
    Runtime& rt = host.runtime();
    rt.loadPlugins();
    for (const auto& p : rt.plugins().statuses()) {
        INFO("plugin " << p.name << ": " << p.state << " " << p.reason);
        CHECK(p.state == "running");
    }
    REQUIRE(rt.plugins().statuses().size() == 3);
    rt.serve();

    // The document as a client gets it, over HTTP from the serving host.
    const test::HttpResult got = test::http(host.port(), "GET", "/api/v1/openapi.json");
    REQUIRE(got.status == 200);
    CHECK(got.headers.at("content-type").starts_with("application/json"));
    const Object::Ptr document = parse(got.body);
    CHECK(document->getValue<std::string>("openapi").starts_with("3."));
    const std::set<std::string> documented = documentedOperations(document);

    std::set<std::string> registered;
    std::size_t compared = 0, excluded = 0;
    std::set<std::string> exclusionsUsed;
    for (const auto& route : rt.routes().list()) {
        const std::string key = route.method + " " + openApiPath(route.pattern);
        registered.insert(key);
        if (const Excluded* e = exclusionOf(route.method, route.pattern)) {
            ++excluded;
            exclusionsUsed.insert(e->route);
            INFO(key << " is left out (" << e->why << ") but documented");
            CHECK(documented.count(key) == 0);
            continue;
        }
        ++compared;
        INFO("a route missing from web/openapi.json: " << key);
        CHECK(documented.count(key) == 1);
    }
    for (const std::string& key : documented) {
        INFO("documented in web/openapi.json but not a route: " << key);
        CHECK(registered.count(key) == 1);
    }
    for (const Excluded& e : kExcluded) {
        INFO("an exclusion that no route needs any more: " << e.route);
        CHECK(exclusionsUsed.count(e.route) == 1);
    }
    CHECK(compared == documented.size());
    std::printf("OpenAPI: %zu operations documented, %zu routes compared, %zu routes left out\n",
                documented.size(), compared, excluded);
}

TEST_CASE("OpenAPI: the served document names the host's links.base_url as its server",
          "[openapi]") {
    test::TestDatabase tdb(Backend::SQLite);
    SECTION("with links.base_url, that address (without its trailing slash)") {
        test::TempDir dir;
        test::TestHost host(tdb.url(), dir, true,
                            {{"links.base_url", "https://hailong.example.gov.vn/"}});
        const auto got = test::http(host.port(), "GET", "/api/v1/openapi.json");
        REQUIRE(got.status == 200);
        CHECK(got.headers.count("cache-control") == 1);
        const Object::Ptr document = parse(got.body);
        const auto servers = document->getArray("servers");
        REQUIRE(servers->size() == 1);
        CHECK(servers->getObject(0)->getValue<std::string>("url") ==
              "https://hailong.example.gov.vn");
        // The rest is the file as written, members in their order.
        const Object::Ptr file = parseFile(test::sourceDir() + "/web/openapi.json");
        CHECK(document->getValue<std::string>("openapi") == file->getValue<std::string>("openapi"));
        CHECK(got.body.find(R"({"openapi":)") == 0);
        CHECK(documentedOperations(document) == documentedOperations(file));
    }
    SECTION("without it, the relative \"/\" the file gives") {
        test::TempDir dir;
        test::TestHost host(tdb.url(), dir, true);
        const auto got = test::http(host.port(), "GET", "/api/v1/openapi.json");
        REQUIRE(got.status == 200);
        const Object::Ptr document = parse(got.body);
        CHECK(document->getArray("servers")->getObject(0)->getValue<std::string>("url") == "/");
        // Public: no credentials needed, and a HEAD is answered like a GET.
        CHECK(test::http(host.port(), "HEAD", "/api/v1/openapi.json").status == 200);
    }
}

TEST_CASE("OpenAPI: a missing or broken document stops the host at start", "[openapi]") {
    test::TempDir dir;
    CHECK_THROWS_WITH(openApiDocument(dir.file("openapi.json"), ""),
                      Catch::Contains("cannot be read"));
    CHECK_THROWS_WITH(openApiDocument(dir.write("a.json", R"({"openapi": "3.0.3", )"), ""),
                      Catch::Contains("is not a JSON object"));
    CHECK_THROWS_WITH(openApiDocument(dir.write("b.json", "[1, 2]"), ""),
                      Catch::Contains("is not a JSON object"));
    CHECK_THROWS_WITH(openApiDocument(dir.write("c.json", R"({"swagger": "2.0"})"), ""),
                      Catch::Contains("\"openapi\""));
    CHECK_THROWS_WITH(openApiDocument(dir.write("d.json", R"({"openapi": 3})"), ""),
                      Catch::Contains("\"openapi\""));
    const std::string served = openApiDocument(
        dir.write("e.json", R"({"openapi": "3.0.3", "servers": [{"url": "/"}], "paths": {}})"),
        "https://x.example");
    CHECK(served == R"j({"openapi":"3.0.3","servers":[{"url":"https://x.example",)j"
                    R"j("description":"this host (links.base_url)"}],"paths":{}})j");

    // A host whose web folder has a broken document does not start serving.
    test::TestDatabase tdb(Backend::SQLite);
    std::filesystem::create_directories(dir.file("web"));
    dir.write("web/openapi.json", "{");
    test::TestHost host(tdb.url(), dir, false, {{"paths.web", dir.file("web")}});
    CHECK_THROWS_WITH(host.runtime().serve(), Catch::Contains("openapi.json"));
}

TEST_CASE(
    "OpenAPI: every problem code the document lists has its message in Vietnamese and English",
    "[openapi]") {
    const Object::Ptr document = parseFile(test::sourceDir() + "/web/openapi.json");
    const Object::Ptr schemas = document->getObject("components")->getObject("schemas");
    const Object::Ptr vi = parseFile(test::sourceDir() + "/locale/vi/messages.json");
    const Object::Ptr en = parseFile(test::sourceDir() + "/locale/en/messages.json");
    const Object::Ptr problemCodes = schemas->getObject("Problem")->getObject("x-problem-codes");
    REQUIRE(problemCodes);
    CHECK(problemCodes->size() > 50);
    for (const auto& [code, entry] : *problemCodes) {
        INFO("problem code " << code);
        CHECK(vi->has(code));
        CHECK(en->has(code));
        const Object::Ptr e = entry.extract<Object::Ptr>();
        CHECK(e->getValue<std::string>("message") == en->getValue<std::string>(code));
        const auto statuses = e->getArray("status");
        REQUIRE(statuses);
        for (std::size_t i = 0; i < statuses->size(); ++i) {
            const int status = statuses->getElement<int>(static_cast<unsigned>(i));
            CHECK(status >= 400);
            CHECK(status < 600);
        }
    }
    const auto fieldCodes = schemas->getObject("FieldError")->getArray("x-field-codes");
    REQUIRE(fieldCodes);
    for (std::size_t i = 0; i < fieldCodes->size(); ++i) {
        const std::string code = fieldCodes->getElement<std::string>(static_cast<unsigned>(i));
        INFO("field code " << code);
        CHECK(vi->has(code));
        CHECK(en->has(code));
    }
}
