// hailong — PhoneBook: the Phones of the host: canonical numbers, keyed hashes, opt-outs.
#pragma once

#include "store/Database.h"

#include <hailong/Phones.h>

#include <mutex>
#include <string>

namespace hailong {

/// Hashes numbers with HMAC-SHA256 under the host's phone key (a secret: whoever has it can
/// test a guessed number against the stored hashes). Opt-outs live in phone_optouts by hash.
/// Thread-safe (the key is read once; each call uses its own pooled session).
class PhoneBook final : public Phones {
public:
    /// `configured` is privacy.phone_key; when empty, the key every host of this database
    /// shares (stored in it, drawn by the first host) is used.
    PhoneBook(Database& db, std::string configured);

    std::string canonical(std::string_view raw) const override;
    std::string key(std::string_view raw) const override;
    bool optedOut(std::string_view raw) override;
    void optOut(std::string_view raw, std::string_view channel) override;
    void optIn(std::string_view raw) override;

    /// Reads (or, on a new database, draws and stores) the shared key now. Call it once the
    /// schema is there and before any transaction that hashes a number: reading it there would
    /// wait on that transaction's own lock.
    void load() const { (void)secret(); }

    /// Privacy housekeeping: gives dossiers stored before keys existed their phone key, erases
    /// the clear numbers of dossiers returned before `cutoffMs` (of dossiers never returned, a
    /// year later), and the recipients of outbox messages finished before it. Returns how many
    /// dossier numbers it erased.
    std::size_t tidy(std::int64_t cutoffMs);

private:
    const std::string& secret() const;

    Database& db_;
    const std::string configured_;
    mutable std::once_flag once_;
    mutable std::string secret_;
};

}  // namespace hailong
