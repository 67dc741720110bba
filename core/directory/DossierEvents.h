// hailong — DossierEvents: what the province's one-stop system says happened to a dossier
// (received, supplement requested, returned, cancelled), kept once by the sender's event id and
// folded into the dossier in the order the events happened, whatever order they arrive in.
#pragma once

#include "store/Database.h"

#include <hailong/Directory.h>
#include <hailong/Problem.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hailong {

class DirectoryStore;

/// One event as the sender wrote it. Codes name the directory's rows; empty = not said.
struct DossierEvent {
    std::string id;    ///< the sender's event id: the idempotency key, 1..100 characters
    std::string type;  ///< "received", "supplement_requested", "returned", "cancelled"
    std::string dossier;
    std::int64_t occurredAtMs = 0;
    std::string agencyCode, procedureCode, officerCode, counterCode, phone;
    std::optional<std::int64_t> dueAtMs;
};

/// Who sent events: for the record, and the agency subtree its events may change.
struct EventSender {
    std::string actor;      ///< "token", "apikey:<name>", "user:<name>"
    std::string scopePath;  ///< "/1/7/": may change dossiers of this subtree; "" everything
};

/// What became of an event that was accepted.
struct EventOutcome {
    enum class Result { Applied, Pending, Duplicate } result = Result::Applied;
    std::optional<Dossier> dossier;  ///< the dossier after it (nullopt: not known yet)
};
const char* toString(EventOutcome::Result r);

/// An event as it is kept, for the sender to look at.
struct StoredDossierEvent {
    std::string id, type;
    std::int64_t occurredAtMs = 0, receivedAtMs = 0;
    std::string state;  ///< "applied", "pending", "refused" (its sender may not change the dossier)
    std::string senderScope;  ///< the subtree its sender may change ("" everything)
};

/// Keeps and applies dossier events. Thread-safe, and safe with several hosts on one
/// PostgreSQL database: an event id is kept once, and a dossier's events are folded while the
/// directory's write turn is held.
///
/// Rules: the dossier's status is that of its latest event by `occurred_at` (ties: the one
/// received first); each field (agency, procedure, officer, counter, phone, due date) takes the
/// value of the latest event that gives it, else keeps the stored one; `received_at` is the
/// time of the first "received" event (else of the dossier's first event), `returned_at` that
/// of the latest "returned". Until an event or the directory gives the dossier's agency, its
/// events stay pending; the event that completes it applies them all, in order. An event whose
/// sender may not change the dossier's agency is refused and never applied.
class DossierEventStore {
public:
    DossierEventStore(Database& db, DirectoryStore& directory);

    static constexpr std::size_t kMaxBatch = 1000;

    /// Keeps and applies `events` in one transaction, each in its own savepoint, in the order
    /// given. For each: its outcome, or the Problem that rejected it (then nothing of it is
    /// kept). A repeated id with the same content is a Duplicate; with other content,
    /// Problem(409, "dossier_event.id_reused"). Throws Unavailable when the database is.
    std::vector<std::variant<EventOutcome, Problem>> record(const std::vector<DossierEvent>& events,
                                                            const EventSender& sender);

    /// The events kept for one dossier, oldest `occurred_at` first (at most 1,000).
    std::vector<StoredDossierEvent> of(std::string_view dossierCode) const;

    /// Checks an event's fields (never its dossier's state): Problem(422) naming each field
    /// wrong, with `prefix` before the field names.
    void check(DossierEvent& event, const std::string& prefix) const;

private:
    EventOutcome recordOne(Poco::Data::Session& s, DossierEvent event, const EventSender& sender);
    std::optional<Dossier> fold(Poco::Data::Session& s, const std::string& dossierCode,
                                const std::string& newEventId);

    Database& db_;
    DirectoryStore& directory_;
};

}  // namespace hailong
