// hailong — what the core API handlers share: the API token check and list parameters.
#pragma once

#include "directory/DirectoryStore.h"

#include <hailong/Http.h>

namespace hailong {

class Runtime;

/// Whether the request carries the API token (compared in constant time).
bool hasToken(const Runtime& rt, const HttpRequest& request);

/// Throws Problem(401) with `code` unless the request carries the API token. Writes, and reads
/// of case data (dossiers, devices), need it until the console's accounts replace it.
void requireToken(const Runtime& rt, const HttpRequest& request,
                  const char* code = "auth.token_required");

/// ?agency=, ?q=, ?limit=, ?offset=, ?from=, ?to=, bounded; Problem(400) when malformed.
ListQuery listQuery(const HttpRequest& request);

}  // namespace hailong
