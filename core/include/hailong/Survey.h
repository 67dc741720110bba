// hailong — Survey, Question, IndexDefinition, and the SurveyCatalog that holds their versions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// Text in the languages a survey is written in; "vi" is always present.
using LocalizedText = std::map<std::string, std::string>;

/// One point of a scale or one choice.
struct QuestionOption {
    std::string id;       ///< stable id used in stored answers ("1".."5", "slow", ...)
    double value = 0;     ///< numeric value (scale point, points earned)
    LocalizedText label;  ///< "Rất hài lòng" / "Very satisfied"
    std::string icon;     ///< optional face icon name for counter screens ("very-happy")
};

/// Complaint is free text like Text ("góp ý, phản ánh"): an answer to it opens a follow-up case.
enum class QuestionType {
    Rating,
    SingleChoice,
    MultipleChoice,
    YesNo,
    Nps,
    Text,
    DossierCode,
    Complaint
};

/// Whether answers to a question of this type are the citizen's own words.
inline bool isFreeText(QuestionType t) {
    return t == QuestionType::Text || t == QuestionType::Complaint;
}

/// "Ask this question only when the answer to `question` is one of `values`".
struct Condition {
    std::string question;
    std::vector<std::string> values;  ///< option ids (ratings: "1".."n"; yes/no: "1"/"0")
};

/// One question of a survey version. Immutable once loaded.
struct Question {
    std::string id;
    QuestionType type = QuestionType::Rating;
    bool required = false;
    LocalizedText text;
    LocalizedText help;
    std::string group;                    ///< free grouping label (a SIPAS element, a page)
    std::vector<QuestionOption> options;  ///< scale points (1..n) or choices
    bool allowOther = false;              ///< choice questions: an "other" free text
    double min = 1, max = 5;              ///< numeric range (rating, NPS, yes/no)
    std::size_t maxLength = 1000;         ///< text answers and "other" texts
    std::optional<Condition> showIf;      ///< asked only when this holds

    const QuestionOption* option(std::string_view optionId) const;
};

/// How an index is computed. Leaves work on answers; inner nodes combine their children.
enum class IndexMethod {
    Share,     ///< leaf: % of answers to `question` whose option id is in `values`
    Mean100,   ///< leaf: mean of `question` rescaled to 0–100
    Average,   ///< leaf: plain mean of `question` (CES 1–7, presses of a button box)
    Nps,       ///< leaf: % 9–10 minus % 0–6 of an NPS question
    Points,    ///< leaf: points earned over points possible over `questions` (Circular 01)
    Mean,      ///< inner: mean of the children's values
    Weighted,  ///< inner: weighted mean of the children (`weights`)
    Pooled,    ///< inner: all the children's answers together (children must be Share leaves)
};

/// A node of a survey's index tree. Immutable once loaded.
struct IndexDefinition {
    std::string id;
    LocalizedText title;
    IndexMethod method = IndexMethod::Share;
    std::vector<std::string> questions;  ///< leaves: one question (Points: one or more)
    std::vector<std::string> values;     ///< Share: the option ids that count
    std::vector<IndexDefinition> children;
    std::vector<double> weights;  ///< Weighted: one per child
    int minN = 30;                ///< below this n the value is flagged

    bool isLeaf() const {
        return method != IndexMethod::Mean && method != IndexMethod::Weighted &&
               method != IndexMethod::Pooled;
    }
};

/// One immutable version of a survey. Shared, read-only, thread-safe.
struct Survey {
    std::string id;
    int version = 1;
    std::string status = "published";  ///< "draft", "published", "retired"
    std::string contentHash;           ///< SHA-256 of the canonical definition
    LocalizedText title;
    LocalizedText description;          ///< includes the source of the questionnaire
    std::string language = "vi";        ///< default language
    std::vector<std::string> channels;  ///< channels allowed to use it; empty = all
    std::vector<Question> questions;
    std::vector<IndexDefinition> indices;

    const Question* question(std::string_view questionId) const;
    /// The index node `indexId` anywhere in the tree; nullptr when there is none.
    const IndexDefinition* index(std::string_view indexId) const;
    bool allowsChannel(std::string_view channel) const;
};

/// The surveys the host knows, every version of each. Thread-safe; returned pointers stay
/// valid while held (a version never changes once published; retiring swaps in a copy).
class SurveyCatalog {
public:
    virtual ~SurveyCatalog() = default;
    /// `id` at `version`, whatever its status; version 0 means the latest published one.
    virtual std::shared_ptr<const Survey> find(std::string_view id, int version = 0) const = 0;
    /// The latest published version of every survey, sorted by id.
    virtual std::vector<std::shared_ptr<const Survey>> list() const = 0;
    /// Every version of every survey (or of `id`), sorted by id then version.
    virtual std::vector<std::shared_ptr<const Survey>> versions(std::string_view id = {}) const = 0;
};

}  // namespace hailong
