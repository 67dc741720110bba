#include "app/DossierEventApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "app/SubmissionInput.h"
#include "common/Clock.h"
#include "directory/DossierEvents.h"
#include "http/HttpServer.h"
#include "http/JsonInput.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

DossierEvent eventFrom(const Object::Ptr& item, const std::string& prefix,
                       const DossierEventStore& store) {
    JsonInput in(item, prefix);
    DossierEvent e;
    e.id = in.text("id", 100, true).value_or("");
    e.type = in.text("type", 32, true).value_or("");
    e.dossier = in.text("dossier", 64, true).value_or("");
    e.occurredAtMs = in.time("occurred_at", true).value_or(0);
    e.agencyCode = in.text("agency", 64).value_or("");
    e.procedureCode = in.text("procedure", 64).value_or("");
    e.officerCode = in.text("officer", 64).value_or("");
    e.counterCode = in.text("counter", 64).value_or("");
    e.phone = in.text("phone", 20).value_or("");
    e.dueAtMs = in.time("due_at");
    finishBody(
        in, [&] { store.check(e, prefix); }, "dossier_event.invalid");
    return e;
}

// The web survey link a returned dossier's receipt or message can carry, when the host's link
// survey is a published web survey.
Object::Ptr surveyLink(Runtime& rt, const Dossier& d) {
    const auto survey = rt.surveys().find(rt.config().getString("links.survey"));
    if (!survey || survey->status != "published" || !survey->allowsChannel("web")) return nullptr;
    Object::Ptr link = new Object;
    const std::string token = rt.links().token(d.code, survey->id);
    link->set("survey", survey->id);
    link->set("token", token);
    link->set("url", rt.links().url(token));
    return link;
}

Object::Ptr outcomeJson(Runtime& rt, const DossierEvent& e, const EventOutcome& o) {
    Object::Ptr out = new Object;
    out->set("id", e.id);
    out->set("dossier", e.dossier);
    out->set("result", toString(o.result));
    out->set("dossier_status",
             o.dossier ? Poco::Dynamic::Var(o.dossier->status) : Poco::Dynamic::Var());
    if (o.dossier && o.dossier->status == "returned")
        if (auto link = surveyLink(rt, *o.dossier)) out->set("survey_link", link);
    return out;
}

int statusOf(const EventOutcome& o) {
    return o.result == EventOutcome::Result::Applied   ? 201
           : o.result == EventOutcome::Result::Pending ? 202
                                                       : 200;
}

// POST /api/v1/dossier-events: one event, or {"events": [...]} (up to 1,000) with a result for
// each item in order. Items are checked first; the valid ones are kept in one transaction.
HttpResponse postEvents(Runtime& rt, const HttpRequest& r) {
    const Caller who = caller(rt, r);
    if (who.readOnly()) throw Problem(403, "auth.read_only");
    const EventSender sender{who.actor(), who.scopePath};
    DossierEventStore store(rt.database(), rt.directory());
    const Object::Ptr body = r.jsonObject();
    if (!body->has("events")) {
        const DossierEvent e = eventFrom(body, "", store);
        const auto results = store.record({e}, sender);
        if (const auto* p = std::get_if<Problem>(&results.front())) throw *p;
        const auto& outcome = std::get<EventOutcome>(results.front());
        return HttpResponse::json(outcomeJson(rt, e, outcome), statusOf(outcome));
    }
    const auto items = body->getArray("events");
    if (!items || body->size() != 1)
        throw Problem(422, "dossier_event.invalid", {}, {{"events", "field.array", {}}});
    if (items->size() > DossierEventStore::kMaxBatch)
        throw Problem(413, "dossier_events.too_many",
                      {{"max", std::to_string(DossierEventStore::kMaxBatch)}});
    std::vector<Object::Ptr> results(items->size());
    std::vector<DossierEvent> valid;
    std::vector<std::size_t> where;  // the item index of each valid event
    auto rejected = [&](std::size_t i, const Problem& p, const std::string& prefix) {
        results[i] = HttpServer::problemBody(prefixed(p, prefix), rt.messages(), r.language);
        results[i]->set("result", "rejected");
    };
    for (std::size_t i = 0; i < items->size(); ++i) {
        const std::string prefix = "events." + std::to_string(i) + ".";
        try {
            const auto item = items->getObject(static_cast<unsigned>(i));
            if (!item)
                throw Problem(422, "dossier_event.invalid", {},
                              {{prefix.substr(0, prefix.size() - 1), "field.object", {}}});
            valid.push_back(eventFrom(item, prefix, store));
            where.push_back(i);
        } catch (const Problem& p) {
            rejected(i, p, prefix);
        }
    }
    const auto outcomes = store.record(valid, sender);
    for (std::size_t k = 0; k < valid.size(); ++k) {
        const std::size_t i = where[k];
        if (const auto* p = std::get_if<Problem>(&outcomes[k])) {
            rejected(i, *p, "events." + std::to_string(i) + ".");
        } else {
            const auto& o = std::get<EventOutcome>(outcomes[k]);
            results[i] = outcomeJson(rt, valid[k], o);
            results[i]->set("status", statusOf(o));
        }
    }
    std::map<std::string, std::size_t> counts{
        {"applied", 0}, {"pending", 0}, {"duplicate", 0}, {"rejected", 0}};
    Array::Ptr list = new Array;
    for (std::size_t i = 0; i < results.size(); ++i) {
        results[i]->set("index", i);
        ++counts[results[i]->getValue<std::string>("result")];
        list->add(results[i]);
    }
    Object::Ptr out = new Object;
    out->set("results", list);
    for (const auto& [name, n] : counts) out->set(name, n);
    return HttpResponse::json(out);
}

// GET /api/v1/dossier-events?dossier=CODE: the events the caller may see, oldest first.
HttpResponse listEvents(Runtime& rt, const HttpRequest& r) {
    const Caller who = caller(rt, r);
    const auto code = r.queryParam("dossier");
    if (!code || code->empty() || code->size() > 64)
        throw Problem(400, "request.invalid", {},
                      {{"dossier", code ? "field.too_long" : "field.required", {{"max", "64"}}}});
    // A dossier the caller may not see is refused; the events of one not yet known are shown
    // to the senders whose scope they were sent in.
    if (const auto dossier = rt.directory().dossier(*code))
        requireScope(rt, who, dossier->agencyId);
    Array::Ptr list = new Array;
    for (const StoredDossierEvent& e : DossierEventStore(rt.database(), rt.directory()).of(*code)) {
        if (!e.senderScope.starts_with(who.scopePath) && e.state != "applied") continue;
        Object::Ptr o = new Object;
        o->set("id", e.id);
        o->set("type", e.type);
        o->set("occurred_at", formatTimeMs(e.occurredAtMs));
        o->set("received_at", formatTimeMs(e.receivedAtMs));
        o->set("state", e.state);
        list->add(o);
    }
    if (list->size() == 0) throw Problem(404, "dossier_events.none", {{"dossier", *code}});
    Object::Ptr out = new Object;
    out->set("dossier", *code);
    out->set("events", list);
    return HttpResponse::json(out);
}

}  // namespace

void registerDossierEventApi(Runtime& rt) {
    RouteOptions batch;
    batch.maxBodyBytes = 4 << 20;  // 1,000 events of about 400 bytes, with room
    rt.routes().add(
        "POST", "/api/v1/dossier-events", [&rt](const HttpRequest& r) { return postEvents(rt, r); },
        batch);
    rt.routes().add("GET", "/api/v1/dossier-events",
                    [&rt](const HttpRequest& r) { return listEvents(rt, r); });
}

}  // namespace hailong
