#include "survey/Mood.h"

namespace hailong {

std::optional<double> moodOf(const Survey& survey,
                             const std::vector<std::pair<std::string, double>>& answers) {
    double sum = 0;
    int n = 0;
    for (const auto& [id, value] : answers) {
        const Question* q = survey.question(id);
        if (!q || q->type != QuestionType::Rating || q->max <= q->min) continue;
        sum += (value - q->min) / (q->max - q->min) * 100;
        ++n;
    }
    if (n == 0) return std::nullopt;
    return sum / n;
}

}  // namespace hailong
