// hailong — webhook subscriptions over the API: create, list, pause, resume, remove, and each
// one's delivery log.
#pragma once

namespace hailong {

class Runtime;

/// Registers /api/v1/webhooks and its sub-routes. Thread-safe handlers.
void registerWebhookApi(Runtime& runtime);

}  // namespace hailong
