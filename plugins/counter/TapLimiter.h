// counter plugin — TapLimiter: which taps and presses of a device count, by the device's own
// (corrected) clock, so that a queue drained after an outage is judged by when it was tapped.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>

namespace counter {

/// Per device: how many taps counted in each second (the latest 4,096 seconds with taps), and
/// the times of the latest taps. Thread-safe (one mutex); per host, in memory (a device talks to
/// one host at a time; a restart forgets, which only lets a few more taps count). Memory per device
/// is bounded whatever it sends.
class TapLimiter {
public:
    enum class Verdict { Count, Debounced, Hold };

    /// `perMinute` taps in any minute (to the second) count; more are held for review. A press
    /// within `debounceMs` of a counted one is the same press bouncing (0: no debounce).
    TapLimiter(int perMinute, std::int64_t debounceMs)
        : perMinute_(perMinute), debounceMs_(debounceMs) {}

    /// Judges a tap at `atMs` on `device` and remembers it when it counts.
    Verdict judge(std::int64_t device, std::int64_t atMs, bool debounce);
    /// Forgets a tap judged Count whose storing failed (it will come again).
    void forget(std::int64_t device, std::int64_t atMs);

private:
    struct Taps {
        std::map<std::int64_t, std::int64_t> perSecond;  // second → taps counted in it
        std::set<std::int64_t> latest;                   // the times of the latest counted taps
    };
    const int perMinute_;
    const std::int64_t debounceMs_;
    std::mutex mutex_;
    std::map<std::int64_t, Taps> devices_;
};

}  // namespace counter
