#include "index/Tally.h"

#include <algorithm>
#include <cmath>

namespace hailong::index {

double Moments::variance() const {
    if (n < 2) return 0;
    const double m = mean();
    const double v = (squares - static_cast<double>(n) * m * m) / static_cast<double>(n - 1);
    return v > 0 ? v : 0;  // rounding can make a zero variance slightly negative
}

void Tally::merge(const Tally& other) {
    responses += other.responses;
    for (const auto& [question, options] : other.answers) {
        auto& mine = answers[question];
        for (const auto& [option, n] : options) mine[option] += n;
    }
    for (const auto& [node, m] : other.scores) scores[node].merge(m);
}

bool sameTally(const Tally& a, const Tally& b, std::string& why) {
    if (a.responses != b.responses) {
        why = "responses " + std::to_string(a.responses) + " vs " + std::to_string(b.responses);
        return false;
    }
    if (a.answers != b.answers) {
        why = "answer counts differ";
        return false;
    }
    auto close = [](double x, double y) {
        return std::fabs(x - y) <= 1e-9 * std::max({1.0, std::fabs(x), std::fabs(y)});
    };
    if (a.scores.size() != b.scores.size()) {
        why = "scored nodes differ";
        return false;
    }
    for (const auto& [node, m] : a.scores) {
        auto it = b.scores.find(node);
        if (it == b.scores.end() || it->second.n != m.n || !close(it->second.sum, m.sum) ||
            !close(it->second.squares, m.squares)) {
            why = "scores of " + node + " differ";
            return false;
        }
    }
    return true;
}

namespace {

const QuestionOption* chosen(const Question& q, const ResponseAnswers& answers) {
    auto it = answers.find(q.id);
    if (it == answers.end() || it->second.empty()) return nullptr;
    return q.option(it->second.front());
}

double maxPoints(const Question& q) {
    double best = 0;
    for (const QuestionOption& o : q.options) best = std::max(best, o.value);
    return best;
}

void addScores(Tally& tally, const Survey& survey, const IndexDefinition& node,
               const ResponseAnswers& answers) {
    if (needsScores(survey, node))
        if (auto s = scoreOf(survey, node, answers)) tally.scores[node.id].add(*s);
    for (const IndexDefinition& child : node.children) addScores(tally, survey, child, answers);
}

}  // namespace

void addResponse(Tally& tally, const Survey& survey, const ResponseAnswers& answers) {
    ++tally.responses;
    for (const auto& [question, options] : answers) {
        const Question* q = survey.question(question);
        if (!q || options.empty()) continue;
        auto& counts = tally.answers[question];
        for (const std::string& o : options) ++counts[o];
    }
    for (const IndexDefinition& node : survey.indices) addScores(tally, survey, node, answers);
}

bool needsScores(const Survey& survey, const IndexDefinition& node) {
    if (!node.isLeaf() || node.method == IndexMethod::Points) return true;
    const Question* q = node.questions.empty() ? nullptr : survey.question(node.questions.front());
    return node.method == IndexMethod::Share && q && q->type == QuestionType::MultipleChoice;
}

std::optional<double> scoreOf(const Survey& survey, const IndexDefinition& node,
                              const ResponseAnswers& answers) {
    const Question* q = node.questions.empty() ? nullptr : survey.question(node.questions.front());
    switch (node.method) {
        case IndexMethod::Share: {
            if (!q) return std::nullopt;
            auto it = answers.find(q->id);
            if (it == answers.end() || it->second.empty()) return std::nullopt;
            const bool in = std::any_of(it->second.begin(), it->second.end(), [&](const auto& o) {
                return std::find(node.values.begin(), node.values.end(), o) != node.values.end();
            });
            return in ? 100.0 : 0.0;
        }
        case IndexMethod::Mean100:
        case IndexMethod::Average:
        case IndexMethod::Nps: {
            const QuestionOption* o = q ? chosen(*q, answers) : nullptr;
            if (!o) return std::nullopt;
            if (node.method == IndexMethod::Average) return o->value;
            if (node.method == IndexMethod::Nps)
                return o->value >= 9 ? 100.0 : o->value <= 6 ? -100.0 : 0.0;
            return q->max > q->min ? (o->value - q->min) / (q->max - q->min) * 100 : 0.0;
        }
        case IndexMethod::Points: {
            double earned = 0, possible = 0;
            for (const std::string& id : node.questions) {
                const Question* pq = survey.question(id);
                const QuestionOption* o = pq ? chosen(*pq, answers) : nullptr;
                if (!o) continue;
                earned += o->value;
                possible += maxPoints(*pq);
            }
            if (possible <= 0) return std::nullopt;
            return earned / possible * 100;
        }
        case IndexMethod::Mean:
        case IndexMethod::Weighted: {
            double sum = 0, weights = 0;
            for (std::size_t i = 0; i < node.children.size(); ++i) {
                const auto s = scoreOf(survey, node.children[i], answers);
                if (!s) continue;
                const double w = node.method == IndexMethod::Weighted && i < node.weights.size()
                                     ? node.weights[i]
                                     : 1.0;
                sum += w * *s;
                weights += w;
            }
            if (weights <= 0) return std::nullopt;
            return sum / weights;
        }
        case IndexMethod::Pooled: {
            double in = 0, answered = 0;
            for (const IndexDefinition& child : node.children)
                if (const auto s = scoreOf(survey, child, answers)) in += *s / 100, ++answered;
            if (answered == 0) return std::nullopt;
            return in / answered * 100;
        }
    }
    return std::nullopt;
}

std::vector<TallyRow> rowsOf(const Tally& tally) {
    std::vector<TallyRow> rows;
    if (tally.responses) rows.push_back({"#", "", tally.responses, 0, 0});
    for (const auto& [question, options] : tally.answers)
        for (const auto& [option, n] : options) rows.push_back({question, option, n, 0, 0});
    for (const auto& [node, m] : tally.scores)
        rows.push_back({"=" + node, "", m.n, m.sum, m.squares});
    return rows;
}

void addRow(Tally& tally, const TallyRow& row) {
    if (row.item == "#") {
        tally.responses += row.n;
    } else if (!row.item.empty() && row.item[0] == '=') {
        tally.scores[row.item.substr(1)].merge(Moments{row.n, row.sum, row.squares});
    } else {
        tally.answers[row.item][row.value] += row.n;
    }
}

}  // namespace hailong::index
