// hailong — what officials do to devices and their people over the API: pairing codes,
// revocation, officers' PINs and shifts; and the review of held submissions.
#pragma once

namespace hailong {

class Runtime;

/// Registers /api/v1/devices/{code}/{pairing,revoke,shift}, /api/v1/officers/{code}/pin and
/// /api/v1/held[/{id}/{release,discard}]. Handlers are thread-safe.
void registerDeviceApi(Runtime& runtime);

}  // namespace hailong
