// hailong — what the core API handlers share: the API token check and list parameters.
#pragma once

#include "app/ApiKeys.h"
#include "directory/DirectoryStore.h"

#include <optional>

#include <hailong/Http.h>
#include <hailong/Survey.h>

#include <Poco/JSON/Object.h>

namespace hailong {

class Runtime;

/// Whether the request carries the API token (compared in constant time).
bool hasToken(const Runtime& rt, const HttpRequest& request);

/// Throws Problem(401) with `code` unless the request carries the API token. Writes, and reads
/// of case data (dossiers, devices), need it until the console's accounts replace it.
void requireToken(const Runtime& rt, const HttpRequest& request,
                  const char* code = "auth.token_required");

/// Who is calling: the host's own token (any agency), or an API key (its agency subtree).
struct Caller {
    bool admin = false;
    std::optional<ApiKey> key;
};
/// The caller of `request`; Problem(401) with a WWW-Authenticate header when it is neither.
Caller caller(Runtime& rt, const HttpRequest& request);
/// Throws Problem(403) unless the caller may act on agency `agencyId`: the token sees every
/// agency, an API key its own subtree (and 401 like caller() without credentials).
void requireScope(Runtime& rt, const HttpRequest& request, std::int64_t agencyId);

/// Parameter `name` as a whole number in [min, max]; Problem(400) naming it and the range
/// otherwise.
int queryInteger(const std::string& name, const std::string& text, int min, int max);

/// Text in several languages as a JSON object {"vi": ..., "en": ...}.
Poco::JSON::Object::Ptr localized(const LocalizedText& text);

/// ?agency=, ?q=, ?limit=, ?offset=, ?from=, ?to=, bounded; Problem(400) when malformed.
ListQuery listQuery(const HttpRequest& request);

}  // namespace hailong
