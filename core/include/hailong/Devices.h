// hailong — Devices: how a channel recognises a paired tablet or button box, and who is
// signed in on it.
#pragma once

#include <hailong/Directory.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hailong {

/// A paired device as a channel sees it on a request: the device, its counter and agency, and
/// the officer signed in for the shift, if any. A value type.
struct DeviceSession {
    Device device;
    Counter counter;
    Agency agency;
    std::optional<Officer> officer;
};

/// What a token says about its device.
enum class DeviceState { Unknown, Revoked, Active };

struct DeviceAuth {
    DeviceState state = DeviceState::Unknown;
    std::optional<DeviceSession> session;  ///< set when Active
};

/// A device paired just now: the token it keeps (shown once; the server keeps its hash).
struct DevicePairing {
    std::string token;
    DeviceSession session;
};

/// Pairing, tokens and officers' shifts on devices. Thread-safe.
class Devices {
public:
    virtual ~Devices() = default;
    /// Exchanges a one-time pairing code (typed on the device; dashes, spaces and case do not
    /// matter) for the device's token; any earlier token of that device stops working. Throws
    /// Problem(422, device.pairing_invalid) for an unknown, used or expired code.
    virtual DevicePairing pair(std::string_view pairingCode) = 0;
    /// The device holding `token`. Revoked tokens are told apart from unknown ones.
    virtual DeviceAuth authenticate(std::string_view token) = 0;
    /// Signs `officerCode` in on the device after checking the PIN; ratings are theirs until
    /// signOut (or the shift's end). Throws Problem 422 (unknown officer, or of another
    /// agency), 403 (wrong PIN, or no PIN set) or 429 (too many wrong PINs: wait).
    virtual Officer signIn(std::int64_t deviceId, std::string_view officerCode,
                           std::string_view pin) = 0;
    /// Ends the device's open shift, if any.
    virtual void signOut(std::int64_t deviceId) = 0;
    /// How many ratings the device says it still holds, unsent (its offline queue), for the
    /// console. Kept in memory and written with the last-seen times.
    virtual void noteQueue(std::int64_t deviceId, std::int64_t waiting) = 0;
};

}  // namespace hailong
