#include "app/CoreApi.h"

#include "app/ApiSupport.h"
#include "app/DirectoryApi.h"
#include "app/Runtime.h"
#include "app/SubmissionInput.h"
#include "common/Clock.h"
#include "http/HttpServer.h"
#include "http/JsonInput.h"
#include "http/StaticFiles.h"
#include "store/Migrations.h"
#include "survey/SurveyParser.h"

#include <hailong/Version.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace hailong {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

// An API key or an official writes only inside its agency subtree: every agency the response
// names (itself, or through its dossier, counter or officer) must be there.
void checkScope(Runtime& rt, const Caller& who, const Submission& s) {
    DirectoryStore& dir = rt.directory();
    std::vector<std::pair<std::string, std::optional<std::int64_t>>> named;
    if (!s.agencyCode.empty())
        if (auto a = dir.agency(s.agencyCode)) named.push_back({s.agencyCode, a->id});
    if (!s.dossierCode.empty())
        if (auto d = dir.dossier(s.dossierCode)) named.push_back({s.dossierCode, d->agencyId});
    if (!s.counterCode.empty())
        if (auto c = dir.counter(s.counterCode)) named.push_back({s.counterCode, c->agencyId});
    if (!s.officerCode.empty())
        if (auto o = dir.officer(s.officerCode)) named.push_back({s.officerCode, o->agencyId});
    if (named.empty() && s.agencyCode.empty() && s.dossierCode.empty() && s.counterCode.empty() &&
        s.officerCode.empty())
        throw Problem(422, "submission.invalid", {}, {{"agency", "responses.agency_required", {}}});
    for (const auto& [code, agencyId] : named) {
        auto agency = agencyId ? dir.agencyById(*agencyId) : std::nullopt;
        if (!agency || !agency->path.starts_with(who.scopePath))
            throw Problem(403, who.session ? "auth.out_of_scope" : "apikey.out_of_scope",
                          {{"scope", who.scopeCode}, {"code", code}});
    }
}

Object::Ptr receiptJson(const Receipt& receipt) {
    Object::Ptr body = new Object;
    body->set("receipt", receipt.code);
    body->set("response_id", receipt.responseId);
    body->set("duplicate", receipt.duplicate);
    body->set("stored_at", formatTimeMs(receipt.storedAtMs));
    return body;
}

// POST /api/v1/responses: one response, or {"responses": [...]} (up to 1,000) with a result
// for each item in order.
HttpResponse postResponses(Runtime& rt, const HttpRequest& r) {
    const Caller who = caller(rt, r);
    auto body = r.jsonObject();
    auto submitOne = [&](const Object::Ptr& item, const std::string& prefix) {
        Submission s = submissionFrom(item, prefix, rt.surveys(),
                                      [&](const Submission& x) { rt.ingest().check(x); });
        if (who.readOnly()) throw Problem(403, "auth.read_only");
        if (!who.admin) checkScope(rt, who, s);
        try {
            return rt.ingest().submit(s);
        } catch (const Problem& p) {
            throw withApiNames(p);
        }
    };
    if (!body->has("responses")) {
        const Receipt receipt = submitOne(body, "");
        return HttpResponse::json(receiptJson(receipt), receipt.duplicate ? 200 : 201);
    }
    constexpr std::size_t kMaxBatch = 1000;
    auto items = body->getArray("responses");
    if (!items || body->size() != 1)
        throw Problem(422, "request.invalid", {}, {{"responses", "field.array", {}}});
    if (items->size() > kMaxBatch)
        throw Problem(413, "responses.too_many", {{"max", std::to_string(kMaxBatch)}});
    // Items are independent; several go at once so that their commits are grouped.
    std::vector<Object::Ptr> results(items->size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (std::size_t i = next++; i < items->size(); i = next++) {
            Object::Ptr result;
            const std::string prefix = "responses." + std::to_string(i) + ".";
            try {
                auto item = items->getObject(static_cast<unsigned>(i));
                if (!item)
                    throw Problem(422, "submission.invalid", {},
                                  {{prefix.substr(0, prefix.size() - 1), "field.object", {}}});
                const Receipt receipt = submitOne(item, prefix);
                result = receiptJson(receipt);
                result->set("status", receipt.duplicate ? 200 : 201);
            } catch (const Problem& p) {
                result = HttpServer::problemBody(prefixed(p, prefix), rt.messages(), r.language);
            } catch (const Unavailable&) {
                result = HttpServer::problemBody(Problem(503, "http.unavailable"), rt.messages(),
                                                 r.language);
            }
            result->set("index", i);
            results[i] = result;
        }
    };
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < std::min<std::size_t>(8, items->size()); ++t)
        workers.emplace_back(work);
    for (auto& w : workers) w.join();
    Array::Ptr list = new Array;
    std::size_t stored = 0, duplicates = 0, rejected = 0;
    for (const auto& res : results) {
        list->add(res);
        const int status = res->getValue<int>("status");
        ++(status == 201 ? stored : status == 200 ? duplicates : rejected);
    }
    Object::Ptr out = new Object;
    out->set("results", list);
    out->set("stored", stored);
    out->set("duplicates", duplicates);
    out->set("rejected", rejected);
    return HttpResponse::json(out);
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
    ingest->set("held_since_start", stats.held);
    ingest->set("commits_since_start", stats.batches);
    body->set("ingest", ingest);
    body->set("surveys", rt.surveys().list().size());
    body->set("time", formatTimeMs(nowMs()));
    body->set("status", !ok ? "down" : pluginTrouble ? "degraded" : "ok");
    HttpResponse r = HttpResponse::json(body, ok ? 200 : 503);
    r.header("Cache-Control", "no-store");
    return r;
}

// A version in a list: what it is, not what it asks.
Object::Ptr surveySummary(const Survey& s) {
    Object::Ptr o = new Object;
    o->set("id", s.id);
    o->set("version", s.version);
    o->set("status", s.status);
    o->set("title", localized(s.title));
    Array::Ptr channels = new Array;
    for (const auto& c : s.channels) channels->add(c);
    o->set("channels", channels);
    o->set("questions", s.questions.size());
    o->set("content_hash", s.contentHash);
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

    // Responses from systems that collect them themselves; the biggest batch is ~1,000 items.
    RouteOptions batch;
    batch.maxBodyBytes = 16 << 20;
    routes.add(
        "POST", "/api/v1/responses", [&rt](const HttpRequest& r) { return postResponses(rt, r); },
        batch);

    routes.add("GET", "/api/v1/surveys", [&rt](const HttpRequest&) {
        Array::Ptr list = new Array;
        for (const auto& s : rt.surveys().list()) list->add(surveySummary(*s));
        Object::Ptr body = new Object;
        body->set("items", list);
        return HttpResponse::json(body);
    });
    // The whole definition of the latest published version, or of ?version=N (any status).
    routes.add("GET", "/api/v1/surveys/{id}", [&rt](const HttpRequest& r) {
        int version = 0;
        if (auto v = r.queryParam("version")) version = queryInteger("version", *v, 1, 1000000);
        auto s = rt.surveys().find(r.param("id"), version);
        if (!s) throw Problem(404, "survey.not_found", {{"id", r.param("id")}});
        auto body = Poco::JSON::Parser()
                        .parse(rt.surveys().definition(s->id, s->version))
                        .extract<Object::Ptr>();
        body->set("version", s->version);
        body->set("status", s->status);
        body->set("content_hash", s->contentHash);
        return HttpResponse::json(body);
    });
    // Checks a survey definition without storing it: every error with its place, in the
    // caller's language (the console's editor asks as the official types).
    routes.add(
        "POST", "/api/v1/surveys/check",
        [&rt](const HttpRequest& r) {
            caller(rt, r);
            JsonInput in(r.jsonObject());
            const std::string text = in.text("definition", 1000000, true).value_or("");
            in.finish("request.invalid");
            const ParsedSurvey parsed = SurveyParser::parse(text);
            Array::Ptr errors = new Array;
            for (const FieldError& e : parsed.errors) {
                Object::Ptr o = new Object;
                o->set("field", e.field);
                o->set("code", e.code);
                o->set("detail", rt.messages().text(r.language, e.code, e.params));
                errors->add(o);
            }
            Object::Ptr body = new Object;
            body->set("valid", parsed.errors.empty());
            body->set("errors", errors);
            if (parsed.survey) {
                body->set("id", parsed.survey->id);
                body->set("questions", parsed.survey->questions.size());
                body->set("indices", parsed.survey->indices.size());
            }
            return HttpResponse::json(body);
        },
        RouteOptions{2 * 1024 * 1024});
    routes.add("GET", "/api/v1/surveys/{id}/versions", [&rt](const HttpRequest& r) {
        auto versions = rt.surveys().versions(r.param("id"));
        if (versions.empty()) throw Problem(404, "survey.not_found", {{"id", r.param("id")}});
        Array::Ptr list = new Array;
        for (const auto& s : versions) list->add(surveySummary(*s));
        Object::Ptr body = new Object;
        body->set("items", list);
        return HttpResponse::json(body);
    });

    auto files = std::make_shared<StaticFiles>(rt.paths().web + "/static");
    routes.add("GET", "/", [files](const HttpRequest& r) { return files->serve(r, "index.html"); });
    routes.add("GET", "/static/{path*}",
               [files](const HttpRequest& r) { return files->serve(r, r.param("path")); });
    routes.add("GET", "/favicon.ico",
               [files](const HttpRequest& r) { return files->serve(r, "favicon.svg"); });
}

}  // namespace hailong
