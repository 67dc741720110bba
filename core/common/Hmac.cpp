#include <hailong/Hmac.h>

#include <Poco/DigestEngine.h>
#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

namespace hailong {
namespace {

// SHA-256 with the block and digest sizes Poco's HMACEngine asks of its engine.
class Sha256 : public Poco::SHA2Engine {
public:
    enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
    Sha256() : Poco::SHA2Engine(SHA_256) {}
};

Poco::DigestEngine::Digest digest(std::string_view key, std::string_view data) {
    Poco::HMACEngine<Sha256> hmac{std::string(key)};
    hmac.update(data.data(), static_cast<unsigned>(data.size()));
    return hmac.digest();
}

}  // namespace

std::string hmacSha256(std::string_view key, std::string_view data) {
    const auto d = digest(key, data);
    return std::string(d.begin(), d.end());
}

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
    return Poco::DigestEngine::digestToHex(digest(key, data));
}

bool sameSecret(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace hailong
