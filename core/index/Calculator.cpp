#include "index/Calculator.h"

#include <algorithm>
#include <cmath>

namespace hailong::index {
namespace {

constexpr double kZ = 1.959963984540054;  // the 97.5th percentile of the normal distribution

// The moments of a question's chosen option values, from its counts.
Moments histogram(const Question& q, const Tally& tally) {
    Moments h;
    auto it = tally.answers.find(q.id);
    if (it == tally.answers.end()) return h;
    for (const auto& [option, count] : it->second)
        if (const QuestionOption* o = q.option(option)) h.add(o->value, count);
    return h;
}

// Responses that answered a share's question, and those among them whose answer is in its
// set. A multiple-choice response counts once, however many options it chose: its own score
// says whether any of them is in the set.
std::pair<double, double> shareCounts(const Survey& survey, const IndexDefinition& node,
                                      const Tally& tally) {
    const Question* q = node.questions.empty() ? nullptr : survey.question(node.questions.front());
    if (!q) return {0, 0};
    if (q->type == QuestionType::MultipleChoice) {
        auto s = tally.scores.find(node.id);
        if (s == tally.scores.end()) return {0, 0};
        return {std::round(s->second.sum / 100), static_cast<double>(s->second.n)};
    }
    auto it = tally.answers.find(q->id);
    if (it == tally.answers.end()) return {0, 0};
    double in = 0, all = 0;
    for (const auto& [option, count] : it->second) {
        if (std::find(node.values.begin(), node.values.end(), option) != node.values.end())
            in += static_cast<double>(count);
        all += static_cast<double>(count);
    }
    return {in, all};
}

void normalInterval(IndexValue& v, double centre, double variance, double n, double lo, double hi) {
    if (n < 2) return;
    const double half = kZ * std::sqrt(variance / n);
    v.low = std::clamp(centre - half, lo, hi);
    v.high = std::clamp(centre + half, lo, hi);
}

void setShare(IndexValue& v, double in, double all) {
    v.value = in / all * 100;
    const auto [low, high] = wilson(in, all);
    v.low = low, v.high = high;
    v.interval = "wilson";
}

IndexValue computeNode(const Survey& survey, const IndexDefinition& node, const Tally& tally) {
    IndexValue v;
    v.id = node.id;
    v.definition = &node;
    for (const IndexDefinition& child : node.children)
        v.children.push_back(computeNode(survey, child, tally));
    const Question* q = node.questions.empty() ? nullptr : survey.question(node.questions.front());
    switch (node.method) {
        case IndexMethod::Share: {
            const auto [in, all] = shareCounts(survey, node, tally);
            v.n = static_cast<std::int64_t>(all);
            if (all > 0) {
                setShare(v, in, all);
            }
            break;
        }
        case IndexMethod::Mean100:
        case IndexMethod::Average: {
            if (!q) break;
            const Moments h = histogram(*q, tally);
            v.n = h.n;
            if (h.n == 0) break;
            double scale = 1, offset = 0, lo = q->min, hi = q->max;
            if (node.method == IndexMethod::Mean100 && q->max > q->min) {
                scale = 100 / (q->max - q->min), offset = q->min, lo = 0, hi = 100;
            }
            v.value = (h.mean() - offset) * scale;
            normalInterval(v, *v.value, h.variance() * scale * scale, static_cast<double>(h.n), lo,
                           hi);
            v.interval = "normal";
            break;
        }
        case IndexMethod::Nps: {
            if (!q) break;
            // Each answer scores +100 (9–10), 0 (7–8) or −100 (0–6): NPS is their mean.
            Moments scores;
            auto it = tally.answers.find(q->id);
            if (it != tally.answers.end())
                for (const auto& [option, count] : it->second)
                    if (const QuestionOption* o = q->option(option))
                        scores.add(o->value >= 9 ? 100.0 : o->value <= 6 ? -100.0 : 0.0, count);
            v.n = scores.n;
            if (scores.n == 0) break;
            v.value = scores.mean();
            normalInterval(v, *v.value, scores.variance(), static_cast<double>(scores.n), -100,
                           100);
            v.interval = "normal";
            break;
        }
        case IndexMethod::Points: {
            double earned = 0, possible = 0, full = 0, answered = 0;
            for (const std::string& id : node.questions) {
                const Question* pq = survey.question(id);
                if (!pq) continue;
                const Moments h = histogram(*pq, tally);
                double best = 0;
                for (const QuestionOption& o : pq->options) best = std::max(best, o.value);
                earned += h.sum, possible += static_cast<double>(h.n) * best, full += best;
                answered = std::max(answered, static_cast<double>(h.n));
            }
            const auto s = tally.scores.find(node.id);
            v.n = s == tally.scores.end() ? static_cast<std::int64_t>(answered) : s->second.n;
            if (possible <= 0) break;
            v.value = earned / possible * 100;
            v.points = *v.value / 100 * full;
            v.maxPoints = full;
            if (s != tally.scores.end())
                normalInterval(v, *v.value, s->second.variance(), static_cast<double>(s->second.n),
                               0, 100);
            v.interval = "per-response";
            break;
        }
        case IndexMethod::Mean:
        case IndexMethod::Weighted: {
            double sum = 0, weights = 0;
            for (std::size_t i = 0; i < v.children.size(); ++i) {
                if (!v.children[i].value) continue;
                const double w = node.method == IndexMethod::Weighted && i < node.weights.size()
                                     ? node.weights[i]
                                     : 1.0;
                sum += w * *v.children[i].value, weights += w;
            }
            const auto s = tally.scores.find(node.id);
            v.n = s == tally.scores.end() ? 0 : s->second.n;
            if (weights <= 0) break;
            v.value = sum / weights;
            // The interval of the responses' own scores, centred on the tree's value: a
            // linearization of the mean of means.
            if (s != tally.scores.end())
                normalInterval(v, *v.value, s->second.variance(), static_cast<double>(s->second.n),
                               -100, 100);
            v.interval = "per-response";
            break;
        }
        case IndexMethod::Pooled: {
            double in = 0, all = 0;
            for (const IndexDefinition& child : node.children) {
                const auto [k, n] = shareCounts(survey, child, tally);
                in += k, all += n;
            }
            v.n = static_cast<std::int64_t>(all);
            if (all <= 0) break;
            setShare(v, in, all);
            break;
        }
    }
    v.tooFew = v.n < node.minN;
    return v;
}

}  // namespace

std::pair<double, double> wilson(double k, double n) {
    if (n <= 0) return {0, 0};
    const double p = k / n, z2 = kZ * kZ;
    const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const double half = kZ * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
    // All or none in the set: the interval ends exactly at the bound (rounding would not).
    return {k <= 0 ? 0.0 : std::max(0.0, centre - half) * 100,
            k >= n ? 100.0 : std::min(1.0, centre + half) * 100};
}

std::vector<IndexValue> compute(const Survey& survey, const Tally& tally) {
    std::vector<IndexValue> out;
    for (const IndexDefinition& node : survey.indices)
        out.push_back(computeNode(survey, node, tally));
    return out;
}

std::vector<const IndexValue*> flatten(const std::vector<IndexValue>& values) {
    std::vector<const IndexValue*> out;
    for (const IndexValue& v : values) {
        out.push_back(&v);
        for (const IndexValue* c : flatten(v.children)) out.push_back(c);
    }
    return out;
}

const IndexValue* find(const std::vector<IndexValue>& values, const std::string& id) {
    for (const IndexValue& v : values) {
        if (v.id == id) return &v;
        if (const IndexValue* c = find(v.children, id)) return c;
    }
    return nullptr;
}

}  // namespace hailong::index
