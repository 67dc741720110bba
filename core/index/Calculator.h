// hailong — the arithmetic of indices: a survey's index tree applied to one Tally, with n, a 95%
// interval and a "too few answers" flag on every value.
#pragma once

#include "index/Tally.h"

#include <hailong/Survey.h>

#include <optional>
#include <string>
#include <vector>

namespace hailong::index {

/// One node of a computed index tree. `value` is empty when nothing was answered (never 0).
struct IndexValue {
    std::string id;
    const IndexDefinition* definition = nullptr;  ///< owned by the survey version used
    std::optional<double> value;                  ///< 0–100 (NPS −100..100; Average raw)
    std::int64_t n = 0;                           ///< answers (leaves) or responses (inner)
    std::optional<double> low, high;              ///< 95% interval
    const char* interval = "";                    ///< "wilson", "normal", "per-response"
    bool tooFew = false;                          ///< n under the definition's minN
    std::optional<double> points, maxPoints;      ///< Points: mean points out of maxPoints
    std::vector<IndexValue> children;
};

/// The Wilson score interval of k successes in n at 95%, in percent.
std::pair<double, double> wilson(double k, double n);

/// Every index of `survey` computed over `tally`. Pure; thread-safe.
std::vector<IndexValue> compute(const Survey& survey, const Tally& tally);

/// Every node of `values`, parents before their children.
std::vector<const IndexValue*> flatten(const std::vector<IndexValue>& values);

/// The node `id` anywhere in `values`, or null.
const IndexValue* find(const std::vector<IndexValue>& values, const std::string& id);

}  // namespace hailong::index
