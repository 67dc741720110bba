// hailong — the OpenAPI 3 document of the HTTP API, served at GET /api/v1/openapi.json.
#pragma once

#include <string>

namespace hailong {

class Runtime;

/// Registers GET /api/v1/openapi.json (public: the document describes the API, not its data).
/// The document is web/openapi.json (paths.web), read once here: a missing file, or one that
/// is not a JSON object with an "openapi" 3.x member, throws std::runtime_error, so the host
/// does not start. Thread-safe handler.
void registerOpenApi(Runtime& runtime);

/// The document in `file` as served: checked as above, with `servers` set to `baseUrl` when it
/// is not empty (a host's links.base_url), the members kept in their order. Throws
/// std::runtime_error naming the file and what is wrong.
std::string openApiDocument(const std::string& file, const std::string& baseUrl);

}  // namespace hailong
