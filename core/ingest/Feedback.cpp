#include "ingest/Feedback.h"

namespace hailong {

FeedbackReading readFeedback(const std::vector<std::string>& texts, const TextNormalizer& text) {
    FeedbackReading out;
    for (const std::string& t : texts) {
        const std::string normalized = text.normalize(t);
        if (normalized.empty()) continue;
        if (!out.text.empty()) out.text += '\n';
        out.text += normalized;
    }
    if (out.text.empty()) return out;
    out.key = text.key(out.text);
    const CommentTags tags = text.tag(out.text);
    out.sentiment = tags.sentiment;
    for (const std::string& topic : tags.topics) out.topics += "," + topic;
    if (!out.topics.empty()) out.topics += ",";
    return out;
}

std::vector<std::string> topicsOf(std::string_view stored) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < stored.size()) {
        const std::size_t comma = stored.find(',', at);
        const std::size_t end = comma == std::string_view::npos ? stored.size() : comma;
        if (end > at) out.emplace_back(stored.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

const std::vector<std::string>& knownTopics() {
    static const std::vector<std::string> topics{"waiting", "attitude",   "guidance",
                                                 "fees",    "facilities", "result"};
    return topics;
}

}  // namespace hailong
