// hailong — unpredictable identifiers and tokens (from the OS random source).
#pragma once

#include <string>

namespace hailong::random {

/// `bytes` random bytes as lowercase hex.
std::string hex(std::size_t bytes);
/// A short code in Crockford base32 (no I, L, O, U): easy to read aloud or type.
std::string code(std::size_t length);
/// An RFC 4122 version 4 UUID.
std::string uuid();

}  // namespace hailong::random
