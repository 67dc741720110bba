#include "app/CoreApi.h"

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

constexpr std::size_t kNameChars = 300;

Object::Ptr localized(const LocalizedText& t) {
    Object::Ptr o = new Object;
    for (const auto& [lang, text] : t) o->set(lang, text);
    return o;
}

// Whether the request carries the API token (compared in constant time).
bool hasToken(const Runtime& rt, const HttpRequest& request) {
    const std::string header = request.header("authorization");
    const std::string& token = rt.apiToken();
    const std::string given = header.starts_with("Bearer ") ? header.substr(7) : std::string();
    unsigned char diff = given.size() == token.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size() && i < token.size(); ++i)
        diff |= static_cast<unsigned char>(given[i] ^ token[i]);
    return !token.empty() && diff == 0;
}

// Writes, and reads of case data (dossiers, devices), need the token until the console's
// accounts replace it.
void requireToken(const Runtime& rt, const HttpRequest& request,
                  const char* code = "auth.token_required") {
    if (hasToken(rt, request)) return;
    Problem p(401, code);
    p.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw p;
}

ListQuery listQuery(const HttpRequest& r) {
    ListQuery q;
    q.agencyCode = r.queryParam("agency").value_or("");
    q.search = r.queryParam("q").value_or("");
    if (q.search.size() > 200) throw Problem(400, "field.too_long", {{"max", "200"}});
    auto integer = [&](const char* name, int def, int min, int max) {
        auto v = r.queryParam(name);
        if (!v) return def;
        try {
            std::size_t used = 0;
            int n = std::stoi(*v, &used);
            if (used == v->size() && n >= min && n <= max) return n;
        } catch (const std::exception&) {
        }
        throw Problem(400, "query.integer",
                      {{"name", name}, {"min", std::to_string(min)}, {"max", std::to_string(max)}});
    };
    q.limit = integer("limit", 100, 1, 1000);
    q.offset = integer("offset", 0, 0, 100000000);
    auto time = [&](const char* name) -> std::optional<std::int64_t> {
        auto v = r.queryParam(name);
        if (!v) return std::nullopt;
        auto ms = parseTimeMs(*v);
        if (!ms) throw Problem(400, "query.time", {{"name", name}, {"value", *v}});
        return ms;
    };
    q.fromMs = time("from");
    q.toMs = time("to");
    return q;
}

HttpResponse saved(SaveOutcome outcome, Object::Ptr entity) {
    Object::Ptr body = new Object;
    body->set("result", toString(outcome));
    body->set("item", entity);
    return HttpResponse::json(body, outcome == SaveOutcome::Created ? 201 : 200);
}

template <class T>
Object::Ptr page(const std::vector<T>& items, const ListQuery& q,
                 const std::function<Object::Ptr(const T&)>& toJson) {
    Array::Ptr list = new Array;
    for (const T& item : items) list->add(toJson(item));
    Object::Ptr body = new Object;
    body->set("items", list);
    body->set("limit", q.limit);
    body->set("offset", q.offset);
    body->set("count", items.size());
    return body;
}

void nullableTime(Object::Ptr& o, const char* key, const std::optional<std::int64_t>& ms) {
    if (ms)
        o->set(key, formatTimeMs(*ms));
    else
        o->set(key, Poco::Dynamic::Var());
}

// ---- directory resources ---------------------------------------------------------------------

class DirectoryApi {
public:
    explicit DirectoryApi(Runtime& rt) : rt_(rt), dir_(rt.directory()) {}

    /// Routes keep `self` alive: they live as long as the route table.
    static void registerRoutes(RouteTable& routes, const std::shared_ptr<DirectoryApi>& self) {
        auto bind = [self](auto method) {
            return [self, method](const HttpRequest& r) { return ((*self).*method)(r); };
        };
        routes.add("GET", "/api/v1/agencies", bind(&DirectoryApi::listAgencies));
        routes.add("GET", "/api/v1/agencies/{code}", bind(&DirectoryApi::getAgency));
        routes.add("POST", "/api/v1/agencies", bind(&DirectoryApi::saveAgency));
        routes.add("PATCH", "/api/v1/agencies/{code}", bind(&DirectoryApi::saveAgency));
        routes.add("GET", "/api/v1/counters", bind(&DirectoryApi::listCounters));
        routes.add("GET", "/api/v1/counters/{code}", bind(&DirectoryApi::getCounter));
        routes.add("POST", "/api/v1/counters", bind(&DirectoryApi::saveCounter));
        routes.add("PATCH", "/api/v1/counters/{code}", bind(&DirectoryApi::saveCounter));
        routes.add("GET", "/api/v1/officers", bind(&DirectoryApi::listOfficers));
        routes.add("GET", "/api/v1/officers/{code}", bind(&DirectoryApi::getOfficer));
        routes.add("POST", "/api/v1/officers", bind(&DirectoryApi::saveOfficer));
        routes.add("PATCH", "/api/v1/officers/{code}", bind(&DirectoryApi::saveOfficer));
        routes.add("GET", "/api/v1/procedures", bind(&DirectoryApi::listProcedures));
        routes.add("GET", "/api/v1/procedures/{code}", bind(&DirectoryApi::getProcedure));
        routes.add("POST", "/api/v1/procedures", bind(&DirectoryApi::saveProcedure));
        routes.add("PATCH", "/api/v1/procedures/{code}", bind(&DirectoryApi::saveProcedure));
        routes.add("GET", "/api/v1/dossiers", bind(&DirectoryApi::listDossiers));
        routes.add("GET", "/api/v1/dossiers/{code}", bind(&DirectoryApi::getDossier));
        routes.add("POST", "/api/v1/dossiers", bind(&DirectoryApi::saveDossier));
        routes.add("PATCH", "/api/v1/dossiers/{code}", bind(&DirectoryApi::saveDossier));
        routes.add("GET", "/api/v1/devices", bind(&DirectoryApi::listDevices));
        routes.add("GET", "/api/v1/devices/{code}", bind(&DirectoryApi::getDevice));
        routes.add("POST", "/api/v1/devices", bind(&DirectoryApi::saveDevice));
        routes.add("PATCH", "/api/v1/devices/{code}", bind(&DirectoryApi::saveDevice));
    }

private:
    // Each resolves ids of one kind to codes in one query.
    using Codes = std::map<std::int64_t, std::string>;
    Codes codesOf(const char* table, const std::set<std::int64_t>& ids) {
        return dir_.codes(table, ids);
    }
    static Poco::Dynamic::Var codeOr(const Codes& codes, const std::optional<std::int64_t>& id) {
        if (!id) return Poco::Dynamic::Var();
        auto it = codes.find(*id);
        return it == codes.end() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(it->second);
    }

    [[noreturn]] static void notFound(const char* kind, const std::string& code) {
        throw Problem(404, "directory.not_found", {{"kind", kind}, {"code", code}});
    }

    // Code from the URL (PATCH) or the body (POST); PATCH needs an existing row.
    template <class T>
    std::optional<T> target(const HttpRequest& r, JsonInput& in, std::string& code,
                            const std::function<std::optional<T>(const std::string&)>& find,
                            const char* kind) {
        if (r.method == "PATCH") {
            code = r.param("code");
            auto existing = find(code);
            if (!existing) notFound(kind, code);
            in.text("code", 64);  // allowed but ignored (codes are immutable)
            return existing;
        }
        code = in.text("code", 64, true).value_or("");
        return code.empty() ? std::nullopt : find(code);
    }

    // -- agencies
    Object::Ptr agencyJson(const Agency& a, const Codes& parents) {
        Object::Ptr o = new Object;
        o->set("code", a.code);
        o->set("name", a.name);
        o->set("parent", codeOr(parents, a.parentId));
        o->set("kind", a.kind);
        o->set("address", a.address);
        o->set("depth", a.depth);
        o->set("active", a.active);
        return o;
    }
    Codes parentCodes(const std::vector<Agency>& list) {
        std::set<std::int64_t> ids;
        for (const auto& a : list)
            if (a.parentId) ids.insert(*a.parentId);
        return codesOf("agencies", ids);
    }
    HttpResponse listAgencies(const HttpRequest& r) {
        ListQuery q = listQuery(r);
        auto list = dir_.agencies(q);
        Codes parents = parentCodes(list);
        return HttpResponse::json(
            page<Agency>(list, q, [&](const Agency& a) { return agencyJson(a, parents); }));
    }
    HttpResponse getAgency(const HttpRequest& r) {
        auto a = dir_.agency(r.param("code"));
        if (!a) notFound("agency", r.param("code"));
        Codes parents = parentCodes({*a});
        Object::Ptr o = agencyJson(*a, parents);
        Array::Ptr children = new Array;
        for (const Agency& c : dir_.children(a->id)) {
            Object::Ptr child = new Object;
            child->set("code", c.code);
            child->set("name", c.name);
            children->add(child);
        }
        o->set("children", children);
        return HttpResponse::json(o);
    }
    HttpResponse saveAgency(const HttpRequest& r) {
        requireToken(rt_, r);
        JsonInput in(r.jsonObject());
        std::string code;
        auto existing = target<Agency>(
            r, in, code, [&](const std::string& c) { return dir_.agency(c); }, "agency");
        AgencyInput a;
        a.code = code;
        std::string parentCode;
        if (existing && existing->parentId) parentCode = dir_.agencyById(*existing->parentId)->code;
        a.name = in.text("name", kNameChars, !existing).value_or(existing ? existing->name : "");
        a.parentCode = in.has("parent") ? in.text("parent", 64).value_or("") : parentCode;
        a.kind = in.text("kind", 50).value_or(existing ? existing->kind : "");
        a.address = in.text("address", 300).value_or(existing ? existing->address : "");
        a.active = in.boolean("active");
        in.finish("directory.invalid");
        const SaveOutcome outcome = dir_.save(a);
        auto stored = *dir_.agency(code);
        return saved(outcome, agencyJson(stored, parentCodes({stored})));
    }

    // -- counters
    Object::Ptr counterJson(const Counter& c, const Codes& agencies) {
        Object::Ptr o = new Object;
        o->set("code", c.code);
        o->set("name", c.name);
        o->set("agency", codeOr(agencies, c.agencyId));
        o->set("active", c.active);
        return o;
    }
    HttpResponse listCounters(const HttpRequest& r) {
        ListQuery q = listQuery(r);
        auto list = dir_.counters(q);
        std::set<std::int64_t> ids;
        for (const auto& c : list) ids.insert(c.agencyId);
        Codes agencies = codesOf("agencies", ids);
        return HttpResponse::json(
            page<Counter>(list, q, [&](const Counter& c) { return counterJson(c, agencies); }));
    }
    HttpResponse getCounter(const HttpRequest& r) {
        auto c = dir_.counter(r.param("code"));
        if (!c) notFound("counter", r.param("code"));
        return HttpResponse::json(counterJson(*c, codesOf("agencies", {c->agencyId})));
    }
    HttpResponse saveCounter(const HttpRequest& r) {
        requireToken(rt_, r);
        JsonInput in(r.jsonObject());
        std::string code;
        auto existing = target<Counter>(
            r, in, code, [&](const std::string& c) { return dir_.counter(c); }, "counter");
        CounterInput c;
        c.code = code;
        c.name = in.text("name", kNameChars, !existing).value_or(existing ? existing->name : "");
        c.agencyCode =
            in.text("agency", 64, !existing)
                .value_or(existing ? codesOf("agencies", {existing->agencyId})[existing->agencyId]
                                   : "");
        c.active = in.boolean("active");
        in.finish("directory.invalid");
        const SaveOutcome outcome = dir_.save(c);
        auto stored = *dir_.counter(code);
        return saved(outcome, counterJson(stored, codesOf("agencies", {stored.agencyId})));
    }

    // -- officers
    Object::Ptr officerJson(const Officer& x, const Codes& agencies) {
        Object::Ptr o = new Object;
        o->set("code", x.code);
        o->set("name", x.name);
        o->set("title", x.title);
        o->set("agency", codeOr(agencies, x.agencyId));
        o->set("active", x.active);
        return o;
    }
    HttpResponse listOfficers(const HttpRequest& r) {
        ListQuery q = listQuery(r);
        auto list = dir_.officers(q);
        std::set<std::int64_t> ids;
        for (const auto& x : list) ids.insert(x.agencyId);
        Codes agencies = codesOf("agencies", ids);
        return HttpResponse::json(
            page<Officer>(list, q, [&](const Officer& x) { return officerJson(x, agencies); }));
    }
    HttpResponse getOfficer(const HttpRequest& r) {
        auto x = dir_.officer(r.param("code"));
        if (!x) notFound("officer", r.param("code"));
        return HttpResponse::json(officerJson(*x, codesOf("agencies", {x->agencyId})));
    }
    HttpResponse saveOfficer(const HttpRequest& r) {
        requireToken(rt_, r);
        JsonInput in(r.jsonObject());
        std::string code;
        auto existing = target<Officer>(
            r, in, code, [&](const std::string& c) { return dir_.officer(c); }, "officer");
        OfficerInput x;
        x.code = code;
        x.name = in.text("name", kNameChars, !existing).value_or(existing ? existing->name : "");
        x.title = in.text("title", 100).value_or(existing ? existing->title : "");
        x.agencyCode =
            in.text("agency", 64, !existing)
                .value_or(existing ? codesOf("agencies", {existing->agencyId})[existing->agencyId]
                                   : "");
        x.active = in.boolean("active");
        in.finish("directory.invalid");
        const SaveOutcome outcome = dir_.save(x);
        auto stored = *dir_.officer(code);
        return saved(outcome, officerJson(stored, codesOf("agencies", {stored.agencyId})));
    }

    // -- procedures
    static Object::Ptr procedureJson(const Procedure& p) {
        Object::Ptr o = new Object;
        o->set("code", p.code);
        o->set("name", p.name);
        o->set("field", p.field);
        o->set("processing_days", p.processingDays);
        o->set("online", p.online);
        o->set("active", p.active);
        return o;
    }
    HttpResponse listProcedures(const HttpRequest& r) {
        ListQuery q = listQuery(r);
        return HttpResponse::json(page<Procedure>(dir_.procedures(q), q, procedureJson));
    }
    HttpResponse getProcedure(const HttpRequest& r) {
        auto p = dir_.procedure(r.param("code"));
        if (!p) notFound("procedure", r.param("code"));
        return HttpResponse::json(procedureJson(*p));
    }
    HttpResponse saveProcedure(const HttpRequest& r) {
        requireToken(rt_, r);
        JsonInput in(r.jsonObject());
        std::string code;
        auto existing = target<Procedure>(
            r, in, code, [&](const std::string& c) { return dir_.procedure(c); }, "procedure");
        ProcedureInput p;
        p.code = code;
        p.name = in.text("name", kNameChars, !existing).value_or(existing ? existing->name : "");
        p.field = in.text("field", 200).value_or(existing ? existing->field : "");
        p.online = in.text("online", 10).value_or(existing ? existing->online : "none");
        if (auto d = in.integer("processing_days", 0, 3650))
            p.processingDays = static_cast<int>(*d);
        p.active = in.boolean("active");
        in.finish("directory.invalid");
        const SaveOutcome outcome = dir_.save(p);
        return saved(outcome, procedureJson(*dir_.procedure(code)));
    }

    // -- dossiers (the phone number is never returned)
    struct DossierCodes {
        Codes agencies, procedures, officers, counters;
    };
    DossierCodes dossierCodes(const std::vector<Dossier>& list) {
        std::set<std::int64_t> a, p, o, c;
        for (const auto& d : list) {
            a.insert(d.agencyId);
            if (d.procedureId) p.insert(*d.procedureId);
            if (d.officerId) o.insert(*d.officerId);
            if (d.counterId) c.insert(*d.counterId);
        }
        return {codesOf("agencies", a), codesOf("procedures", p), codesOf("officers", o),
                codesOf("counters", c)};
    }
    static Object::Ptr dossierJson(const Dossier& d, const DossierCodes& codes) {
        Object::Ptr o = new Object;
        o->set("code", d.code);
        o->set("agency", codeOr(codes.agencies, d.agencyId));
        o->set("procedure", codeOr(codes.procedures, d.procedureId));
        o->set("officer", codeOr(codes.officers, d.officerId));
        o->set("counter", codeOr(codes.counters, d.counterId));
        o->set("status", d.status);
        o->set("received_at", formatTimeMs(d.receivedAtMs));
        nullableTime(o, "due_at", d.dueAtMs);
        nullableTime(o, "returned_at", d.returnedAtMs);
        o->set("has_phone", !d.phone.empty());
        return o;
    }
    HttpResponse listDossiers(const HttpRequest& r) {
        requireToken(rt_, r, "auth.token_required_read");
        ListQuery q = listQuery(r);
        auto list = dir_.dossiers(q);
        DossierCodes codes = dossierCodes(list);
        return HttpResponse::json(
            page<Dossier>(list, q, [&](const Dossier& d) { return dossierJson(d, codes); }));
    }
    HttpResponse getDossier(const HttpRequest& r) {
        requireToken(rt_, r, "auth.token_required_read");
        auto d = dir_.dossier(r.param("code"));
        if (!d) notFound("dossier", r.param("code"));
        return HttpResponse::json(dossierJson(*d, dossierCodes({*d})));
    }
    HttpResponse saveDossier(const HttpRequest& r) {
        requireToken(rt_, r);
        JsonInput in(r.jsonObject());
        std::string code;
        auto existing = target<Dossier>(
            r, in, code, [&](const std::string& c) { return dir_.dossier(c); }, "dossier");
        DossierCodes old = existing ? dossierCodes({*existing}) : DossierCodes{};
        auto keep = [&](const Codes& codes, const std::optional<std::int64_t>& id) {
            auto known = codeOr(codes, id);
            return existing && !known.isEmpty() ? known.toString() : std::string();
        };
        DossierInput d;
        d.code = code;
        d.agencyCode = in.text("agency", 64, !existing)
                           .value_or(existing ? keep(old.agencies, existing->agencyId) : "");
        d.procedureCode =
            in.text("procedure", 64)
                .value_or(existing ? keep(old.procedures, existing->procedureId) : "");
        d.officerCode = in.text("officer", 64)
                            .value_or(existing ? keep(old.officers, existing->officerId) : "");
        d.counterCode = in.text("counter", 64)
                            .value_or(existing ? keep(old.counters, existing->counterId) : "");
        d.status = in.text("status", 20).value_or(existing ? existing->status : "");
        d.phone = in.text("phone", 20).value_or(existing ? existing->phone : "");
        d.receivedAtMs = in.time("received_at", !existing);
        d.dueAtMs =
            in.has("due_at") ? in.time("due_at") : (existing ? existing->dueAtMs : std::nullopt);
        d.returnedAtMs = in.has("returned_at") ? in.time("returned_at")
                                               : (existing ? existing->returnedAtMs : std::nullopt);
        in.finish("directory.invalid");
        const SaveOutcome outcome = dir_.save(d);
        auto stored = *dir_.dossier(code);
        return saved(outcome, dossierJson(stored, dossierCodes({stored})));
    }

    // -- devices
    Object::Ptr deviceJson(const Device& d, const Codes& counters) {
        Object::Ptr o = new Object;
        o->set("code", d.code);
        o->set("name", d.name);
        o->set("counter", codeOr(counters, d.counterId));
        o->set("status", d.status);
        nullableTime(o, "last_seen_at", d.lastSeenAtMs);
        return o;
    }
    HttpResponse listDevices(const HttpRequest& r) {
        requireToken(rt_, r, "auth.token_required_read");
        ListQuery q = listQuery(r);
        auto list = dir_.devices(q);
        std::set<std::int64_t> ids;
        for (const auto& d : list) ids.insert(d.counterId);
        Codes counters = codesOf("counters", ids);
        return HttpResponse::json(
            page<Device>(list, q, [&](const Device& d) { return deviceJson(d, counters); }));
    }
    HttpResponse getDevice(const HttpRequest& r) {
        requireToken(rt_, r, "auth.token_required_read");
        auto d = dir_.device(r.param("code"));
        if (!d) notFound("device", r.param("code"));
        return HttpResponse::json(deviceJson(*d, codesOf("counters", {d->counterId})));
    }
    HttpResponse saveDevice(const HttpRequest& r) {
        requireToken(rt_, r);
        JsonInput in(r.jsonObject());
        std::string code;
        auto existing = target<Device>(
            r, in, code, [&](const std::string& c) { return dir_.device(c); }, "device");
        DeviceInput d;
        d.code = code;
        d.name = in.text("name", kNameChars, !existing).value_or(existing ? existing->name : "");
        d.counterCode =
            in.text("counter", 64, !existing)
                .value_or(existing ? codesOf("counters", {existing->counterId})[existing->counterId]
                                   : "");
        in.finish("directory.invalid");
        const SaveOutcome outcome = dir_.save(d);
        auto stored = *dir_.device(code);
        return saved(outcome, deviceJson(stored, codesOf("counters", {stored.counterId})));
    }

    Runtime& rt_;
    DirectoryStore& dir_;
};

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

    DirectoryApi::registerRoutes(routes, std::make_shared<DirectoryApi>(rt));

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
