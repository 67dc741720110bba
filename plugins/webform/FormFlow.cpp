#include "FormFlow.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <sstream>

namespace webform {
namespace {

using hailong::Question;
using hailong::QuestionType;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::size_t kMaxChoices = 50;

bool oneOption(QuestionType t) {
    return t == QuestionType::Rating || t == QuestionType::SingleChoice ||
           t == QuestionType::YesNo || t == QuestionType::Nps;
}

bool freeText(QuestionType t) {
    return isFreeText(t) || t == QuestionType::DossierCode;
}

std::size_t characters(const std::string& utf8) {
    return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

std::string trimmed(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

bool plainCode(const std::string& s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7F; });
}

bool askedAt(const hailong::Survey& survey, const Question& q, const Answers& answers, int depth) {
    if (!q.showIf) return true;
    if (depth > 32) return false;  // a loop of conditions: the survey parser forbids it
    const Question* source = survey.question(q.showIf->question);
    if (!source || !askedAt(survey, *source, answers, depth + 1)) return false;
    auto it = answers.find(q.showIf->question);
    if (it == answers.end()) return false;
    return std::any_of(it->second.choices.begin(), it->second.choices.end(),
                       [&](const std::string& c) {
                           return std::find(q.showIf->values.begin(), q.showIf->values.end(), c) !=
                                  q.showIf->values.end();
                       });
}

}  // namespace

std::string textIn(const hailong::LocalizedText& text, const std::string& lang) {
    auto it = text.find(lang);
    if (it != text.end() && !it->second.empty()) return it->second;
    it = text.find("vi");
    return it != text.end() ? it->second : std::string();
}

std::vector<Page> pagesOf(const hailong::Survey& survey, bool dossierKnown) {
    std::vector<Page> pages;
    std::string group;
    for (const Question& q : survey.questions) {
        if (dossierKnown && q.type == QuestionType::DossierCode) continue;
        const bool newGroup = !q.group.empty() && q.group != group;
        if (pages.empty() || pages.back().questions.size() >= kMaxPerPage ||
            (newGroup && !group.empty()) || (newGroup && pages.back().questions.size() > 1))
            pages.emplace_back();
        if (!q.group.empty()) group = q.group;
        pages.back().questions.push_back(&q);
    }
    return pages;
}

bool isAsked(const hailong::Survey& survey, const Question& q, const Answers& answers) {
    return askedAt(survey, q, answers, 0);
}

bool dependsOnPage(const Question& q, const Page& page) {
    if (!q.showIf) return false;
    return std::any_of(page.questions.begin(), page.questions.end(),
                       [&](const Question* p) { return p->id == q.showIf->question; });
}

void readPage(const Page& page, const std::multimap<std::string, std::string>& form,
              Answers& answers) {
    for (const Question* q : page.questions) {
        Given given;
        auto [from, to] = form.equal_range("q." + q->id);
        for (auto it = from; it != to; ++it) {
            if (freeText(q->type)) {
                given.text =
                    q->type == QuestionType::DossierCode ? trimmed(it->second) : it->second;
                break;
            }
            if (it->second.empty()) continue;
            if (std::find(given.choices.begin(), given.choices.end(), it->second) ==
                    given.choices.end() &&
                given.choices.size() < kMaxChoices)
                given.choices.push_back(it->second);
        }
        if (!freeText(q->type)) {
            auto other = form.find("o." + q->id);
            if (other != form.end()) given.text = trimmed(other->second);
        }
        if (given.choices.empty() && trimmed(given.text).empty())
            answers.erase(q->id);
        else
            answers[q->id] = std::move(given);
    }
}

std::vector<FieldProblem> checkPage(const hailong::Survey& survey, const Page& page,
                                    const Answers& answers,
                                    const std::function<bool(const std::string&)>& dossierExists) {
    std::vector<FieldProblem> problems;
    for (const Question* q : page.questions) {
        if (!isAsked(survey, *q, answers)) continue;
        auto it = answers.find(q->id);
        if (it == answers.end()) {
            if (q->required) problems.push_back({q->id, "form.required", {}});
            continue;
        }
        const Given& g = it->second;
        const std::string max = std::to_string(q->maxLength);
        if (freeText(q->type)) {
            if (characters(g.text) > q->maxLength)
                problems.push_back({q->id, "form.too_long", {{"max", max}}});
            else if (q->type == QuestionType::DossierCode &&
                     (!plainCode(g.text) || !dossierExists(g.text)))
                problems.push_back({q->id, "form.dossier_unknown", {}});
            continue;
        }
        const bool badOption =
            std::any_of(g.choices.begin(), g.choices.end(),
                        [&](const std::string& c) { return q->option(c) == nullptr; }) ||
            (oneOption(q->type) && g.choices.size() > 1);
        if (badOption) {
            problems.push_back({q->id, "form.not_an_option", {}});
        } else if (!g.text.empty() && !q->allowOther) {
            problems.push_back({q->id, "form.other_not_allowed", {}});
        } else if (characters(g.text) > q->maxLength) {
            problems.push_back({q->id, "form.too_long", {{"max", max}}});
        } else if (g.choices.empty() && oneOption(q->type)) {
            // An "other" text goes with a choice; alone it would be lost.
            problems.push_back({q->id, "form.other_needs_choice", {}});
        }
    }
    return problems;
}

std::vector<hailong::Answer> submissionAnswers(const hailong::Survey& survey,
                                               const Answers& answers) {
    std::vector<hailong::Answer> out;
    for (const Question& q : survey.questions) {
        auto it = answers.find(q.id);
        if (it == answers.end() || !isAsked(survey, q, answers)) continue;
        hailong::Answer a{q.id, std::nullopt, it->second.choices, it->second.text};
        if (oneOption(q.type) && a.choices.empty()) continue;  // "other" alone: not an answer
        out.push_back(std::move(a));
    }
    return out;
}

std::string Draft::toJson() const {
    Object::Ptr o = new Object;
    o->set("id", id);
    o->set("survey", surveyId);
    o->set("version", version);
    o->set("lang", lang);
    o->set("token", token);
    o->set("dossier", dossier);
    o->set("page", page);
    o->set("reached", reached);
    o->set("receipt", receipt);
    o->set("suspicious", suspicious);
    o->set("started_at", startedAtMs);
    Object::Ptr given = new Object;
    for (const auto& [question, g] : answers) {
        Object::Ptr a = new Object;
        Array::Ptr choices = new Array;
        for (const std::string& c : g.choices) choices->add(c);
        a->set("c", choices);
        a->set("t", g.text);
        given->set(question, a);
    }
    o->set("answers", given);
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

Draft Draft::fromJson(const std::string& json) {
    try {
        const Object::Ptr o = Poco::JSON::Parser().parse(json).extract<Object::Ptr>();
        Draft d;
        d.id = o->getValue<std::string>("id");
        d.surveyId = o->getValue<std::string>("survey");
        d.version = o->getValue<int>("version");
        d.lang = o->getValue<std::string>("lang");
        d.token = o->getValue<std::string>("token");
        d.dossier = o->getValue<std::string>("dossier");
        d.page = o->getValue<int>("page");
        d.reached = o->getValue<int>("reached");
        d.receipt = o->getValue<std::string>("receipt");
        d.suspicious = o->getValue<bool>("suspicious");
        d.startedAtMs = o->getValue<std::int64_t>("started_at");
        const Object::Ptr given = o->getObject("answers");
        for (const auto& [question, value] : *given) {
            const Object::Ptr a = value.extract<Object::Ptr>();
            Given g;
            const Array::Ptr choices = a->getArray("c");
            for (std::size_t i = 0; i < choices->size(); ++i)
                g.choices.push_back(choices->getElement<std::string>(static_cast<unsigned>(i)));
            g.text = a->getValue<std::string>("t");
            d.answers[question] = std::move(g);
        }
        return d;
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("a stored form draft is unreadable: " + e.displayText());
    }
}

}  // namespace webform
