// hailong — the core JSON API (/api/v1/...) and the static pages, registered on a Runtime.
#pragma once

namespace hailong {

class Runtime;

/// Registers /api/v1/health, the directory resources, /api/v1/submissions, /api/v1/surveys and
/// the static files. Handlers are thread-safe (they only use the Runtime's services).
void registerCoreApi(Runtime& runtime);

}  // namespace hailong
