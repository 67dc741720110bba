// hailong — Tally: what the index engine counts for one group of responses, and how one
// response adds to it.
#pragma once

#include <hailong/Survey.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hailong::index {

/// n, Σx and Σx² of one per-response score: enough for its mean and variance.
struct Moments {
    std::int64_t n = 0;
    double sum = 0, squares = 0;

    /// Adds `x`, `count` times.
    void add(double x, std::int64_t count = 1) {
        n += count;
        sum += static_cast<double>(count) * x;
        squares += static_cast<double>(count) * x * x;
    }
    void merge(const Moments& other) {
        n += other.n;
        sum += other.sum;
        squares += other.squares;
    }
    double mean() const { return n ? sum / static_cast<double>(n) : 0; }
    /// The sample variance (n − 1 in the denominator); 0 below two values.
    double variance() const;
};

/// The counts of one group (an agency, an officer, a month...). A plain value; not
/// thread-safe. Aggregate rows and raw responses both become Tallies, so both paths feed the
/// same arithmetic.
struct Tally {
    std::int64_t responses = 0;
    /// question → option id → answers choosing it.
    std::map<std::string, std::map<std::string, std::int64_t>> answers;
    /// index node id → the responses' own scores on it (inner nodes, Points leaves and shares
    /// of multiple-choice questions, which counts of options cannot give).
    std::map<std::string, Moments> scores;

    void merge(const Tally& other);
    bool empty() const { return responses == 0; }
};

/// Whether two tallies hold the same counts, and the same score sums up to 1e-9 relative (they
/// are summed in different orders); `why` names the first difference.
bool sameTally(const Tally& a, const Tally& b, std::string& why);

/// One response as the engine reads it: the option ids chosen, by question.
using ResponseAnswers = std::map<std::string, std::vector<std::string>>;

/// Adds one response, answered on `survey` (its own version), to `tally`.
void addResponse(Tally& tally, const Survey& survey, const ResponseAnswers& answers);

/// Whether node's value or interval needs the responses' own scores (inner nodes, Points
/// leaves, shares of a multiple-choice question).
bool needsScores(const Survey& survey, const IndexDefinition& node);

/// One response's own value on `node` (the scale of the node's value), or nothing when it
/// answered none of the node's questions.
std::optional<double> scoreOf(const Survey& survey, const IndexDefinition& node,
                              const ResponseAnswers& answers);

/// The rows a tally is stored as: item is a question id, "=" + an index node id (scores) or "#"
/// (responses); value an option id or "".
struct TallyRow {
    std::string item, value;
    std::int64_t n = 0;
    double sum = 0, squares = 0;
};
std::vector<TallyRow> rowsOf(const Tally& tally);
void addRow(Tally& tally, const TallyRow& row);

}  // namespace hailong::index
