#include "app/DirectoryApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "http/JsonInput.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <functional>
#include <memory>
#include <set>
#include <sstream>

namespace hailong {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;
using Codes = std::map<std::int64_t, std::string>;

constexpr std::size_t kNameChars = 300;

/// One kind of directory entry as an API resource. Immutable after setup; shared by routes.
template <class Entity, class Input>
struct Resource {
    const char* kind;        ///< for messages: "agency"
    const char* collection;  ///< URL segment: "agencies"
    bool privateReads = false;
    std::function<std::vector<Entity>(const ListQuery&)> list;
    std::function<std::optional<Entity>(const std::string& code)> find;
    /// JSON for entities, resolving their references with one query per referenced table.
    std::function<Array::Ptr(const std::vector<Entity>&)> render;
    /// The input to save, from the body; `existing` supplies what a PATCH leaves out.
    std::function<Input(JsonInput&, const std::optional<Entity>& existing, const std::string&)>
        read;
    /// Extra detail for the single-item view (e.g. an agency's children).
    std::function<void(const Entity&, Object::Ptr&)> detail;
    /// The agency an entity belongs to (an agency: itself; none: a national thing, such as a
    /// procedure, that only admins change).
    std::function<std::optional<std::int64_t>(const Entity&)> agencyOf;
    /// The agency an input puts the entity in (an agency: its parent); nullopt when none or
    /// unknown (the save then reports the unknown reference).
    std::function<std::optional<std::int64_t>(const Input&)> inputAgency;
};

std::string jsonText(const Object::Ptr& o) {
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

Poco::Dynamic::Var codeOr(const Codes& codes, const std::optional<std::int64_t>& id) {
    if (!id) return Poco::Dynamic::Var();
    auto it = codes.find(*id);
    return it == codes.end() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(it->second);
}
std::string codeText(const Codes& codes, const std::optional<std::int64_t>& id) {
    auto v = codeOr(codes, id);
    return v.isEmpty() ? std::string() : v.toString();
}
void setTime(Object::Ptr& o, const char* key, const std::optional<std::int64_t>& ms) {
    if (ms)
        o->set(key, formatTimeMs(*ms));
    else
        o->set(key, Poco::Dynamic::Var());
}
std::string trimmed(std::string s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

template <class E, class I>
void mount(RouteTable& routes, Runtime& rt, std::shared_ptr<const Resource<E, I>> res) {
    const std::string base = std::string("/api/v1/") + res->collection;
    auto notFound = [res](const std::string& code) {
        return Problem(404, "directory.not_found", {{"kind", res->kind}, {"code", code}});
    };
    routes.add("GET", base, [&rt, res](const HttpRequest& r) {
        ListQuery q = listQuery(r);
        if (res->privateReads) {  // case data: the caller's subtree only
            const Caller who = caller(rt, r);
            if (!who.scopePath.empty()) {
                if (q.agencyCode.empty()) q.agencyCode = who.scopeCode;
                auto a = rt.directory().agency(q.agencyCode);
                if (!a || !a->path.starts_with(who.scopePath))
                    throw Problem(403, who.session ? "auth.out_of_scope" : "apikey.out_of_scope",
                                  {{"scope", who.scopeCode}, {"code", q.agencyCode}});
            } else if (!who.admin) {
                throw Problem(403, "auth.token_required_read");
            }
        }
        const auto items = res->list(q);
        Object::Ptr body = new Object;
        body->set("items", res->render(items));
        body->set("limit", q.limit);
        body->set("offset", q.offset);
        body->set("count", items.size());
        return HttpResponse::json(body);
    });
    routes.add("GET", base + "/{code}", [&rt, res, notFound](const HttpRequest& r) {
        // 401 before 404: nothing is told to strangers.
        const std::optional<Caller> who =
            res->privateReads ? std::optional(caller(rt, r)) : std::nullopt;
        auto entity = res->find(r.param("code"));
        if (!entity) throw notFound(r.param("code"));
        if (who) {
            const auto agency = res->agencyOf(*entity);
            if (agency)
                requireScope(rt, *who, *agency);
            else if (!who->admin)
                throw Problem(403, "auth.admin_only");
        }
        Object::Ptr item = res->render({*entity})->getObject(0);
        if (res->detail) res->detail(*entity, item);
        return HttpResponse::json(item);
    });
    auto save = [&rt, res, notFound](const HttpRequest& r) {
        caller(rt, r);  // 401 before anything is read
        JsonInput in(r.jsonObject());
        std::string code;
        std::optional<E> existing;
        if (r.method == "PATCH") {
            code = r.param("code");
            existing = res->find(code);
            if (!existing) throw notFound(code);
            in.text("code", 64);  // accepted but ignored: codes do not change
        } else {
            code = trimmed(in.text("code", 64, true).value_or(""));
            if (!code.empty()) existing = res->find(code);
        }
        I input = res->read(in, existing, code);
        // Both where it is and where it goes must be the caller's to change.
        const auto target = res->inputAgency(input);
        Caller who = requireWriter(rt, r, target);
        if (existing) who = requireWriter(rt, r, res->agencyOf(*existing));
        in.finish("directory.invalid");
        const std::string before =
            existing ? jsonText(res->render({*existing})->getObject(0)) : std::string();
        const SaveOutcome outcome = rt.directory().save(input);
        Object::Ptr item = res->render({*res->find(code)})->getObject(0);
        if (outcome != SaveOutcome::Unchanged)
            audit(rt, r, who, outcome == SaveOutcome::Created ? "create" : "update", res->kind,
                  code, target, before, jsonText(item));
        Object::Ptr body = new Object;
        body->set("result", toString(outcome));
        body->set("item", item);
        return HttpResponse::json(body, outcome == SaveOutcome::Created ? 201 : 200);
    };
    routes.add("POST", base, save);
    routes.add("PATCH", base + "/{code}", save);
}

std::optional<std::int64_t> agencyIdOf(DirectoryStore& dir, const std::string& code) {
    auto a = dir.agency(code);
    return a ? std::optional<std::int64_t>(a->id) : std::nullopt;
}

// The code of an entity's agency (or other reference) for a PATCH that does not name it.
template <class E>
std::string keptCode(DirectoryStore& dir, const char* table, const std::optional<E>& existing,
                     std::int64_t E::*member) {
    if (!existing) return {};
    const std::int64_t id = (*existing).*member;
    return codeText(dir.codes(table, {id}), id);
}

}  // namespace

void registerDirectoryApi(Runtime& rt) {
    DirectoryStore& dir = rt.directory();
    RouteTable& routes = rt.routes();
    auto codesOf = [&dir](const char* table, const std::set<std::int64_t>& ids) {
        return dir.codes(table, ids);
    };

    auto agencies = std::make_shared<Resource<Agency, AgencyInput>>();
    agencies->kind = "agency";
    agencies->collection = "agencies";
    agencies->list = [&dir](const ListQuery& q) { return dir.agencies(q); };
    agencies->find = [&dir](const std::string& c) { return dir.agency(c); };
    agencies->render = [codesOf](const std::vector<Agency>& list) {
        std::set<std::int64_t> ids;
        for (const auto& a : list)
            if (a.parentId) ids.insert(*a.parentId);
        const Codes parents = codesOf("agencies", ids);
        Array::Ptr out = new Array;
        for (const Agency& a : list) {
            Object::Ptr o = new Object;
            o->set("code", a.code);
            o->set("name", a.name);
            o->set("parent", codeOr(parents, a.parentId));
            o->set("kind", a.kind);
            o->set("address", a.address);
            o->set("depth", a.depth);
            o->set("active", a.active);
            out->add(o);
        }
        return out;
    };
    agencies->read = [&dir](JsonInput& in, const std::optional<Agency>& old,
                            const std::string& code) {
        AgencyInput a;
        a.code = code;
        a.name = in.text("name", kNameChars, !old).value_or(old ? old->name : "");
        std::string parent;
        if (old && old->parentId) parent = dir.agencyById(*old->parentId)->code;
        a.parentCode = in.has("parent") ? in.text("parent", 64).value_or("") : parent;
        a.kind = in.text("kind", 50).value_or(old ? old->kind : "");
        a.address = in.text("address", 300).value_or(old ? old->address : "");
        a.active = in.boolean("active");
        return a;
    };
    agencies->detail = [&dir](const Agency& a, Object::Ptr& item) {
        Array::Ptr children = new Array;
        for (const Agency& c : dir.children(a.id)) {
            Object::Ptr child = new Object;
            child->set("code", c.code);
            child->set("name", c.name);
            children->add(child);
        }
        item->set("children", children);
    };
    agencies->agencyOf = [](const Agency& a) { return std::optional<std::int64_t>(a.id); };
    agencies->inputAgency = [&dir](const AgencyInput& in) -> std::optional<std::int64_t> {
        // A new top-level agency is the admins' to make; a child, its parent's officials'.
        if (in.parentCode.empty()) return std::nullopt;
        auto parent = dir.agency(in.parentCode);
        return parent ? std::optional<std::int64_t>(parent->id) : std::nullopt;
    };
    mount<Agency, AgencyInput>(routes, rt, agencies);

    auto counters = std::make_shared<Resource<Counter, CounterInput>>();
    counters->kind = "counter";
    counters->collection = "counters";
    counters->list = [&dir](const ListQuery& q) { return dir.counters(q); };
    counters->find = [&dir](const std::string& c) { return dir.counter(c); };
    counters->render = [codesOf](const std::vector<Counter>& list) {
        std::set<std::int64_t> ids;
        for (const auto& c : list) ids.insert(c.agencyId);
        const Codes agencyCodes = codesOf("agencies", ids);
        Array::Ptr out = new Array;
        for (const Counter& c : list) {
            Object::Ptr o = new Object;
            o->set("code", c.code);
            o->set("name", c.name);
            o->set("agency", codeOr(agencyCodes, c.agencyId));
            o->set("active", c.active);
            o->set("survey",
                   c.surveyId.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(c.surveyId));
            out->add(o);
        }
        return out;
    };
    counters->read = [&dir, &rt](JsonInput& in, const std::optional<Counter>& old,
                                 const std::string& code) {
        CounterInput c;
        c.code = code;
        c.name = in.text("name", kNameChars, !old).value_or(old ? old->name : "");
        c.agencyCode = in.text("agency", 64, !old)
                           .value_or(keptCode(dir, "agencies", old, &Counter::agencyId));
        c.active = in.boolean("active");
        c.surveyId = in.text("survey", 64);
        if (c.surveyId && !c.surveyId->empty()) {
            auto s = rt.surveys().find(*c.surveyId);
            if (!s || !s->allowsChannel("counter"))
                throw Problem(422, "directory.invalid", {},
                              {{"survey", "counter.survey_unfit", {{"survey", *c.surveyId}}}});
        }
        return c;
    };
    counters->agencyOf = [](const Counter& c) { return std::optional<std::int64_t>(c.agencyId); };
    counters->inputAgency = [&dir](const CounterInput& in) {
        return agencyIdOf(dir, in.agencyCode);
    };
    mount<Counter, CounterInput>(routes, rt, counters);

    auto officers = std::make_shared<Resource<Officer, OfficerInput>>();
    officers->kind = "officer";
    officers->collection = "officers";
    officers->list = [&dir](const ListQuery& q) { return dir.officers(q); };
    officers->find = [&dir](const std::string& c) { return dir.officer(c); };
    officers->render = [codesOf](const std::vector<Officer>& list) {
        std::set<std::int64_t> ids;
        for (const auto& x : list) ids.insert(x.agencyId);
        const Codes agencyCodes = codesOf("agencies", ids);
        Array::Ptr out = new Array;
        for (const Officer& x : list) {
            Object::Ptr o = new Object;
            o->set("code", x.code);
            o->set("name", x.name);
            o->set("title", x.title);
            o->set("agency", codeOr(agencyCodes, x.agencyId));
            o->set("active", x.active);
            out->add(o);
        }
        return out;
    };
    officers->read = [&dir](JsonInput& in, const std::optional<Officer>& old,
                            const std::string& code) {
        OfficerInput x;
        x.code = code;
        x.name = in.text("name", kNameChars, !old).value_or(old ? old->name : "");
        x.title = in.text("title", 100).value_or(old ? old->title : "");
        x.agencyCode = in.text("agency", 64, !old)
                           .value_or(keptCode(dir, "agencies", old, &Officer::agencyId));
        x.active = in.boolean("active");
        return x;
    };
    officers->agencyOf = [](const Officer& o) { return std::optional<std::int64_t>(o.agencyId); };
    officers->inputAgency = [&dir](const OfficerInput& in) {
        return agencyIdOf(dir, in.agencyCode);
    };
    mount<Officer, OfficerInput>(routes, rt, officers);

    auto procedures = std::make_shared<Resource<Procedure, ProcedureInput>>();
    procedures->kind = "procedure";
    procedures->collection = "procedures";
    procedures->list = [&dir](const ListQuery& q) { return dir.procedures(q); };
    procedures->find = [&dir](const std::string& c) { return dir.procedure(c); };
    procedures->render = [](const std::vector<Procedure>& list) {
        Array::Ptr out = new Array;
        for (const Procedure& p : list) {
            Object::Ptr o = new Object;
            o->set("code", p.code);
            o->set("name", p.name);
            o->set("field", p.field);
            o->set("processing_days", p.processingDays);
            o->set("online", p.online);
            o->set("active", p.active);
            out->add(o);
        }
        return out;
    };
    procedures->read = [](JsonInput& in, const std::optional<Procedure>& old,
                          const std::string& code) {
        ProcedureInput p;
        p.code = code;
        p.name = in.text("name", kNameChars, !old).value_or(old ? old->name : "");
        p.field = in.text("field", 200).value_or(old ? old->field : "");
        p.online = in.text("online", 10).value_or(old ? old->online : "none");
        if (auto d = in.integer("processing_days", 0, 3650))
            p.processingDays = static_cast<int>(*d);
        p.active = in.boolean("active");
        return p;
    };
    procedures->agencyOf = [](const Procedure&) { return std::optional<std::int64_t>(); };
    procedures->inputAgency = [](const ProcedureInput&) { return std::optional<std::int64_t>(); };
    mount<Procedure, ProcedureInput>(routes, rt, procedures);

    // Dossiers are case data: reading them needs the token, and the phone is never returned.
    struct DossierCodes {
        Codes agencies, procedures, officers, counters;
    };
    auto dossierCodes = [codesOf](const std::vector<Dossier>& list) {
        std::set<std::int64_t> a, p, o, c;
        for (const auto& d : list) {
            a.insert(d.agencyId);
            if (d.procedureId) p.insert(*d.procedureId);
            if (d.officerId) o.insert(*d.officerId);
            if (d.counterId) c.insert(*d.counterId);
        }
        return DossierCodes{codesOf("agencies", a), codesOf("procedures", p),
                            codesOf("officers", o), codesOf("counters", c)};
    };
    auto dossiers = std::make_shared<Resource<Dossier, DossierInput>>();
    dossiers->kind = "dossier";
    dossiers->collection = "dossiers";
    dossiers->privateReads = true;
    dossiers->list = [&dir](const ListQuery& q) { return dir.dossiers(q); };
    dossiers->find = [&dir](const std::string& c) { return dir.dossier(c); };
    dossiers->render = [dossierCodes](const std::vector<Dossier>& list) {
        const DossierCodes codes = dossierCodes(list);
        Array::Ptr out = new Array;
        for (const Dossier& d : list) {
            Object::Ptr o = new Object;
            o->set("code", d.code);
            o->set("agency", codeOr(codes.agencies, d.agencyId));
            o->set("procedure", codeOr(codes.procedures, d.procedureId));
            o->set("officer", codeOr(codes.officers, d.officerId));
            o->set("counter", codeOr(codes.counters, d.counterId));
            o->set("status", d.status);
            o->set("received_at", formatTimeMs(d.receivedAtMs));
            setTime(o, "due_at", d.dueAtMs);
            setTime(o, "returned_at", d.returnedAtMs);
            o->set("has_phone", !d.phone.empty());
            out->add(o);
        }
        return out;
    };
    dossiers->read = [dossierCodes](JsonInput& in, const std::optional<Dossier>& old,
                                    const std::string& code) {
        const DossierCodes kept = old ? dossierCodes({*old}) : DossierCodes{};
        DossierInput d;
        d.code = code;
        d.agencyCode =
            in.text("agency", 64, !old).value_or(old ? codeText(kept.agencies, old->agencyId) : "");
        d.procedureCode = in.text("procedure", 64)
                              .value_or(old ? codeText(kept.procedures, old->procedureId) : "");
        d.officerCode =
            in.text("officer", 64).value_or(old ? codeText(kept.officers, old->officerId) : "");
        d.counterCode =
            in.text("counter", 64).value_or(old ? codeText(kept.counters, old->counterId) : "");
        d.status = in.text("status", 20).value_or(old ? old->status : "");
        d.phone = in.text("phone", 20).value_or(old ? old->phone : "");
        d.receivedAtMs = in.time("received_at", !old);
        d.dueAtMs = in.time("due_at");            // not given: kept by the store
        d.returnedAtMs = in.time("returned_at");  // not given: kept by the store
        return d;
    };
    dossiers->agencyOf = [](const Dossier& d) { return std::optional<std::int64_t>(d.agencyId); };
    dossiers->inputAgency = [&dir](const DossierInput& in) {
        return agencyIdOf(dir, in.agencyCode);
    };
    mount<Dossier, DossierInput>(routes, rt, dossiers);

    auto devices = std::make_shared<Resource<Device, DeviceInput>>();
    devices->kind = "device";
    devices->collection = "devices";
    devices->privateReads = true;
    devices->list = [&dir](const ListQuery& q) { return dir.devices(q); };
    devices->find = [&dir](const std::string& c) { return dir.device(c); };
    devices->render = [codesOf](const std::vector<Device>& list) {
        std::set<std::int64_t> ids;
        for (const auto& d : list) ids.insert(d.counterId);
        const Codes counterCodes = codesOf("counters", ids);
        Array::Ptr out = new Array;
        for (const Device& d : list) {
            Object::Ptr o = new Object;
            o->set("code", d.code);
            o->set("name", d.name);
            o->set("counter", codeOr(counterCodes, d.counterId));
            o->set("status", d.status);
            setTime(o, "last_seen_at", d.lastSeenAtMs);
            o->set("queued", d.queued);
            out->add(o);
        }
        return out;
    };
    devices->read = [&dir](JsonInput& in, const std::optional<Device>& old,
                           const std::string& code) {
        DeviceInput d;
        d.code = code;
        d.name = in.text("name", kNameChars, !old).value_or(old ? old->name : "");
        d.counterCode = in.text("counter", 64, !old)
                            .value_or(keptCode(dir, "counters", old, &Device::counterId));
        return d;
    };
    devices->agencyOf = [&dir](const Device& d) -> std::optional<std::int64_t> {
        auto c = dir.counterById(d.counterId);
        return c ? std::optional<std::int64_t>(c->agencyId) : std::nullopt;
    };
    devices->inputAgency = [&dir](const DeviceInput& in) -> std::optional<std::int64_t> {
        auto c = dir.counter(in.counterCode);
        return c ? std::optional<std::int64_t>(c->agencyId) : std::nullopt;
    };
    mount<Device, DeviceInput>(routes, rt, devices);
}

}  // namespace hailong
