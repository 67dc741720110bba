// hailong — the follow-up cases over HTTP: GET /api/v1/cases, GET /api/v1/cases/{code} and
// POST /api/v1/cases/{code}/{assign,start,answer,note,close}, scoped to the caller's subtree.
#pragma once

#include "app/ApiSupport.h"
#include "cases/CaseStore.h"

#include <Poco/JSON/Object.h>

#include <map>
#include <string>

namespace hailong {

class Runtime;

/// A case as JSON; with its sources and history when `whole`.
Poco::JSON::Object::Ptr caseJson(const cases::Case& c, bool whole);

/// Case `code` (or `id` when `code` is empty) if the caller may see it: Problem(404) when it does
/// not exist, 403 when it is outside the caller's subtree (like every other thing of an agency).
cases::Case caseInScope(Runtime& rt, const Caller& who, const std::string& code,
                        std::int64_t id = 0);

/// Does `action` to case `c` for `who`, who must be able to change its agency: "assign" (input
/// "assignee": the username of an active official of its agency or one above), "start",
/// "answer" (input "answer"), "note" and "close" (input "note"). Audited. Problem(404) for
/// another action; the case store's Problems otherwise.
cases::Case actOnCase(Runtime& rt, const HttpRequest& request, const Caller& who,
                      const cases::Case& c, const std::string& action,
                      const std::map<std::string, std::string>& input);

/// Registers the routes above. Handlers are thread-safe.
void registerCaseApi(Runtime& rt);

}  // namespace hailong
