#include "app/AlertApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "http/JsonInput.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

std::string jsonText(const Object::Ptr& o) {
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(o, out);
    return out.str();
}

AlertRule ruleInScope(Runtime& rt, const Caller& who, std::int64_t id) {
    auto rule = rt.alerts().rule(id);
    if (!rule) throw Problem(404, "alert.rule_not_found", {{"id", std::to_string(id)}});
    requireScope(rt, who, rule->agencyId);
    return *rule;
}

std::int64_t ruleId(const HttpRequest& r) {
    return queryInteger("id", r.param("id"), 1, 2000000000);
}

}  // namespace

Object::Ptr alertRuleJson(const AlertRule& rule) {
    Object::Ptr o = new Object;
    o->set("id", rule.id);
    o->set("agency", rule.agencyCode);
    o->set("agency_name", rule.agencyName);
    o->set("kind", toString(rule.kind));
    o->set("survey", rule.surveyId);
    o->set("index", rule.indexId);
    o->set("threshold", rule.threshold);
    if (rule.kind == AlertKind::IndexFloor)
        o->set("window_days", rule.windowMinutes / (24 * 60));
    else
        o->set("window_minutes", rule.windowMinutes);
    o->set("min_n", rule.minN);
    Array::Ptr to = new Array;
    for (const AlertRecipient& r : rule.recipients) {
        Object::Ptr x = new Object;
        x->set("channel", r.channel);
        x->set("address", r.address);
        to->add(x);
    }
    o->set("recipients", to);
    o->set("active", rule.active);
    o->set("created_by", rule.createdBy);
    o->set("created_at", formatTimeMs(rule.createdAtMs));
    o->set("updated_at", formatTimeMs(rule.updatedAtMs));
    return o;
}

Object::Ptr alertJson(const Alert& a) {
    Object::Ptr o = new Object;
    o->set("id", a.id);
    o->set("rule", alertRuleJson(a.rule));
    o->set("opened_at", formatTimeMs(a.openedAtMs));
    o->set("value", a.value);
    o->set("n", a.n);
    o->set("open", !a.clearedAtMs.has_value());
    if (a.clearedAtMs) o->set("cleared_at", formatTimeMs(*a.clearedAtMs));
    if (a.clearedValue) o->set("cleared_value", *a.clearedValue);
    if (a.clearedN) o->set("cleared_n", *a.clearedN);
    return o;
}

AlertRuleInput alertRuleInput(const Object::Ptr& body) {
    JsonInput in(body);
    AlertRuleInput input;
    input.agencyCode = in.text("agency", 64, true).value_or("");
    input.kind = in.text("kind", 32, true).value_or("");
    input.surveyId = in.text("survey", 64).value_or("");
    input.indexId = in.text("index", 64).value_or("");
    input.threshold = in.text("threshold", 32, true).value_or("");
    input.window = in.text("window", 16, true).value_or("");
    input.minN = in.text("min_n", 16, true).value_or("");
    if (body->isArray("recipients")) {
        const Array::Ptr list = in.array("recipients", AlertStore::kMaxRecipients + 1);
        for (std::size_t i = 0; list && i < list->size(); ++i) {
            const Poco::Dynamic::Var item = list->get(static_cast<unsigned>(i));
            if (!item.isString()) {
                in.error("recipients." + std::to_string(i), "field.text");
                continue;
            }
            input.recipients += item.convert<std::string>() + "\n";
        }
    } else {
        input.recipients = in.text("recipients", 4000).value_or("");
    }
    input.active = in.boolean("active").value_or(true);
    in.finish("alert.invalid");
    return input;
}

AlertRule saveAlertRule(Runtime& rt, const HttpRequest& r, const Caller& who, std::int64_t id,
                        const AlertRuleInput& input) {
    // Both where the rule is and where it goes must be the caller's to change.
    std::optional<AlertRule> before;
    if (id != 0) {
        before = rt.alerts().rule(id);
        if (!before) throw Problem(404, "alert.rule_not_found", {{"id", std::to_string(id)}});
        requireWriter(rt, who, before->agencyId);
    }
    const auto agency = rt.directory().agency(input.agencyCode);
    if (!agency)
        throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", input.agencyCode}});
    requireWriter(rt, who, agency->id);
    const AlertRule saved = rt.alerts().save(id, input, who.actor());
    audit(rt, r, who, id == 0 ? "create" : "update", "alert_rule", std::to_string(saved.id),
          saved.agencyId, before ? jsonText(alertRuleJson(*before)) : "",
          jsonText(alertRuleJson(saved)));
    return saved;
}

AlertRule setAlertRuleActive(Runtime& rt, const HttpRequest& r, const Caller& who, std::int64_t id,
                             bool active) {
    const AlertRule rule = ruleInScope(rt, who, id);
    requireWriter(rt, who, rule.agencyId);
    rt.alerts().setActive(id, active);
    audit(rt, r, who, active ? "enable" : "disable", "alert_rule", std::to_string(id),
          rule.agencyId, "", "");
    return *rt.alerts().rule(id);
}

void registerAlertApi(Runtime& rt) {
    RouteTable& routes = rt.routes();
    routes.add("GET", "/api/v1/alerts", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const bool openOnly = r.queryParam("open").value_or("") == "1";
        const int limit = queryInteger("limit", r.queryParam("limit").value_or("100"), 1, 1000);
        Array::Ptr list = new Array;
        for (const Alert& a :
             rt.alerts().alerts(who.scopePath, openOnly, static_cast<std::size_t>(limit)))
            list->add(alertJson(a));
        Object::Ptr body = new Object;
        body->set("alerts", list);
        return HttpResponse::json(body);
    });
    routes.add("GET", "/api/v1/alert-rules", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        Array::Ptr list = new Array;
        for (const AlertRule& rule : rt.alerts().rules(who.scopePath))
            list->add(alertRuleJson(rule));
        Object::Ptr body = new Object;
        body->set("rules", list);
        return HttpResponse::json(body);
    });
    routes.add("GET", "/api/v1/alert-rules/{id}", [&rt](const HttpRequest& r) {
        return HttpResponse::json(alertRuleJson(ruleInScope(rt, caller(rt, r), ruleId(r))));
    });
    routes.add("POST", "/api/v1/alert-rules", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const AlertRule saved = saveAlertRule(rt, r, who, 0, alertRuleInput(r.jsonObject()));
        return HttpResponse::json(alertRuleJson(saved), 201);
    });
    routes.add("PUT", "/api/v1/alert-rules/{id}", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const std::int64_t id = ruleId(r);
        ruleInScope(rt, who, id);  // 404 or 403 before the body is judged
        return HttpResponse::json(
            alertRuleJson(saveAlertRule(rt, r, who, id, alertRuleInput(r.jsonObject()))));
    });
    for (const bool active : {true, false})
        routes.add("POST",
                   std::string("/api/v1/alert-rules/{id}/") + (active ? "enable" : "disable"),
                   [&rt, active](const HttpRequest& r) {
                       const Caller who = caller(rt, r);
                       return HttpResponse::json(
                           alertRuleJson(setAlertRuleActive(rt, r, who, ruleId(r), active)));
                   });
}

}  // namespace hailong
