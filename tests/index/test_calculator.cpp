// Tests for core/index: every index method of Calculator computed over Tallies built with
// addResponse from surveys parsed from JSON (the real survey format), checked against values
// computed by hand; the edge cases (no answers, equal answers, a child without answers,
// multiple choice, minN); the published Hà Nội 2024 figures; a survey version change; and the
// calendar arithmetic of Periods.
#include "index/Calculator.h"
#include "index/Periods.h"
#include "index/Tally.h"
#include "survey/SurveyParser.h"

#include <hailong/Problem.h>
#include <hailong/Survey.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

using namespace hailong;
using index::IndexValue;
using index::ResponseAnswers;
using index::Tally;

namespace {

constexpr double kZ = 1.959963984540054;

/// Hand-computed values are written with 13+ significant digits; 1e-9 absorbs rounding only.
Approx exact(double expected) {
    return Approx(expected).epsilon(1e-12).margin(1e-9);
}

/// A survey definition in the real format around the given questions and indices, with a named
/// 5-level scale "s5" and a 7-level scale "s7".
std::string surveyJson(const std::string& id, const std::string& questions,
                       const std::string& indices) {
    return R"({"id": ")" + id + R"(",
  "title": {"vi": "Phiếu thử", "en": "Test survey"},
  "description": {"vi": "Phiếu dùng trong kiểm thử", "en": "A survey for tests"},
  "scales": {
    "s5": {"points": 5, "labels": [{"vi": "Rất không hài lòng"}, {"vi": "Không hài lòng"},
                                    {"vi": "Bình thường"}, {"vi": "Hài lòng"},
                                    {"vi": "Rất hài lòng"}]},
    "s7": {"points": 7, "labels": [{"vi": "1"}, {"vi": "2"}, {"vi": "3"}, {"vi": "4"},
                                    {"vi": "5"}, {"vi": "6"}, {"vi": "7"}]}
  },
  "questions": [)" +
           questions + R"(],
  "indices": [)" +
           indices + "]}";
}

/// A rating question on the scale `scale`.
std::string rating(const std::string& id, const std::string& scale = "s5") {
    return R"({"id": ")" + id + R"(", "type": "rating", "scale": ")" + scale +
           R"(", "text": "Câu )" + id + R"("})";
}

/// A share leaf counting the answers 4 and 5 of `question`.
std::string top2(const std::string& id, const std::string& question) {
    return R"({"id": ")" + id + R"(", "title": "Chỉ số )" + id +
           R"(", "method": "share", "question": ")" + question + R"(", "values": ["4", "5"]})";
}

Survey parse(const std::string& json) {
    const ParsedSurvey parsed = SurveyParser::parse(json);
    std::ostringstream errors;
    for (const FieldError& e : parsed.errors) errors << e.field << " " << e.code << "\n";
    INFO(errors.str());
    REQUIRE(parsed.errors.empty());
    REQUIRE(parsed.survey);
    return *parsed.survey;
}

/// One response per value, each answering `question` with that option id.
void answerEach(Tally& tally, const Survey& survey, const std::string& question,
                const std::vector<std::string>& options) {
    for (const std::string& o : options) index::addResponse(tally, survey, {{question, {o}}});
}

const IndexValue& node(const std::vector<IndexValue>& values, const std::string& id) {
    const IndexValue* v = index::find(values, id);
    INFO("index node " << id);
    REQUIRE(v != nullptr);
    return *v;
}

/// The value of node `id`, which must have one.
double valueOf(const std::vector<IndexValue>& values, const std::string& id) {
    const IndexValue& v = node(values, id);
    INFO("index node " << id);
    REQUIRE(v.value);
    return *v.value;
}

}  // namespace

TEST_CASE("share: top-2-box of a 1..5 rating with its Wilson interval", "[index][share]") {
    const Survey survey =
        parse(surveyJson("calc-share", rating("service"), top2("csat", "service")));
    Tally tally;
    // 7 of 10 answered 4 or 5.
    answerEach(tally, survey, "service", {"5", "5", "5", "4", "4", "4", "4", "3", "2", "1"});
    REQUIRE(tally.responses == 10);

    const auto values = index::compute(survey, tally);
    REQUIRE(values.size() == 1);
    const IndexValue& csat = node(values, "csat");
    CHECK(csat.definition == &survey.indices[0]);
    CHECK(csat.n == 10);
    REQUIRE(csat.value);
    CHECK(*csat.value == exact(70));
    CHECK(std::string(csat.interval) == "wilson");
    // p = 0.7, n = 10, z² = 3.841458820694124:
    // centre = (0.7 + 0.1920729410347062) / 1.3841458820694124 = 0.644493...
    // half   = z·√(0.021 + 0.009603647051735310) / 1.3841458820694124 = 0.247715...
    REQUIRE(csat.low);
    REQUIRE(csat.high);
    CHECK(*csat.low == exact(39.677814746114535));
    CHECK(*csat.high == exact(89.2208732593699));
    CHECK(csat.tooFew);  // 10 answers, the default minN is 30
    CHECK_FALSE(csat.points);

    // The exported helper agrees, and is in percent.
    const auto [low, high] = index::wilson(7, 10);
    CHECK(low == exact(39.677814746114535));
    CHECK(high == exact(89.2208732593699));
    const auto [low4, high4] = index::wilson(4, 10);
    CHECK(low4 == exact(16.818032970623616));
    CHECK(high4 == exact(68.73262302663417));
    // 0 of 10: the low end is clamped at 0, the high end is z²/n / (1 + z²/n).
    const auto [low0, high0] = index::wilson(0, 10);
    CHECK(low0 == exact(0));
    CHECK(high0 == exact(27.75327998628892));
}

TEST_CASE("mean100: a 1..5 rating rescaled to 0-100 with a normal interval", "[index][mean100]") {
    const Survey survey = parse(surveyJson(
        "calc-mean100", rating("service"),
        R"({"id": "score", "title": "Điểm", "method": "mean100", "question": "service"})"));
    Tally tally;
    // Mean 4 → (4 − 1) / 4 × 100 = 75. Rescaled answers 100, 100, 50, 50, 75, 75: deviations
    // ±25 four times, Σd² = 2500, sample variance 500, half-width z·√(500/6) = 17.8919414...
    answerEach(tally, survey, "service", {"5", "5", "3", "3", "4", "4"});

    const IndexValue& score = node(index::compute(survey, tally), "score");
    CHECK(score.n == 6);
    REQUIRE(score.value);
    CHECK(*score.value == exact(75));
    CHECK(std::string(score.interval) == "normal");
    REQUIRE(score.low);
    REQUIRE(score.high);
    CHECK(*score.low == exact(75 - kZ * std::sqrt(500.0 / 6)));
    CHECK(*score.low == exact(57.10805856282843));
    CHECK(*score.high == exact(92.89194143717157));
}

TEST_CASE("average: the plain mean of a 1..7 CES rating with a clamped normal interval",
          "[index][average]") {
    const Survey survey = parse(
        surveyJson("calc-average", rating("effort", "s7"),
                   R"({"id": "ces", "title": "CES", "method": "average", "question": "effort"})"));

    SECTION("inside the scale") {
        Tally tally;
        // 7, 6, 6, 5, 2: mean 26 / 5 = 5.2; Σd² = 3.24 + 0.64 + 0.64 + 0.04 + 10.24 = 14.8,
        // s² = 3.7, half-width z·√(3.7 / 5) = 1.686024770670245.
        answerEach(tally, survey, "effort", {"7", "6", "6", "5", "2"});
        const IndexValue& ces = node(index::compute(survey, tally), "ces");
        CHECK(ces.n == 5);
        REQUIRE(ces.value);
        CHECK(*ces.value == exact(5.2));
        REQUIRE(ces.low);
        REQUIRE(ces.high);
        CHECK(*ces.low == exact(3.513975229329755));
        CHECK(*ces.high == exact(6.886024770670245));
    }
    SECTION("an interval reaching past 7 is clamped to the scale") {
        Tally tally;
        // 7, 7, 7, 1: mean 5.5, s² = (3 × 1.5² + 4.5²) / 3 = 9, half-width z·3/2 = 2.93994...
        answerEach(tally, survey, "effort", {"7", "7", "7", "1"});
        const IndexValue& ces = node(index::compute(survey, tally), "ces");
        CHECK(ces.n == 4);
        REQUIRE(ces.value);
        CHECK(*ces.value == exact(5.5));
        REQUIRE(ces.low);
        REQUIRE(ces.high);
        CHECK(*ces.low == exact(5.5 - kZ * 1.5));
        CHECK(*ces.high == exact(7));
    }
}

TEST_CASE("nps: percent of 9-10 minus percent of 0-6 with its interval", "[index][nps]") {
    const Survey survey = parse(
        surveyJson("calc-nps", R"({"id": "recommend", "type": "nps", "text": "Giới thiệu"})",
                   R"({"id": "nps", "title": "NPS", "method": "nps", "question": "recommend"})"));
    Tally tally;
    // 5 promoters (10, 10, 9, 9, 9), 2 passives (8, 7), 3 detractors (6, 3, 0): 50 − 30 = 20.
    // Scores +100 ×5, 0 ×2, −100 ×3: Σd² = 5·80² + 2·20² + 3·120² = 76000, s² = 76000 / 9.
    answerEach(tally, survey, "recommend", {"10", "10", "9", "9", "9", "8", "7", "6", "3", "0"});

    const IndexValue& nps = node(index::compute(survey, tally), "nps");
    CHECK(nps.n == 10);
    REQUIRE(nps.value);
    CHECK(*nps.value == exact(20));
    CHECK(std::string(nps.interval) == "normal");
    REQUIRE(nps.low);
    REQUIRE(nps.high);
    CHECK(*nps.low == exact(20 - kZ * std::sqrt(76000.0 / 9 / 10)));
    CHECK(*nps.low == exact(-36.9552329439294));
    CHECK(*nps.high == exact(76.9552329439294));

    SECTION("only detractors: −100, its interval collapsed on −100") {
        Tally low;
        answerEach(low, survey, "recommend", {"0", "6", "5"});
        const IndexValue& v = node(index::compute(survey, low), "nps");
        REQUIRE(v.value);
        CHECK(*v.value == exact(-100));
        REQUIRE(v.low);
        CHECK(*v.low == exact(-100));
        REQUIRE(v.high);
        CHECK(*v.high == exact(-100));
    }
}

namespace {

/// Circular 01/2018 style: 9 indicators of 0/1/2 points (as surveys/dossier-tt01.json).
Survey pointsSurvey() {
    std::string questions, ids;
    for (int i = 1; i <= 9; ++i) {
        const std::string id = "i" + std::to_string(i);
        if (i > 1) questions += ", ", ids += ", ";
        questions += R"({"id": ")" + id + R"(", "type": "single", "text": "Tiêu chí )" + id +
                     R"(", "options": [
            {"id": "2", "value": 2, "label": "2 điểm"},
            {"id": "1", "value": 1, "label": "1 điểm"},
            {"id": "0", "value": 0, "label": "0 điểm"}]})";
        ids += "\"" + id + "\"";
    }
    return parse(
        surveyJson("calc-points", questions,
                   R"({"id": "points", "title": "Tỷ lệ điểm", "method": "points", "questions": [)" +
                       ids + "]}"));
}

/// A response giving `twos` indicators 2 points, `ones` 1 point and the rest 0.
ResponseAnswers pointsResponse(int twos, int ones) {
    ResponseAnswers r;
    for (int i = 1; i <= 9; ++i)
        r["i" + std::to_string(i)] = {i <= twos ? "2" : i <= twos + ones ? "1" : "0"};
    return r;
}

}  // namespace

TEST_CASE("points: points earned over points possible (Circular 01, 15 of 18)", "[index][points]") {
    const Survey survey = pointsSurvey();
    Tally tally;
    index::addResponse(tally, survey, pointsResponse(9, 0));  // 18 points
    index::addResponse(tally, survey, pointsResponse(6, 3));  // 15 points
    index::addResponse(tally, survey, pointsResponse(6, 0));  // 12 points

    const IndexValue& points = node(index::compute(survey, tally), "points");
    // Earned 45 of 54 possible: 83.33...%, i.e. 15 of 18 points on average.
    CHECK(points.n == 3);
    REQUIRE(points.value);
    CHECK(*points.value == exact(4500.0 / 54));
    REQUIRE(points.points);
    REQUIRE(points.maxPoints);
    CHECK(*points.points == exact(15));
    CHECK(*points.maxPoints == exact(18));
    CHECK(std::string(points.interval) == "per-response");
    // Per-response scores 100, 83.33, 66.67: s = 16.67, half-width z·16.67/√3 = 18.8597...;
    // the high end (102.19) is clamped at 100.
    REQUIRE(points.low);
    REQUIRE(points.high);
    CHECK(*points.low == exact(64.47357109873046));
    CHECK(*points.high == exact(100));

    SECTION("a response skipping indicators is counted over what it answered") {
        // 4 points of 6 possible on three answered indicators: (45 + 4) / (54 + 6).
        index::addResponse(tally, survey, {{"i1", {"2"}}, {"i2", {"2"}}, {"i3", {"0"}}});
        const IndexValue& v = node(index::compute(survey, tally), "points");
        CHECK(v.n == 4);
        REQUIRE(v.value);
        CHECK(*v.value == exact(49.0 / 60 * 100));
        REQUIRE(v.points);
        CHECK(*v.points == exact(49.0 / 60 * 18));
    }
}

namespace {

// SIPAS shape: overall = mean of elements, element = mean of its criteria, criterion = share of
// 4 and 5. Two elements: access (a1, a2) and procedure (p1, p2, p3).
Survey sipasSurvey() {
    return parse(surveyJson("calc-sipas",
                            rating("a1") + ", " + rating("a2") + ", " + rating("p1") + ", " +
                                rating("p2") + ", " + rating("p3"),
                            R"({"id": "sipas", "title": "SIPAS", "method": "mean", "children": [
            {"id": "access", "title": "Tiếp cận", "method": "mean", "children": [)" +
                                top2("c_a1", "a1") + ", " + top2("c_a2", "a2") + R"(]},
            {"id": "procedure", "title": "Thủ tục", "method": "mean", "children": [)" +
                                top2("c_p1", "p1") + ", " + top2("c_p2", "p2") + ", " +
                                top2("c_p3", "p3") + "]}]}"));
}

ResponseAnswers sipasResponse(const char* a1, const char* a2, const char* p1, const char* p2,
                              const char* p3) {
    return {{"a1", {a1}}, {"a2", {a2}}, {"p1", {p1}}, {"p2", {p2}}, {"p3", {p3}}};
}

}  // namespace

TEST_CASE("mean: SIPAS, element = mean of criteria, overall = mean of elements", "[index][mean]") {
    const Survey survey = sipasSurvey();
    Tally tally;
    index::addResponse(tally, survey, sipasResponse("5", "4", "5", "5", "5"));
    index::addResponse(tally, survey, sipasResponse("4", "2", "3", "4", "5"));
    index::addResponse(tally, survey, sipasResponse("2", "1", "4", "2", "1"));
    index::addResponse(tally, survey, sipasResponse("5", "5", "1", "4", "4"));

    const auto values = index::compute(survey, tally);
    // a1 3/4, a2 2/4; p1 2/4, p2 3/4, p3 3/4.
    CHECK(valueOf(values, "c_a1") == exact(75));
    CHECK(valueOf(values, "c_a2") == exact(50));
    CHECK(valueOf(values, "c_p1") == exact(50));
    const IndexValue& access = node(values, "access");
    const IndexValue& procedure = node(values, "procedure");
    const IndexValue& sipas = node(values, "sipas");
    REQUIRE(access.value);
    REQUIRE(procedure.value);
    REQUIRE(sipas.value);
    CHECK(*access.value == exact(62.5));
    CHECK(*procedure.value == exact(200.0 / 3));
    CHECK(*sipas.value == exact((62.5 + 200.0 / 3) / 2));
    CHECK(*sipas.value == exact(64.58333333333334));
    CHECK(sipas.children.size() == 2);
    CHECK(access.children.size() == 2);
    CHECK(procedure.children.size() == 3);
    // n of an inner node = responses with a score on it.
    CHECK(sipas.n == 4);
    CHECK(access.n == 4);
    CHECK(std::string(sipas.interval) == "per-response");
    // Per-response SIPAS scores: 100, (50 + 66.67)/2, (0 + 33.33)/2, (100 + 66.67)/2; their
    // sample sd is 35.707..., half-width z·sd/2 = 35.519; the high end is clamped at 100.
    REQUIRE(sipas.low);
    REQUIRE(sipas.high);
    CHECK(*sipas.low == exact(29.064462169347287));
    CHECK(*sipas.high == exact(100));
    REQUIRE(tally.scores.count("sipas") == 1);
    CHECK(tally.scores.at("sipas").sum ==
          exact(100 + (50 + 200.0 / 3) / 2 + (100.0 / 3) / 2 + (100 + 200.0 / 3) / 2));
}

TEST_CASE("mean: a child without answers is left out of the mean", "[index][mean][edge]") {
    const Survey survey = sipasSurvey();
    Tally tally;
    // Nobody answered the procedure criteria; a1 2 of 2, a2 1 of 2: access = 75.
    index::addResponse(tally, survey, {{"a1", {"5"}}, {"a2", {"4"}}});
    index::addResponse(tally, survey, {{"a1", {"4"}}, {"a2", {"3"}}});
    const auto values = index::compute(survey, tally);
    const IndexValue& procedure = node(values, "procedure");
    CHECK_FALSE(procedure.value);
    CHECK(procedure.n == 0);
    CHECK(procedure.tooFew);
    const IndexValue& sipas = node(values, "sipas");
    REQUIRE(sipas.value);
    CHECK(*sipas.value == exact(75));  // not (75 + 0) / 2
    CHECK(sipas.n == 2);

    SECTION("one criterion answered: the element is that criterion alone") {
        index::addResponse(tally, survey, {{"p2", {"2"}}});
        const auto more = index::compute(survey, tally);
        REQUIRE(node(more, "procedure").value);
        CHECK(valueOf(more, "procedure") == exact(0));
        CHECK(valueOf(more, "sipas") == exact(37.5));
        CHECK(node(more, "sipas").n == 3);
    }
}

namespace {

// ACSI style: three mean100 drivers weighted 0.3885, 0.3190, 0.2925.
Survey weightedSurvey() {
    return parse(surveyJson("calc-weighted",
                            rating("x1") + ", " + rating("x2") + ", " + rating("x3"),
                            R"({"id": "acsi", "title": "ACSI", "method": "weighted",
            "weights": [0.3885, 0.3190, 0.2925], "children": [
              {"id": "m1", "title": "M1", "method": "mean100", "question": "x1"},
              {"id": "m2", "title": "M2", "method": "mean100", "question": "x2"},
              {"id": "m3", "title": "M3", "method": "mean100", "question": "x3"}]})"));
}

}  // namespace

TEST_CASE("weighted: ACSI-style weights 0.3885, 0.3190, 0.2925", "[index][weighted]") {
    const Survey survey = weightedSurvey();
    REQUIRE(survey.indices.size() == 1);
    REQUIRE(survey.indices[0].weights.size() == 3);
    Tally tally;
    // x1 mean 4 → 75, x2 mean 3 → 50, x3 mean 5 → 100.
    index::addResponse(tally, survey, {{"x1", {"5"}}, {"x2", {"2"}}, {"x3", {"5"}}});
    index::addResponse(tally, survey, {{"x1", {"3"}}, {"x2", {"4"}}, {"x3", {"5"}}});

    const auto values = index::compute(survey, tally);
    CHECK(valueOf(values, "m1") == exact(75));
    CHECK(valueOf(values, "m2") == exact(50));
    CHECK(valueOf(values, "m3") == exact(100));
    const IndexValue& acsi = node(values, "acsi");
    REQUIRE(acsi.value);
    // 0.3885·75 + 0.3190·50 + 0.2925·100 = 29.1375 + 15.95 + 29.25 (weights add up to 1).
    CHECK(*acsi.value == exact(74.3375));
    CHECK(acsi.n == 2);
    // Per-response scores: 0.3885·100 + 0.3190·25 + 0.2925·100 = 76.075 and
    // 0.3885·50 + 0.3190·75 + 0.2925·100 = 72.6; s = 3.475/√2, half-width z·s/√2 = 3.40544...
    const double s = (76.075 - 72.6) / std::sqrt(2.0);
    REQUIRE(acsi.low);
    CHECK(*acsi.low == exact(74.3375 - kZ * s / std::sqrt(2.0)));
    CHECK(*acsi.low == exact(74.3375 - kZ * 3.475 / 2));
    REQUIRE(acsi.high);
    CHECK(*acsi.high == exact(74.3375 + kZ * s / std::sqrt(2.0)));

    SECTION("a driver without answers: the other weights are renormalised") {
        Tally partial;
        index::addResponse(partial, survey, {{"x1", {"5"}}, {"x2", {"2"}}});
        index::addResponse(partial, survey, {{"x1", {"3"}}, {"x2", {"4"}}});
        const IndexValue& v = node(index::compute(survey, partial), "acsi");
        REQUIRE(v.value);
        // (0.3885·75 + 0.3190·50) / 0.7075 = 45.0875 / 0.7075.
        CHECK(*v.value == exact(63.72791519434629));
    }
}

TEST_CASE("pooled: all the children's answers taken together", "[index][pooled]") {
    const Survey survey = parse(surveyJson("calc-pooled", rating("q1") + ", " + rating("q2"),
                                           R"({"id": "pool", "title": "Gộp", "method": "pooled",
            "children": [)" + top2("s1", "q1") +
                                               ", " + top2("s2", "q2") + "]}"));
    Tally tally;
    answerEach(tally, survey, "q1", {"5", "4", "4", "1"});            // 3 of 4
    answerEach(tally, survey, "q2", {"5", "3", "3", "2", "1", "1"});  // 1 of 6

    const auto values = index::compute(survey, tally);
    CHECK(valueOf(values, "s1") == exact(75));
    CHECK(valueOf(values, "s2") == exact(100.0 / 6));
    const IndexValue& pool = node(values, "pool");
    // 4 of 10 answers (the mean of the two shares would be 45.83).
    CHECK(pool.n == 10);
    REQUIRE(pool.value);
    CHECK(*pool.value == exact(40));
    CHECK(std::string(pool.interval) == "wilson");
    REQUIRE(pool.low);
    CHECK(*pool.low == exact(16.818032970623616));
    REQUIRE(pool.high);
    CHECK(*pool.high == exact(68.73262302663417));
}

TEST_CASE("no answers: every value is empty, never 0, with n = 0 and tooFew", "[index][edge]") {
    const Survey survey = parse(surveyJson(
        "calc-empty",
        rating("service") + ", " + rating("effort", "s7") +
            R"(, {"id": "recommend", "type": "nps", "text": "Giới thiệu"},
                 {"id": "i1", "type": "yesno", "text": "Đúng hạn"},
                 {"id": "comment", "type": "text", "text": "Góp ý"})",
        top2("csat", "service") +
            R"(, {"id": "score", "title": "Điểm", "method": "mean100", "question": "service"},
            {"id": "ces", "title": "CES", "method": "average", "question": "effort"},
            {"id": "nps", "title": "NPS", "method": "nps", "question": "recommend"},
            {"id": "points", "title": "Điểm", "method": "points", "questions": ["i1"]},
            {"id": "all", "title": "Chung", "method": "mean", "children": ["csat", "score"]},
            {"id": "w", "title": "Trọng số", "method": "weighted", "weights": [1, 2],
             "children": ["csat", "score"]},
            {"id": "pool", "title": "Gộp", "method": "pooled", "children": ["csat"]})"));

    SECTION("an empty tally") {
        const Tally empty;
        const auto values = index::compute(survey, empty);
        REQUIRE(values.size() == 8);
        for (const char* id : {"csat", "score", "ces", "nps", "points", "all", "w", "pool"}) {
            INFO(id);
            const IndexValue& v = node(values, id);
            CHECK_FALSE(v.value);
            CHECK(v.n == 0);
            CHECK(v.tooFew);
            CHECK_FALSE(v.low);
            CHECK_FALSE(v.high);
            CHECK_FALSE(v.points);
        }
    }
    SECTION("responses that answered only a text question") {
        Tally tally;
        index::addResponse(tally, survey, {{"comment", {"Chậm quá"}}});
        index::addResponse(tally, survey, {});
        CHECK(tally.responses == 2);
        const auto values = index::compute(survey, tally);
        for (const char* id : {"csat", "score", "ces", "nps", "points", "all", "w", "pool"}) {
            INFO(id);
            CHECK_FALSE(node(values, id).value);
            CHECK(node(values, id).n == 0);
        }
    }
}

TEST_CASE("all answers equal: the interval of a mean collapses, Wilson does not", "[index][edge]") {
    const Survey survey = parse(surveyJson(
        "calc-equal", rating("service") + ", " + rating("effort", "s7"),
        top2("csat", "service") +
            R"(, {"id": "score", "title": "Điểm", "method": "mean100", "question": "service"},
            {"id": "ces", "title": "CES", "method": "average", "question": "effort"})"));
    Tally tally;
    for (int i = 0; i < 10; ++i)
        index::addResponse(tally, survey, {{"service", {"4"}}, {"effort", {"6"}}});

    const auto values = index::compute(survey, tally);
    const IndexValue& score = node(values, "score");
    REQUIRE(score.value);
    CHECK(*score.value == exact(75));
    REQUIRE(score.low);
    REQUIRE(score.high);
    CHECK(*score.low == exact(75));
    CHECK(*score.high == exact(75));
    const IndexValue& ces = node(values, "ces");
    REQUIRE(ces.value);
    CHECK(*ces.value == exact(6));
    REQUIRE(ces.low);
    CHECK(*ces.low == exact(6));
    REQUIRE(ces.high);
    CHECK(*ces.high == exact(6));

    // 10 of 10: high = (centre + half) = 1 exactly in theory; low = 1 / (1 + z²/10) = 72.2467%.
    const IndexValue& csat = node(values, "csat");
    REQUIRE(csat.value);
    CHECK(*csat.value == exact(100));
    REQUIRE(csat.low);
    REQUIRE(csat.high);
    CHECK(*csat.high == exact(100));
    CHECK(*csat.high <= 100);
    CHECK(*csat.low < 100);
    CHECK(*csat.low == exact(100 / (1 + kZ * kZ / 10)));
    CHECK(*csat.low == exact(72.24672001371107));
}

TEST_CASE("one answer: a mean has no interval", "[index][edge]") {
    const Survey survey = parse(surveyJson(
        "calc-one", rating("service"),
        R"({"id": "score", "title": "Điểm", "method": "mean100", "question": "service"})"));
    Tally tally;
    answerEach(tally, survey, "service", {"2"});
    const IndexValue& score = node(index::compute(survey, tally), "score");
    REQUIRE(score.value);
    CHECK(*score.value == exact(25));
    CHECK(score.n == 1);
    CHECK_FALSE(score.low);
    CHECK_FALSE(score.high);
}

TEST_CASE("multiple choice: a share counts each response once", "[index][share][edge]") {
    const Survey survey = parse(surveyJson("calc-multiple", R"({"id": "reasons",
        "type": "multiple", "text": "Lý do", "options": [
          {"id": "slow", "label": "Chậm"}, {"id": "rude", "label": "Thiếu lịch sự"},
          {"id": "queue", "label": "Phải xếp hàng"}, {"id": "paper", "label": "Nhiều giấy tờ"}]})",
                                           R"({"id": "staff", "title": "Do cán bộ",
        "method": "share", "question": "reasons", "values": ["slow", "rude"]})"));
    Tally tally;
    index::addResponse(tally, survey, {{"reasons", {"slow", "rude"}}});  // in, once
    index::addResponse(tally, survey, {{"reasons", {"queue"}}});
    index::addResponse(tally, survey, {{"reasons", {"paper", "queue"}}});
    index::addResponse(tally, survey, {{"reasons", {"slow", "paper"}}});  // in
    index::addResponse(tally, survey, {{"reasons", {}}});                 // not an answer
    // Each answering response's own score on the share: in the set (100) or not (0).
    REQUIRE(tally.scores.at("staff").n == 4);
    CHECK(tally.scores.at("staff").sum == exact(200));

    // 2 of the 4 responses that answered chose "slow" or "rude".
    const IndexValue& staff = node(index::compute(survey, tally), "staff");
    CHECK(staff.n == 4);
    REQUIRE(staff.value);
    CHECK(*staff.value == exact(50));
    // Wilson of 2 in 4: centre 0.5, half-width z·√(1/16 + z²/64) / (1 + z²/4) = 0.349961...
    REQUIRE(staff.low);
    REQUIRE(staff.high);
    CHECK(*staff.low == exact(15.003898915214947));
    CHECK(*staff.high == exact(84.99610108478505));
}

TEST_CASE("minN: n under minN is flagged tooFew, inherited by inline children", "[index][minN]") {
    const Survey survey = parse(
        surveyJson("calc-minn", rating("q1") + ", " + rating("q2"),
                   top2("csat", "q1") + R"(, {"id": "both", "title": "Chung", "method": "mean",
            "minN": 5, "children": [)" +
                       top2("c1", "q1") + R"(, {"id": "c2", "title": "C2", "method": "share",
              "question": "q2", "values": ["5"], "minN": 3}]})"));
    REQUIRE(survey.indices.size() == 2);
    CHECK(survey.indices[0].minN == 30);
    CHECK(survey.indices[1].minN == 5);
    CHECK(survey.indices[1].children[0].minN == 5);
    CHECK(survey.indices[1].children[1].minN == 3);

    Tally tally;
    index::addResponse(tally, survey, {{"q1", {"5"}}, {"q2", {"5"}}});
    index::addResponse(tally, survey, {{"q1", {"4"}}, {"q2", {"1"}}});
    index::addResponse(tally, survey, {{"q1", {"3"}}});
    index::addResponse(tally, survey, {{"q1", {"2"}}});
    auto values = index::compute(survey, tally);
    CHECK(node(values, "both").n == 4);
    CHECK(node(values, "both").tooFew);   // 4 < 5
    CHECK(node(values, "c1").tooFew);     // 4 < 5
    CHECK(node(values, "c2").tooFew);     // 2 < 3
    CHECK(node(values, "csat").tooFew);   // 4 < 30
    REQUIRE(node(values, "both").value);  // flagged, still computed
    CHECK(valueOf(values, "c1") == exact(50));
    CHECK(valueOf(values, "both") == exact(50));  // (50 + 50) / 2

    index::addResponse(tally, survey, {{"q1", {"5"}}, {"q2", {"5"}}});
    values = index::compute(survey, tally);
    CHECK(node(values, "both").n == 5);
    CHECK_FALSE(node(values, "both").tooFew);  // 5 ≥ 5
    CHECK_FALSE(node(values, "c1").tooFew);    // 5 ≥ 5
    CHECK_FALSE(node(values, "c2").tooFew);    // 3 ≥ 3
    CHECK(node(values, "csat").tooFew);        // 5 < 30

    Tally thirty;
    for (int i = 0; i < 29; ++i) answerEach(thirty, survey, "q1", {"4"});
    CHECK(node(index::compute(survey, thirty), "csat").tooFew);  // 29 < 30
    answerEach(thirty, survey, "q1", {"1"});
    CHECK_FALSE(node(index::compute(survey, thirty), "csat").tooFew);  // 30
}

TEST_CASE("the published Hà Nội 2024 figures: 86.51% and 86.49% average to 86.50%",
          "[index][mean]") {
    const Survey survey = parse(surveyJson("calc-hanoi", rating("q1") + ", " + rating("q2"),
                                           R"({"id": "overall", "title": "Hà Nội 2024",
        "method": "mean", "children": [)" + top2("aspect1", "q1") +
                                               ", " + top2("aspect2", "q2") + "]}"));
    Tally tally;
    for (int i = 0; i < 10000; ++i)
        index::addResponse(tally, survey,
                           {{"q1", {i < 8651 ? "4" : "3"}}, {"q2", {i < 8649 ? "5" : "2"}}});

    const auto values = index::compute(survey, tally);
    const IndexValue& a1 = node(values, "aspect1");
    const IndexValue& a2 = node(values, "aspect2");
    const IndexValue& overall = node(values, "overall");
    CHECK(a1.n == 10000);
    CHECK(a2.n == 10000);
    REQUIRE(a1.value);
    REQUIRE(a2.value);
    REQUIRE(overall.value);
    CHECK(*a1.value == Approx(86.51).epsilon(0).margin(1e-9));
    CHECK(*a2.value == Approx(86.49).epsilon(0).margin(1e-9));
    CHECK(*overall.value == Approx(86.50).epsilon(0).margin(1e-9));
    CHECK(overall.n == 10000);
    CHECK_FALSE(overall.tooFew);
}

TEST_CASE("a survey version change: tallies of v1 and v2 merged and computed with v2",
          "[index][versions]") {
    Survey v1 = parse(surveyJson("calc-versions", rating("service"),
                                 top2("csat", "service") + R"(, {"id": "overall",
        "title": "Chung", "method": "mean", "children": ["csat"]})"));
    Survey v2 = parse(surveyJson("calc-versions", rating("service") + ", " + rating("speed"),
                                 top2("csat", "service") + ", " + top2("fast", "speed") +
                                     R"(, {"id": "overall",
        "title": "Chung", "method": "mean", "children": ["csat", "fast"]})"));
    v1.version = 1;
    v2.version = 2;
    REQUIRE(v1.id == v2.id);
    REQUIRE(v1.contentHash != v2.contentHash);

    Tally old;
    answerEach(old, v1, "service", {"5", "5", "4", "2", "1", "3"});  // 3 of 6
    Tally fresh;
    for (const auto& [service, speed] : std::vector<std::pair<std::string, std::string>>{
             {"5", "5"}, {"4", "2"}, {"4", "2"}, {"1", "4"}})  // service 3 of 4, speed 2 of 4
        index::addResponse(fresh, v2, {{"service", {service}}, {"speed", {speed}}});

    Tally merged = old;
    merged.merge(fresh);
    CHECK(merged.responses == 10);
    CHECK(merged.answers.at("service").at("5") == 3);
    CHECK(merged.answers.at("service").at("4") == 3);
    CHECK(merged.answers.at("speed").at("2") == 2);
    CHECK(merged.scores.at("overall").n == 10);

    const auto values = index::compute(v2, merged);
    const IndexValue& csat = node(values, "csat");
    CHECK(csat.n == 10);
    REQUIRE(csat.value);
    CHECK(*csat.value == exact(60));  // 6 of 10, both versions
    const IndexValue& fast = node(values, "fast");
    CHECK(fast.n == 4);  // asked in v2 only
    REQUIRE(fast.value);
    CHECK(*fast.value == exact(50));
    const IndexValue& overall = node(values, "overall");
    REQUIRE(overall.value);
    CHECK(*overall.value == exact(55));
    CHECK(overall.n == 10);

    // The same merged tally read with v1 knows nothing of the new question's index.
    const auto withV1 = index::compute(v1, merged);
    CHECK(index::find(withV1, "fast") == nullptr);
    CHECK(valueOf(withV1, "overall") == exact(60));

    // Merging is order-independent.
    Tally other = fresh;
    other.merge(old);
    std::string why;
    const bool same = index::sameTally(merged, other, why);
    INFO(why);
    CHECK(same);
}

TEST_CASE("Periods: local days in UTC+7", "[index][periods]") {
    const auto newYear = index::parseDay("2025-01-01");
    REQUIRE(newYear);
    // 2025-01-01T00:00+07:00 = 2024-12-31T17:00Z.
    CHECK(index::localDay(1735664400000) == *newYear);
    CHECK(index::localDay(1735664400000 - 1) == *newYear - 1);
    CHECK(index::dayStartMs(*newYear) == 1735664400000);
    // 2024-12-31T23:30Z is 06:30 on 2025-01-01 locally.
    CHECK(index::localDay(1735687800000) == *newYear);
    CHECK(index::format(index::localDay(1735687800000)) == "2025-01-01");
    // Days since 1970-01-01: 55 years with 14 leap days.
    CHECK(*newYear == 55 * 365 + 14);
    CHECK(index::localDay(0) == 0);  // 07:00 on 1970-01-01
    CHECK(index::localDay(-index::kLocalOffsetMs) == 0);
    CHECK(index::localDay(-index::kLocalOffsetMs - 1) == -1);  // 23:59:59.999 on 1969-12-31
    CHECK(index::format(-1) == "1969-12-31");
}

TEST_CASE("Periods: buckets of a trend and their labels", "[index][periods]") {
    using index::Grain;
    const auto day = [](const char* text) {
        const auto d = index::parseDay(text);
        INFO(text);
        REQUIRE(d);
        return *d;
    };

    // 2025-01-01 is a Wednesday: its ISO week starts on Monday 2024-12-30 and is 2025-W01.
    const std::int64_t jan1 = day("2025-01-01");
    CHECK(index::bucketStart(jan1, Grain::Week) == day("2024-12-30"));
    CHECK(index::bucketEnd(day("2024-12-30"), Grain::Week) == day("2025-01-05"));
    CHECK(index::label(index::bucketStart(jan1, Grain::Week), Grain::Week) == "2025-W01");
    CHECK(index::bucketStart(day("2024-12-30"), Grain::Week) == day("2024-12-30"));  // Monday
    CHECK(index::bucketStart(day("2025-01-05"), Grain::Week) == day("2024-12-30"));  // Sunday
    CHECK(index::bucketStart(day("2025-01-06"), Grain::Week) == day("2025-01-06"));
    CHECK(index::label(day("2025-03-03"), Grain::Week) == "2025-W10");
    // Sunday 2021-01-03 belongs to the last ISO week of 2020, its 53rd.
    CHECK(index::bucketStart(day("2021-01-03"), Grain::Week) == day("2020-12-28"));
    CHECK(index::label(day("2020-12-28"), Grain::Week) == "2020-W53");

    CHECK(index::bucketStart(day("2025-03-15"), Grain::Month) == day("2025-03-01"));
    CHECK(index::bucketEnd(day("2025-02-01"), Grain::Month) == day("2025-02-28"));
    CHECK(index::bucketEnd(day("2024-02-01"), Grain::Month) == day("2024-02-29"));
    CHECK(index::label(day("2025-03-01"), Grain::Month) == "2025-03");

    CHECK(index::bucketStart(day("2025-02-14"), Grain::Quarter) == jan1);
    CHECK(index::bucketStart(day("2025-03-31"), Grain::Quarter) == jan1);
    CHECK(index::bucketStart(day("2025-08-20"), Grain::Quarter) == day("2025-07-01"));
    CHECK(index::bucketStart(day("2025-12-31"), Grain::Quarter) == day("2025-10-01"));
    CHECK(index::bucketEnd(jan1, Grain::Quarter) == day("2025-03-31"));
    CHECK(index::label(jan1, Grain::Quarter) == "2025-Q1");
    CHECK(index::label(day("2025-07-01"), Grain::Quarter) == "2025-Q3");

    CHECK(index::bucketStart(day("2025-08-20"), Grain::Year) == jan1);
    CHECK(index::bucketEnd(jan1, Grain::Year) == day("2025-12-31"));
    CHECK(index::label(jan1, Grain::Year) == "2025");

    CHECK(index::bucketStart(day("2025-08-20"), Grain::Day) == day("2025-08-20"));
    CHECK(index::label(day("2025-03-07"), Grain::Day) == "2025-03-07");

    CHECK(index::parseGrain("quarter") == Grain::Quarter);
    CHECK_FALSE(index::parseGrain("fortnight"));
    CHECK(std::string(index::name(Grain::Week)) == "week");
}

TEST_CASE("Periods: parseDay accepts real YYYY-MM-DD dates only", "[index][periods]") {
    CHECK_FALSE(index::parseDay("2025-02-30"));
    CHECK_FALSE(index::parseDay("2025-02-29"));  // 2025 is not a leap year
    CHECK_FALSE(index::parseDay("2025-1-01"));
    CHECK_FALSE(index::parseDay("2025-01-1"));
    CHECK_FALSE(index::parseDay("2025-13-01"));
    CHECK_FALSE(index::parseDay("2025-00-10"));
    CHECK_FALSE(index::parseDay("2025-04-31"));
    CHECK_FALSE(index::parseDay("2025/01/01"));
    CHECK_FALSE(index::parseDay("2025-01-01T00:00"));
    CHECK_FALSE(index::parseDay("20x5-01-01"));
    CHECK_FALSE(index::parseDay(""));
    const auto leap = index::parseDay("2024-02-29");
    REQUIRE(leap);
    CHECK(index::format(*leap) == "2024-02-29");
    CHECK(*index::parseDay("2024-03-01") == *leap + 1);
    CHECK(*index::parseDay("1970-01-01") == 0);
    const index::Date d = index::dateOf(*index::parseDay("2025-03-07"));
    CHECK(d.year == 2025);
    CHECK(d.month == 3);
    CHECK(d.day == 7);
}
