// hailong — alert rules and alerts over the JSON API, and their JSON form (the console's pages
// read the same).
#pragma once

#include "alerts/AlertStore.h"

#include <hailong/Http.h>

#include <Poco/JSON/Object.h>

namespace hailong {

class Runtime;
struct Caller;

Poco::JSON::Object::Ptr alertRuleJson(const AlertRule& rule);
Poco::JSON::Object::Ptr alertJson(const Alert& alert);

/// Reads a rule from a JSON object (agency, kind, survey, index, threshold, window, min_n,
/// recipients as text or an array, active): Problem(422) naming every bad field.
AlertRuleInput alertRuleInput(const Poco::JSON::Object::Ptr& body);

/// Stores rule `id` (0: a new one) from `input` if `who` may change rules of its agency (and, for
/// an existing rule, of the agency it had), audited; returns it.
AlertRule saveAlertRule(Runtime& rt, const HttpRequest& request, const Caller& who, std::int64_t id,
                        const AlertRuleInput& input);
/// Turns rule `id` on or off if `who` may change it, audited.
AlertRule setAlertRuleActive(Runtime& rt, const HttpRequest& request, const Caller& who,
                             std::int64_t id, bool active);

/// Registers GET /api/v1/alerts, GET and POST /api/v1/alert-rules, PUT
/// /api/v1/alert-rules/{id} and POST /api/v1/alert-rules/{id}/{enable,disable}: each scoped
/// to the caller's subtree, changes by officials and admins only. Handlers are thread-safe.
void registerAlertApi(Runtime& runtime);

}  // namespace hailong
