#include "app/WebhookApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "http/JsonInput.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

Poco::Dynamic::Var time(const std::optional<std::int64_t>& ms) {
    return ms ? Poco::Dynamic::Var(formatTimeMs(*ms)) : Poco::Dynamic::Var();
}

Object::Ptr subscriptionJson(const WebhookSubscription& w) {
    Object::Ptr o = new Object;
    o->set("id", w.id);
    o->set("name", w.name);
    o->set("url", w.url);
    o->set("agency", w.agencyCode);
    Array::Ptr events = new Array;
    for (const std::string& e : w.events) events->add(e);
    o->set("events", events);
    o->set("status", w.status);
    o->set("pause_reason", w.pauseReason);
    o->set("failing_since", time(w.failingSinceMs));
    o->set("paused_at", time(w.pausedAtMs));
    o->set("last_success_at", time(w.lastSuccessMs));
    o->set("created_at", formatTimeMs(w.createdAtMs));
    o->set("created_by", w.createdBy);
    return o;
}

// The subscription `id` names, if the caller may see it (404 otherwise, not telling which).
WebhookSubscription visible(Runtime& rt, const Caller& who, const std::string& id) {
    std::int64_t n = 0;
    try {
        n = std::stoll(id);
    } catch (const std::exception&) {
    }
    auto w = n > 0 && id.size() < 19 ? rt.webhooks().find(n) : std::nullopt;
    if (!w || !w->agencyPath.starts_with(who.scopePath))
        throw Problem(404, "webhook.not_found", {{"id", id.substr(0, 20)}});
    return *w;
}

}  // namespace

void registerWebhookApi(Runtime& rt) {
    RouteTable& routes = rt.routes();
    routes.add("GET", "/api/v1/webhooks", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        Array::Ptr items = new Array;
        for (const auto& w : rt.webhooks().list(who.scopePath)) items->add(subscriptionJson(w));
        Object::Ptr out = new Object;
        out->set("items", items);
        return HttpResponse::json(out);
    });
    routes.add("POST", "/api/v1/webhooks", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        // Who may not subscribe at all is told so before anything about the body.
        if (who.key) throw Problem(403, "auth.token_required");
        if (who.readOnly()) throw Problem(403, "auth.read_only");
        JsonInput in(r.jsonObject());
        WebhookInput input;
        input.name = in.text("name", 100, true).value_or("");
        input.url = in.text("url", 500, true).value_or("");
        input.agencyCode = in.text("agency", 64, true).value_or("");
        if (auto events = in.array("events", 8)) {
            for (std::size_t i = 0; i < events->size(); ++i) {
                const auto e = events->get(static_cast<unsigned>(i));
                if (e.isString())
                    input.events.push_back(e.convert<std::string>());
                else
                    in.error("events." + std::to_string(i), "field.text");
            }
        }
        input.privateTargets = who.admin;
        // An official's right to the agency first: only then is the receiver's name looked up.
        const auto agency = rt.directory().agency(input.agencyCode);
        if (agency) requireWriter(rt, who, agency->id);
        finishBody(
            in, [&] { WebhookStore::check(input, rt.directory()); }, "webhook.invalid");
        auto [w, secret] = rt.webhooks().add(input, who.actor());
        audit(rt, r, who, "create", "webhook", w.name, w.agencyId, "", w.url);
        Object::Ptr out = subscriptionJson(w);
        out->set("secret", secret);  // shown this once
        return HttpResponse::json(out, 201);
    });
    routes.add("GET", "/api/v1/webhooks/{id}/deliveries", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const WebhookSubscription w = visible(rt, who, r.param("id"));
        const int limit = queryInteger("limit", r.queryParam("limit").value_or("100"), 1, 1000);
        Array::Ptr items = new Array;
        for (const WebhookDelivery& d : rt.webhooks().deliveries(w.id, limit)) {
            Object::Ptr o = new Object;
            o->set("id", d.id);
            o->set("event", d.eventId);
            o->set("type", d.type);
            o->set("status", d.status);
            o->set("attempts", d.attempts);
            o->set("last_error", d.lastError);
            o->set("created_at", formatTimeMs(d.createdAtMs));
            o->set("next_attempt_at", d.status == "pending"
                                          ? Poco::Dynamic::Var(formatTimeMs(d.nextAttemptAtMs))
                                          : Poco::Dynamic::Var());
            o->set("delivered_at", time(d.sentAtMs));
            items->add(o);
        }
        Object::Ptr out = new Object;
        out->set("webhook", subscriptionJson(w));
        out->set("items", items);
        return HttpResponse::json(out);
    });
    for (const char* action : {"pause", "resume"}) {
        const std::string name = action;
        routes.add("POST", "/api/v1/webhooks/{id}/" + name, [&rt, name](const HttpRequest& r) {
            const Caller who = caller(rt, r);
            const WebhookSubscription w = visible(rt, who, r.param("id"));
            requireWriter(rt, who, w.agencyId);
            if (name == "pause")
                rt.webhooks().pause(w.id, "paused by " + who.actor());
            else
                rt.webhooks().resume(w.id);
            audit(rt, r, who, name, "webhook", w.name, w.agencyId, w.status,
                  name == "pause" ? "paused" : "active");
            return HttpResponse::json(subscriptionJson(*rt.webhooks().find(w.id)));
        });
    }
    routes.add("DELETE", "/api/v1/webhooks/{id}", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const WebhookSubscription w = visible(rt, who, r.param("id"));
        requireWriter(rt, who, w.agencyId);
        rt.webhooks().remove(w.id);
        audit(rt, r, who, "delete", "webhook", w.name, w.agencyId, w.url, "");
        return HttpResponse::noContent();
    });
}

}  // namespace hailong
