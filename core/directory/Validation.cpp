#include "directory/Validation.h"

#include "common/Utf8.h"

#include <hailong/TextNormalizer.h>

#include <cctype>

namespace hailong::validation {
namespace {

void trim(std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        s.clear();
        return;
    }
    s = s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

bool normalizeInto(const TextNormalizer& text, std::string& value, const std::string& field,
                   std::vector<FieldError>& errors) {
    if (auto bad = utf8::firstInvalid(value)) {
        errors.push_back({field, "text.invalid_utf8", {{"offset", std::to_string(*bad)}}});
        return false;
    }
    value = text.normalize(value);
    return true;
}

}  // namespace

void code(std::string& value, const std::string& field, std::vector<FieldError>& errors) {
    trim(value);
    if (value.empty()) {
        errors.push_back({field, "field.required", {}});
        return;
    }
    if (value.size() > 64) {
        errors.push_back({field, "field.too_long", {{"max", "64"}}});
        return;
    }
    for (unsigned char c : value) {
        // No '/': codes are path segments of the API.
        if (!std::isalnum(c) && c != '.' && c != '_' && c != '-' && c != ':') {
            errors.push_back({field, "directory.code_chars", {{"code", value}}});
            return;
        }
    }
}

void name(const TextNormalizer& text, std::string& value, const std::string& field,
          std::vector<FieldError>& errors) {
    if (!normalizeInto(text, value, field, errors)) return;
    if (value.empty()) {
        errors.push_back({field, "field.required", {}});
    } else if (utf8::length(value) > 300) {
        errors.push_back({field, "field.too_long", {{"max", "300"}}});
    }
}

void optionalText(const TextNormalizer& text, std::string& value, const std::string& field,
                  std::size_t maxChars, std::vector<FieldError>& errors) {
    if (!normalizeInto(text, value, field, errors)) return;
    if (utf8::length(value) > maxChars)
        errors.push_back({field, "field.too_long", {{"max", std::to_string(maxChars)}}});
}

void phone(std::string& value, const std::string& field, std::vector<FieldError>& errors) {
    std::string digits;
    bool plus = false;
    for (char c : value) {
        if (std::isdigit(static_cast<unsigned char>(c))) {
            digits.push_back(c);
        } else if (c == '+' && digits.empty()) {
            plus = true;
        } else if (c != ' ' && c != '.' && c != '-' && c != '(' && c != ')') {
            errors.push_back({field, "phone.invalid", {}});
            return;
        }
    }
    if (digits.empty() && !plus) {
        value.clear();
        return;
    }
    if (!plus && digits.starts_with("0")) digits = "84" + digits.substr(1);
    if (digits.size() < 9 || digits.size() > 15) {
        errors.push_back({field, "phone.invalid", {}});
        return;
    }
    value = digits;
}

}  // namespace hailong::validation
