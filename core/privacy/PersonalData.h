// hailong — PersonalData: what the host holds about citizens (phone numbers and the words they
// wrote), kept only as long as the operator's retention settings say, reported and erased on a
// citizen's request.
#pragma once

#include "directory/PhoneBook.h"
#include "store/Database.h"

#include <hailong/Survey.h>

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hailong {

/// How long personal data is kept (privacy.* settings).
struct Retention {
    /// Clear phone numbers: of dossiers returned (or cases answered, messages sent) before this.
    std::int64_t phonesBeforeMs = 0;
    /// Free text (comments, free-text answers, complaints, sent messages) of responses received,
    /// cases finished and held submissions decided before this; none: kept.
    std::optional<std::int64_t> textBeforeMs;
    /// Free text is emptied instead of masked (numbers and e-mail addresses replaced).
    bool deleteText = false;
};

/// What one retention sweep or one erasure changed.
struct PersonalDataReport {
    std::size_t dossierPhones = 0;  ///< dossiers whose clear number was erased
    std::size_t caseContacts = 0;   ///< cases whose contact was erased
    std::size_t messages = 0;       ///< outbox messages whose recipient or text was erased
    std::size_t texts = 0;          ///< responses and cases whose words were masked or erased
    std::size_t states = 0;         ///< channel conversations forgotten
};

/// Owns the retention sweep, the report of everything held about one phone number, and its
/// erasure. Ratings themselves are anonymous statistics and stay (the indices do not change);
/// what goes is what identifies or quotes a person. Thread-safe: each call uses its own pooled
/// sessions; run one sweep at a time per host (several hosts sweeping is harmless: each step
/// is idempotent).
class PersonalData {
public:
    PersonalData(Database& db, PhoneBook& phones, const SurveyCatalog& surveys);

    /// Erases or masks what is past its retention. Free text is swept by the time responses
    /// were received, from where the previous sweep stopped (kept in the database).
    PersonalDataReport sweep(const Retention& retention);

    /// Everything held about `phone` (any way it is written): dossiers, responses with their
    /// answers, cases, messages sent, conversations, opt-out. Problem 422 when `phone` is not a
    /// phone number.
    Poco::JSON::Object::Ptr report(std::string_view phone);

    /// Erases `phone` and the words of the responses and cases linked to it; keeps its opt-out
    /// (by keyed hash) so that no message is sent to it again, and the ratings.
    PersonalDataReport erase(std::string_view phone);

    /// `text` with phone numbers, identity numbers (runs of six digits or more, spaces, dots and
    /// dashes allowed between them) and e-mail addresses replaced by "***". Names cannot be
    /// recognised and stay.
    static std::string mask(std::string_view text);

private:
    struct Person;
    Person find(std::string_view phone);
    std::size_t sweepResponseText(std::int64_t beforeMs, bool deleteText);
    std::size_t sweepCaseText(std::int64_t beforeMs, bool deleteText);
    std::size_t sweepHeldText(std::int64_t beforeMs, bool deleteText);

    Database& db_;
    PhoneBook& phones_;
    const SurveyCatalog& surveys_;
};

}  // namespace hailong
