// hailong — Survey, Question and the SurveyCatalog that holds them.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// Text in the languages a survey is written in; "vi" is always present.
using LocalizedText = std::map<std::string, std::string>;

struct QuestionOption {
    std::string id;       ///< stable id used in stored answers ("1".."5", "slow", ...)
    double value = 0;     ///< numeric value for scales
    LocalizedText label;  ///< "Rất hài lòng" / "Very satisfied"
};

enum class QuestionType { Rating, SingleChoice, MultipleChoice, YesNo, Nps, Text, DossierCode };

/// One question of a survey version. Immutable once loaded.
struct Question {
    std::string id;
    QuestionType type = QuestionType::Rating;
    bool required = false;
    LocalizedText text;
    std::vector<QuestionOption> options;  ///< scale points or choices
    double min = 1, max = 5;              ///< numeric range (rating, NPS)
    std::size_t maxLength = 1000;         ///< text answers
};

/// One immutable version of a survey. Shared, read-only, thread-safe.
struct Survey {
    std::string id;
    int version = 1;
    LocalizedText title;
    std::vector<std::string> channels;  ///< channels allowed to use it; empty = all
    std::vector<Question> questions;

    const Question* question(std::string_view questionId) const;
    bool allowsChannel(std::string_view channel) const;
};

/// The surveys the host knows. Thread-safe; returned pointers stay valid while held.
class SurveyCatalog {
public:
    virtual ~SurveyCatalog() = default;
    /// The survey `id` at `version` (0 = current), or nullptr.
    virtual std::shared_ptr<const Survey> find(std::string_view id, int version = 0) const = 0;
    /// The current version of every survey, sorted by id.
    virtual std::vector<std::shared_ptr<const Survey>> list() const = 0;
};

}  // namespace hailong
