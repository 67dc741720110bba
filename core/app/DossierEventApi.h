// hailong — dossier events from the one-stop system: POST /api/v1/dossier-events.
#pragma once

namespace hailong {

class Runtime;

/// Registers POST /api/v1/dossier-events (one event or a batch of up to 1,000) and
/// GET /api/v1/dossier-events?dossier=CODE. Thread-safe handlers.
void registerDossierEventApi(Runtime& runtime);

}  // namespace hailong
