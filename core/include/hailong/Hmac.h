// hailong — HMAC-SHA256, for plugins and the host alike (signed links, webhook signatures,
// keyed hashes).
#pragma once

#include <string>
#include <string_view>

namespace hailong {

/// The HMAC-SHA256 of `data` under `key`: 32 raw bytes.
std::string hmacSha256(std::string_view key, std::string_view data);
/// The same as lowercase hex (64 characters).
std::string hmacSha256Hex(std::string_view key, std::string_view data);
/// Compares two secrets in time that does not depend on where they differ.
bool sameSecret(std::string_view a, std::string_view b);

}  // namespace hailong
