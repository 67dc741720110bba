// libFuzzer target for JSON request bodies: HttpRequest::jsonObject (UTF-8, depth, syntax), then
// the API's reader of POST /api/v1/responses (app/SubmissionInput's submissionFrom, with the
// project's surveys). Properties: a refused body is a Problem 400 or 415,
// never another exception; an accepted object written out and read again is the same object;
// a Submission read from it goes through its stored JSON (SubmissionJson) and back unchanged.
#include "FuzzSupport.h"
#include "app/SubmissionInput.h"
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
using hailong::fuzz::fail;
using Poco::JSON::Object;

namespace {

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

// A submission read by the API's own reader (app/SubmissionInput), against the project's
// surveys; Ingest::check's part is not here (it needs the directory), so `check` finds nothing.
void readSubmission(const Object::Ptr& body, const std::string& prefix) {
    static const fuzz::ProjectSurveys surveys;
    Submission s;
    try {
        s = submissionFrom(body, prefix, surveys, [](const Submission&) {});
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
