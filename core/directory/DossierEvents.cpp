#include "directory/DossierEvents.h"

#include "common/Clock.h"
#include "common/Utf8.h"
#include "directory/DirectoryStore.h"
#include "directory/Validation.h"

#include <hailong/Hmac.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <array>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace hailong {
namespace {

constexpr std::size_t kMaxIdChars = 100;
constexpr std::int64_t kFutureSlackMs = 3600000;

// The dossier status each type of event leaves.
const std::array<std::pair<const char*, const char*>, 4> kStatusOf{{
    {"received", "received"},
    {"supplement_requested", "supplement"},
    {"returned", "returned"},
    {"cancelled", "cancelled"},
}};

std::string statusOf(const std::string& type) {
    for (const auto& [t, status] : kStatusOf)
        if (type == t) return status;
    throw std::logic_error("dossier event of unchecked type " + type);
}

// What makes two events with one id the same event (the phone by its hash: it is erased once
// the event is applied).
std::string fingerprintOf(const DossierEvent& e) {
    std::string text;
    for (const std::string* part : {&e.type, &e.dossier, &e.agencyCode, &e.procedureCode,
                                    &e.officerCode, &e.counterCode, &e.phone})
        text += *part + '\x1f';
    text += std::to_string(e.occurredAtMs) + '\x1f' +
            (e.dueAtMs ? std::to_string(*e.dueAtMs) : std::string());
    return hmacSha256Hex("hailong dossier event", text);
}

// One kept event, as the fold reads it.
struct KeptEvent {
    std::string id, type, scope, agency, procedure, officer, counter, phone, state;
    std::int64_t occurredAtMs = 0;
    std::optional<std::int64_t> dueAtMs;
};

std::vector<KeptEvent> keptEvents(Session& s, const std::string& dossierCode) {
    Statement st(s);
    std::string code = dossierCode;
    st << "SELECT event_id, type, sender_scope, agency_code, procedure_code, officer_code, "
          "counter_code, phone, state, occurred_at, due_at FROM dossier_events "
          "WHERE dossier_code = $1 AND state <> 'refused' ORDER BY occurred_at, seq",
        use(code);
    st.execute();
    RecordSet rs(st);
    std::vector<KeptEvent> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        KeptEvent e;
        std::string* text[] = {&e.id,      &e.type,    &e.scope, &e.agency, &e.procedure,
                               &e.officer, &e.counter, &e.phone, &e.state};
        for (std::size_t c = 0; c < std::size(text); ++c)
            *text[c] = rs.value(c).convert<std::string>();
        e.occurredAtMs = rs.value(9).convert<std::int64_t>();
        if (!rs.value(10).isEmpty()) e.dueAtMs = rs.value(10).convert<std::int64_t>();
        out.push_back(std::move(e));
    }
    return out;
}

std::string codeOf(Session& s, const char* table, std::optional<std::int64_t> id) {
    if (!id) return {};
    std::string code;
    std::int64_t key = *id;
    s << std::string("SELECT code FROM ") + table + " WHERE id = $1", use(key), into(code), now;
    return code;
}

void mark(Session& s, const std::string& dossierCode, const std::string& eventId,
          const char* state) {
    std::string code = dossierCode, id = eventId, to = state;
    s << "UPDATE dossier_events SET state = $1 WHERE dossier_code = $2 AND event_id = $3", use(to),
        use(code), use(id), now;
}

}  // namespace

const char* toString(EventOutcome::Result r) {
    switch (r) {
        case EventOutcome::Result::Applied:
            return "applied";
        case EventOutcome::Result::Pending:
            return "pending";
        case EventOutcome::Result::Duplicate:
            return "duplicate";
    }
    return "?";
}

DossierEventStore::DossierEventStore(Database& db, DirectoryStore& directory)
    : db_(db), directory_(directory) {}

void DossierEventStore::check(DossierEvent& e, const std::string& prefix) const {
    std::vector<FieldError> errors;
    e.id = utf8::trim(e.id);
    if (e.id.empty()) {
        errors.push_back({prefix + "id", "field.required", {}});
    } else if (e.id.size() > kMaxIdChars ||
               std::any_of(e.id.begin(), e.id.end(), [](char c) { return c < '!' || c > '~'; })) {
        errors.push_back(
            {prefix + "id", "dossier_event.id_chars", {{"max", std::to_string(kMaxIdChars)}}});
    }
    if (std::none_of(kStatusOf.begin(), kStatusOf.end(),
                     [&](const auto& t) { return e.type == t.first; }))
        errors.push_back({prefix + "type",
                          "field.one_of",
                          {{"allowed", "received, supplement_requested, returned, cancelled"}}});
    validation::code(e.dossier, prefix + "dossier", errors);
    if (e.occurredAtMs <= 0) errors.push_back({prefix + "occurred_at", "field.required", {}});
    // Clocks of the sending systems may run a little ahead; an hour more is a wrong date.
    if (e.occurredAtMs > nowMs() + kFutureSlackMs)
        errors.push_back({prefix + "occurred_at", "dossier_event.in_future", {}});
    const std::pair<std::string*, const char*> references[] = {{&e.agencyCode, "agency"},
                                                               {&e.procedureCode, "procedure"},
                                                               {&e.officerCode, "officer"},
                                                               {&e.counterCode, "counter"}};
    for (const auto& [code, field] : references) {
        if (code->empty()) continue;
        const std::size_t before = errors.size();
        validation::code(*code, prefix + field, errors);
        if (errors.size() != before) continue;
        const std::string_view kind = field;
        const bool known = kind == "agency"      ? directory_.agency(*code).has_value()
                           : kind == "procedure" ? directory_.procedure(*code).has_value()
                           : kind == "officer"   ? directory_.officer(*code).has_value()
                                                 : directory_.counter(*code).has_value();
        if (!known)
            errors.push_back({prefix + field, "directory.unknown_reference", {{"code", *code}}});
    }
    validation::phone(e.phone, prefix + "phone", errors);
    if (e.dueAtMs && *e.dueAtMs < e.occurredAtMs && e.type == "received")
        errors.push_back({prefix + "due_at", "dossier.due_before_received", {}});
    if (!errors.empty()) throw Problem(422, "dossier_event.invalid", {}, std::move(errors));
}

std::vector<std::variant<EventOutcome, Problem>> DossierEventStore::record(
    const std::vector<DossierEvent>& events, const EventSender& sender) {
    return db_.write([&](Session& s) {
        std::vector<std::variant<EventOutcome, Problem>> out;
        out.reserve(events.size());
        for (const DossierEvent& e : events) {
            s << "SAVEPOINT dossier_event", now;
            try {
                out.emplace_back(recordOne(s, e, sender));
            } catch (const Problem& p) {
                s << "ROLLBACK TO SAVEPOINT dossier_event", now;
                out.emplace_back(p);
            }
            s << "RELEASE SAVEPOINT dossier_event", now;
        }
        return out;
    });
}

EventOutcome DossierEventStore::recordOne(Session& s, DossierEvent e, const EventSender& sender) {
    // The turn is held to the commit: another host's event for this dossier waits for it.
    directory_.takeWriteTurn(s);
    const std::string fingerprint = fingerprintOf(e);
    Poco::Nullable<std::string> kept;
    s << "SELECT fingerprint FROM dossier_events WHERE event_id = $1", use(e.id), into(kept), now;
    if (!kept.isNull()) {
        if (kept.value() != fingerprint)
            throw Problem(409, "dossier_event.id_reused", {{"id", e.id}});
        return {EventOutcome::Result::Duplicate, directory_.dossier(s, e.dossier)};
    }
    if (!e.agencyCode.empty()) {
        const auto agency = directory_.agency(e.agencyCode);
        if (agency && !agency->path.starts_with(sender.scopePath))
            throw Problem(403, "dossier_event.out_of_scope",
                          {{"dossier", e.dossier}, {"code", e.agencyCode}});
    }
    std::int64_t at = nowMs();
    std::string actor = sender.actor, scope = sender.scopePath, state = "pending";
    Poco::Nullable<std::int64_t> due;
    if (e.dueAtMs) due = *e.dueAtMs;
    s << "INSERT INTO dossier_events (event_id, dossier_code, type, occurred_at, received_at, "
         "fingerprint, sender, sender_scope, agency_code, procedure_code, officer_code, "
         "counter_code, phone, due_at, state) "
         "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        use(e.id), use(e.dossier), use(e.type), use(e.occurredAtMs), use(at), bind(fingerprint),
        use(actor), use(scope), use(e.agencyCode), use(e.procedureCode), use(e.officerCode),
        use(e.counterCode), use(e.phone), use(due), use(state), now;
    auto dossier = fold(s, e.dossier, e.id);
    return {dossier ? EventOutcome::Result::Applied : EventOutcome::Result::Pending,
            std::move(dossier)};
}

// Applies the dossier's events in the order they happened, over what the directory holds.
std::optional<Dossier> DossierEventStore::fold(Session& s, const std::string& dossierCode,
                                               const std::string& newEventId) {
    const auto existing = directory_.dossier(s, dossierCode);
    std::vector<KeptEvent> events = keptEvents(s, dossierCode);
    std::string agencyCode = existing ? codeOf(s, "agencies", existing->agencyId) : "";
    for (const KeptEvent& e : events)
        if (!e.agency.empty()) agencyCode = e.agency;
    if (agencyCode.empty()) return std::nullopt;  // pending until the agency is known
    const auto agency = directory_.agency(agencyCode);
    if (!agency) throw std::logic_error("dossier event names an agency checked but absent");

    // Events whose sender may not change this agency's dossiers are refused, never applied.
    std::erase_if(events, [&](const KeptEvent& e) {
        if (e.state != "pending" || agency->path.starts_with(e.scope)) return false;
        if (e.id == newEventId)
            throw Problem(403, "dossier_event.out_of_scope",
                          {{"dossier", dossierCode}, {"code", agencyCode}});
        mark(s, dossierCode, e.id, "refused");
        return true;
    });

    DossierInput in;
    in.code = dossierCode;
    in.agencyCode = agencyCode;
    std::optional<std::int64_t> receivedAt;
    if (existing) {
        in.procedureCode = codeOf(s, "procedures", existing->procedureId);
        in.officerCode = codeOf(s, "officers", existing->officerId);
        in.counterCode = codeOf(s, "counters", existing->counterId);
        in.status = existing->status;
        in.phone = existing->phone;
        in.dueAtMs = existing->dueAtMs;
        in.returnedAtMs = existing->returnedAtMs;
        receivedAt = existing->receivedAtMs;
    }
    bool receivedByEvent = false;
    for (const KeptEvent& e : events) {
        for (const auto& [to, from] :
             {std::pair{&in.procedureCode, &e.procedure}, std::pair{&in.officerCode, &e.officer},
              std::pair{&in.counterCode, &e.counter}, std::pair{&in.phone, &e.phone}})
            if (!from->empty()) *to = *from;
        if (e.dueAtMs) in.dueAtMs = e.dueAtMs;
        in.status = statusOf(e.type);
        if (e.type == "received" && !receivedByEvent) {
            receivedAt = e.occurredAtMs;
            receivedByEvent = true;
        }
        if (e.type == "returned") in.returnedAtMs = e.occurredAtMs;
    }
    if (!receivedAt && !events.empty()) receivedAt = events.front().occurredAtMs;
    in.receivedAtMs = receivedAt;
    directory_.save(s, in);

    std::string code = dossierCode, applied = "applied";
    std::int64_t at = nowMs();
    s << "UPDATE dossier_events SET state = $1, applied_at = $2, phone = '' "
         "WHERE dossier_code = $3 AND state = 'pending'",
        use(applied), use(at), use(code), now;
    return directory_.dossier(s, dossierCode);
}

std::vector<StoredDossierEvent> DossierEventStore::of(std::string_view dossierCode) const {
    return db_.read([&](Session& s) {
        std::vector<std::string> ids, types, states, scopes;
        std::vector<std::int64_t> occurred, received;
        std::string code(dossierCode);
        s << "SELECT event_id, type, state, sender_scope, occurred_at, received_at "
             "FROM dossier_events WHERE dossier_code = $1 ORDER BY occurred_at, seq LIMIT 1000",
            use(code), into(ids), into(types), into(states), into(scopes), into(occurred),
            into(received), now;
        std::vector<StoredDossierEvent> out(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i)
            out[i] = {ids[i], types[i], occurred[i], received[i], states[i], scopes[i]};
        return out;
    });
}

}  // namespace hailong
