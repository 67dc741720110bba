// hailong — DeviceRegistry: pairing codes, device tokens, officers' PINs and shifts.
#pragma once

#include "common/TtlCache.h"
#include "directory/DirectoryStore.h"
#include "store/Database.h"

#include <hailong/Devices.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace hailong {

/// A pairing code just issued for a device, to be typed on it before it expires.
struct PairingCode {
    std::string code;  ///< "ABCD-1234"
    std::int64_t expiresAtMs = 0;
};

/// The Devices that plugins see, plus what officials do to devices (issue a pairing code,
/// revoke, set an officer's PIN, start or end a shift from the console). Pairing codes and
/// tokens are stored as SHA-256 hashes (long random strings); PINs as Argon2id hashes (short).
/// Thread-safe: every call uses its own pooled session; the wrong-PIN counters and last-seen
/// times are guarded by a mutex (they are per host); sessions are cached for two seconds. Owns
/// the thread that writes last-seen times; destruction writes the last ones and joins it.
class DeviceRegistry final : public Devices {
public:
    struct Options {
        std::chrono::minutes pairingValidity{15};
        std::chrono::hours longestShift{12};  ///< a shift not signed out ends by itself
        int pinTries = 5;                     ///< wrong PINs before a pause
        std::chrono::minutes pinPause{15};
    };

    DeviceRegistry(Database& db, const DirectoryStore& directory, Options options);
    DeviceRegistry(Database& db, const DirectoryStore& directory)
        : DeviceRegistry(db, directory, Options{}) {}
    /// Writes the last-seen times still pending.
    ~DeviceRegistry() override;
    DeviceRegistry(const DeviceRegistry&) = delete;
    DeviceRegistry& operator=(const DeviceRegistry&) = delete;

    DevicePairing pair(std::string_view pairingCode) override;
    DeviceAuth authenticate(std::string_view token) override;
    Officer signIn(std::int64_t deviceId, std::string_view officerCode,
                   std::string_view pin) override;
    void signOut(std::int64_t deviceId) override;

    /// A new one-time code for `deviceCode` (a code issued before stops working). Throws
    /// Problem(404) for an unknown device.
    PairingCode issuePairing(const std::string& deviceCode);
    /// The device's token stops working at once; the device is told it was revoked. Throws
    /// Problem(404) for an unknown device.
    void revoke(const std::string& deviceCode);
    /// Sets (or, with an empty pin, removes) an officer's PIN: 4 to 8 digits. Throws
    /// Problem(404) for an unknown officer, 422 for a PIN of another shape.
    void setPin(const std::string& officerCode, const std::string& pin);
    /// Signs an officer in on a device without a PIN (an official does it from the console).
    Officer startShift(const std::string& deviceCode, const std::string& officerCode);
    /// Ends the open shift on a device, if any.
    void endShift(const std::string& deviceCode);
    /// The session of a device by code (for the console), if it exists.
    std::optional<DeviceSession> session(const std::string& deviceCode);

    void noteQueue(std::int64_t deviceId, std::int64_t waiting) override;
    /// Writes the last-seen times and queue sizes noted so far now (the background thread does
    /// it every ten seconds).
    void flushSeen();

    /// The canonical form of a typed pairing code: Crockford base32 without separators.
    static std::string canonicalPairingCode(std::string_view typed);

private:
    /// Forgets cached sessions and device lookups after a change to a device or a shift.
    void forget();
    Officer beginShift(std::int64_t deviceId, std::string_view officerCode, const char* by);
    std::optional<DeviceSession> sessionWhere(const std::string& column, const std::string& value);
    // Last-seen times are noted in memory and written by a background thread every ten
    // seconds: a request never waits for the database's write lock just to say it came.
    void noteSeen(std::int64_t deviceId);
    void seenLoop();

    Database& db_;
    const DirectoryStore& directory_;
    Options options_;
    std::mutex mutex_;
    struct Tries {
        int wrong = 0;
        std::int64_t pausedUntilMs = 0;
    };
    std::map<std::int64_t, Tries> pinTries_;       // by officer id
    std::map<std::int64_t, std::int64_t> seen_;    // device id → last request, not written yet
    std::map<std::int64_t, std::int64_t> queues_;  // device id → ratings it holds, not written
    // Sessions by token hash, kept two seconds: every rating asks. A revocation or a shift
    // made on this host is seen at once, one made on another host within that time.
    TtlCache<std::string, std::optional<DeviceSession>> sessions_{std::chrono::seconds(2), 10000};
    std::atomic<std::uint64_t> directoryGeneration_{0};  // of directory_ when sessions_ was valid
    std::mutex stopMutex_;
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread seenWriter_;
};

}  // namespace hailong
