#include "RateLimits.h"

#include <algorithm>

namespace webform {

bool RateLimits::allow(const std::string& key, int limit, std::int64_t windowMs,
                       std::int64_t nowMs) {
    std::lock_guard lock(mutex_);
    if (windows_.size() >= maxKeys_ && !windows_.contains(key)) {
        std::erase_if(windows_, [&](const auto& w) { return w.second.endsAt <= nowMs; });
        if (windows_.size() >= maxKeys_) windows_.clear();
    }
    Window& w = windows_[key];
    if (w.endsAt <= nowMs) w = Window{nowMs + windowMs, 0};
    if (w.count >= limit) return false;
    ++w.count;
    return true;
}

std::int64_t RateLimits::retryAfterMs(const std::string& key, std::int64_t nowMs) const {
    std::lock_guard lock(mutex_);
    auto it = windows_.find(key);
    return it == windows_.end() ? 0 : std::max<std::int64_t>(0, it->second.endsAt - nowMs);
}

}  // namespace webform
