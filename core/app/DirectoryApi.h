// hailong — the directory as JSON resources: /api/v1/{agencies,counters,officers,procedures,
// dossiers,devices}, each with list, get, create-or-update (POST) and partial update (PATCH).
#pragma once

namespace hailong {

class Runtime;

/// Registers the directory routes on the runtime's route table. Handlers are thread-safe.
void registerDirectoryApi(Runtime& runtime);

}  // namespace hailong
