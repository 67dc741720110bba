// hailong — field checks shared by directory writes and imports. Each adds a FieldError
// (never throws for bad input) and may normalize the value in place.
#pragma once

#include <hailong/Problem.h>

#include <string>
#include <vector>

namespace hailong {
class TextNormalizer;
}

namespace hailong::validation {

/// 1..64 characters from A-Z a-z 0-9 . _ - : (trimmed).
void code(std::string& value, const std::string& field, std::vector<FieldError>& errors);
/// Required human text, 1..300 characters after normalization (NFC, tidy spaces).
void name(const TextNormalizer& text, std::string& value, const std::string& field,
          std::vector<FieldError>& errors);
/// Optional human text up to `maxChars` characters after normalization.
void optionalText(const TextNormalizer& text, std::string& value, const std::string& field,
                  std::size_t maxChars, std::vector<FieldError>& errors);
/// Optional Vietnamese phone number; normalized to international digits ("84912345678").
void phone(std::string& value, const std::string& field, std::vector<FieldError>& errors);

}  // namespace hailong::validation
