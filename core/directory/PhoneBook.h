// hailong — PhoneBook: the Phones of the host: canonical numbers, keyed hashes, opt-outs.
#pragma once

#include "store/Database.h"

#include <hailong/Phones.h>

#include <string>

namespace hailong {

/// Hashes numbers with HMAC-SHA256 under the host's phone key (a secret: whoever has it can
/// test a guessed number against the stored hashes). Opt-outs live in phone_optouts by hash.
/// Thread-safe (the key is immutable; each call uses its own pooled session).
class PhoneBook final : public Phones {
public:
    PhoneBook(Database& db, std::string secret);

    std::string canonical(std::string_view raw) const override;
    std::string key(std::string_view raw) const override;
    bool optedOut(std::string_view raw) override;
    void optOut(std::string_view raw, std::string_view channel) override;
    void optIn(std::string_view raw) override;

    /// Privacy housekeeping: gives dossiers stored before keys existed their phone key, erases
    /// the clear numbers of dossiers returned (or received, if never returned) before
    /// `cutoffMs`, and the recipients of outbox messages finished before it. Returns how many
    /// numbers it erased.
    std::size_t tidy(std::int64_t cutoffMs);

private:
    Database& db_;
    const std::string secret_;
};

}  // namespace hailong
