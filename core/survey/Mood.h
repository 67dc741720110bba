// hailong — a response's mood: how satisfied its ratings say the citizen was, on one 0–100
// scale whatever the survey, so that "unhappy" means the same on a 3-face tablet, a 5-level
// SIPAS form and an SMS reply (heat maps, alerts, comment filters, Decision 766).
#pragma once

#include <hailong/Survey.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hailong {

/// A response is unhappy when its mood is under this: on a 3-point scale only the lowest
/// point, on a 5-point scale the two lowest.
constexpr double kUnhappyBelow = 50;

/// The mean of the response's rating answers, each rescaled to 0–100 over its question's scale;
/// nothing when it rated nothing. `answers` are (question id, numeric value) pairs; answers to
/// questions that are not ratings are ignored. Pure, thread-safe.
std::optional<double> moodOf(const Survey& survey,
                             const std::vector<std::pair<std::string, double>>& answers);

inline bool unhappy(const std::optional<double>& mood) {
    return mood && *mood < kUnhappyBelow;
}

}  // namespace hailong
