// libFuzzer target for survey definitions (SurveyParser): any bytes give a survey or errors,
// never both and never neither; every error names its place and a message code; a survey's
// canonical text parses again to the same survey, the same canonical text and the same hash.
// Seeds: the project's surveys/*.json and a few broken ones (tests/fuzz/seeds/survey).
#include "FuzzSupport.h"
#include "survey/SurveyParser.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

using namespace hailong;
using hailong::fuzz::fail;

namespace {

void put(std::ostringstream& out, const LocalizedText& text) {
    for (const auto& [lang, t] : text) out << lang << '=' << t.size() << ':' << t << ';';
    out << '|';
}

void put(std::ostringstream& out, const IndexDefinition& n) {
    out << "index " << n.id << ' ' << toString(n.method) << ' ' << n.minN << ' ';
    put(out, n.title);
    for (const auto& q : n.questions) out << q << ',';
    out << '|';
    for (const auto& v : n.values) out << v << ',';
    out << '|';
    for (double w : n.weights) out << w << ',';
    out << '{';
    for (const auto& c : n.children) put(out, c);
    out << '}';
}

// Everything a parsed survey holds, as text, to compare two parses.
std::string describe(const Survey& s) {
    std::ostringstream out;
    out.precision(17);
    out << s.id << ' ' << s.language << ' ' << s.status << ' ';
    put(out, s.title);
    put(out, s.description);
    for (const auto& c : s.channels) out << c << ',';
    out << '\n';
    for (const Question& q : s.questions) {
        out << "question " << q.id << ' ' << toString(q.type) << ' ' << q.required << ' ' << q.group
            << ' ' << q.allowOther << ' ' << q.min << ' ' << q.max << ' ' << q.maxLength << ' ';
        put(out, q.text);
        put(out, q.help);
        for (const QuestionOption& o : q.options) {
            out << "option " << o.id << ' ' << o.value << ' ' << o.icon << ' ';
            put(out, o.label);
        }
        if (q.showIf) {
            out << "if " << q.showIf->question;
            for (const auto& v : q.showIf->values) out << ',' << v;
        }
        out << '\n';
    }
    for (const IndexDefinition& n : s.indices) put(out, n);
    return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string json(reinterpret_cast<const char*>(data), size);
    const ParsedSurvey first = SurveyParser::parse(json);
    if (first.survey.has_value() == !first.errors.empty()) fail("a survey and errors, or neither");
    for (const FieldError& e : first.errors)
        if (e.code.empty() || e.field.empty() || e.field[0] != '/')
            fail("an error without its place or code");
    if (!first.survey) return 0;
    if (first.survey->contentHash != SurveyParser::hash(first.canonical)) fail("hash");
    const ParsedSurvey again = SurveyParser::parse(first.canonical);
    if (!again.survey) fail("the canonical text of a survey does not parse");
    if (again.canonical != first.canonical) fail("the canonical text is not a fixed point");
    if (again.survey->contentHash != first.survey->contentHash) fail("the hash changed");
    if (describe(*again.survey) != describe(*first.survey))
        fail("the canonical text reads as another survey");
    for (const Question& q : first.survey->questions)
        if (first.survey->question(q.id) == nullptr) fail("a question not found by its id");
    return 0;
}
