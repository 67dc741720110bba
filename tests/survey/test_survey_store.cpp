// Tests for core/survey's SurveyStore: versions kept in the database, on SQLite and PostgreSQL.
#include "store/Migrations.h"
#include "support/TestSupport.h"
#include "survey/SurveyStore.h"

#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <sstream>

using namespace hailong;

namespace {

std::string read(const std::string& file) {
    Poco::FileInputStream in(file);
    std::string out;
    Poco::StreamCopier::copyToString(in, out);
    return out;
}

// `json` with its title changed: other content, so another version.
std::string retitled(const std::string& json, const std::string& title) {
    auto root = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
    Poco::JSON::Object::Ptr t = new Poco::JSON::Object;
    t->set("vi", title);
    root->set("title", t);
    std::ostringstream out;
    root->stringify(out);
    return out.str();
}

}  // namespace

TEST_CASE("survey store: a folder is published whole file by file, bad files skipped") {
    test::onEachBackend([](Backend b) {
        test::TestDatabase tdb(b);
        Database& db = tdb.migrated();
        test::TempDir dir;
        const std::string base = read(test::sourceDir() + "/tests/survey/base.json");
        dir.write("a-good.json", base);
        dir.write("b-bad.json",
                  read(test::sourceDir() + "/tests/survey/broken/13-scale-seven-labels.json"));
        dir.write("c-notes.txt", "not a survey");
        SurveyStore store(db);
        store.load();
        auto results = store.publishFolder(dir.path());
        REQUIRE(results.size() == 2);
        CHECK(results[0].errors.empty());
        CHECK(results[0].published.created);
        CHECK(results[0].published.version == 1);
        CHECK_FALSE(results[1].errors.empty());  // reported, and nothing of it stored
        CHECK(store.versions().size() == 1);

        // Same content again: nothing new. Other content: version 2; v1 stays as it was.
        const std::string id = results[0].published.id;
        CHECK_FALSE(store.publish(base, "again").created);
        const auto v2 = store.publish(retitled(base, "Tiêu đề mới"), "edited");
        CHECK(v2.created);
        CHECK(v2.version == 2);
        CHECK(store.find(id, 1)->title.at("vi") != "Tiêu đề mới");
        CHECK(store.find(id)->version == 2);

        // The folder's file, published once, is not published again over the official's v2.
        auto again = store.publishFolder(dir.path());
        CHECK_FALSE(again[0].published.created);
        CHECK(store.find(id)->version == 2);

        // Retiring the latest makes the previous one current; a reload sees the same.
        store.retire(id, 2);
        CHECK(store.find(id)->version == 1);
        CHECK(store.find(id, 2)->status == "retired");
        SurveyStore reloaded(db);
        reloaded.load();
        CHECK(reloaded.versions(id).size() == 2);
        CHECK(reloaded.find(id, 2)->status == "retired");
        CHECK(reloaded.find(id)->version == 1);
        CHECK(reloaded.find(id, 1)->contentHash == store.find(id, 1)->contentHash);
        CHECK(reloaded.definition(id, 1) == store.definition(id, 1));
        // Restarting (publishing the folder again) does not undo the retirement either.
        CHECK_FALSE(reloaded.publishFolder(dir.path())[0].published.created);
        CHECK(reloaded.versions(id).size() == 2);

        // An invalid definition is refused whole with its errors.
        auto p = test::problemOf([&] { store.publish(R"({"id":"x"})", "bad"); });
        CHECK(p.status() == 422);
        CHECK(test::hasError(p.errors(), "/title", "survey.required"));
        CHECK_THROWS_AS(store.retire("nope", 1), Problem);
    });
}
