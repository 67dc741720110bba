// hailong — SurveyParser: a survey definition (JSON) checked and turned into a Survey.
#pragma once

#include <hailong/Problem.h>
#include <hailong/Survey.h>

#include <optional>
#include <string>
#include <vector>

namespace hailong {

/// The result of parsing: a Survey when `errors` is empty. Every error names its place as a
/// JSON pointer ("/questions/3/scale") and a message code from the locale catalogs.
struct ParsedSurvey {
    std::optional<Survey> survey;
    std::vector<FieldError> errors;
    std::string canonical;  ///< the definition re-serialized (sorted keys), for hashing
};

/// Parses and validates survey definitions. Stateless; thread-safe.
class SurveyParser {
public:
    /// Never throws for bad input: everything wrong is in `errors`.
    static ParsedSurvey parse(const std::string& json);
    /// SHA-256 (hex) of `canonical`.
    static std::string hash(const std::string& canonical);
};

const char* toString(QuestionType type);
/// The name a survey file gives an index method ("share", "mean"...).
const char* toString(IndexMethod method);

}  // namespace hailong
