// hailong — a dossier's survey link for its receipt: the signed URL and its QR code.
#pragma once

namespace hailong {

class Runtime;

/// Registers GET /api/v1/dossiers/{code}/survey-link (JSON with the URL and an SVG QR code, or
/// with ?format=svg the SVG alone). Thread-safe handlers.
void registerLinkApi(Runtime& runtime);

}  // namespace hailong
