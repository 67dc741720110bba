// hailong — UTF-8 validation (strict: no overlongs, no surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hailong::utf8 {

/// The byte offset of the first invalid sequence, or nullopt when `text` is valid UTF-8.
std::optional<std::size_t> firstInvalid(std::string_view text) noexcept;

inline bool isValid(std::string_view text) noexcept {
    return !firstInvalid(text).has_value();
}

/// The byte offset of the first control character other than tab, LF and CR (NUL, ESC, DEL...),
/// which no human text needs and which PostgreSQL and terminals treat specially.
std::optional<std::size_t> firstControl(std::string_view text) noexcept;

/// Number of code points in valid UTF-8 `text`.
std::size_t length(std::string_view text) noexcept;

/// `text` without the spaces, tabs and line ends around it.
std::string trim(std::string_view text);

/// The first `maxChars` code points of valid UTF-8 `text` (all of it when shorter), followed by
/// "…" when something was cut.
std::string shortened(std::string_view text, std::size_t maxChars);

}  // namespace hailong::utf8
