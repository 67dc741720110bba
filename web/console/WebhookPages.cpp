// The console's webhooks: the subscriptions of an official's subtree (a paused one says why,
// since when and what to do), the form that adds one (its signing secret shown once), pause,
// resume and delete (confirmed on a second page); one subscription with its delivery log.
// The same store, scope rules and audit as the API (core/app/WebhookApi.cpp).
#include "console/ConsoleSite.h"

#include <hailong/Hmac.h>

#include <algorithm>

namespace hailong::console {
namespace {

// The secret of a subscription just created travels from the form's answer (a redirect) to
// the page after it in this cookie, once: that page clears it, so a reload does not show it
// again. Its value is bound to the session's form key and to a deadline.
constexpr const char* kSecretCookie = "hl_whsec";
constexpr const char* kSecretPath = "/console/webhooks/";
constexpr std::int64_t kSecretForMs = 10 * 60 * 1000;
constexpr int kLogRows = 200;

// Sets `key` only when there is something to show (Mustache shows a section for "").
void setIf(Object::Ptr o, const std::string& key, const std::string& value) {
    if (!value.empty()) o->set(key, value);
}

std::string secretSeal(const std::string& csrf, const std::string& payload) {
    return hmacSha256Hex(csrf, "webhook-secret:" + payload).substr(0, 32);
}

// "<id>.<until>.<secret>.<seal>"
std::string secretCookieValue(std::int64_t id, const std::string& secret, const std::string& csrf) {
    const std::string payload =
        std::to_string(id) + "." + std::to_string(nowMs() + kSecretForMs) + "." + secret;
    return payload + "." + secretSeal(csrf, payload);
}

// The secret the cookie holds for subscription `id` of this session, if it is still due.
std::string secretFromCookie(const std::string& value, std::int64_t id, const std::string& csrf) {
    const auto seal = value.rfind('.');
    if (seal == std::string::npos || value.size() > 400) return "";
    const std::string payload = value.substr(0, seal);
    if (!sameSecret(value.substr(seal + 1), secretSeal(csrf, payload))) return "";
    const auto first = payload.find('.'), second = payload.find('.', first + 1);
    if (first == std::string::npos || second == std::string::npos) return "";
    if (payload.substr(0, first) != std::to_string(id)) return "";
    try {
        if (std::stoll(payload.substr(first + 1, second - first - 1)) < nowMs()) return "";
    } catch (const std::exception&) {
        return "";
    }
    return payload.substr(second + 1);
}

std::string encoded(const std::string& s) {
    std::string out;
    Poco::URI::encode(s, "&=?#+/%", out);
    return out;
}

}  // namespace

std::string Console::deliveryError(const std::string& raw, const std::string& lang) const {
    static const std::string answered = "the receiver answered ";
    static const std::string unreachable = "the receiver could not be reached: ";
    if (raw.starts_with(answered)) {
        const std::string rest = raw.substr(answered.size());
        const auto space = rest.find(' ');
        return t(lang, "webhook_error_answered",
                 {{"status", rest.substr(0, space)},
                  {"text", space == std::string::npos ? "" : trim(rest.substr(space + 1))}});
    }
    if (raw.starts_with(unreachable))
        return t(lang, "webhook_error_unreachable", {{"text", raw.substr(unreachable.size())}});
    if (raw == "paused") return t(lang, "webhook_error_paused");
    if (raw == "the subscription was removed") return t(lang, "webhook_error_removed");
    return raw;
}

std::string Console::webhookProblemText(const std::string& lang, const Problem& p) const {
    if (p.errors().empty()) return problemText(lang, p);
    std::string out;
    for (const FieldError& e : p.errors()) {
        const std::string field = e.field.substr(0, e.field.find('.'));
        const std::string label = t(lang, "webhook_field_" + field);
        out += (out.empty() ? "" : " ") + (label == "webhook_field_" + field ? e.field : label) +
               ": " + rt_.messages().text(lang, e.code, e.params);
    }
    return out;
}

Object::Ptr Console::webhookView(const WebhookSubscription& w, const Visit& v) const {
    auto eventLabel = [&](const std::string& type) {
        std::string key = "webhook_event_" + type;
        std::replace(key.begin(), key.end(), '.', '_');
        const std::string label = t(v.lang, key);
        return label == key ? type : label;
    };
    Object::Ptr o = new Object;
    o->set("id", w.id);
    o->set("name", w.name);
    o->set("url", w.url);
    o->set("agency_code", w.agencyCode);
    const auto agency = rt_.directory().agencyById(w.agencyId);
    o->set("agency", agency ? agency->name : w.agencyCode);
    std::string words;
    Array::Ptr events = new Array;
    for (const std::string& e : w.events) {
        words += (words.empty() ? "" : ", ") + eventLabel(e);
        Object::Ptr x = new Object;
        x->set("key", e);
        x->set("label", eventLabel(e));
        events->add(x);
    }
    o->set("events", words);
    o->set("event_list", events);
    const bool paused = w.status == "paused";
    o->set("paused", paused);
    o->set("status", t(v.lang, paused ? "webhook_status_paused" : "webhook_status_active"));
    o->set("last_success",
           w.lastSuccessMs ? when(*w.lastSuccessMs, v.lang) : t(v.lang, "webhook_never"));
    if (w.failingSinceMs) o->set("failing_since", when(*w.failingSinceMs, v.lang));
    o->set("created", when(w.createdAtMs, v.lang));
    o->set("created_by", w.createdBy.starts_with("user:") ? w.createdBy.substr(5) : w.createdBy);
    if (paused) {
        const std::string since = w.pausedAtMs ? when(*w.pausedAtMs, v.lang) : "?";
        o->set("paused_at", since);
        // Paused by someone ("paused by user:x", as the API writes it), or by the feed after
        // a day of failures (the receiver's last error).
        static const std::string by = "paused by ";
        if (w.pauseReason.starts_with(by)) {
            std::string actor = w.pauseReason.substr(by.size());
            if (actor.starts_with("user:")) actor = actor.substr(5);
            o->set("why", t(v.lang, "webhook_paused_by", {{"since", since}, {"who", actor}}));
            o->set("todo", t(v.lang, "webhook_todo_manual"));
        } else {
            const std::string reason = deliveryError(w.pauseReason, v.lang);
            o->set("why", w.failingSinceMs ? t(v.lang, "webhook_paused_failing",
                                               {{"since", since},
                                                {"failing", when(*w.failingSinceMs, v.lang)},
                                                {"reason", reason}})
                                           : t(v.lang, "webhook_paused_error",
                                               {{"since", since}, {"reason", reason}}));
            o->set("todo", t(v.lang, "webhook_todo_failing"));
        }
    }
    return o;
}

WebhookSubscription Console::visibleWebhook(const std::string& id, const Caller& who) const {
    std::int64_t n = 0;
    if (!id.empty() && id.size() < 19 && id.find_first_not_of("0123456789") == std::string::npos)
        n = std::stoll(id);
    auto w = n > 0 ? rt_.webhooks().find(n) : std::nullopt;
    if (!w || !w->agencyPath.starts_with(who.scopePath))
        throw Problem(404, "webhook.not_found", {{"id", utf8::shortened(id, 20)}});
    return *w;
}

std::size_t Console::pausedWebhooks(const Caller& who) const {
    const auto all = rt_.webhooks().list(who.scopePath);
    return static_cast<std::size_t>(std::count_if(
        all.begin(), all.end(), [](const WebhookSubscription& w) { return w.status == "paused"; }));
}

HttpResponse Console::webhooksPage(const Visit& v, const Caller& who, const std::string& notice,
                                   const std::string& error, int status, const Form* typed) const {
    Object::Ptr data = new Object;
    setIf(data, "notice", notice);
    setIf(data, "error", error);
    data->set("help",
              t(v.lang, "webhooks_help",
                {{"hours", std::to_string(std::max(
                               1, rt_.config().getInt("webhooks.pause_after_hours", 24)))}}));
    Array::Ptr rows = new Array, paused = new Array;
    for (const WebhookSubscription& w : rt_.webhooks().list(who.scopePath)) {
        Object::Ptr o = webhookView(w, v);
        rows->add(o);
        if (w.status == "paused") paused->add(o);
    }
    data->set("webhooks", rows);
    data->set("has_webhooks", rows->size() > 0);
    data->set("count", count(static_cast<std::int64_t>(rows->size()), v.lang));
    data->set("paused_webhooks", paused);
    data->set("has_paused", paused->size() > 0);
    data->set("can_change", !who.readOnly());
    // The form: empty, or what was typed when it was refused.
    Object::Ptr form = new Object;
    std::string agency = who.scopeCode;
    std::vector<std::string> checked;
    if (typed) {
        form->set("name", field(*typed, "name"));
        form->set("url", field(*typed, "url"));
        agency = field(*typed, "agency");
        for (auto [it, end] = typed->equal_range("events"); it != end; ++it)
            checked.push_back(it->second);
    }
    data->set("form", form);
    data->set("agency_options", agencyOptions(who, agency));
    Array::Ptr events = new Array;
    for (const char* e : kWebhookEvents) {
        std::string key = std::string("webhook_event_") + e;
        std::replace(key.begin(), key.end(), '.', '_');
        Object::Ptr o = new Object;
        o->set("key", e);
        o->set("label", t(v.lang, key));
        o->set("help", t(v.lang, key + "_help"));
        o->set("checked", std::find(checked.begin(), checked.end(), e) != checked.end());
        events->add(o);
    }
    data->set("event_options", events);
    return page("webhooks", v, data, status);
}

HttpResponse Console::webhookPage(const WebhookSubscription& w, const Visit& v, const Caller& who,
                                  const std::string& notice, const std::string& error, int status,
                                  const std::string& secret, bool confirmDelete) const {
    Object::Ptr data = new Object;
    setIf(data, "notice", notice);
    setIf(data, "error", error);
    setIf(data, "secret", secret);
    Object::Ptr o = webhookView(w, v);
    Array::Ptr log = new Array;
    for (const WebhookDelivery& d : rt_.webhooks().deliveries(w.id, kLogRows)) {
        Object::Ptr x = new Object;
        x->set("id", d.id);
        x->set("event", d.eventId);
        std::string key = "webhook_event_" + d.type;
        std::replace(key.begin(), key.end(), '.', '_');
        const std::string type = t(v.lang, key);
        x->set("type", type == key ? d.type : type);
        // While the subscription is paused, what is queued waits for "resume", whatever its
        // next attempt says.
        const bool waiting =
            d.status == "pending" && (w.status == "paused" || d.lastError == "paused");
        const std::string state = waiting                                   ? "waiting"
                                  : d.status == "pending" && d.attempts > 0 ? "retrying"
                                                                            : d.status;
        const std::string words = t(v.lang, "delivery_" + state);
        x->set("status", words == "delivery_" + state ? d.status : words);
        x->set("sent", d.status == "sent");
        x->set("failed", d.status == "failed" || state == "retrying");
        x->set("attempts", d.attempts);
        // "" too (not the page's error); "paused" is what the status already says.
        x->set("error", d.lastError == "paused" ? "" : deliveryError(d.lastError, v.lang));
        x->set("created", when(d.createdAtMs, v.lang));
        x->set("when", d.sentAtMs ? when(*d.sentAtMs, v.lang)
                       : waiting  ? t(v.lang, "delivery_after_resume")
                       : d.status == "pending"
                           ? t(v.lang, "delivery_next", {{"when", when(d.nextAttemptAtMs, v.lang)}})
                           : std::string("—"));
        log->add(x);
    }
    o->set("log", log);
    o->set("has_log", log->size() > 0);
    data->set("webhook", o);
    data->set("can_change", !who.readOnly());
    if (confirmDelete) {
        data->set("confirm_delete", true);
        data->set("confirm_title", t(v.lang, "webhook_delete_title", {{"name", w.name}}));
    }
    return page("webhook", v, data, status);
}

void Console::webhookRoutes() {
    get("/console/webhooks", [this](const HttpRequest& r, const Visit& v, const Caller& who) {
        // After a form (Post/Redirect/Get): what was done, to which subscription.
        std::string notice;
        const std::string done = r.queryParam("done").value_or("");
        if (done == "pause" || done == "resume") {
            try {
                const auto w = visibleWebhook(r.queryParam("id").value_or(""), who);
                notice = t(v.lang, "webhook_done_" + done, {{"name", w.name}});
            } catch (const Problem&) {
            }
        }
        if (const auto deleted = r.queryParam("deleted"))
            notice = t(v.lang, "webhook_deleted", {{"name", utf8::shortened(*deleted, 100)}});
        return webhooksPage(v, who, notice, "");
    });
    get("/console/webhooks/{id}", [this](const HttpRequest& r, const Visit& v, const Caller& who) {
        try {
            const WebhookSubscription w = visibleWebhook(r.param("id"), who);
            const std::string sealed = r.cookie(kSecretCookie);
            const std::string secret =
                sealed.empty() ? "" : secretFromCookie(sealed, w.id, v.session->csrf);
            const std::string done = r.queryParam("done").value_or("");
            std::string notice;
            for (const char* action : {"create", "pause", "resume"})
                if (done == action) notice = t(v.lang, "webhook_done_" + done, {{"name", w.name}});
            HttpResponse out = webhookPage(w, v, who, notice, "", 200, secret);
            if (!sealed.empty())  // shown (or stale): gone, whatever a reload asks
                out.header("Set-Cookie", std::string(kSecretCookie) + "=; Path=" + kSecretPath +
                                             "; HttpOnly; SameSite=Strict; Max-Age=0" +
                                             (secure_ ? "; Secure" : ""));
            return out;
        } catch (const Problem& p) {
            Object::Ptr failed = new Object;
            failed->set("error", problemText(v.lang, p));
            return page("message", v, failed, p.status());
        }
    });
    post("/console/webhooks",
         [this](const HttpRequest& r, const Visit& v, const Caller& who, const Form& f) {
             try {
                 if (who.readOnly()) throw Problem(403, "auth.read_only");
                 WebhookInput in;
                 in.name = trim(field(f, "name"));
                 in.url = trim(field(f, "url"));
                 in.agencyCode = trim(field(f, "agency"));
                 for (auto [it, end] = f.equal_range("events"); it != end; ++it)
                     in.events.push_back(it->second);
                 // This machine and the private network: admins only, as over the API.
                 in.privateTargets = who.admin;
                 // Out of the caller's subtree: refused before the address is looked up.
                 if (const auto agency = rt_.directory().agency(in.agencyCode))
                     requireWriter(rt_, who, agency->id);
                 WebhookStore::check(in, rt_.directory());
                 auto [w, secret] = rt_.webhooks().add(in, who.actor());
                 audit(rt_, r, who, "create", "webhook", w.name, w.agencyId, "", w.url);
                 return HttpResponse::redirect("/console/webhooks/" + std::to_string(w.id) +
                                               "?done=create")
                     .header("Set-Cookie",
                             std::string(kSecretCookie) + "=" +
                                 secretCookieValue(w.id, secret, v.session->csrf) +
                                 "; Path=" + kSecretPath + "; HttpOnly; SameSite=Strict; Max-Age=" +
                                 std::to_string(kSecretForMs / 1000) + (secure_ ? "; Secure" : ""));
             } catch (const Problem& p) {
                 return webhooksPage(v, who, "", webhookProblemText(v.lang, p), p.status(), &f);
             }
         });
    post("/console/webhooks/{id}/{action}", [this](const HttpRequest& r, const Visit& v,
                                                   const Caller& who, const Form& f) {
        const std::string action = r.param("action");
        std::optional<WebhookSubscription> w;
        try {
            w = visibleWebhook(r.param("id"), who);
            if (action != "pause" && action != "resume" && action != "delete")
                throw Problem(404, "webhook.not_found", {{"id", r.param("id")}});
            requireWriter(rt_, who, w->agencyId);
            const std::string id = std::to_string(w->id);
            if (action == "delete") {
                // Asked first on a page of its own; the form there says it is meant.
                if (field(f, "confirm") != "1")
                    return webhookPage(*w, v, who, "", "", 200, "", true);
                rt_.webhooks().remove(w->id);
                audit(rt_, r, who, "delete", "webhook", w->name, w->agencyId, w->url, "");
                return HttpResponse::redirect("/console/webhooks?deleted=" + encoded(w->name));
            }
            const bool pausing = action == "pause";
            if (pausing != (w->status == "paused")) {  // already so: nothing to do, nothing to log
                if (pausing)
                    rt_.webhooks().pause(w->id, "paused by " + who.actor());
                else
                    rt_.webhooks().resume(w->id);
                audit(rt_, r, who, action, "webhook", w->name, w->agencyId, w->status,
                      pausing ? "paused" : "active");
            }
            return HttpResponse::redirect(field(f, "from") == "list"
                                              ? "/console/webhooks?done=" + action + "&id=" + id
                                              : "/console/webhooks/" + id + "?done=" + action);
        } catch (const Problem& p) {
            if (!w) {
                Object::Ptr failed = new Object;
                failed->set("error", problemText(v.lang, p));
                return page("message", v, failed, p.status());
            }
            auto fresh = rt_.webhooks().find(w->id);
            return webhookPage(fresh ? *fresh : *w, v, who, "", problemText(v.lang, p), p.status());
        }
    });
}

}  // namespace hailong::console
