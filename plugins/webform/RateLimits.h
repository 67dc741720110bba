// webform plugin — RateLimits: how many requests each key (a form, a link, an address) made in
// the current window, in memory on this host.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace webform {

/// Fixed windows per key: at most `limit` requests in each `windowMs`. Thread-safe (one mutex).
/// Memory is bounded: past `maxKeys` keys, keys whose window has ended are dropped, then all
/// (a flood of new keys only resets counts, it cannot exhaust memory).
class RateLimits {
public:
    explicit RateLimits(std::size_t maxKeys = 100000) : maxKeys_(maxKeys) {}

    /// Counts one request of `key` at `nowMs` unless it is over `limit`; whether it may go on.
    bool allow(const std::string& key, int limit, std::int64_t windowMs, std::int64_t nowMs);
    /// Milliseconds until `key`'s window ends (0 when it has none).
    std::int64_t retryAfterMs(const std::string& key, std::int64_t nowMs) const;

private:
    struct Window {
        std::int64_t endsAt = 0;
        int count = 0;
    };
    const std::size_t maxKeys_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Window> windows_;
};

}  // namespace webform
