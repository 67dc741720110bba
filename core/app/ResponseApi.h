// hailong — stored responses as officials read them: the newest ones, filtered, and one by
// its receipt code.
#pragma once

namespace hailong {

class Runtime;

/// Registers GET /api/v1/responses and GET /api/v1/responses/{receipt}. Thread-safe handlers.
void registerResponseApi(Runtime& runtime);

}  // namespace hailong
