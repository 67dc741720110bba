// hailong — what the core API handlers share: the API token check and list parameters.
#pragma once

#include "accounts/Accounts.h"
#include "app/ApiKeys.h"
#include "directory/DirectoryStore.h"

#include <functional>
#include <optional>

#include <hailong/Http.h>
#include <hailong/Survey.h>

#include <Poco/JSON/Object.h>

namespace hailong {

class JsonInput;
class Runtime;

/// Whether the request carries the API token (compared in constant time).
bool hasToken(const Runtime& rt, const HttpRequest& request);

/// Throws Problem(401) with `code` unless the request carries the API token.
void requireToken(const Runtime& rt, const HttpRequest& request,
                  const char* code = "auth.token_required");

/// Who is calling: the host's own token (everything), an API key (its agency subtree: sends
/// responses and reads), or a signed-in console user (by role, in its subtree).
struct Caller {
    bool admin = false;  ///< the token, or an admin user: every agency, every change
    std::optional<ApiKey> key;
    std::optional<SignIn> session;
    std::string scopePath;  ///< "/1/7/": the subtree the caller may see; "" everything
    std::string scopeCode;  ///< the code of that agency
    std::int64_t scopeAgencyId = 0;
    /// For the audit log: "token", "apikey:<name>", "user:<username>".
    std::string actor() const;
    bool readOnly() const { return session && session->user.role == Role::Analyst; }
};
/// The caller of `request`: the token, an API key, or the session cookie of a console user (a
/// change sent with a session must carry its key in X-CSRF-Token: 403 otherwise). Problem(401)
/// with a WWW-Authenticate header when there is none of them.
Caller caller(Runtime& rt, const HttpRequest& request);
/// The caller a console session is (after the console checked its form's key).
Caller callerOf(const SignIn& session);
/// Throws unless `who` may change things of agency `agencyId` (see requireWriter below).
void requireWriter(Runtime& rt, const Caller& who, std::optional<std::int64_t> agencyId,
                   bool keysMay = false);
/// Whether agency `agencyId` is in the caller's subtree.
bool inScope(Runtime& rt, const Caller& who, std::int64_t agencyId);
/// Throws Problem(403) unless the caller may see agency `agencyId` (and 401 like caller()).
void requireScope(Runtime& rt, const HttpRequest& request, std::int64_t agencyId);
/// The same for a caller already known.
void requireScope(Runtime& rt, const Caller& who, std::int64_t agencyId);
/// Throws unless the caller may change things of agency `agencyId` (nullopt: things of no
/// agency, such as procedures and surveys: admins only). Analysts change nothing (403);
/// officials change their subtree; API keys too where `keysMay`, nothing otherwise.
Caller requireWriter(Runtime& rt, const HttpRequest& request, std::optional<std::int64_t> agencyId,
                     bool keysMay = false);
/// Records a change in the audit log, by `who` (the caller of `request`).
void audit(Runtime& rt, const HttpRequest& request, const Caller& who, const std::string& action,
           const std::string& kind, const std::string& code, std::optional<std::int64_t> agencyId,
           const std::string& before, const std::string& after);

/// Ends reading a body: the reader's complaints (types, unknown fields) and those `check` throws
/// (the content's own rules), each field named once, in one Problem(422, `code`).
void finishBody(JsonInput& in, const std::function<void()>& check, const std::string& code);

/// Parameter `name` as a whole number in [min, max]; Problem(400) naming it and the range
/// otherwise.
int queryInteger(const std::string& name, const std::string& text, int min, int max);

/// Parameter `name` as a local day (YYYY-MM-DD); Problem(400) naming it and the form otherwise.
std::int64_t queryDay(const std::string& name, const std::string& text);

/// Text in several languages as a JSON object {"vi": ..., "en": ...}.
Poco::JSON::Object::Ptr localized(const LocalizedText& text);

/// ?agency=, ?q=, ?limit=, ?offset=, ?from=, ?to=, bounded; Problem(400) when malformed.
ListQuery listQuery(const HttpRequest& request);

}  // namespace hailong
