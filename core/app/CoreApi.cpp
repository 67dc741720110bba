#include "app/CoreApi.h"

#include "app/ApiSupport.h"
#include "app/DirectoryApi.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "http/JsonInput.h"
#include "http/StaticFiles.h"
#include "store/Migrations.h"

#include <hailong/Version.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <chrono>

namespace hailong {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr localized(const LocalizedText& t) {
    Object::Ptr o = new Object;
    for (const auto& [lang, text] : t) o->set(lang, text);
    return o;
}

// ---- submissions -----------------------------------------------------------------------------

// Reads the envelope; its errors and the survey's are reported together in one 422.
Submission submissionFrom(const HttpRequest& r, const SurveyCatalog& surveys,
                          const IngestService& ingest) {
    JsonInput in(r.jsonObject());
    Submission s;
    s.idempotencyKey = in.text("idempotency_key", 128, true).value_or("");
    s.surveyId = in.text("survey", 64, true).value_or("");
    s.surveyVersion = static_cast<int>(in.integer("survey_version", 0, 100000).value_or(0));
    s.channel = in.text("channel", 32).value_or("api");
    s.language = in.text("language", 5).value_or("vi");
    s.dossierCode = in.text("dossier", 64).value_or("");
    s.agencyCode = in.text("agency", 64).value_or("");
    s.counterCode = in.text("counter", 64).value_or("");
    s.officerCode = in.text("officer", 64).value_or("");
    s.procedureCode = in.text("procedure", 64).value_or("");
    s.deviceCode = in.text("device", 64).value_or("");
    s.answeredAtMs = in.time("answered_at").value_or(0);
    s.comment = in.text("comment", 2000).value_or("");
    auto survey = surveys.find(s.surveyId, s.surveyVersion);
    if (auto answers = in.object("answers")) {
        if (answers->size() > 200) in.error("answers", "field.too_many", {{"max", "200"}});
        for (const auto& [question, value] : *answers) {
            Answer a;
            a.question = question;
            const Question* q = survey ? survey->question(question) : nullptr;
            const bool textual =
                q && (q->type == QuestionType::Text || q->type == QuestionType::DossierCode);
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
                JsonInput sub(value.extract<Poco::JSON::Object::Ptr>(),
                              "answers." + question + ".");
                if (auto choices = sub.array("choices", 100))
                    for (const auto& c : *choices)
                        if (auto t = choiceText(c)) a.choices.push_back(*t);
                a.text = sub.text("text", 5000).value_or("");
                a.number = sub.number("value");
                for (auto& e : sub.errors()) in.errors().push_back(e);
                try {
                    sub.finish();
                } catch (const Problem&) {
                }
            } else if (value.isString()) {
                if (textual)
                    a.text = value.extract<std::string>();
                else
                    a.choices.push_back(value.extract<std::string>());
            } else if (value.isNumeric() && value.type() != typeid(bool)) {
                a.number = value.convert<double>();
            } else if (value.type() == typeid(bool)) {
                a.number = value.extract<bool>() ? 1 : 0;
            }
            s.answers.push_back(std::move(a));
        }
    } else {
        in.error("answers", "field.required");
    }
    try {
        in.finish("submission.invalid");
    } catch (Problem& envelope) {
        std::vector<FieldError> all = envelope.errors();
        try {
            ingest.check(s);
        } catch (const Problem& content) {
            for (const FieldError& e : content.errors()) all.push_back(e);
        }
        throw Problem(422, "submission.invalid", {}, all);
    }
    return s;
}

// Anyone may ask whether the host is up; where the database is, and why a plugin failed, is
// only told to holders of the API token.
HttpResponse health(Runtime& rt, bool details) {
    Object::Ptr body = new Object;
    body->set("version", productVersion());
    body->set("plugin_api", HAILONG_PLUGIN_API);
    Object::Ptr db = new Object;
    db->set("backend", rt.database().backend() == Backend::SQLite ? "sqlite" : "postgresql");
    if (details) db->set("url", rt.database().url().redacted);
    std::string error;
    const auto started = std::chrono::steady_clock::now();
    const bool ok = rt.database().ping(error);
    db->set("ok", ok);
    db->set("latency_ms",
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count());
    if (ok) {
        try {
            db->set("schema_version", Migrations::currentVersion(rt.database()));
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (!error.empty() && details) db->set("error", error);
    body->set("database", db);
    Array::Ptr plugins = new Array;
    bool pluginTrouble = false;
    for (const PluginStatus& p : rt.plugins().statuses()) {
        Object::Ptr o = new Object;
        o->set("name", p.name);
        o->set("state", p.state);
        if (!p.reason.empty() && details) o->set("reason", p.reason);
        plugins->add(o);
        pluginTrouble = pluginTrouble || (p.state != "running");
    }
    body->set("plugins", plugins);
    Object::Ptr ingest = new Object;
    const auto stats = rt.ingest().stats();
    ingest->set("queued", rt.ingest().queued());
    ingest->set("stored_since_start", stats.stored);
    ingest->set("duplicates_since_start", stats.duplicates);
    body->set("ingest", ingest);
    body->set("surveys", rt.surveys().list().size());
    body->set("time", formatTimeMs(nowMs()));
    body->set("status", !ok ? "down" : pluginTrouble ? "degraded" : "ok");
    HttpResponse r = HttpResponse::json(body, ok ? 200 : 503);
    r.header("Cache-Control", "no-store");
    return r;
}

Object::Ptr surveyJson(const Survey& s, bool full) {
    Object::Ptr o = new Object;
    o->set("id", s.id);
    o->set("version", s.version);
    o->set("title", localized(s.title));
    Array::Ptr channels = new Array;
    for (const auto& c : s.channels) channels->add(c);
    o->set("channels", channels);
    if (!full) {
        o->set("questions", s.questions.size());
        return o;
    }
    static const char* types[] = {"rating", "single", "multiple", "yesno",
                                  "nps",    "text",   "dossier"};
    Array::Ptr questions = new Array;
    for (const Question& q : s.questions) {
        Object::Ptr qo = new Object;
        qo->set("id", q.id);
        qo->set("type", types[static_cast<int>(q.type)]);
        qo->set("required", q.required);
        qo->set("text", localized(q.text));
        Array::Ptr options = new Array;
        for (const auto& opt : q.options) {
            Object::Ptr oo = new Object;
            oo->set("id", opt.id);
            oo->set("value", opt.value);
            oo->set("label", localized(opt.label));
            options->add(oo);
        }
        qo->set("options", options);
        questions->add(qo);
    }
    o->set("questions", questions);
    return o;
}

}  // namespace

void registerCoreApi(Runtime& rt) {
    RouteTable& routes = rt.routes();
    routes.add("GET", "/api/v1/health",
               [&rt](const HttpRequest& r) { return health(rt, hasToken(rt, r)); });

    registerDirectoryApi(rt);

    // What the database holds, for the front page and a first look.
    routes.add("GET", "/api/v1/summary", [&rt](const HttpRequest&) {
        Object::Ptr counts = new Object;
        for (const char* table :
             {"agencies", "counters", "officers", "procedures", "dossiers", "devices", "responses"})
            counts->set(table, rt.directory().count(table));
        Object::Ptr body = new Object;
        body->set("counts", counts);
        return HttpResponse::json(body);
    });

    routes.add("POST", "/api/v1/submissions", [&rt](const HttpRequest& r) {
        requireToken(rt, r);
        const Receipt receipt = rt.ingest().submit(submissionFrom(r, rt.surveys(), rt.ingest()));
        Object::Ptr body = new Object;
        body->set("receipt", receipt.code);
        body->set("response_id", receipt.responseId);
        body->set("duplicate", receipt.duplicate);
        body->set("stored_at", formatTimeMs(receipt.storedAtMs));
        return HttpResponse::json(body, receipt.duplicate ? 200 : 201);
    });

    routes.add("GET", "/api/v1/surveys", [&rt](const HttpRequest&) {
        Array::Ptr list = new Array;
        for (const auto& s : rt.surveys().list()) list->add(surveyJson(*s, false));
        Object::Ptr body = new Object;
        body->set("items", list);
        return HttpResponse::json(body);
    });
    routes.add("GET", "/api/v1/surveys/{id}", [&rt](const HttpRequest& r) {
        int version = 0;
        if (auto v = r.queryParam("version")) version = std::atoi(v->c_str());
        auto s = rt.surveys().find(r.param("id"), version);
        if (!s) throw Problem(404, "survey.not_found", {{"id", r.param("id")}});
        return HttpResponse::json(surveyJson(*s, true));
    });

    auto files = std::make_shared<StaticFiles>(rt.paths().web + "/static");
    routes.add("GET", "/", [files](const HttpRequest& r) { return files->serve(r, "index.html"); });
    routes.add("GET", "/static/{path*}",
               [files](const HttpRequest& r) { return files->serve(r, r.param("path")); });
    routes.add("GET", "/favicon.ico",
               [files](const HttpRequest& r) { return files->serve(r, "favicon.svg"); });
}

}  // namespace hailong
