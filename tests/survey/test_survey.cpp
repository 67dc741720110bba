// Tests for core/survey: the shipped surveys, a corpus of broken definitions with one defect
// each (tests/survey/broken, with the expected error in expected.tsv), canonical hashing,
// conditions, and error messages in both languages.
#include "common/MessageCatalog.h"
#include "support/TestSupport.h"
#include "survey/SurveyParser.h"

#include <hailong/Problem.h>
#include <hailong/Survey.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace hailong;
namespace fs = std::filesystem;

namespace {

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string surveysDir() {
    return test::sourceDir() + "/surveys";
}

std::string corpusDir() {
    return test::sourceDir() + "/tests/survey/broken";
}

const MessageCatalog& catalog() {
    static const MessageCatalog messages(test::sourceDir() + "/locale");
    return messages;
}

/// Every error on its own line, "path code: English text", for failure messages.
std::string describe(const std::vector<FieldError>& errors) {
    std::ostringstream out;
    for (const FieldError& e : errors)
        out << "  " << e.field << " " << e.code << ": " << catalog().text("en", e.code, e.params)
            << "\n";
    return out.str();
}

ParsedSurvey parseFile(const std::string& path) {
    return SurveyParser::parse(readFile(path));
}

ParsedSurvey parseShipped(const std::string& id) {
    return parseFile(surveysDir() + "/" + id + ".json");
}

/// One line of broken/expected.tsv.
struct Expected {
    std::string file, path, code, english;
};

std::vector<Expected> expectedErrors() {
    std::ifstream in(corpusDir() + "/expected.tsv", std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + corpusDir() + "/expected.tsv");
    std::vector<Expected> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::vector<std::string> cols;
        std::size_t start = 0;
        for (std::size_t tab = line.find('\t'); tab != std::string::npos;
             tab = line.find('\t', start)) {
            cols.push_back(line.substr(start, tab - start));
            start = tab + 1;
        }
        cols.push_back(line.substr(start));
        if (cols.size() != 4) throw std::runtime_error("expected.tsv: not 4 columns: " + line);
        out.push_back({cols[0], cols[1], cols[2], cols[3]});
    }
    return out;
}

std::vector<std::string> corpusFiles() {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(corpusDir()))
        if (entry.path().extension() == ".json") out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

const FieldError* findError(const std::vector<FieldError>& errors, const Expected& want) {
    for (const FieldError& e : errors)
        if (e.field == want.path && e.code == want.code &&
            catalog().text("en", e.code, e.params) == want.english)
            return &e;
    return nullptr;
}

/// Leaves of an index tree, depth first.
void collectLeaves(const IndexDefinition& d, std::vector<const IndexDefinition*>& out) {
    if (d.isLeaf()) {
        out.push_back(&d);
        return;
    }
    for (const IndexDefinition& c : d.children) collectLeaves(c, out);
}

}  // namespace

// ---- shipped surveys ----

TEST_CASE("every shipped survey parses without errors") {
    std::set<std::string> ids;
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(surveysDir())) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".json" || name.ends_with(".schema.json")) continue;
        ++files;
        INFO(name);
        const ParsedSurvey parsed = parseFile(entry.path().string());
        INFO(describe(parsed.errors));
        CHECK(parsed.errors.empty());
        REQUIRE(parsed.survey);
        CHECK(parsed.survey->id + ".json" == name);
        CHECK(parsed.survey->contentHash.size() == 64);
        CHECK(parsed.survey->contentHash == SurveyParser::hash(parsed.canonical));
        CHECK_FALSE(parsed.survey->questions.empty());
        ids.insert(parsed.survey->id);
    }
    CHECK(files == 6);
    CHECK(ids == std::set<std::string>{"sipas-2017", "counter-quick", "sms-quick", "dossier-tt01",
                                       "nps-service", "phan-anh"});
}

TEST_CASE("the corpus base survey is valid, so each broken file has only its own defect") {
    const ParsedSurvey parsed = parseFile(test::sourceDir() + "/tests/survey/base.json");
    INFO(describe(parsed.errors));
    CHECK(parsed.errors.empty());
    REQUIRE(parsed.survey);
    CHECK(parsed.survey->id == "broken-base");
}

TEST_CASE("SIPAS 2017 has 22 criteria in 5 elements and a two-level index tree") {
    const ParsedSurvey parsed = parseShipped("sipas-2017");
    INFO(describe(parsed.errors));
    REQUIRE(parsed.survey);
    const Survey& s = *parsed.survey;

    // Rated criteria by group, in the order the groups first appear.
    std::vector<std::pair<std::string, std::size_t>> groups;
    std::size_t rated = 0;
    for (const Question& q : s.questions) {
        if (q.type != QuestionType::Rating) continue;
        ++rated;
        CHECK(q.options.size() == 5);
        CHECK(q.min == 1);
        CHECK(q.max == 5);
        if (groups.empty() || groups.back().first != q.group) groups.emplace_back(q.group, 0);
        ++groups.back().second;
    }
    CHECK(rated == 22);
    using Groups = std::vector<std::pair<std::string, std::size_t>>;
    CHECK(groups ==
          Groups{{"access", 4}, {"procedure", 5}, {"officer", 6}, {"result", 3}, {"feedback", 4}});

    REQUIRE(s.indices.size() == 1);
    const IndexDefinition& root = s.indices[0];
    CHECK(root.id == "sipas");
    CHECK_FALSE(root.isLeaf());
    REQUIRE(root.children.size() == 5);
    std::set<std::string> leafQuestions;
    for (std::size_t i = 0; i < root.children.size(); ++i) {
        const IndexDefinition& element = root.children[i];
        INFO("element " << element.id);
        CHECK(element.id == groups[i].first);
        CHECK_FALSE(element.isLeaf());
        CHECK(element.children.size() == groups[i].second);
        for (const IndexDefinition& leaf : element.children) {
            INFO("leaf " << leaf.id);
            CHECK(leaf.method == IndexMethod::Share);
            CHECK(leaf.children.empty());
            CHECK(leaf.values == std::vector<std::string>{"4", "5"});
            REQUIRE(leaf.questions.size() == 1);
            const Question* q = s.question(leaf.questions[0]);
            REQUIRE(q);
            CHECK(q->type == QuestionType::Rating);
            CHECK(q->group == element.id);
            leafQuestions.insert(q->id);
        }
    }
    std::vector<const IndexDefinition*> leaves;
    collectLeaves(root, leaves);
    CHECK(leaves.size() == 22);
    CHECK(leafQuestions.size() == 22);  // every criterion counted once
}

// ---- the corpus of broken surveys ----

TEST_CASE("corpus: every broken survey reports its expected error") {
    const std::vector<Expected> expected = expectedErrors();
    CHECK(expected.size() >= 24);
    for (const Expected& want : expected) {
        INFO(want.file << ": want " << want.path << " " << want.code << ": " << want.english);
        const std::string path = corpusDir() + "/" + want.file;
        REQUIRE(fs::exists(path));
        const ParsedSurvey parsed = parseFile(path);
        INFO("got:\n" << describe(parsed.errors));
        CHECK_FALSE(parsed.survey);
        CHECK(parsed.canonical.empty());
        CHECK(findError(parsed.errors, want) != nullptr);
    }
}

TEST_CASE("corpus: one defect does not cascade into more than 3 errors") {
    for (const Expected& want : expectedErrors()) {
        const ParsedSurvey parsed = parseFile(corpusDir() + "/" + want.file);
        INFO(want.file << " got:\n" << describe(parsed.errors));
        CHECK_FALSE(parsed.errors.empty());
        CHECK(parsed.errors.size() <= 3);
    }
}

TEST_CASE("corpus: every broken file is listed in expected.tsv, once") {
    std::map<std::string, int> listed;
    for (const Expected& want : expectedErrors()) ++listed[want.file];
    for (const auto& [file, count] : listed) {
        INFO(file);
        CHECK(count == 1);
    }
    const std::vector<std::string> files = corpusFiles();
    CHECK(files.size() >= 24);
    for (const std::string& file : files) {
        INFO(file << " is not in expected.tsv");
        CHECK(listed.contains(file));
    }
}

// ---- canonical form and hashing ----

namespace {

const char* const kCompact =
    R"({"id":"hash-test","title":{"vi":"Phiếu","en":"Survey"},"description":{"vi":"Mô tả"},)"
    R"("questions":[{"id":"rating","type":"rating","text":{"vi":"Hài lòng?"},)"
    R"("scale":{"points":3,"labels":[{"vi":"Không"},{"vi":"Hài lòng"},{"vi":"Rất"}]}}],)"
    R"("indices":[{"id":"csat","title":{"vi":"Tỷ lệ"},"method":"share","question":"rating",)"
    R"("values":["2","3"]}]})";

// The same content: keys in another order at every level, other whitespace, a $schema.
const char* const kReordered = R"(
{
    "$schema": "./survey.schema.json",
    "indices": [ {
        "values": [ "2", "3" ], "question": "rating", "method": "share",
        "title": { "vi": "Tỷ lệ" }, "id": "csat"
    } ],
    "questions": [
        {
            "scale": {
                "labels": [ { "vi": "Không" }, { "vi": "Hài lòng" }, { "vi": "Rất" } ],
                "points": 3
            },
            "text": { "vi": "Hài lòng?" },
            "type": "rating",
            "id": "rating"
        }
    ],
    "description": { "vi": "Mô tả" },
    "title": { "en": "Survey", "vi": "Phiếu" },
    "id": "hash-test"
}
)";

std::string replaceOnce(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("the content hash ignores key order and whitespace but not content") {
    const ParsedSurvey compact = SurveyParser::parse(kCompact);
    INFO(describe(compact.errors));
    REQUIRE(compact.survey);
    CHECK(compact.survey->contentHash == SurveyParser::hash(compact.canonical));
    CHECK(compact.canonical.find('\n') == std::string::npos);

    SECTION("reordered keys, other whitespace and a $schema give the same hash") {
        const ParsedSurvey other = SurveyParser::parse(kReordered);
        INFO(describe(other.errors));
        REQUIRE(other.survey);
        CHECK(other.canonical == compact.canonical);
        CHECK(other.survey->contentHash == compact.survey->contentHash);
        CHECK(other.canonical.find("$schema") == std::string::npos);
    }
    SECTION("a changed label changes the hash") {
        const ParsedSurvey other =
            SurveyParser::parse(replaceOnce(kCompact, R"({"vi":"Rất"})", R"({"vi":"Rất tốt"})"));
        REQUIRE(other.survey);
        CHECK(other.survey->contentHash != compact.survey->contentHash);
    }
    SECTION("a changed share value changes the hash") {
        const ParsedSurvey other =
            SurveyParser::parse(replaceOnce(kCompact, R"(["2","3"])", R"(["3"])"));
        REQUIRE(other.survey);
        CHECK(other.survey->contentHash != compact.survey->contentHash);
    }
    SECTION("the hash is SHA-256 in lowercase hex") {
        CHECK(SurveyParser::hash("abc") ==
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

TEST_CASE("a shipped survey re-indented keeps its hash") {
    const std::string json = readFile(surveysDir() + "/counter-quick.json");
    const ParsedSurvey original = SurveyParser::parse(json);
    REQUIRE(original.survey);
    // Every newline and indentation removed: whitespace between tokens only (the file has no
    // newlines inside strings).
    std::string flat;
    bool lineStart = false;
    for (char c : json) {
        if (c == '\n') {
            lineStart = true;
            continue;
        }
        if (lineStart && c == ' ') continue;
        lineStart = false;
        flat.push_back(c);
    }
    REQUIRE(flat.size() < json.size());
    const ParsedSurvey other = SurveyParser::parse(flat);
    INFO(describe(other.errors));
    REQUIRE(other.survey);
    CHECK(other.survey->contentHash == original.survey->contentHash);
}

// ---- conditions ----

TEST_CASE("conditions are parsed: counter-quick asks for reasons after a low rating") {
    const ParsedSurvey parsed = parseShipped("counter-quick");
    INFO(describe(parsed.errors));
    REQUIRE(parsed.survey);
    const Survey& s = *parsed.survey;

    const Question* rating = s.question("rating");
    REQUIRE(rating);
    CHECK_FALSE(rating->showIf);
    CHECK(rating->options.size() == 3);

    const Question* reasons = s.question("reasons");
    REQUIRE(reasons);
    CHECK(reasons->type == QuestionType::MultipleChoice);
    CHECK(reasons->allowOther);
    CHECK(reasons->maxLength == 200);
    REQUIRE(reasons->showIf);
    CHECK(reasons->showIf->question == "rating");
    CHECK(reasons->showIf->values == std::vector<std::string>{"1"});
    CHECK(rating->option(reasons->showIf->values[0]));

    const Question* comment = s.question("comment");
    REQUIRE(comment);
    REQUIRE(comment->showIf);
    CHECK(comment->showIf->question == "rating");
    CHECK(comment->showIf->values == std::vector<std::string>{"1"});
}

// ---- messages ----

TEST_CASE("survey errors render in Vietnamese and English") {
    const ParsedSurvey parsed = parseFile(corpusDir() + "/13-scale-seven-labels.json");
    const auto e =
        std::find_if(parsed.errors.begin(), parsed.errors.end(),
                     [](const FieldError& x) { return x.code == "survey.scale_labels"; });
    REQUIRE(e != parsed.errors.end());
    CHECK(e->field == "/questions/0/scale");
    CHECK(catalog().text("vi", e->code, e->params) == "7 nhãn cho thang 5 mức.");
    CHECK(catalog().text("en", e->code, e->params) == "7 labels for 5 points.");

    const ParsedSurvey cycle = parseFile(corpusDir() + "/28-index-includes-itself.json");
    REQUIRE(test::hasError(cycle.errors, "/indices/2/children/1", "survey.index_cycle"));
    for (const FieldError& x : cycle.errors)
        if (x.code == "survey.index_cycle")
            CHECK(catalog().text("vi", x.code, x.params) ==
                  "Chỉ số «overall» chứa chính nó (vòng lặp).");
}

TEST_CASE("every survey.* code the parser reports has a text in both catalogs") {
    std::set<std::string> codes;
    for (const std::string& file : corpusFiles())
        for (const FieldError& e : parseFile(corpusDir() + "/" + file).errors) codes.insert(e.code);
    CHECK(codes.size() >= 20);
    for (const std::string& code : codes) {
        INFO(code);
        CHECK(catalog().text("vi", code) != code);
        CHECK(catalog().text("en", code) != catalog().text("vi", code));  // no fallback to vi
    }
}
