// hailong — TtlCache: remembers looked-up values for a short time, so that hot paths (every
// rating names its agency, counter and device) stop asking the database each time.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <unordered_map>

namespace hailong {

/// A map from K to V whose entries expire `ttl` after they were loaded. What a host writes
/// itself it clears at once; what another host writes is seen within `ttl`. Thread-safe (one
/// mutex; loads run outside it, so two threads may load the same key at once).
template <class K, class V, class Hash = std::hash<K>>
class TtlCache {
public:
    using Clock = std::chrono::steady_clock;

    TtlCache(Clock::duration ttl, std::size_t maxEntries) : ttl_(ttl), max_(maxEntries) {}

    /// The cached value of `key`, or load() (a V) stored and returned.
    template <class Load>
    V get(const K& key, Load&& load) {
        const auto now = Clock::now();
        std::size_t generation = 0;
        {
            std::lock_guard lock(mutex_);
            auto it = entries_.find(key);
            if (it != entries_.end() && it->second.expires > now) return it->second.value;
            generation = generation_;
        }
        V value = load();
        std::lock_guard lock(mutex_);
        // A clear() while loading means the value may predate a write: do not keep it.
        if (generation != generation_) return value;
        if (entries_.size() >= max_) entries_.clear();  // bounded, whatever the keys
        entries_.insert_or_assign(key, Entry{value, now + ttl_});
        return value;
    }

    /// Forgets everything (after a write that may change any entry).
    void clear() {
        std::lock_guard lock(mutex_);
        entries_.clear();
        ++generation_;
    }

private:
    struct Entry {
        V value;
        Clock::time_point expires;
    };
    const Clock::duration ttl_;
    const std::size_t max_;
    std::mutex mutex_;
    std::unordered_map<K, Entry, Hash> entries_;
    std::size_t generation_ = 0;
};

}  // namespace hailong
