#include "directory/PhoneBook.h"

#include "common/Clock.h"
#include "common/Random.h"

#include "store/HostSecrets.h"

#include <hailong/Hmac.h>

#include <cctype>
#include <stdexcept>
#include <vector>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {

PhoneBook::PhoneBook(Database& db, std::string configured)
    : db_(db), configured_(std::move(configured)) {
    if (!configured_.empty() && configured_.size() < 16)
        throw std::invalid_argument("privacy.phone_key is too short (16 characters or more)");
}

// Read at first use, once the schema is there (a host is built before it migrates).
const std::string& PhoneBook::secret() const {
    std::call_once(once_, [this] {
        secret_ = configured_.empty() ? hostSecret(db_, "phone_key") : configured_;
    });
    return secret_;
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
    // "+84 0912 345 678": the national trunk 0 kept after the country code.
    if (digits.starts_with("840") && digits.size() >= 12) digits.erase(2, 1);
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
    return hmacSha256Hex(secret(), number);
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
                // Only if the number is still the one read (a save may have changed it).
                s << "UPDATE dossiers SET phone_key = $1 WHERE id = $2 AND phone = $3 AND "
                     "phone_key = ''",
                    use(k), use(ids[i]), use(phones[i]), now;
            }
        });
    }
    return db_.write([&](Session& s) {
        Poco::Data::Statement dossiers(s);
        // Returned dossiers after the retention time; dossiers never returned after a year more
        // (their invitation may still be due).
        const std::int64_t neverReturned = cutoffMs - 365LL * 86400000;
        dossiers << "UPDATE dossiers SET phone = '' WHERE phone <> '' AND ((returned_at IS NOT "
                    "NULL AND returned_at < $1) OR (returned_at IS NULL AND received_at < $2))",
            bind(cutoffMs), bind(neverReturned);
        const std::size_t erased = dossiers.execute();
        s << "UPDATE outbox SET recipient = '' WHERE recipient <> '' AND status IN ('sent', "
             "'failed') AND created_at < $1",
            bind(cutoffMs), now;
        return erased;
    });
}

}  // namespace hailong
