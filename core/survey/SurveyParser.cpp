#include "survey/SurveyParser.h"

#include "common/Utf8.h"

#include <Poco/DigestEngine.h>
#include <Poco/JSON/Parser.h>
#include <Poco/SHA2Engine.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace hailong {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

const std::map<std::string, QuestionType> kTypes{{"rating", QuestionType::Rating},
                                                 {"single", QuestionType::SingleChoice},
                                                 {"multiple", QuestionType::MultipleChoice},
                                                 {"yesno", QuestionType::YesNo},
                                                 {"nps", QuestionType::Nps},
                                                 {"text", QuestionType::Text},
                                                 {"complaint", QuestionType::Complaint},
                                                 {"dossier", QuestionType::DossierCode}};

const std::map<std::string, IndexMethod> kMethods{
    {"share", IndexMethod::Share},       {"mean100", IndexMethod::Mean100},
    {"average", IndexMethod::Average},   {"nps", IndexMethod::Nps},
    {"points", IndexMethod::Points},     {"mean", IndexMethod::Mean},
    {"weighted", IndexMethod::Weighted}, {"pooled", IndexMethod::Pooled}};

// Channels and the most questions a survey on them may ask (a tap, an SMS).
const std::map<std::string, std::size_t> kChannels{
    {"counter", 4}, {"sms", 3}, {"web", 1000}, {"api", 1000}, {"import", 1000}, {"paper", 1000}};

// One reference token of a JSON pointer (RFC 6901): "~" is "~0" and "/" is "~1".
std::string token(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out.push_back(c);
    }
    return out;
}

bool slug(const std::string& s, std::size_t min, std::size_t max) {
    if (s.size() < min || s.size() > max) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

/// Walks one JSON document, remembering where it is, and collects every error.
class Reader {
public:
    std::vector<FieldError> errors;

    bool muted = false;  // while re-reading a referenced index: only loops are reported

    void error(const std::string& path, std::string code,
               std::map<std::string, std::string> params = {}) {
        if (muted && code != "survey.index_cycle") return;
        errors.push_back({path.empty() ? "/" : path, std::move(code), std::move(params)});
    }

    // Fields of `o` other than `known` are typos until proven otherwise.
    void onlyKnown(const Object::Ptr& o, const std::string& path,
                   std::initializer_list<const char*> known) {
        for (const auto& [key, value] : *o) {
            if (std::none_of(known.begin(), known.end(),
                             [&key = key](const char* k) { return key == k; }))
                error(path + "/" + token(key), "survey.unknown_field", {{"field", key}});
        }
    }

    std::optional<Var> get(const Object::Ptr& o, const std::string& path, const char* key,
                           bool required) {
        if (!o->has(key) || o->get(key).isEmpty()) {
            if (required) error(path + "/" + key, "survey.required", {{"field", key}});
            return std::nullopt;
        }
        return o->get(key);
    }

    std::optional<std::string> text(const Object::Ptr& o, const std::string& path, const char* key,
                                    bool required, std::size_t maxChars = 10000) {
        auto v = get(o, path, key, required);
        if (!v) return std::nullopt;
        if (!v->isString()) {
            error(path + "/" + key, "survey.type_text");
            return std::nullopt;
        }
        std::string s = v->extract<std::string>();
        if (!utf8::isValid(s) || utf8::firstControl(s) || utf8::length(s) > maxChars) {
            error(path + "/" + key, "survey.text_invalid", {{"max", std::to_string(maxChars)}});
            return std::nullopt;
        }
        return s;
    }

    std::optional<bool> boolean(const Object::Ptr& o, const std::string& path, const char* key) {
        auto v = get(o, path, key, false);
        if (!v) return std::nullopt;
        if (v->type() != typeid(bool)) {
            error(path + "/" + key, "survey.type_boolean");
            return std::nullopt;
        }
        return v->extract<bool>();
    }

    std::optional<double> number(const Var& v, const std::string& path) {
        if (!v.isNumeric() || v.type() == typeid(bool)) {
            error(path, "survey.type_number");
            return std::nullopt;
        }
        const double d = v.convert<double>();
        if (!std::isfinite(d)) {
            error(path, "survey.type_number");
            return std::nullopt;
        }
        return d;
    }

    std::optional<long> integer(const Object::Ptr& o, const std::string& path, const char* key,
                                long min, long max, const char* rangeCode) {
        auto v = get(o, path, key, false);
        if (!v) return std::nullopt;
        auto d = number(*v, path + "/" + key);
        if (!d) return std::nullopt;
        if (std::floor(*d) != *d || *d < static_cast<double>(min) ||
            *d > static_cast<double>(max)) {
            error(path + "/" + key, rangeCode,
                  {{"min", std::to_string(min)},
                   {"max", std::to_string(max)},
                   {"value", v->toString()}});
            return std::nullopt;
        }
        return static_cast<long>(*d);
    }

    Object::Ptr object(const Var& v, const std::string& path) {
        if (v.type() != typeid(Object::Ptr)) {
            error(path, "survey.type_object");
            return nullptr;
        }
        return v.extract<Object::Ptr>();
    }

    Array::Ptr array(const Object::Ptr& o, const std::string& path, const char* key,
                     bool required) {
        auto v = get(o, path, key, required);
        if (!v) return nullptr;
        if (v->type() != typeid(Array::Ptr)) {
            error(path + "/" + key, "survey.type_array");
            return nullptr;
        }
        return v->extract<Array::Ptr>();
    }

    std::vector<std::string> strings(const Object::Ptr& o, const std::string& path, const char* key,
                                     bool required) {
        std::vector<std::string> out;
        auto a = array(o, path, key, required);
        if (!a) return out;
        for (std::size_t i = 0; i < a->size(); ++i) {
            const Var v = a->get(static_cast<unsigned>(i));
            if (v.isString() || (v.isInteger() && v.type() != typeid(bool)))
                out.push_back(v.convert<std::string>());
            else
                error(path + "/" + key + "/" + std::to_string(i), "survey.type_text");
        }
        return out;
    }

    // {"vi": "...", "en": "..."} or a plain Vietnamese string.
    LocalizedText localized(const Object::Ptr& o, const std::string& path, const char* key,
                            bool required) {
        auto v = get(o, path, key, required);
        if (!v) return {};
        const std::string where = path + "/" + key;
        if (v->isString()) {
            LocalizedText out{{"vi", v->extract<std::string>()}};
            checkTexts(out, where, true);
            return out;
        }
        if (v->type() != typeid(Object::Ptr)) {
            error(where, "survey.type_text");
            return {};
        }
        return localizedHere(v->extract<Object::Ptr>(), where, {});
    }

    // The "vi"/"en" fields of `o` itself (other fields allowed: `also`).
    LocalizedText localizedHere(const Object::Ptr& o, const std::string& path,
                                std::initializer_list<const char*> also) {
        LocalizedText out;
        for (const auto& [lang, value] : *o) {
            if (std::any_of(also.begin(), also.end(),
                            [&lang = lang](const char* a) { return lang == a; }))
                continue;
            if (lang != "vi" && lang != "en")
                error(path + "/" + token(lang), "survey.language", {{"value", lang}});
            else if (!value.isString())
                error(path + "/" + lang, "survey.type_text");
            else
                out[lang] = value.extract<std::string>();
        }
        checkTexts(out, path, false);
        return out;
    }

    // Texts are valid UTF-8 without control characters; Vietnamese is required.
    void checkTexts(const LocalizedText& texts, const std::string& path, bool plain) {
        for (const auto& [lang, s] : texts)
            if (!utf8::isValid(s) || utf8::firstControl(s) || utf8::length(s) > 2000)
                error(plain ? path : path + "/" + lang, "survey.text_invalid", {{"max", "2000"}});
        auto vi = texts.find("vi");
        if (vi == texts.end() || vi->second.empty()) error(path, "survey.localized_vi");
    }
};

struct ScaleDef {
    int points = 0;
    std::vector<QuestionOption> options;
};

class SurveyReader {
public:
    explicit SurveyReader(Reader& r) : r_(r) {}

    std::optional<Survey> read(const Object::Ptr& root) {
        Survey s;
        r_.onlyKnown(root, "",
                     {"id", "title", "description", "language", "channels", "scales", "questions",
                      "indices", "$schema"});
        s.id = r_.text(root, "", "id", true).value_or("");
        if (!s.id.empty() && !slug(s.id, 2, 64))
            r_.error("/id", "survey.id_format", {{"value", s.id}});
        s.title = r_.localized(root, "", "title", true);
        s.description = r_.localized(root, "", "description", true);
        s.language = r_.text(root, "", "language", false).value_or("vi");
        if (s.language != "vi" && s.language != "en")
            r_.error("/language", "survey.language", {{"value", s.language}});
        s.channels = r_.strings(root, "", "channels", false);
        for (std::size_t i = 0; i < s.channels.size(); ++i)
            if (!kChannels.contains(s.channels[i]))
                r_.error("/channels/" + std::to_string(i), "survey.unknown_channel",
                         {{"value", s.channels[i]}});
        readScales(root);
        readQuestions(root, s);
        for (const std::string& channel : s.channels) {
            auto limit = kChannels.find(channel);
            if (limit != kChannels.end() && s.questions.size() > limit->second)
                r_.error("/channels", "survey.too_long_for_channel",
                         {{"channel", channel},
                          {"max", std::to_string(limit->second)},
                          {"count", std::to_string(s.questions.size())}});
        }
        readIndices(root, s);
        if (!r_.errors.empty()) return std::nullopt;
        return s;
    }

private:
    // Named scales, e.g. "hl5": {"points": 5, "labels": [...]}, used by rating questions.
    void readScales(const Object::Ptr& root) {
        auto v = r_.get(root, "", "scales", false);
        if (!v) return;
        auto scales = r_.object(*v, "/scales");
        if (!scales) return;
        for (const auto& [name, def] : *scales) {
            const std::string path = "/scales/" + token(name);
            declaredScales_.insert(name);  // even when broken: its users are not to blame
            if (auto scale = readScale(def, path)) scales_[name] = *scale;
        }
    }

    std::optional<ScaleDef> readScale(const Var& v, const std::string& path) {
        auto o = r_.object(v, path);
        if (!o) return std::nullopt;
        r_.onlyKnown(o, path, {"points", "labels"});
        auto points = r_.integer(o, path, "points", 2, 11, "survey.scale_points");
        if (!o->has("points")) r_.error(path + "/points", "survey.required", {{"field", "points"}});
        auto labels = r_.array(o, path, "labels", true);
        if (!points || !labels) return std::nullopt;
        if (static_cast<long>(labels->size()) != *points) {
            r_.error(
                path, "survey.scale_labels",
                {{"labels", std::to_string(labels->size())}, {"points", std::to_string(*points)}});
            return std::nullopt;
        }
        ScaleDef scale;
        scale.points = static_cast<int>(*points);
        for (std::size_t i = 0; i < labels->size(); ++i) {
            const std::string lp = path + "/labels/" + std::to_string(i);
            auto lo = r_.object(labels->get(static_cast<unsigned>(i)), lp);
            if (!lo) continue;
            QuestionOption opt;
            opt.id = std::to_string(i + 1);
            opt.value = static_cast<double>(i + 1);
            opt.label = r_.localizedHere(lo, lp, {"icon"});
            opt.icon = r_.text(lo, lp, "icon", false, 40).value_or("");
            scale.options.push_back(std::move(opt));
        }
        return scale;
    }

    void readQuestions(const Object::Ptr& root, Survey& s) {
        auto questions = r_.array(root, "", "questions", true);
        if (!questions || questions->size() == 0) questionsBroken_ = true;
        if (!questions) return;
        if (questions->size() == 0) r_.error("/questions", "survey.no_questions");
        for (std::size_t i = 0; i < questions->size(); ++i) {
            const std::string path = "/questions/" + std::to_string(i);
            auto o = r_.object(questions->get(static_cast<unsigned>(i)), path);
            if (!o) continue;
            if (auto q = readQuestion(o, path, s))
                s.questions.push_back(std::move(*q));
            else
                failedQuestions_.insert(o->optValue<std::string>("id", ""));
        }
    }

    std::optional<Question> readQuestion(const Object::Ptr& o, const std::string& path,
                                         const Survey& s) {
        r_.onlyKnown(o, path,
                     {"id", "type", "required", "text", "help", "group", "scale", "options",
                      "other", "maxLength", "showIf"});
        Question q;
        q.id = r_.text(o, path, "id", true).value_or("");
        if (!q.id.empty() && !slug(q.id, 1, 64))
            r_.error(path + "/id", "survey.id_format", {{"value", q.id}});
        if (!q.id.empty() && s.question(q.id))
            r_.error(path + "/id", "survey.duplicate_id", {{"value", q.id}});
        const std::string type = r_.text(o, path, "type", true).value_or("");
        auto t = kTypes.find(type);
        if (!type.empty() && t == kTypes.end())
            r_.error(path + "/type", "survey.unknown_question_type", {{"value", type}});
        if (t == kTypes.end()) return std::nullopt;
        q.type = t->second;
        q.required = r_.boolean(o, path, "required").value_or(false);
        q.text = r_.localized(o, path, "text", true);
        q.help = r_.localized(o, path, "help", false);
        q.group = r_.text(o, path, "group", false, 64).value_or("");
        if (auto max = r_.integer(o, path, "maxLength", 1, 10000, "survey.max_length"))
            q.maxLength = static_cast<std::size_t>(*max);

        const bool choices =
            q.type == QuestionType::SingleChoice || q.type == QuestionType::MultipleChoice;
        if (q.type == QuestionType::Rating) {
            auto scaleVar = r_.get(o, path, "scale", true);
            std::optional<ScaleDef> scale;
            if (scaleVar && scaleVar->isString()) {
                const std::string name = scaleVar->extract<std::string>();
                auto named = scales_.find(name);
                if (named != scales_.end())
                    scale = named->second;
                else if (!declaredScales_.contains(name))
                    r_.error(path + "/scale", "survey.unknown_scale", {{"value", name}});
            } else if (scaleVar) {
                scale = readScale(*scaleVar, path + "/scale");
            }
            if (scale) {
                q.options = scale->options;
                q.min = 1;
                q.max = scale->points;
            }
        } else if (o->has("scale")) {
            r_.error(path + "/scale", "survey.not_for_type", {{"field", "scale"}, {"type", type}});
        }
        if (choices) {
            q.allowOther = r_.boolean(o, path, "other").value_or(false);
            readOptions(o, path, q);
        } else {
            if (o->has("options"))
                r_.error(path + "/options", "survey.not_for_type",
                         {{"field", "options"}, {"type", type}});
            if (o->has("other"))
                r_.error(path + "/other", "survey.not_for_type",
                         {{"field", "other"}, {"type", type}});
        }
        if (q.type == QuestionType::YesNo) {
            q.min = 0, q.max = 1;
            q.options = {{"1", 1, {{"vi", "Có"}, {"en", "Yes"}}, ""},
                         {"0", 0, {{"vi", "Không"}, {"en", "No"}}, ""}};
        }
        if (q.type == QuestionType::Nps) {
            q.min = 0, q.max = 10;
            for (int i = 0; i <= 10; ++i)
                q.options.push_back({std::to_string(i),
                                     static_cast<double>(i),
                                     {{"vi", std::to_string(i)}, {"en", std::to_string(i)}},
                                     ""});
        }
        if (o->has("maxLength") && !isFreeText(q.type) && q.type != QuestionType::DossierCode &&
            !q.allowOther)
            r_.error(path + "/maxLength", "survey.not_for_type",
                     {{"field", "maxLength"}, {"type", type}});
        readCondition(o, path, q, s);
        return q;
    }

    void readOptions(const Object::Ptr& o, const std::string& path, Question& q) {
        auto options = r_.array(o, path, "options", true);
        if (!options) return;
        if (options->size() < 2) r_.error(path + "/options", "survey.options_required");
        std::set<std::string> ids;
        for (std::size_t i = 0; i < options->size(); ++i) {
            const std::string op = path + "/options/" + std::to_string(i);
            auto oo = r_.object(options->get(static_cast<unsigned>(i)), op);
            if (!oo) continue;
            r_.onlyKnown(oo, op, {"id", "value", "label", "icon"});
            QuestionOption opt;
            opt.id = r_.text(oo, op, "id", true).value_or("");
            if (!opt.id.empty() && !slug(opt.id, 1, 64))
                r_.error(op + "/id", "survey.id_format", {{"value", opt.id}});
            if (!opt.id.empty() && !ids.insert(opt.id).second)
                r_.error(op + "/id", "survey.duplicate_id", {{"value", opt.id}});
            opt.value = static_cast<double>(i + 1);
            if (auto v = r_.get(oo, op, "value", false))
                if (auto d = r_.number(*v, op + "/value")) opt.value = *d;
            opt.label = r_.localized(oo, op, "label", true);
            opt.icon = r_.text(oo, op, "icon", false, 40).value_or("");
            q.options.push_back(std::move(opt));
        }
        if (!q.options.empty()) {
            q.min = q.max = q.options.front().value;
            for (const auto& opt : q.options) {
                q.min = std::min(q.min, opt.value);
                q.max = std::max(q.max, opt.value);
            }
        }
    }

    // A condition may only look back: at an earlier question with discrete answers.
    void readCondition(const Object::Ptr& o, const std::string& path, Question& q,
                       const Survey& s) {
        auto v = r_.get(o, path, "showIf", false);
        if (!v) return;
        const std::string cp = path + "/showIf";
        auto co = r_.object(*v, cp);
        if (!co) return;
        r_.onlyKnown(co, cp, {"question", "in"});
        Condition c;
        c.question = r_.text(co, cp, "question", true).value_or("");
        c.values = r_.strings(co, cp, "in", true);
        if (c.question.empty()) return;
        const Question* target = s.question(c.question);
        if (!target && (failedQuestions_.contains(c.question) || questionsBroken_)) return;
        if (!target) {
            r_.error(cp + "/question", "survey.condition_question", {{"value", c.question}});
            return;
        }
        if (isFreeText(target->type) || target->type == QuestionType::DossierCode) {
            r_.error(cp + "/question", "survey.condition_type", {{"value", c.question}});
            return;
        }
        if (c.values.empty()) r_.error(cp + "/in", "survey.required", {{"field", "in"}});
        for (std::size_t i = 0; i < c.values.size() && !undefined(target); ++i)
            if (!target->option(c.values[i]))
                r_.error(cp + "/in/" + std::to_string(i), "survey.not_an_answer",
                         {{"value", c.values[i]}, {"question", c.question}});
        q.showIf = std::move(c);
    }

    // ---- indices ----

    void readIndices(const Object::Ptr& root, Survey& s) {
        auto indices = r_.array(root, "", "indices", false);
        if (!indices) return;
        std::map<std::string, std::pair<Object::Ptr, std::string>> byId;  // id -> (node, path)
        for (std::size_t i = 0; i < indices->size(); ++i) {
            const std::string path = "/indices/" + std::to_string(i);
            auto o = r_.object(indices->get(static_cast<unsigned>(i)), path);
            if (!o) continue;
            const std::string id = o->optValue<std::string>("id", "");
            if (!id.empty() && !byId.emplace(id, std::make_pair(o, path)).second)
                r_.error(path + "/id", "survey.duplicate_id", {{"value", id}});
        }
        std::set<std::string> ids;
        for (std::size_t i = 0; i < indices->size(); ++i) {
            const std::string path = "/indices/" + std::to_string(i);
            auto o = indices->getObject(static_cast<unsigned>(i));
            if (!o) continue;
            std::vector<std::string> stack;
            if (auto def = readIndex(o, path, s, byId, stack, ids, 30))
                s.indices.push_back(std::move(*def));
        }
    }

    std::optional<IndexDefinition> readIndex(
        const Object::Ptr& o, const std::string& path, const Survey& s,
        const std::map<std::string, std::pair<Object::Ptr, std::string>>& byId,
        std::vector<std::string>& stack, std::set<std::string>& seenIds, int inheritedMinN) {
        r_.onlyKnown(o, path,
                     {"id", "title", "method", "question", "questions", "values", "children",
                      "weights", "minN"});
        if (++indexNodes_ > kMaxIndexNodes) {
            if (!tooLarge_)
                r_.error(path, "survey.index_too_large", {{"max", std::to_string(kMaxIndexNodes)}});
            tooLarge_ = true;
            return std::nullopt;
        }
        IndexDefinition d;
        d.id = r_.text(o, path, "id", true).value_or("");
        if (!d.id.empty() && !slug(d.id, 1, 64))
            r_.error(path + "/id", "survey.id_format", {{"value", d.id}});
        if (std::find(stack.begin(), stack.end(), d.id) != stack.end()) {
            r_.error(path, "survey.index_cycle", {{"value", d.id}});
            return std::nullopt;
        }
        if (stack.empty() && !d.id.empty()) seenIds.insert(d.id);
        d.title = r_.localized(o, path, "title", true);
        d.minN = static_cast<int>(
            r_.integer(o, path, "minN", 1, 100000, "survey.min_n").value_or(inheritedMinN));
        const std::string method = r_.text(o, path, "method", true).value_or("");
        auto m = kMethods.find(method);
        if (!method.empty() && m == kMethods.end())
            r_.error(path + "/method", "survey.index_method", {{"value", method}});
        if (m == kMethods.end()) return std::nullopt;
        d.method = m->second;

        if (d.isLeaf()) {
            if (o->has("children"))
                r_.error(path + "/children", "survey.index_leaf_children", {{"method", method}});
            // Each field belongs to some methods only; elsewhere it is a mistake, not ignored.
            for (const char* field :
                 {"weights", d.method == IndexMethod::Points ? "question" : "questions"})
                if (o->has(field))
                    r_.error(path + "/" + field, "survey.not_for_method",
                             {{"field", field}, {"method", method}});
            if (d.method == IndexMethod::Points) {
                d.questions = r_.strings(o, path, "questions", true);
                if (o->has("questions") && d.questions.empty())
                    r_.error(path + "/questions", "survey.required", {{"field", "questions"}});
            } else {
                if (auto q = r_.text(o, path, "question", true)) d.questions.push_back(*q);
            }
            for (std::size_t i = 0; i < d.questions.size(); ++i) {
                const std::string qp = d.method == IndexMethod::Points
                                           ? path + "/questions/" + std::to_string(i)
                                           : path + "/question";
                checkLeafQuestion(d, method, s.question(d.questions[i]), d.questions[i], qp);
            }
            if (d.method == IndexMethod::Share) {
                d.values = r_.strings(o, path, "values", true);
                const Question* q = d.questions.empty() ? nullptr : s.question(d.questions[0]);
                for (std::size_t i = 0; q && !undefined(q) && i < d.values.size(); ++i)
                    if (!q->option(d.values[i]))
                        r_.error(path + "/values/" + std::to_string(i), "survey.not_an_answer",
                                 {{"value", d.values[i]}, {"question", q->id}});
                if (o->has("values") && d.values.empty())
                    r_.error(path + "/values", "survey.required", {{"field", "values"}});
            } else if (o->has("values")) {
                r_.error(path + "/values", "survey.not_for_method",
                         {{"field", "values"}, {"method", method}});
            }
            return d;
        }

        for (const char* field : {"question", "questions", "values"})
            if (o->has(field))
                r_.error(path + "/" + field, "survey.not_for_method",
                         {{"field", field}, {"method", method}});
        auto children = r_.array(o, path, "children", true);
        if (children && children->size() == 0)
            r_.error(path + "/children", "survey.index_children", {{"method", method}});
        stack.push_back(d.id);
        for (std::size_t i = 0; children && i < children->size(); ++i) {
            const std::string cp = path + "/children/" + std::to_string(i);
            const Var c = children->get(static_cast<unsigned>(i));
            std::optional<IndexDefinition> child;
            if (c.isString()) {  // a reference to a top-level index
                const std::string ref = c.extract<std::string>();
                auto target = byId.find(ref);
                if (target == byId.end()) {
                    r_.error(cp, "survey.index_ref", {{"value", ref}});
                } else if (std::find(stack.begin(), stack.end(), ref) != stack.end()) {
                    r_.error(cp, "survey.index_cycle", {{"value", ref}});
                } else if (auto done = resolved_.find(ref); done != resolved_.end()) {
                    child = done->second;  // resolved once, copied wherever it is included
                    indexNodes_ += nodes(*child);
                } else {
                    // The referenced index reports its own errors where it stands; here only
                    // a loop through it matters.
                    const bool wasMuted = r_.muted;
                    r_.muted = true;
                    std::set<std::string> ignored;
                    child = readIndex(target->second.first, target->second.second, s, byId, stack,
                                      ignored, 30);
                    r_.muted = wasMuted;
                    if (child) resolved_[ref] = *child;
                }
            } else if (auto co = r_.object(c, cp)) {
                child = readIndex(co, cp, s, byId, stack, seenIds, d.minN);
            }
            if (child) d.children.push_back(std::move(*child));
        }
        stack.pop_back();
        if (d.method == IndexMethod::Weighted) {
            auto weights = r_.array(o, path, "weights", true);
            if (weights && children && weights->size() != children->size())
                r_.error(path + "/weights", "survey.weights",
                         {{"weights", std::to_string(weights->size())},
                          {"children", std::to_string(children->size())}});
            for (std::size_t i = 0; weights && i < weights->size(); ++i) {
                auto w = r_.number(weights->get(static_cast<unsigned>(i)),
                                   path + "/weights/" + std::to_string(i));
                if (w && *w <= 0)
                    r_.error(path + "/weights/" + std::to_string(i), "survey.weight_value");
                if (w) d.weights.push_back(*w);
            }
        } else if (o->has("weights")) {
            r_.error(path + "/weights", "survey.not_for_method",
                     {{"field", "weights"}, {"method", method}});
        }
        if (d.method == IndexMethod::Pooled)
            for (std::size_t i = 0; i < d.children.size(); ++i)
                if (d.children[i].method != IndexMethod::Share)
                    r_.error(path + "/children/" + std::to_string(i), "survey.pooled_children");
        return d;
    }

    void checkLeafQuestion(const IndexDefinition& d, const std::string& method, const Question* q,
                           const std::string& id, const std::string& path) {
        if (!q) {
            if (!questionsBroken_ && !failedQuestions_.contains(id))
                r_.error(path, "survey.index_question", {{"value", id}});
            return;
        }
        bool ok = true;
        switch (d.method) {
            case IndexMethod::Nps:
                ok = q->type == QuestionType::Nps;
                break;
            case IndexMethod::Points:
                ok = q->type == QuestionType::SingleChoice || q->type == QuestionType::YesNo;
                break;
            case IndexMethod::Share:
                ok = !isFreeText(q->type) && q->type != QuestionType::DossierCode;
                break;
            default:  // mean100, average: numeric answers
                ok = q->type == QuestionType::Rating || q->type == QuestionType::Nps ||
                     q->type == QuestionType::YesNo || q->type == QuestionType::SingleChoice;
        }
        if (!ok)
            r_.error(path, "survey.index_question_type",
                     {{"method", method}, {"value", id}, {"type", toString(q->type)}});
    }

    // A question whose own definition failed is not to be blamed again by what refers to it.
    bool undefined(const Question* q) const {
        return q && q->options.empty() && !isFreeText(q->type) &&
               q->type != QuestionType::DossierCode;
    }
    bool questionsBroken() const { return questionsBroken_; }

    Reader& r_;
    std::map<std::string, ScaleDef> scales_;
    std::set<std::string> declaredScales_;
    std::set<std::string> failedQuestions_;            // ids of questions that did not parse
    bool questionsBroken_ = false;                     // the list itself is missing or empty
    std::map<std::string, IndexDefinition> resolved_;  // referenced indices, resolved once
    int indexNodes_ = 0;  // nodes of the expanded tree, bounded: references can multiply them
    bool tooLarge_ = false;
    static constexpr int kMaxIndexNodes = 5000;

    static int nodes(const IndexDefinition& d) {
        int n = 1;
        for (const auto& c : d.children) n += nodes(c);
        return n;
    }
};

}  // namespace

const char* toString(IndexMethod method) {
    for (const auto& [name, m] : kMethods)
        if (m == method) return name.c_str();
    return "";
}

const char* toString(QuestionType type) {
    for (const auto& [name, t] : kTypes)
        if (t == type) return name.c_str();
    return "?";
}

const QuestionOption* Question::option(std::string_view optionId) const {
    for (const auto& o : options)
        if (o.id == optionId) return &o;
    return nullptr;
}

const Question* Survey::question(std::string_view questionId) const {
    for (const Question& q : questions)
        if (q.id == questionId) return &q;
    return nullptr;
}

namespace {
const IndexDefinition* findIndex(const std::vector<IndexDefinition>& nodes, std::string_view id) {
    for (const IndexDefinition& n : nodes) {
        if (n.id == id) return &n;
        if (const IndexDefinition* c = findIndex(n.children, id)) return c;
    }
    return nullptr;
}
}  // namespace

const IndexDefinition* Survey::index(std::string_view indexId) const {
    return findIndex(indices, indexId);
}

bool Survey::allowsChannel(std::string_view channel) const {
    auto listed = [&](std::string_view c) {
        return std::find(channels.begin(), channels.end(), c) != channels.end();
    };
    // Paper forms typed in are an import: a survey open to imports takes them.
    return channels.empty() || listed(channel) || (channel == "paper" && listed("import"));
}

ParsedSurvey SurveyParser::parse(const std::string& json) {
    ParsedSurvey out;
    if (auto bad = utf8::firstInvalid(json)) {
        out.errors.push_back({"/", "survey.not_utf8", {{"offset", std::to_string(*bad)}}});
        return out;
    }
    Var root;
    try {
        root = Poco::JSON::Parser().parse(json);
    } catch (const Poco::Exception& e) {
        out.errors.push_back({"/", "survey.json", {{"reason", e.message()}}});
        return out;
    }
    if (root.type() != typeid(Object::Ptr)) {
        out.errors.push_back({"/", "survey.type_object", {}});
        return out;
    }
    auto object = root.extract<Object::Ptr>();
    Reader reader;
    SurveyReader surveys(reader);
    out.survey = surveys.read(object);
    out.errors = std::move(reader.errors);
    if (!out.errors.empty()) {
        out.survey.reset();
        return out;
    }
    std::ostringstream canonical;
    object->remove("$schema");
    object->stringify(canonical);  // keys sorted, no spaces
    out.canonical = canonical.str();
    out.survey->contentHash = hash(out.canonical);
    return out;
}

std::string SurveyParser::hash(const std::string& canonical) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(canonical);
    return Poco::DigestEngine::digestToHex(sha.digest());
}

}  // namespace hailong
