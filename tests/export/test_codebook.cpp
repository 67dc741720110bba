// The codebook: column names every statistics package accepts, labels and value labels from the
// shipped surveys.
#include "common/MessageCatalog.h"
#include "export/Codebook.h"
#include "survey/SurveyParser.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

using namespace hailong;
using namespace hailong::exports;

namespace {

Survey shipped(const std::string& id) {
    std::ifstream in(std::string(HAILONG_SOURCE_DIR) + "/surveys/" + id + ".json");
    std::stringstream text;
    text << in.rdbuf();
    ParsedSurvey parsed = SurveyParser::parse(text.str());
    REQUIRE(parsed.survey);
    return *parsed.survey;
}

const MessageCatalog& messages() {
    static const MessageCatalog catalog(std::string(HAILONG_SOURCE_DIR) + "/locale");
    return catalog;
}

const Column& named(const std::vector<Column>& columns, const std::string& name) {
    auto it = std::find_if(columns.begin(), columns.end(),
                           [&](const Column& c) { return c.name == name; });
    REQUIRE(it != columns.end());
    return *it;
}

}  // namespace

TEST_CASE("codebook: column names are valid, unique without case, and not reserved") {
    std::set<std::string> used;
    CHECK(columnName("rating", used) == "rating");
    CHECK(columnName("Rating", used) == "Rating_2");
    CHECK(columnName("rating", used) == "rating_3");
    CHECK(columnName("1.2", used) == "q1_2");
    CHECK(columnName("by", used) == "by_2");
    CHECK(columnName("", used) == "q");
    CHECK(columnName("_x", used) == "q_x");
    CHECK(columnName("đánh giá", used) == "q____nh_gi__");  // ASCII only, one '_' per byte
    CHECK(columnName(std::string(100, 'a'), used) == std::string(60, 'a'));
    CHECK(columnName(std::string(100, 'a'), used) == std::string(60, 'a') + "_2");
}

TEST_CASE("codebook: every shipped survey, in both languages") {
    const std::regex valid("[A-Za-z][A-Za-z0-9_]{0,63}");
    for (const char* id :
         {"sipas-2017", "counter-quick", "nps-service", "dossier-tt01", "sms-quick"})
        for (const char* lang : {"vi", "en"}) {
            const Survey s = shipped(id);
            const auto columns = codebookOf(s, lang, messages());
            std::set<std::string> names;
            for (const Column& c : columns) {
                INFO(id << " " << lang << " " << c.name);
                CHECK(std::regex_match(c.name, valid));
                CHECK(names.insert(Catch::toLower(c.name)).second);
                CHECK_FALSE(c.label.empty());
                CHECK(c.label.find("export.") == std::string::npos);  // a label, not a key
                CHECK(c.name.find("phone") == std::string::npos);
            }
            CHECK(columns.front().name == "receipt");
            CHECK(columns.back().name == "topics");
            // Every question has its column (multiple choice: one per option), named after it;
            // a question called like a field ("dossier") gets a suffix.
            for (const Question& q : s.questions) {
                auto it = std::find_if(columns.begin(), columns.end(),
                                       [&](const Column& c) { return c.question == q.id; });
                REQUIRE(it != columns.end());
                CHECK(it->name.starts_with(q.id));
            }
        }
}

TEST_CASE("codebook: SIPAS ratings are ordinal with their five labels") {
    const auto vi = codebookOf(shipped("sipas-2017"), "vi", messages());
    CHECK(vi.size() == 11 + 24 + 4);
    const Column& seats = named(vi, "access_seats");
    CHECK(seats.numeric);
    CHECK(seats.measure == Measure::Ordinal);
    REQUIRE(seats.values.size() == 5);
    CHECK(seats.values.front().value == 1);
    CHECK(seats.values.back().value == 5);
    CHECK(seats.values.back().label == "Rất hài lòng");
    CHECK(named(vi, "receipt").label == "Mã biên nhận");
    CHECK_FALSE(named(vi, "comment").numeric);
    const auto en = codebookOf(shipped("sipas-2017"), "en", messages());
    CHECK(named(en, "receipt").label == "Receipt");
    CHECK(named(en, "access_seats").values.back().label == "Very satisfied");
}

TEST_CASE("codebook: multiple choice is a 0/1 column per option, with its other text") {
    const auto vi = codebookOf(shipped("counter-quick"), "vi", messages());
    const Column& waiting = named(vi, "reasons_waiting");
    CHECK(waiting.source == Source::Chosen);
    CHECK(waiting.option == "waiting");
    CHECK(waiting.label == "Điều gì khiến Ông/Bà chưa hài lòng?: Phải chờ đợi lâu");
    REQUIRE(waiting.values.size() == 2);
    CHECK(waiting.values[1].label == "Có chọn");
    const Column& other = named(vi, "reasons_other");
    CHECK(other.source == Source::Other);
    CHECK_FALSE(other.numeric);
    CHECK(named(vi, "rating").values.size() == 3);
    // Single choice: codes 1..n in the order of the options.
    const auto tt01 = codebookOf(shipped("dossier-tt01"), "vi", messages());
    const Column& attitude = named(tt01, "attitude");
    CHECK(attitude.numeric);
    CHECK(attitude.measure == Measure::Nominal);
    REQUIRE_FALSE(attitude.values.empty());
    CHECK(attitude.values.front().value == 1);
    CHECK(attitude.values.back().value == static_cast<double>(attitude.values.size()));
}
