#include "TapLimiter.h"

#include <array>

namespace counter {
namespace {
constexpr std::size_t kSeconds = 4096;  // seconds with taps remembered per device, newest kept
constexpr std::size_t kLatest = 256;    // tap times kept for the debounce

// Floor division: times before 1970 never come here, but a second must never straddle zero.
std::int64_t secondOf(std::int64_t ms) {
    return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
}
}  // namespace

TapLimiter::Verdict TapLimiter::judge(std::int64_t device, std::int64_t atMs, bool debounce) {
    std::lock_guard lock(mutex_);
    Taps& taps = devices_[device];
    const std::int64_t second = secondOf(atMs);
    // Older than anything remembered while the memory is full: it cannot be judged, so it
    // waits for review rather than risk a backdated flood.
    if (taps.perSecond.size() >= kSeconds && second < taps.perSecond.begin()->first)
        return Verdict::Hold;
    if (debounce && debounceMs_ > 0) {
        auto near = taps.latest.lower_bound(atMs - debounceMs_ + 1);
        if (near != taps.latest.end() && *near < atMs + debounceMs_) return Verdict::Debounced;
    }
    // Every minute (to the second) that would hold this tap must stay within the limit: the
    // taps counted in the 59 seconds on each side, plus this one.
    std::array<std::int64_t, 119> around{};
    for (auto it = taps.perSecond.lower_bound(second - 59);
         it != taps.perSecond.end() && it->first <= second + 59; ++it)
        around[static_cast<std::size_t>(it->first - (second - 59))] = it->second;
    ++around[59];
    std::int64_t window = 0;
    for (std::size_t i = 0; i < 60; ++i) window += around[i];
    for (std::size_t start = 0;; ++start) {
        if (window > perMinute_) return Verdict::Hold;
        if (start == 59) break;
        window += around[start + 60] - around[start];
    }
    ++taps.perSecond[second];
    if (taps.perSecond.size() > kSeconds) taps.perSecond.erase(taps.perSecond.begin());
    taps.latest.insert(atMs);
    if (taps.latest.size() > kLatest) taps.latest.erase(taps.latest.begin());
    return Verdict::Count;
}

void TapLimiter::forget(std::int64_t device, std::int64_t atMs) {
    std::lock_guard lock(mutex_);
    auto it = devices_.find(device);
    if (it == devices_.end()) return;
    Taps& taps = it->second;
    auto second = taps.perSecond.find(secondOf(atMs));
    if (second != taps.perSecond.end() && --second->second <= 0) taps.perSecond.erase(second);
    auto tap = taps.latest.find(atMs);
    if (tap != taps.latest.end()) taps.latest.erase(tap);
}

}  // namespace counter
