#include "common/SecretHash.h"

#include "common/Random.h"

#include <argon2.h>

#include <stdexcept>

namespace hailong {

std::string hashSecret(std::string_view secret) {
    const std::string salt = random::hex(16);
    char encoded[128];
    const int rc = argon2id_hash_encoded(2, 19456, 1, secret.data(), secret.size(), salt.data(),
                                         salt.size(), 32, encoded, sizeof encoded);
    if (rc != ARGON2_OK)
        throw std::runtime_error(std::string("argon2id failed: ") + argon2_error_message(rc));
    return encoded;
}

bool secretMatches(const std::string& encoded, std::string_view secret) {
    return !encoded.empty() &&
           argon2id_verify(encoded.c_str(), secret.data(), secret.size()) == ARGON2_OK;
}

}  // namespace hailong
