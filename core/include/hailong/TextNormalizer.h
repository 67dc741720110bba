// hailong — TextNormalizer: one way to turn received Vietnamese text into comparable text.
#pragma once

#include <string>
#include <string_view>

namespace hailong {

/// Normalizes UTF-8 Vietnamese text. Thread-safe (const, no shared mutable state).
class TextNormalizer {
public:
    virtual ~TextNormalizer() = default;
    /// NFC, tidy whitespace, U+00D0 read as Đ. Throws Problem(400) on invalid UTF-8.
    virtual std::string normalize(std::string_view utf8) const = 0;
    /// Case-folded, accent-free key for matching and search ("Hài Lòng" -> "hai long").
    virtual std::string key(std::string_view utf8) const = 0;
};

}  // namespace hailong
