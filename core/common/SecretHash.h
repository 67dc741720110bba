// hailong — slow hashes of secrets people choose (passwords, PINs): Argon2id.
#pragma once

#include <string>
#include <string_view>

namespace hailong {

/// Argon2id at OWASP's smallest recommended cost (19 MiB, 2 passes, 1 lane) with a random
/// 16-byte salt, in the PHC string format ("$argon2id$v=19$m=19456,t=2,p=1$..."): about 30 ms
/// on this machine. Thread-safe.
std::string hashSecret(std::string_view secret);
/// Whether `secret` is the one `encoded` was made from ("" never matches).
bool secretMatches(const std::string& encoded, std::string_view secret);

}  // namespace hailong
