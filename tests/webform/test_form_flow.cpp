// Tests for the web form's pure parts: pages cut from a survey, conditions, what a posted page
// means and what is wrong with it, the answers handed to ingest, drafts as stored, and the
// in-memory rate limits.
#include "FormFlow.h"
#include "RateLimits.h"

#include "support/TestSupport.h"
#include "survey/SurveyParser.h"

#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <sstream>

using namespace hailong;
using namespace webform;

namespace {

Survey load(const std::string& file) {
    Poco::FileInputStream in(file);
    std::ostringstream text;
    Poco::StreamCopier::copyStream(in, text);
    ParsedSurvey parsed = SurveyParser::parse(text.str());
    INFO(file << ": " << (parsed.errors.empty() ? "" : parsed.errors.front().field));
    REQUIRE(parsed.errors.empty());
    return *parsed.survey;
}

Survey allTypes() {
    return load(test::sourceDir() + "/tests/webform/all-types.json");
}

std::vector<std::string> ids(const Page& page) {
    std::vector<std::string> out;
    for (const Question* q : page.questions) out.push_back(q->id);
    return out;
}

using Form = std::multimap<std::string, std::string>;

const auto noDossier = [](const std::string&) { return false; };

}  // namespace

TEST_CASE("webform: a survey's pages follow its groups", "[webform]") {
    const Survey sipas = load(test::sourceDir() + "/surveys/sipas-2017.json");
    SECTION("a dossier link leaves the dossier question out: one page per SIPAS element") {
        const auto pages = pagesOf(sipas, true);
        REQUIRE(pages.size() == 5);
        std::vector<std::size_t> sizes;
        for (const Page& p : pages) sizes.push_back(p.questions.size());
        CHECK(sizes == std::vector<std::size_t>{4, 5, 6, 3, 5});  // the comment joins the last
        CHECK(pages.back().questions.back()->id == "comment");
    }
    SECTION("an open survey asks for the dossier code on the first page") {
        const auto pages = pagesOf(sipas, false);
        REQUIRE(pages.size() == 5);
        CHECK(pages.front().questions.front()->id == "dossier");
        CHECK(pages.front().questions.size() == 5);
    }
    SECTION("questions without groups are cut every eight") {
        const Survey tt01 = load(test::sourceDir() + "/surveys/dossier-tt01.json");
        const auto pages = pagesOf(tt01, true);
        std::size_t total = 0;
        for (const Page& p : pages) {
            CHECK(p.questions.size() <= kMaxPerPage);
            total += p.questions.size();
        }
        CHECK(total == tt01.questions.size() - 1);  // all but the dossier code
    }
    SECTION("the test survey: three pages, its conditions on the same or an earlier page") {
        const Survey s = allTypes();
        const auto pages = pagesOf(s, false);
        REQUIRE(pages.size() == 3);
        CHECK(ids(pages[0]) == std::vector<std::string>{"dossier", "rating", "why"});
        CHECK(ids(pages[1]) == std::vector<std::string>{"channel", "again", "recommend"});
        CHECK(ids(pages[2]) == std::vector<std::string>{"followup", "comment"});
        CHECK(dependsOnPage(*s.question("why"), pages[0]));
        CHECK_FALSE(dependsOnPage(*s.question("followup"), pages[2]));
        CHECK_FALSE(dependsOnPage(*s.question("rating"), pages[0]));
    }
}

TEST_CASE("webform: a question is asked when its condition holds, through a chain", "[webform]") {
    Survey s = allTypes();
    Answers a;
    CHECK(isAsked(s, *s.question("rating"), a));
    CHECK_FALSE(isAsked(s, *s.question("why"), a));
    a["rating"] = {{"2"}, ""};
    CHECK(isAsked(s, *s.question("why"), a));
    a["rating"] = {{"4"}, ""};
    CHECK_FALSE(isAsked(s, *s.question("why"), a));
    // A condition on a question that is itself not asked does not hold, whatever that
    // question's stale answer says.
    Question chained = *s.question("comment");
    chained.showIf = Condition{"why", {"slow"}};
    a["why"] = {{"slow"}, ""};
    CHECK_FALSE(isAsked(s, chained, a));
    a["rating"] = {{"1"}, ""};
    CHECK(isAsked(s, chained, a));
}

TEST_CASE("webform: a posted page is read into the answers, bounded", "[webform]") {
    const Survey s = allTypes();
    const auto pages = pagesOf(s, false);
    Answers a;
    a["channel"] = {{"counter"}, ""};  // another page's answer stays as it is
    readPage(pages[0],
             Form{{"q.dossier", "  XA-1  "},
                  {"q.rating", "2"},
                  {"q.why", "slow"},
                  {"q.why", "rude"},
                  {"q.why", "slow"},
                  {"o.why", " quá đông "},
                  {"q.unknown", "x"}},
             a);
    CHECK(a.at("dossier").text == "XA-1");
    CHECK(a.at("rating").choices == std::vector<std::string>{"2"});
    CHECK(a.at("why").choices == std::vector<std::string>{"slow", "rude"});
    CHECK(a.at("why").text == "quá đông");
    CHECK(a.at("channel").choices == std::vector<std::string>{"counter"});
    CHECK_FALSE(a.contains("unknown"));
    // Sent again without the reasons: they are gone (unticked), the rest replaced.
    readPage(pages[0], Form{{"q.rating", "5"}, {"o.why", "  "}}, a);
    CHECK(a.at("rating").choices == std::vector<std::string>{"5"});
    CHECK_FALSE(a.contains("why"));
    CHECK_FALSE(a.contains("dossier"));
    // At most fifty choices are kept, however many are sent.
    Form many;
    for (int i = 0; i < 500; ++i) many.emplace("q.why", "c" + std::to_string(i));
    readPage(pages[0], many, a);
    CHECK(a.at("why").choices.size() == 50);
}

TEST_CASE("webform: a page's problems name the question and what is wrong", "[webform]") {
    const Survey s = allTypes();
    const auto pages = pagesOf(s, false);
    auto problems = [&](const Page& page, const Answers& a,
                        const std::function<bool(const std::string&)>& known = noDossier) {
        std::map<std::string, std::string> out;
        for (const FieldProblem& p : checkPage(s, page, a, known)) out[p.question] = p.code;
        return out;
    };
    Answers a;
    SECTION("required and asked, not answered") {
        CHECK(problems(pages[0], a) ==
              std::map<std::string, std::string>{{"rating", "form.required"}});
        a["rating"] = {{"1"}, ""};
        CHECK(problems(pages[0], a) ==
              std::map<std::string, std::string>{{"why", "form.required"}});
        a["why"] = {{}, "khác"};  // an "other" text alone answers a multiple choice
        CHECK(problems(pages[0], a).empty());
        CHECK(problems(pages[1], a) ==
              std::map<std::string, std::string>{{"again", "form.required"}});
        a["again"] = {{"1"}, ""};
        CHECK(problems(pages[2], a).empty());  // followup is not asked after a "yes"
        a["again"] = {{"0"}, ""};
        CHECK(problems(pages[2], a) ==
              std::map<std::string, std::string>{{"followup", "form.required"}});
    }
    SECTION("values that are not options, several on a one-choice question, an unwanted other") {
        a["rating"] = {{"9"}, ""};
        CHECK(problems(pages[0], a).at("rating") == "form.not_an_option");
        a["rating"] = {{"4", "5"}, ""};
        CHECK(problems(pages[0], a).at("rating") == "form.not_an_option");
        a["rating"] = {{"4"}, "thêm"};
        CHECK(problems(pages[0], a).at("rating") == "form.other_not_allowed");
        a["rating"] = {{}, "chỉ ý khác"};
        CHECK(problems(pages[0], a).at("rating") == "form.other_not_allowed");
        a["channel"] = {{}, "qua bưu điện"};  // allowed there, but with a choice
        a["again"] = {{"7"}, ""};
        CHECK(problems(pages[1], a) ==
              std::map<std::string, std::string>{{"again", "form.not_an_option"},
                                                 {"channel", "form.other_needs_choice"}});
        a["channel"] = {{"counter"}, "qua bưu điện"};
        CHECK_FALSE(problems(pages[1], a).contains("channel"));
    }
    SECTION("texts longer than the question allows, in characters not bytes") {
        a["again"] = {{"1"}, ""};
        a["comment"] = {{}, std::string(50, 'a')};
        CHECK(problems(pages[2], a).empty());
        std::string vietnamese;
        for (int i = 0; i < 50; ++i) vietnamese += "ệ";  // 150 bytes, 50 characters
        a["comment"] = {{}, vietnamese};
        CHECK(problems(pages[2], a).empty());
        a["comment"].text += "ệ";
        const auto found = checkPage(s, pages[2], a, noDossier);
        REQUIRE(found.size() == 1);
        CHECK(found.front().code == "form.too_long");
        CHECK(found.front().params.at("max") == "50");
    }
    SECTION("a typed dossier code must be known") {
        a["rating"] = {{"5"}, ""};
        a["dossier"] = {{}, "XA-404"};
        CHECK(problems(pages[0], a).at("dossier") == "form.dossier_unknown");
        const auto known = [](const std::string& code) { return code == "XA-1"; };
        a["dossier"] = {{}, "XA-1"};
        CHECK(problems(pages[0], a, known).empty());
        a["dossier"] = {{}, "XA 1"};  // spaces inside: not a code
        CHECK(problems(pages[0], a, [](const std::string&) { return true; }).at("dossier") ==
              "form.dossier_unknown");
    }
}

TEST_CASE("webform: ingest gets only the answers of questions that are asked", "[webform]") {
    const Survey s = allTypes();
    Answers a{{"rating", {{"5"}, ""}},
              {"why", {{"slow"}, ""}},  // answered while the rating was 2, then changed
              {"again", {{"1"}, ""}},
              {"followup", {{}, "xa quá"}},
              {"comment", {{}, "Tốt"}},
              {"channel", {{"online"}, "bưu điện"}},
              {"recommend", {{}, "stray"}}};  // a scale with a text only: nothing to store
    std::map<std::string, Answer> out;
    for (Answer& x : submissionAnswers(s, a)) out[x.question] = x;
    CHECK(out.size() == 4);
    CHECK(out.at("rating").choices == std::vector<std::string>{"5"});
    CHECK(out.at("comment").text == "Tốt");
    CHECK(out.at("channel").choices == std::vector<std::string>{"online"});
    CHECK(out.at("channel").text == "bưu điện");
    CHECK_FALSE(out.contains("why"));
    CHECK_FALSE(out.contains("followup"));
}

TEST_CASE("webform: a draft survives being stored, and foreign data is refused", "[webform]") {
    Draft d;
    d.id = "0123456789abcdef0123456789abcdef";
    d.surveyId = "sipas-2017";
    d.version = 3;
    d.lang = "en";
    d.token = "abc.def";
    d.dossier = "XA-1";
    d.answers = {{"rating", {{"4"}, ""}}, {"comment", {{}, "Cán bộ \"nhiệt tình\"\n<b>"}}};
    d.page = 2;
    d.reached = 4;
    d.receipt = "R1";
    d.suspicious = true;
    d.startedAtMs = 1764000000000;
    const Draft back = Draft::fromJson(d.toJson());
    CHECK(back.id == d.id);
    CHECK(back.surveyId == d.surveyId);
    CHECK(back.version == 3);
    CHECK(back.lang == "en");
    CHECK(back.token == d.token);
    CHECK(back.dossier == "XA-1");
    CHECK(back.answers == d.answers);
    CHECK(back.page == 2);
    CHECK(back.reached == 4);
    CHECK(back.receipt == "R1");
    CHECK(back.suspicious);
    CHECK(back.startedAtMs == d.startedAtMs);
    CHECK_THROWS_AS(Draft::fromJson("{\"id\": 1}"), std::runtime_error);
    CHECK_THROWS_AS(Draft::fromJson("not json"), std::runtime_error);
}

TEST_CASE("webform: rate limits count per key and window, in bounded memory", "[webform]") {
    RateLimits limits(4);
    const std::int64_t t0 = 1000000;
    for (int i = 0; i < 3; ++i) CHECK(limits.allow("a", 3, 60000, t0 + i));
    CHECK_FALSE(limits.allow("a", 3, 60000, t0 + 10));
    CHECK(limits.retryAfterMs("a", t0 + 10) == 59990);
    CHECK(limits.allow("b", 3, 60000, t0 + 10));     // another key has its own count
    CHECK(limits.allow("a", 3, 60000, t0 + 60000));  // a new window
    CHECK(limits.retryAfterMs("nobody", t0) == 0);
    // More keys than the memory holds: expired windows go first, then all; never refused for it.
    for (int i = 0; i < 100; ++i) CHECK(limits.allow("k" + std::to_string(i), 1, 1000, t0));
}
