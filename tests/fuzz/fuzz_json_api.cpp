// libFuzzer target for JSON request bodies: HttpRequest::jsonObject (UTF-8, depth, syntax), then
// JsonInput reading the fields of POST /api/v1/responses the way CoreApi's submissionFrom reads
// them (that function is private to CoreApi.cpp and needs the survey catalog and the ingest
// service, so its reading is repeated here). Properties: a refused body is a Problem 400 or 415,
// never another exception; an accepted object written out and read again is the same object;
// a Submission read from it goes through its stored JSON (SubmissionJson) and back unchanged.
#include "http/JsonInput.h"
#include "ingest/SubmissionJson.h"

#include <hailong/Http.h>
#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

using namespace hailong;
using Poco::JSON::Object;

namespace {

void fail(const char* why) {
    std::fprintf(stderr, "property broken: %s\n", why);
    std::abort();
}

std::string written(const Object::Ptr& o) {
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

Object::Ptr bodyOf(std::string text) {
    HttpRequest r;
    r.headers["content-type"] = "application/json; charset=utf-8";
    r.body = std::move(text);
    return r.jsonObject();
}

// What submissionFrom in core/app/CoreApi.cpp reads, in the same order with the same bounds.
void readSubmission(const Object::Ptr& body, const std::string& prefix) {
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
    if (auto answers = in.object("answers")) {
        if (answers->size() > 200) in.error("answers", "field.too_many", {{"max", "200"}});
        for (const auto& [name, value] : *answers) {
            const std::string& question = name;  // clang 14 cannot capture a structured binding
            Answer a;
            a.question = question;
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
    try {
        in.finish("submission.invalid");
    } catch (const Problem& p) {
        if (p.status() != 422 || p.errors().empty()) fail("a refused submission is not a 422");
        for (const FieldError& e : p.errors())
            if (!e.field.starts_with(prefix) || e.code.empty()) fail("an error out of place");
        return;
    }
    if (s.idempotencyKey.empty() || s.surveyId.empty()) fail("a required field let through");
    // How a held submission waits for review: every field comes back.
    const std::string stored = submissionToJson(s);
    const Submission back = submissionFromJson(stored);
    if (back.idempotencyKey != s.idempotencyKey || back.surveyId != s.surveyId ||
        back.surveyVersion != s.surveyVersion || back.channel != s.channel ||
        back.language != s.language || back.dossierCode != s.dossierCode ||
        back.agencyCode != s.agencyCode || back.counterCode != s.counterCode ||
        back.officerCode != s.officerCode || back.procedureCode != s.procedureCode ||
        back.deviceCode != s.deviceCode || back.answeredAtMs != s.answeredAtMs ||
        back.comment != s.comment || back.answers.size() != s.answers.size())
        fail("a submission changed through its stored JSON");
    for (std::size_t i = 0; i < s.answers.size(); ++i) {
        const Answer &a = s.answers[i], &b = back.answers[i];
        if (a.question != b.question || a.choices != b.choices || a.text != b.text ||
            a.number.has_value() != b.number.has_value() ||
            (a.number && std::isfinite(*a.number) && *a.number != *b.number))
            fail("an answer changed through its stored JSON");
    }
    if (submissionToJson(back) != stored) fail("the stored JSON is not a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Object::Ptr body;
    try {
        body = bodyOf(std::string(reinterpret_cast<const char*>(data), size));
    } catch (const Problem& p) {
        if ((p.status() != 400 && p.status() != 415) || p.code().empty())
            fail("a refused body is not a 400");
        return 0;
    }
    if (!body) fail("jsonObject returned no object");
    // Written out and read again, the object is the same (its text is a fixed point).
    const std::string once = written(body);
    if (written(bodyOf(once)) != once) fail("an object written and read again changed");

    if (!body->has("responses")) {
        readSubmission(body, "");
        return 0;
    }
    auto items = body->getArray("responses");
    if (!items) return 0;
    for (std::size_t i = 0; i < items->size() && i < 1000; ++i)
        if (auto item = items->getObject(static_cast<unsigned>(i)))
            readSubmission(item, "responses." + std::to_string(i) + ".");
    return 0;
}
