#include "ingest/SubmissionJson.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sstream>
#include <stdexcept>

namespace hailong {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string submissionToJson(const Submission& s) {
    Object::Ptr o = new Object;
    o->set("key", s.idempotencyKey);
    o->set("survey", s.surveyId);
    o->set("version", s.surveyVersion);
    o->set("channel", s.channel);
    o->set("language", s.language);
    o->set("dossier", s.dossierCode);
    o->set("agency", s.agencyCode);
    o->set("counter", s.counterCode);
    o->set("officer", s.officerCode);
    o->set("procedure", s.procedureCode);
    o->set("device", s.deviceCode);
    o->set("answered_at", s.answeredAtMs);
    if (s.deviceAtMs) o->set("device_at", *s.deviceAtMs);
    o->set("comment", s.comment);
    Array::Ptr answers = new Array;
    for (const Answer& a : s.answers) {
        Object::Ptr x = new Object;
        x->set("question", a.question);
        if (a.number) x->set("number", *a.number);
        Array::Ptr choices = new Array;
        for (const std::string& c : a.choices) choices->add(c);
        x->set("choices", choices);
        x->set("text", a.text);
        answers->add(x);
    }
    o->set("answers", answers);
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

Submission submissionFromJson(const std::string& json) {
    const Object::Ptr o = Poco::JSON::Parser().parse(json).extract<Object::Ptr>();
    if (!o) throw std::runtime_error("a held submission is not a JSON object");
    Submission s;
    s.idempotencyKey = o->getValue<std::string>("key");
    s.surveyId = o->getValue<std::string>("survey");
    s.surveyVersion = o->getValue<int>("version");
    s.channel = o->getValue<std::string>("channel");
    s.language = o->getValue<std::string>("language");
    s.dossierCode = o->getValue<std::string>("dossier");
    s.agencyCode = o->getValue<std::string>("agency");
    s.counterCode = o->getValue<std::string>("counter");
    s.officerCode = o->getValue<std::string>("officer");
    s.procedureCode = o->getValue<std::string>("procedure");
    s.deviceCode = o->getValue<std::string>("device");
    s.answeredAtMs = o->getValue<std::int64_t>("answered_at");
    if (o->has("device_at")) s.deviceAtMs = o->getValue<std::int64_t>("device_at");
    s.comment = o->getValue<std::string>("comment");
    const Array::Ptr answers = o->getArray("answers");
    if (!answers) throw std::runtime_error("a held submission has no answers");
    for (std::size_t i = 0; i < answers->size(); ++i) {
        const Object::Ptr x = answers->getObject(static_cast<unsigned>(i));
        Answer a;
        a.question = x->getValue<std::string>("question");
        if (x->has("number")) a.number = x->getValue<double>("number");
        const Array::Ptr choices = x->getArray("choices");
        for (std::size_t k = 0; choices && k < choices->size(); ++k)
            a.choices.push_back(choices->getElement<std::string>(static_cast<unsigned>(k)));
        a.text = x->getValue<std::string>("text");
        s.answers.push_back(std::move(a));
    }
    return s;
}

}  // namespace hailong
