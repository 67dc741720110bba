#include "app/SubmissionInput.h"

#include "http/JsonInput.h"

#include <Poco/JSON/Array.h>

#include <algorithm>

namespace hailong {

using Poco::JSON::Object;

Problem prefixed(const Problem& p, const std::string& prefix) {
    std::vector<FieldError> errors = p.errors();
    for (FieldError& e : errors)
        if (!e.field.starts_with(prefix)) e.field = prefix + e.field;
    Problem out(p.status(), p.code(), p.params(), errors);
    out.headers = p.headers;
    return out;
}

Problem withApiNames(const Problem& p) {
    std::vector<FieldError> errors = p.errors();
    for (FieldError& e : errors)  // the ingest's name for the time the API calls submitted_at
        if (e.field == "answered_at" || e.field.ends_with(".answered_at"))
            e.field = e.field.substr(0, e.field.size() - std::string_view("answered_at").size()) +
                      "submitted_at";
    Problem out(p.status(), p.code(), p.params(), errors);
    out.headers = p.headers;
    return out;
}

Submission submissionFrom(const Object::Ptr& body, const std::string& prefix,
                          const SurveyCatalog& surveys,
                          const std::function<void(const Submission&)>& check) {
    JsonInput in(body, prefix);
    Submission s;
    s.idempotencyKey = in.text("idempotency_key", 128, true).value_or("");
    s.surveyId = in.text("survey", 64, true).value_or("");
    s.surveyVersion = static_cast<int>(in.integer("version", 1, 1000000).value_or(0));
    s.channel = in.text("channel", 32).value_or("api");
    s.language = in.text("language", 5).value_or("vi");
    s.dossierCode = in.text("dossier", 64).value_or("");
    s.agencyCode = in.text("agency", 64).value_or("");
    s.counterCode = in.text("counter", 64).value_or("");
    s.officerCode = in.text("officer", 64).value_or("");
    s.procedureCode = in.text("procedure", 64).value_or("");
    s.deviceCode = in.text("device", 64).value_or("");
    s.answeredAtMs = in.time("submitted_at").value_or(0);
    s.comment = in.text("comment", 2000).value_or("");
    s.contact = in.text("contact", 32).value_or("");
    auto survey = surveys.find(s.surveyId, s.surveyVersion);
    if (auto answers = in.object("answers")) {
        if (answers->size() > 200) in.error("answers", "field.too_many", {{"max", "200"}});
        for (const auto& [name, value] : *answers) {
            const std::string& question = name;  // captured below (clang 14: not a binding)
            Answer a;
            a.question = question;
            const Question* q = survey ? survey->question(question) : nullptr;
            const bool textual = q && (isFreeText(q->type) || q->type == QuestionType::DossierCode);
            // Choices are option ids: text or whole numbers, never null, lists or objects.
            auto choiceText = [&](const Poco::Dynamic::Var& c) {
                if (c.isString() || (c.isInteger() && c.type() != typeid(bool)))
                    return std::optional(c.convert<std::string>());
                in.error("answers." + question, "submission.not_an_option");
                return std::optional<std::string>();
            };
            if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
                for (const auto& c : *value.extract<Poco::JSON::Array::Ptr>()) {
                    if (a.choices.size() >= 100) break;
                    if (auto t = choiceText(c)) a.choices.push_back(*t);
                }
            } else if (value.type() == typeid(Poco::JSON::Object::Ptr)) {
                // {"choices": [...], "text": "other...", "value": n}
                JsonInput detail(value.extract<Poco::JSON::Object::Ptr>(),
                                 prefix + "answers." + question + ".");
                if (auto choices = detail.array("choices", 100))
                    for (const auto& c : *choices)
                        if (auto t = choiceText(c)) a.choices.push_back(*t);
                a.text = detail.text("text", 5000).value_or("");
                a.number = detail.number("value");
                detail.checkUnknown();
                for (auto& e : detail.errors()) in.errors().push_back(e);
            } else if (value.isString()) {
                if (textual)
                    a.text = value.extract<std::string>();
                else
                    a.choices.push_back(value.extract<std::string>());
            } else if (value.isNumeric() && value.type() != typeid(bool)) {
                a.number = value.convert<double>();
            } else if (value.type() == typeid(bool)) {
                a.number = value.extract<bool>() ? 1 : 0;
            } else {
                in.error("answers." + question, "submission.not_an_option");
            }
            s.answers.push_back(std::move(a));
        }
    } else {
        in.error("answers", "field.required");
    }
    std::vector<FieldError> all;
    try {
        in.finish("submission.invalid");
    } catch (const Problem& envelope) {
        all = envelope.errors();
    }
    if (all.empty()) return s;  // the answers are checked by Ingest::submit
    try {                       // the envelope was wrong: also say what is wrong with the answers
        check(s);
    } catch (const Problem& content) {
        const Problem named = prefixed(withApiNames(content), prefix);
        for (const FieldError& e : named.errors())
            if (std::none_of(all.begin(), all.end(), [&](const FieldError& x) {
                    return x.field == e.field && x.code == e.code;
                }))
                all.push_back(e);
    }
    throw Problem(422, "submission.invalid", {}, all);
}

}  // namespace hailong
