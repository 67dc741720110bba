#include "directory/PhoneBook.h"

#include "common/Clock.h"

#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

#include <cctype>
#include <stdexcept>
#include <vector>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {
namespace {

// SHA-256 with the block and digest sizes Poco's HMACEngine asks of its engine.
class Sha256 : public Poco::SHA2Engine {
public:
    enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
    Sha256() : Poco::SHA2Engine(SHA_256) {}
};

}  // namespace

PhoneBook::PhoneBook(Database& db, std::string secret) : db_(db), secret_(std::move(secret)) {
    if (secret_.size() < 16) throw std::invalid_argument("the phone key is too short");
}

std::string PhoneBook::canonical(std::string_view raw) const {
    if (raw.size() > 32) return {};
    std::string digits;
    bool plus = false;
    for (char c : raw) {
        if (std::isdigit(static_cast<unsigned char>(c))) {
            digits += c;
        } else if (c == '+' && digits.empty() && !plus) {
            plus = true;
        } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
            return {};  // letters: a shortcode name or an alphanumeric sender, not a phone
        }
    }
    if (digits.starts_with("00")) digits.erase(0, 2), plus = true;
    // A national number (0 then 9 or 10 digits) is Vietnamese; so is 84... without the 0.
    if (!plus && digits.starts_with("0") && digits.size() >= 10 && digits.size() <= 11)
        digits = "84" + digits.substr(1);
    else if (!plus && !digits.starts_with("84"))
        return {};
    if (digits.size() < 8 || digits.size() > 15) return {};
    return "+" + digits;
}

std::string PhoneBook::key(std::string_view raw) const {
    const std::string number = canonical(raw);
    if (number.empty()) return {};
    Poco::HMACEngine<Sha256> hmac(secret_);
    hmac.update(number);
    return Poco::DigestEngine::digestToHex(hmac.digest());
}

bool PhoneBook::optedOut(std::string_view raw) {
    std::string k = key(raw);
    if (k.empty()) return false;
    return db_.read([&](Session& s) {
        int n = 0;
        s << "SELECT COUNT(*) FROM phone_optouts WHERE phone_key = $1", use(k), into(n), now;
        return n > 0;
    });
}

void PhoneBook::optOut(std::string_view raw, std::string_view channel) {
    std::string k = key(raw), c(channel);
    if (k.empty()) return;
    db_.write([&](Session& s) {
        const std::int64_t at = nowMs();
        s << "INSERT INTO phone_optouts (phone_key, channel, created_at) VALUES ($1, $2, $3) ON "
             "CONFLICT (phone_key) DO NOTHING",
            use(k), use(c), bind(at), now;
    });
}

void PhoneBook::optIn(std::string_view raw) {
    std::string k = key(raw);
    if (k.empty()) return;
    db_.write(
        [&](Session& s) { s << "DELETE FROM phone_optouts WHERE phone_key = $1", use(k), now; });
}

std::size_t PhoneBook::tidy(std::int64_t cutoffMs) {
    // Keys for numbers stored before there were keys, a thousand at a time.
    for (;;) {
        std::vector<std::int64_t> ids;
        std::vector<std::string> phones;
        db_.read([&](Session& s) {
            s << "SELECT id, phone FROM dossiers WHERE phone <> '' AND phone_key = '' LIMIT 1000",
                into(ids), into(phones), now;
        });
        if (ids.empty()) break;
        db_.write([&](Session& s) {
            for (std::size_t i = 0; i < ids.size(); ++i) {
                std::string k = key(phones[i]);
                if (k.empty()) k = "-";  // not a number: marked, so that it is not tried again
                s << "UPDATE dossiers SET phone_key = $1 WHERE id = $2", use(k), use(ids[i]), now;
            }
        });
    }
    return db_.write([&](Session& s) {
        Poco::Data::Statement dossiers(s);
        dossiers << "UPDATE dossiers SET phone = '' WHERE phone <> '' AND COALESCE(returned_at, "
                    "received_at) < $1",
            bind(cutoffMs);
        const std::size_t erased = dossiers.execute();
        s << "UPDATE outbox SET recipient = '' WHERE recipient <> '' AND status IN ('sent', "
             "'failed') AND created_at < $1",
            bind(cutoffMs), now;
        return erased;
    });
}

}  // namespace hailong
