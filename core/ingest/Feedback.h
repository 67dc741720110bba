// hailong — Feedback: what a response says in the citizen's own words, read once when it is
// stored (and for older responses at the next start) and kept beside it, so that the dashboard
// searches, filters and counts comments without reading them again.
#pragma once

#include <hailong/TextNormalizer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// A response's own words, read. A plain value.
struct FeedbackReading {
    std::string text;       ///< the comment and free-text answers, normalized, one per line
    std::string key;        ///< its accent-free, case-folded key (search)
    std::string sentiment;  ///< "positive", "neutral" or "negative"; "" without text
    std::string topics;     ///< ",waiting,fees,": the topic tags between commas; "" without
};

/// When the citizen was served at the desk, for the hour-of-week heat map: the dossier's return
/// when the rating came after it (a result collected, then rated), else the rating itself (rated
/// at the desk, or at reception).
inline std::int64_t servedAt(std::optional<std::int64_t> returnedAtMs, std::int64_t answeredAtMs) {
    return returnedAtMs && *returnedAtMs <= answeredAtMs ? *returnedAtMs : answeredAtMs;
}

/// Reads `texts` (each UTF-8, as received; empty ones are skipped). Thread-safe.
FeedbackReading readFeedback(const std::vector<std::string>& texts, const TextNormalizer& text);

/// The tags of a stored topics column (",waiting,fees," → waiting, fees).
std::vector<std::string> topicsOf(std::string_view stored);

/// The topic tags the text module knows, in display order.
const std::vector<std::string>& knownTopics();

}  // namespace hailong
