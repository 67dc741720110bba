// hailong — PluginState: small durable records a plugin keeps between requests and restarts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hailong {

/// One plugin's records (an SMS conversation, a cursor), by key, each with an expiry. The
/// host only stores them: keys and values mean what the plugin says. Thread-safe.
class PluginState {
public:
    virtual ~PluginState() = default;
    /// The value of `key`, unless it is absent or expired.
    virtual std::optional<std::string> get(std::string_view key) = 0;
    /// Sets `key` (at most 200 bytes) to `value` (at most 64 KiB) until `expiresAtMs`. Throws
    /// std::invalid_argument beyond those sizes (a plugin's bug, not user input).
    virtual void put(std::string_view key, std::string_view value, std::int64_t expiresAtMs) = 0;
    virtual void erase(std::string_view key) = 0;
    /// Sets `key` only if it is absent or expired; whether it did (one caller wins a race).
    virtual bool add(std::string_view key, std::string_view value, std::int64_t expiresAtMs) = 0;
    /// Removes `key` and returns its value, unless absent or expired: of callers racing for
    /// one record, one gets it.
    virtual std::optional<std::string> take(std::string_view key) = 0;
    /// Up to `limit` records under `prefix` that expired before `nowMs`, oldest first, removed
    /// as they are returned: what a plugin's sweep finishes. A record is returned once.
    virtual std::vector<std::pair<std::string, std::string>> takeExpired(std::string_view prefix,
                                                                         std::int64_t nowMs,
                                                                         std::size_t limit) = 0;
};

}  // namespace hailong
