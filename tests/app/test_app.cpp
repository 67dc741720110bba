// Tests for core/app: configuration layers, folders, the CLI commands, the core JSON API and the
// demo loader.
#include "app/Demo.h"
#include "support/TestSupport.h"

#include <hailong/Version.h>
#include "survey/SurveyParser.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <set>
#include <sstream>

using namespace hailong;
using namespace Poco::Data::Keywords;

namespace {
Poco::JSON::Object::Ptr json(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
}
std::string errorCodes(const Poco::JSON::Object::Ptr& problem) {
    std::string out;
    if (auto errors = problem->getArray("errors"))
        for (std::size_t i = 0; i < errors->size(); ++i) {
            auto e = errors->getObject(static_cast<unsigned>(i));
            out += e->getValue<std::string>("field") + ":" + e->getValue<std::string>("code") + " ";
        }
    return out;
}
}  // namespace

TEST_CASE("settings: flags beat environment beat file beat defaults") {
    test::TempDir dir;
    const std::string file =
        dir.write("hailong.properties",
                  "http.port = 9000\nhttp.threads = 12\ndb.url = sqlite:file.db\n"
                  "htpp.port = 1\n");
    std::string e1 = "HAILONG_HTTP_THREADS=20", e2 = "HAILONG_DB_URL=sqlite:env.db",
                e3 = "HAILONG_PLUGIN_SMS_SECRET=s3", e4 = "HAILONG_NO_SUCH=1";
    char* env[] = {e1.data(), e2.data(), e3.data(), e4.data(), nullptr};
    Settings s = Settings::load(file, {{"db.url", "sqlite:flag.db"}}, env);
    auto& c = s.config();
    CHECK(c.getString("db.url") == "sqlite:flag.db");
    CHECK(s.sourceOf("db.url") == "flag");
    CHECK(c.getInt("http.threads") == 20);
    CHECK(s.sourceOf("http.threads") == "env HAILONG_HTTP_THREADS");
    CHECK(c.getInt("http.port") == 9000);
    CHECK(s.sourceOf("http.port") == "file");
    CHECK(c.getInt("http.max_body_bytes") == 1048576);
    CHECK(s.sourceOf("http.max_body_bytes") == "default");
    CHECK(c.getString("plugin.sms.secret") == "s3");
    CHECK(Settings::envName("http.keep_alive_timeout_s") == "HAILONG_HTTP_KEEP_ALIVE_TIMEOUT_S");
    std::string unknown;
    for (const auto& k : s.unknownKeys()) unknown += k + ";";
    CHECK(unknown.find("htpp.port (file)") != std::string::npos);
    CHECK(unknown.find("HAILONG_NO_SUCH (environment)") != std::string::npos);

    char* none[] = {nullptr};
    CHECK_THROWS_WITH(Settings::load("", {{"http.port", "eighty"}}, none),
                      Catch::Contains("http.port must be a number"));
    CHECK_THROWS_WITH(Settings::load(dir.file("missing.properties"), {}, none),
                      Catch::Contains("configuration file not found"));
}

TEST_CASE("the binary finds its folders in the build tree") {
    char* none[] = {nullptr};
    Settings s = Settings::load("", {}, none);
    Paths p = Paths::resolve(s.config(), test::sourceDir() + "/build-does-not-exist");
    CHECK_FALSE(p.buildTree);  // no marker there: the installed layout is assumed
    CHECK(p.surveys.find("share/hailong/surveys") != std::string::npos);
    Paths built = Paths::resolve(s.config(), Poco::Path(test::hailongBinary()).parent().toString());
    CHECK(built.buildTree);
    CHECK(built.surveys == test::sourceDir() + "/surveys");
    CHECK(built.locale == test::sourceDir() + "/locale");
}

TEST_CASE("CLI: version, config, migrate, import and demo") {
    test::TempDir dir;
    const std::string db = "sqlite:" + dir.file("cli.db");
    std::string out;
    CHECK(test::runHailong({"version"}, out) == 0);
    CHECK(out.find("hailong 0.1.0 (plugin API " + std::to_string(HAILONG_PLUGIN_API) + ")") == 0);

    CHECK(test::runHailong({"config", "--port", "9123"}, out, {{"HAILONG_HTTP_THREADS", "7"}}) ==
          0);
    // One line per key: the key, its value and where it came from (columns aligned).
    auto line = [&](const std::string& key) {
        const auto at = out.find("\n" + key + " ");
        return at == std::string::npos ? std::string()
                                       : out.substr(at + 1, out.find('\n', at + 1) - at - 1);
    };
    CHECK(line("http.port").find("= 9123    # flag") != std::string::npos);
    CHECK(line("http.threads").find("= 7    # env HAILONG_HTTP_THREADS") != std::string::npos);
    CHECK(out.find("resolved folders (build tree)") != std::string::npos);

    CHECK(test::runHailong({"migrate", "--db", db}, out) == 0);
    CHECK(out.find("schema version " + std::to_string(Migrations::all().back().version)) !=
          std::string::npos);

    const std::string csv = dir.write("directory.csv",
                                      "type,code,name,parent,agency\n"
                                      "agency,PT,Tỉnh Phú Thọ,,\n"
                                      "counter,PT-Q1,Quầy 1,,PT\n"
                                      "counter,PT-Q2,Quầy 2,,NOPE\n");
    CHECK(test::runHailong({"import", "directory", csv, "--db", db}, out) != 0);
    CHECK(out.find("3 dòng: 2 tạo mới, 0 cập nhật, 0 không đổi, 1 bị từ chối.") !=
          std::string::npos);
    CHECK(out.find("Dòng 4: counter PT-Q2 [agency]: Không có mã «NOPE» trong danh mục.") !=
          std::string::npos);
    CHECK(test::runHailong({"import", "directory", csv, "--db", db, "--lang", "en"}, out) != 0);
    CHECK(out.find("3 rows: 0 created, 0 updated, 2 unchanged, 1 rejected.") != std::string::npos);
    CHECK(test::runHailong({"import", "dossiers", dir.file("missing.csv"), "--db", db}, out) != 0);
    CHECK(out.find("Không tìm thấy tệp") != std::string::npos);

    // The examples README points to import as documented.
    const std::string examples = test::sourceDir() + "/examples/";
    CHECK(test::runHailong({"import", "directory", examples + "directory.csv", "--db", db}, out) ==
          0);
    CHECK(out.find("6 dòng: 6 tạo mới") != std::string::npos);
    CHECK(test::runHailong({"import", "dossiers", examples + "dossiers.csv", "--db", db}, out) ==
          65);
    CHECK(out.find("3 dòng: 2 tạo mới, 0 cập nhật, 0 không đổi, 1 bị từ chối.") !=
          std::string::npos);

    const std::string demoDb = "sqlite:" + dir.file("demo.db");
    CHECK(test::runHailong({"demo", "--dossiers", "400", "--db", demoDb}, out) == 0);
    CHECK(out.find("400 dossiers") != std::string::npos);
    CHECK(test::runHailong({"demo", "--dossiers", "400", "--db", demoDb}, out) != 0);  // not empty
    CHECK(out.find("already holds dossiers") != std::string::npos);

    // Survey files are checked without a database, every error with its JSON path.
    std::vector<std::string> validate{"survey", "validate"};
    for (const char* f :
         {"counter-quick", "dossier-tt01", "nps-service", "sipas-2017", "sms-quick"})
        validate.push_back(test::sourceDir() + "/surveys/" + f + ".json");
    CHECK(test::runHailong(validate, out) == 0);
    CHECK(out.find("hợp lệ (phiếu «sipas-2017», 24 câu hỏi, 28 chỉ số)") != std::string::npos);
    const std::string broken =
        test::sourceDir() + "/tests/survey/broken/13-scale-seven-labels.json";
    CHECK(test::runHailong({"survey", "validate", broken, "--lang", "en"}, out) == 65);
    CHECK(out.find("13-scale-seven-labels.json: /questions/0/scale: 7 labels for 5 points.") !=
          std::string::npos);
    CHECK(test::runHailong({"survey", "list", "--db", db}, out) == 0);
    CHECK(out.find("sipas-2017          1        published  24") != std::string::npos);

    CHECK(test::runHailong({"frobnicate"}, out) != 0);
    CHECK(out.find("unknown command") != std::string::npos);
}

TEST_CASE("the demo is realistic, complete and stored through ingest") {
    for (Backend b : test::backends()) {
        DYNAMIC_SECTION(test::name(b)) {
            test::TestDatabase tdb(b);
            test::TempDir dir;
            test::TestHost host(tdb.url(), dir, false);
            Runtime& rt = host.runtime();
            DemoOptions options;
            options.dossiers = 600;
            options.nowMs = 1764547200000;  // 2025-12-01: reproducible
            DemoSummary s = loadDemo(rt, test::sourceDir() + "/locale/vi/demo/seed.json", options);
            CHECK(s.agencies >= 20);
            CHECK(s.procedures >= 200);
            CHECK(s.dossiers == 600);
            CHECK(rt.directory().count("dossiers") == 600);
            CHECK(rt.directory().count("responses") == static_cast<std::int64_t>(s.responses));
            CHECK(s.responses > 200);
            // Dossiers span the year, ratings point at real dossiers, every agency sits under the
            // province.
            std::int64_t first = 0, last = 0, orphans = -1, lowRatings = 0;
            rt.database().read([&](Poco::Data::Session& ss) {
                ss << "SELECT MIN(received_at), MAX(received_at) FROM dossiers", into(first),
                    into(last), now;
                ss << "SELECT COUNT(*) FROM responses r LEFT JOIN dossiers d ON d.id = "
                      "r.dossier_id "
                      "WHERE d.id IS NULL",
                    into(orphans), now;
                ss << "SELECT COUNT(*) FROM answers WHERE question_id = 'rating' AND value_num = 1",
                    into(lowRatings), now;
            });
            CHECK(last - first > 300LL * 24 * 3600 * 1000);
            CHECK(orphans == 0);
            CHECK(lowRatings > 0);
            auto tree = rt.directory().agencies(ListQuery{"PT", "", {}, {}, 1000, 0});
            CHECK(static_cast<std::size_t>(tree.size()) == s.agencies);
        }
    }
}

TEST_CASE("core API: directory resources, auth, submissions, surveys, health") {
    test::TestDatabase tdb(Backend::SQLite);
    test::TempDir dir;
    test::TestHost host(tdb.url(), dir, true);
    Runtime& rt = host.runtime();
    const auto port = rt.port();

    SECTION("writes need the token") {
        auto r = test::http(port, "POST", "/api/v1/agencies", R"({"code":"PT","name":"Phú Thọ"})",
                            {{"Content-Type", "application/json"}});
        CHECK(r.status == 401);
        CHECK(r.headers["www-authenticate"] == "Bearer");
        r = test::http(
            port, "POST", "/api/v1/agencies", R"({"code":"PT","name":"Phú Thọ"})",
            {{"Content-Type", "application/json"}, {"Authorization", "Bearer wrong-token"}});
        CHECK(r.status == 401);
    }
    SECTION("create, update, read and list the directory") {
        CHECK(test::postJson(port, "/api/v1/agencies",
                             R"({"code":"PT","name":"Tỉnh Phú Thọ","kind":"province"})")
                  .status == 201);
        CHECK(
            test::postJson(port, "/api/v1/agencies", R"({"code":"XA","name":"Xã A","parent":"PT"})")
                .status == 201);
        CHECK(
            test::postJson(port, "/api/v1/agencies", R"({"code":"XA","name":"Xã A","parent":"PT"})")
                .status == 200);
        auto patched = test::http(
            port, "PATCH", "/api/v1/agencies/XA", R"({"name":"Xã Âu Cơ"})",
            {{"Content-Type", "application/json"}, {"Authorization", "Bearer test-token"}});
        CHECK(patched.status == 200);
        CHECK(json(patched.body)->getValue<std::string>("result") == "updated");
        auto xa = json(test::http(port, "GET", "/api/v1/agencies/XA").body);
        CHECK(xa->getValue<std::string>("name") == "Xã Âu Cơ");
        CHECK(xa->getValue<std::string>("parent") == "PT");  // kept by PATCH
        CHECK(json(test::http(port, "GET", "/api/v1/agencies/PT").body)
                  ->getArray("children")
                  ->size() == 1);
        CHECK(test::postJson(port, "/api/v1/counters",
                             R"({"code":"XA-Q1","name":"Quầy 1","agency":"XA"})")
                  .status == 201);
        CHECK(test::postJson(port, "/api/v1/officers",
                             R"({"code":"XA-CB1","name":"Lê Thị Hoa","agency":"XA"})")
                  .status == 201);
        CHECK(
            test::postJson(port, "/api/v1/procedures",
                           R"({"code":"1.001193","name":"Đăng ký khai sinh","processing_days":1})")
                .status == 201);
        auto dossier = test::postJson(
            port, "/api/v1/dossiers",
            R"({"code":"XA-1","agency":"XA","procedure":"1.001193","officer":"XA-CB1","received_at":"04/03/2025 08:15","phone":"0912345678"})");
        CHECK(dossier.status == 201);
        auto d = json(dossier.body)->getObject("item");
        CHECK(d->getValue<std::string>("received_at") == "2025-03-04T01:15:00.000Z");
        CHECK(d->getValue<bool>("has_phone"));
        CHECK_FALSE(d->has("phone"));  // phone numbers are never returned
        // A dossier without procedure, officer or counter can still be changed.
        CHECK(test::postJson(port, "/api/v1/dossiers",
                             R"({"code":"XA-2","agency":"XA","received_at":"2025-03-04 08:15"})")
                  .status == 201);
        auto cancelled = test::http(
            port, "PATCH", "/api/v1/dossiers/XA-2", R"({"status":"cancelled"})",
            {{"Content-Type", "application/json"}, {"Authorization", "Bearer test-token"}});
        CHECK(cancelled.status == 200);
        CHECK(json(cancelled.body)->getObject("item")->getValue<std::string>("status") ==
              "cancelled");
        CHECK(test::postJson(port, "/api/v1/devices",
                             R"({"code":"TAB-1","name":"Máy tính bảng 1","counter":"XA-Q1"})")
                  .status == 201);
        auto list = json(test::http(port, "GET", "/api/v1/counters?agency=PT").body);
        CHECK(list->getValue<int>("count") == 1);
        CHECK(json(test::http(port, "GET", "/api/v1/agencies?q=au%20co").body)
                  ->getValue<int>("count") == 1);
        CHECK(test::http(port, "GET", "/api/v1/officers/NOPE").status == 404);
        const std::map<std::string, std::string> token{{"Authorization", "Bearer test-token"}};
        CHECK(test::http(port, "GET", "/api/v1/dossiers?from=yesterday", "", token).status == 400);
        // Case data is not public: dossiers and devices need the token even to read.
        CHECK(test::http(port, "GET", "/api/v1/dossiers").status == 401);
        CHECK(test::http(port, "GET", "/api/v1/dossiers/XA-1").status == 401);
        CHECK(test::http(port, "GET", "/api/v1/devices").status == 401);
        CHECK(json(test::http(port, "GET", "/api/v1/dossiers", "", token).body)
                  ->getValue<int>("count") == 2);
        CHECK(test::http(port, "GET", "/api/v1/agencies?limit=5000").status == 400);

        // A submission about the dossier, then the same again.
        const std::string body =
            R"({"idempotency_key":"a1","survey":"counter-quick","channel":"web","dossier":"XA-1","answers":{"rating":1,"reasons":["late"]},"comment":"Chậm"})";
        auto first = test::postJson(port, "/api/v1/responses", body);
        CHECK(first.status == 201);
        auto again = test::postJson(port, "/api/v1/responses", body);
        CHECK(again.status == 200);
        CHECK(json(again.body)->getValue<bool>("duplicate"));
        CHECK(json(again.body)->getValue<std::string>("receipt") ==
              json(first.body)->getValue<std::string>("receipt"));
    }
    SECTION("a bad submission lists envelope and answer errors together") {
        auto r = test::postJson(
            port, "/api/v1/responses",
            R"({"idempotency_key":"b1","survey":"counter-quick","answers":{"rating":9},"colour":"red"})");
        CHECK(r.status == 422);
        const std::string codes = errorCodes(json(r.body));
        CHECK(codes.find("colour:field.unknown") != std::string::npos);
        CHECK(codes.find("answers.rating:submission.not_an_option") != std::string::npos);
    }
    SECTION("odd JSON types are 422s, not 500s") {
        auto r = test::postJson(
            port, "/api/v1/responses",
            R"({"idempotency_key":"c1","survey":"counter-quick","answers":{"rating":[null]}})");
        CHECK(r.status == 422);
        CHECK(errorCodes(json(r.body)).find("answers.rating:submission.not_an_option") !=
              std::string::npos);
        r = test::postJson(port, "/api/v1/responses",
                           R"({"idempotency_key":"c2","survey":"counter-quick",)"
                           R"("answers":{"rating":3},"submitted_at":1e300})");
        CHECK(r.status == 422);
        CHECK(errorCodes(json(r.body)).find("submitted_at:field.time_range") != std::string::npos);
        CHECK(test::postJson(port, "/api/v1/agencies", R"({"code":"PT","name":"P"})").status ==
              201);
        r = test::postJson(port, "/api/v1/dossiers",
                           R"({"code":"D9","agency":"PT","received_at":9000000000000000000})");
        CHECK(r.status == 422);
        CHECK(errorCodes(json(r.body)).find("received_at:field.time_range") != std::string::npos);
    }
    SECTION("directory validation errors name the field") {
        auto r = test::postJson(port, "/api/v1/counters",
                                R"({"code":"Q 1","name":"x","agency":"NOPE"})");
        CHECK(r.status == 422);
        const std::string codes = errorCodes(json(r.body));
        CHECK(codes.find("code:directory.code_chars") != std::string::npos);
        CHECK(codes.find("agency:directory.unknown_reference") != std::string::npos);
    }
    SECTION("surveys, health and the front page") {
        auto surveys = json(test::http(port, "GET", "/api/v1/surveys").body);
        std::set<std::string> ids;
        for (std::size_t i = 0; i < surveys->getArray("items")->size(); ++i)
            ids.insert(surveys->getArray("items")
                           ->getObject(static_cast<unsigned>(i))
                           ->getValue<std::string>("id"));
        CHECK(ids == std::set<std::string>{"counter-quick", "dossier-tt01", "nps-service",
                                           "phan-anh", "sipas-2017", "sms-quick"});
        auto quick = json(test::http(port, "GET", "/api/v1/surveys/counter-quick").body);
        CHECK(quick->getValue<int>("version") == 1);
        CHECK(quick->getValue<std::string>("status") == "published");
        CHECK(quick->getArray("questions")
                  ->getObject(0)
                  ->getObject("scale")
                  ->getValue<int>("points") == 3);
        CHECK(test::http(port, "GET", "/api/v1/surveys/nope").status == 404);
        auto health = json(test::http(port, "GET", "/api/v1/health").body);
        CHECK_FALSE(health->getObject("database")->has("url"));  // not told to strangers
        auto detailed = json(
            test::http(port, "GET", "/api/v1/health", "", {{"Authorization", "Bearer test-token"}})
                .body);
        CHECK(detailed->getObject("database")->has("url"));
        CHECK(health->getValue<std::string>("status") == "ok");
        CHECK(health->getObject("database")->getValue<int>("schema_version") ==
              Migrations::all().back().version);
        auto summary = json(test::http(port, "GET", "/api/v1/summary").body)->getObject("counts");
        CHECK(summary->getValue<int>("responses") == 0);
        CHECK(summary->has("dossiers"));
        auto home = test::http(port, "GET", "/");
        CHECK(home.status == 200);
        CHECK(home.body.find("<html lang=\"vi\">") != std::string::npos);
    }
    rt.shutdown();
}

TEST_CASE("after cmake --install the binary finds its data and serves") {
    test::TempDir dir;
    const std::string prefix = dir.file("prefix");
    const std::string install = std::string(HAILONG_CMAKE_COMMAND) + " --install " +
                                HAILONG_BUILD_DIR + " --prefix " + prefix + " > " +
                                dir.file("install.log") + " 2>&1";
    REQUIRE(std::system(install.c_str()) == 0);
    const std::string binary = prefix + "/bin/hailong";
    REQUIRE(Poco::File(binary).exists());
    const std::uint16_t port = test::freePort();
    test::Child server(
        {"serve", "--port", std::to_string(port), "--db", "sqlite:" + dir.file("i.db"), "--set",
         "api.token_file=" + dir.file("token")},
        {}, dir.file("serve.log"), binary);
    REQUIRE(test::waitForHealth(port, 30));
    auto home = test::http(port, "GET", "/");
    CHECK(home.status == 200);
    CHECK(home.body.find("hailong") != std::string::npos);
    CHECK(test::http(port, "GET", "/static/hailong.css").status == 200);
    auto surveys = json(test::http(port, "GET", "/api/v1/surveys").body);
    CHECK(surveys->getArray("items")->size() >= 1);  // surveys found under share/hailong
    auto problem = json(test::http(port, "GET", "/nowhere").body);
    CHECK(problem->getValue<std::string>("detail").find("Không có trang") == 0);  // locale found
    server.terminate();
    CHECK(server.wait() == 0);
}

TEST_CASE("survey versions: immutable, answered against their exact version, retired") {
    test::onEachHost([](Runtime& rt) {
        const auto port = rt.port();
        SurveyStore& store = rt.surveys();
        std::string v1;
        {
            Poco::FileInputStream in(test::sourceDir() + "/surveys/sms-quick.json");
            Poco::StreamCopier::copyToString(in, v1);
        }
        // The shipped file is already version 1; publishing it again changes nothing.
        CHECK_FALSE(store.publish(v1, "again").created);
        CHECK(store.versions("sms-quick").size() == 1);
        auto answer = [&](const std::string& key, const std::string& extra) {
            return test::postJson(port, "/api/v1/responses",
                                  R"({"idempotency_key":")" + key +
                                      R"(","survey":"sms-quick","channel":"sms",)" + extra + "}");
        };
        const auto first = answer("v-1", R"("answers":{"rating":4})");
        REQUIRE(first.status == 201);

        // Version 2 adds a required yes/no question (in place of the follow-up reason: an SMS
        // survey asks three questions at most).
        auto root = Poco::JSON::Parser().parse(v1).extract<Poco::JSON::Object::Ptr>();
        auto questions = root->getArray("questions");
        for (unsigned i = 0; i < questions->size(); ++i)
            if (questions->getObject(i)->getValue<std::string>("id") == "reason")
                questions->remove(i--);
        Poco::JSON::Object::Ptr again = new Poco::JSON::Object;
        again->set("id", "again");
        again->set("type", "yesno");
        again->set("required", true);
        Poco::JSON::Object::Ptr text = new Poco::JSON::Object;
        text->set("vi", "Ông/Bà có muốn quay lại làm thủ tục ở đây không?");
        again->set("text", text);
        root->getArray("questions")->add(again);
        std::ostringstream v2;
        root->stringify(v2);
        const auto published = store.publish(v2.str(), "v2");
        REQUIRE(published.created);
        CHECK(published.version == 2);

        // New answers are checked against version 2, which needs "again" ...
        const auto missing = answer("v-2", R"("answers":{"rating":4})");
        CHECK(missing.status == 422);
        CHECK(errorCodes(json(missing.body)).find("answers.again:submission.answer_required") !=
              std::string::npos);
        CHECK(answer("v-3", R"("answers":{"rating":3,"again":true})").status == 201);
        // ... an explicit version 1 still works, and old responses keep their version.
        CHECK(answer("v-4", R"("version":1,"answers":{"rating":4})").status == 201);
        CHECK(answer("v-6", R"("version":1,"answers":{"rating":4,"again":true})").status == 422);
        std::vector<int> versions;
        std::vector<std::string> keys;
        rt.database().read([&](Poco::Data::Session& s) {
            s << "SELECT survey_version, idempotency_key FROM responses ORDER BY idempotency_key",
                into(versions), into(keys), now;
        });
        CHECK(keys == std::vector<std::string>{"v-1", "v-3", "v-4"});
        CHECK(versions == std::vector<int>{1, 2, 1});
        auto servedV1 = json(test::http(port, "GET", "/api/v1/surveys/sms-quick?version=1").body);
        CHECK(servedV1->getArray("questions")->size() == 3);  // as it was published
        CHECK(json(test::http(port, "GET", "/api/v1/surveys/sms-quick").body)
                  ->getValue<int>("version") == 2);
        CHECK(json(test::http(port, "GET", "/api/v1/surveys/sms-quick/versions").body)
                  ->getArray("items")
                  ->size() == 2);

        // A retired version takes no new responses; its answers stay.
        store.retire("sms-quick", 1);
        const auto retired = answer("v-5", R"("version":1,"answers":{"rating":4})");
        CHECK(retired.status == 422);
        CHECK(errorCodes(json(retired.body)).find("survey_version:submission.survey_not_open") !=
              std::string::npos);
        CHECK(store.find("sms-quick", 1)->status == "retired");
        rt.shutdown();
    });
}

TEST_CASE("conditions: an answer to a question not asked is refused, a required one enforced") {
    test::TestDatabase tdb(Backend::SQLite);
    test::TempDir dir;
    test::TestHost host(tdb.url(), dir, true);
    Runtime& rt = host.runtime();
    auto post = [&](const std::string& key, const std::string& answers) {
        return test::postJson(rt.port(), "/api/v1/responses",
                              R"({"idempotency_key":")" + key +
                                  R"(","survey":"counter-quick","answers":)" + answers + "}");
    };
    CHECK(post("c-1", R"({"rating":1,"reasons":["late","attitude"],"comment":"Chờ lâu"})").status ==
          201);
    auto notAsked = post("c-2", R"({"rating":3,"reasons":["late"]})");
    CHECK(notAsked.status == 422);
    CHECK(errorCodes(json(notAsked.body)).find("answers.reasons:submission.not_asked") !=
          std::string::npos);
    auto other =
        post("c-3", R"({"rating":1,"reasons":{"choices":["late"],"text":"mất giấy hẹn"}})");
    CHECK(other.status == 201);  // counter-quick allows "other" text on reasons
    auto missing = post("c-4", R"({"reasons":["late"]})");
    CHECK(missing.status == 422);
    const std::string codes = errorCodes(json(missing.body));
    CHECK(codes.find("answers.rating:submission.answer_required") != std::string::npos);
    CHECK(codes.find("answers.reasons:submission.not_asked") != std::string::npos);
    rt.shutdown();
}

TEST_CASE("API keys: scoped to an agency subtree, batches with a result per item") {
    test::onEachHost([](Runtime& rt) {
        const auto port = rt.port();
        DirectoryStore& d = rt.directory();
        d.save(AgencyInput{"PT", "Tỉnh Phú Thọ", "", "province", "", true});
        d.save(AgencyInput{"XA", "Xã A", "PT", "commune", "", true});
        d.save(AgencyInput{"XB", "Xã B", "PT", "commune", "", true});
        d.save(CounterInput{"XB-Q1", "Quầy 1", "XB", true});
        const std::string key = rt.apiKeys().add("mot-cua-xa-a", "XA");
        CHECK(key.starts_with("hl_"));
        CHECK_THROWS_AS(rt.apiKeys().add("mot-cua-xa-a", "XA"), Problem);
        const std::map<std::string, std::string> auth{{"Content-Type", "application/json"},
                                                      {"Authorization", "Bearer " + key}};
        auto send = [&](const std::string& body, const std::map<std::string, std::string>& h) {
            return test::http(port, "POST", "/api/v1/responses", body, h);
        };
        const std::string inA =
            R"({"idempotency_key":"k-a","survey":"sms-quick","agency":"XA","answers":{"rating":5}})";
        CHECK(send(inA, auth).status == 201);
        // Outside the key's subtree, named directly or through a counter: 403.
        auto outside = send(
            R"({"idempotency_key":"k-b","survey":"sms-quick","agency":"XB","answers":{"rating":5}})",
            auth);
        CHECK(outside.status == 403);
        CHECK(json(outside.body)->getValue<std::string>("code") == "apikey.out_of_scope");
        CHECK(
            send(
                R"({"idempotency_key":"k-c","survey":"sms-quick","agency":"XA","counter":"XB-Q1","answers":{"rating":5}})",
                auth)
                .status == 403);
        // A key must say which agency the response is about.
        CHECK(send(R"({"idempotency_key":"k-d","survey":"sms-quick","answers":{"rating":5}})", auth)
                  .status == 422);
        // Unknown and revoked keys.
        CHECK(send(inA, {{"Content-Type", "application/json"}, {"Authorization", "Bearer hl_nope"}})
                  .status == 401);

        // A batch: one stored, one duplicate, one invalid, one out of scope, each reported.
        const std::string batch =
            R"({"responses":[)"
            R"({"idempotency_key":"b-1","survey":"sms-quick","agency":"XA","answers":{"rating":2}},)"
            R"({"idempotency_key":"k-a","survey":"sms-quick","agency":"XA","answers":{"rating":5}},)"
            R"({"idempotency_key":"b-3","survey":"sms-quick","agency":"XA","answers":{"rating":9}},)"
            R"({"idempotency_key":"b-4","survey":"sms-quick","agency":"XB","answers":{"rating":1}}]})";
        auto result = send(batch, auth);
        REQUIRE(result.status == 200);
        auto body = json(result.body);
        CHECK(body->getValue<int>("stored") == 1);
        CHECK(body->getValue<int>("duplicates") == 1);
        CHECK(body->getValue<int>("rejected") == 2);
        auto results = body->getArray("results");
        REQUIRE(results->size() == 4);
        CHECK(results->getObject(0)->getValue<int>("status") == 201);
        CHECK(results->getObject(1)->getValue<int>("status") == 200);
        CHECK(results->getObject(2)->getValue<int>("status") == 422);
        CHECK(results->getObject(2)->getArray("errors")->getObject(0)->getValue<std::string>(
                  "field") == "responses.2.answers.rating");
        CHECK(results->getObject(3)->getValue<int>("status") == 403);
        CHECK(results->getObject(3)->getValue<int>("index") == 3);

        // More than 1,000 items are refused whole.
        std::string big = R"({"responses":[)";
        for (int i = 0; i < 1001; ++i) big += std::string(i ? "," : "") + "{}";
        CHECK(send(big + "]}", auth).status == 413);

        rt.apiKeys().revoke("mot-cua-xa-a");
        CHECK(send(inA, auth).status == 401);
        std::int64_t stored = 0;
        rt.database().read([&](Poco::Data::Session& s) {
            s << "SELECT COUNT(*) FROM responses", into(stored), now;
        });
        CHECK(stored == 2);
        rt.shutdown();
    });
}
