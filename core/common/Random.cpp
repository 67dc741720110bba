#include "common/Random.h"

#include <Poco/UUIDGenerator.h>

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <vector>

namespace hailong::random {
namespace {
// The kernel's CSPRNG, one system call (opening a random stream per call cost the ingest
// writer 6% of its time).
std::vector<unsigned char> bytesOf(std::size_t n) {
    std::vector<unsigned char> out(n);
    std::size_t filled = 0;
    while (filled < n) {
        const ssize_t got = ::getrandom(out.data() + filled, n - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("getrandom failed");
        }
        filled += static_cast<std::size_t>(got);
    }
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
