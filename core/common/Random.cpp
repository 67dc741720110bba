#include "common/Random.h"

#include <Poco/RandomStream.h>
#include <Poco/UUIDGenerator.h>

#include <array>
#include <vector>

namespace hailong::random {
namespace {
std::vector<unsigned char> bytesOf(std::size_t n) {
    std::vector<unsigned char> out(n);
    Poco::RandomInputStream in;
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n));
    return out;
}
}  // namespace

std::string hex(std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (unsigned char b : bytesOf(n)) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

std::string code(std::size_t length) {
    static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::string out;
    out.reserve(length);
    for (unsigned char b : bytesOf(length)) out.push_back(alphabet[b & 31]);
    return out;
}

std::string uuid() {
    return Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
}

}  // namespace hailong::random
