#include "directory/DirectoryStore.h"

#include "common/TtlCache.h"

#include "common/Clock.h"
#include "common/Utf8.h"
#include "directory/Validation.h"
#include "store/Columns.h"

#include <hailong/Problem.h>
#include <hailong/TextNormalizer.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <set>
#include <variant>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace hailong {
namespace {

using namespace columns;

using NullableId = Poco::Nullable<std::int64_t>;

constexpr std::int64_t kEarliestMs = 946684800000;  // 2000-01-01
constexpr std::int64_t kLatestMs = 7258118400000;   // 2200-01-01

NullableId nullable(const std::optional<std::int64_t>& v) {
    return v ? NullableId(*v) : NullableId();
}

// Column lists, kept next to the readers that depend on their order.
constexpr const char* kAgencyCols =
    "id, code, name, parent_id, path, depth, kind, address, active FROM agencies";
Agency readAgency(RecordSet& rs) {
    Agency a;
    a.id = i64(rs, 0), a.code = str(rs, 1), a.name = str(rs, 2), a.parentId = optI64(rs, 3);
    a.path = str(rs, 4), a.depth = static_cast<int>(i64(rs, 5)), a.kind = str(rs, 6);
    a.address = str(rs, 7), a.active = i64(rs, 8) != 0;
    return a;
}
constexpr const char* kCounterCols = "id, code, name, agency_id, active, survey_id FROM counters";
Counter readCounter(RecordSet& rs) {
    return Counter{i64(rs, 0), str(rs, 1), str(rs, 2), i64(rs, 3), i64(rs, 4) != 0, str(rs, 5)};
}
constexpr const char* kOfficerCols = "id, code, name, title, agency_id, active FROM officers";
Officer readOfficer(RecordSet& rs) {
    return Officer{i64(rs, 0), str(rs, 1), str(rs, 2), str(rs, 3), i64(rs, 4), i64(rs, 5) != 0};
}
constexpr const char* kProcedureCols =
    "id, code, name, field, processing_days, online, active FROM procedures";
Procedure readProcedure(RecordSet& rs) {
    return Procedure{
        i64(rs, 0), str(rs, 1),     str(rs, 2), str(rs, 3), static_cast<int>(i64(rs, 4)),
        str(rs, 5), i64(rs, 6) != 0};
}
constexpr const char* kDossierCols =
    "id, code, agency_id, procedure_id, officer_id, counter_id, status, received_at, due_at, "
    "returned_at, phone, updated_at, phone_key FROM dossiers";
Dossier readDossier(RecordSet& rs) {
    Dossier d;
    d.id = i64(rs, 0), d.code = str(rs, 1), d.agencyId = i64(rs, 2);
    d.procedureId = optI64(rs, 3), d.officerId = optI64(rs, 4), d.counterId = optI64(rs, 5);
    d.status = str(rs, 6), d.receivedAtMs = i64(rs, 7), d.dueAtMs = optI64(rs, 8);
    d.returnedAtMs = optI64(rs, 9), d.phone = str(rs, 10), d.updatedAtMs = i64(rs, 11);
    d.phoneKey = str(rs, 12);
    return d;
}
constexpr const char* kDeviceCols =
    "id, code, name, counter_id, status, last_seen_at, queue_size FROM devices";
Device readDevice(RecordSet& rs) {
    return Device{i64(rs, 0), str(rs, 1),    str(rs, 2), i64(rs, 3),
                  str(rs, 4), optI64(rs, 5), i64(rs, 6)};
}

// A table's column list and the reader that depends on its order.
template <class T>
struct Table {
    const char* columns;  // "... FROM table"
    T (*read)(RecordSet&);
};
const Table<Agency> kAgencies{kAgencyCols, readAgency};
const Table<Counter> kCounters{kCounterCols, readCounter};
const Table<Officer> kOfficers{kOfficerCols, readOfficer};
const Table<Procedure> kProcedures{kProcedureCols, readProcedure};
const Table<Dossier> kDossiers{kDossierCols, readDossier};
const Table<Device> kDevices{kDeviceCols, readDevice};

// Runs `sql` with one parameter (a code or an id) and reads the first row, if any.
template <class T, class Key, class Reader>
std::optional<T> one(Session& s, const std::string& sql, Key key, Reader read) {
    Statement st(s);
    st << sql, use(key);
    st.execute();
    RecordSet rs(st);
    if (rs.rowCount() == 0) return std::nullopt;
    rs.moveFirst();
    return read(rs);
}
template <class T, class Reader>
std::vector<T> all(Statement& st, Reader read) {
    st.execute();
    RecordSet rs(st);
    std::vector<T> out;
    out.reserve(rs.rowCount());
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(read(rs));
    return out;
}

// Builds "WHERE ..." clauses with ascending placeholders, and binds their values in order.
class Filter {
public:
    Filter(const ListQuery& q, const TextNormalizer& text, Session& s, const char* agencyColumn,
           bool searchable)
        : q_(q) {
        if (!q.agencyCode.empty() && agencyColumn) {
            std::string path;
            std::string code = q.agencyCode;
            s << "SELECT path FROM agencies WHERE code = $1", use(code), into(path), now;
            if (path.empty())
                throw Problem(404, "directory.not_found",
                              {{"kind", "agency"}, {"code", q.agencyCode}});
            add(std::string(agencyColumn) + " IN (SELECT id FROM agencies WHERE path LIKE $?)",
                path + "%");
        }
        if (searchable && !q.search.empty()) {
            // A substring, not a pattern: escape LIKE's own wildcards.
            std::string pattern = "%";
            for (char c : text.key(q.search)) {
                if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
                pattern.push_back(c);
            }
            add("search_key LIKE $? ESCAPE '\\'", pattern + "%");
        }
    }
    void add(const std::string& clause) {
        where_ += (where_.empty() ? " WHERE " : " AND ") + clause;
    }
    /// Adds a clause whose "$?" is the next placeholder, bound to `value`.
    void add(const std::string& clause, std::variant<std::string, std::int64_t> value) {
        values_.push_back(std::move(value));
        std::string numbered = clause;
        numbered.replace(numbered.find("$?"), 2, "$" + std::to_string(values_.size()));
        add(numbered);
    }
    const std::string& where() const { return where_; }
    void bind(Statement& st) {
        for (auto& v : values_) {
            if (auto* text = std::get_if<std::string>(&v))
                st, use(*text);
            else
                st, use(std::get<std::int64_t>(v));
        }
    }
    std::string page() const {
        return " LIMIT " + std::to_string(std::clamp(q_.limit, 1, 1000)) + " OFFSET " +
               std::to_string(std::max(q_.offset, 0));
    }

private:
    const ListQuery& q_;
    std::deque<std::variant<std::string, std::int64_t>> values_;  // stable addresses for use()
    std::string where_;
};

template <class T>
std::optional<T> byCode(Session& s, const Table<T>& t, const std::string& code) {
    return one<T>(s, std::string("SELECT ") + t.columns + " WHERE code = $1", code, t.read);
}

template <class T>
std::optional<T> byCode(Database& db, const Table<T>& t, std::string_view code) {
    return db.read([&](Session& s) { return byCode(s, t, std::string(code)); });
}

template <class T>
std::vector<T> select(Session& s, Filter& f, const Table<T>& t, const char* order) {
    Statement st(s);
    st << std::string("SELECT ") + t.columns + f.where() + " ORDER BY " + order + f.page();
    f.bind(st);
    return all<T>(st, t.read);
}

}  // namespace

const char* toString(SaveOutcome o) {
    switch (o) {
        case SaveOutcome::Created:
            return "created";
        case SaveOutcome::Updated:
            return "updated";
        case SaveOutcome::Unchanged:
            return "unchanged";
    }
    return "?";
}

struct DirectoryStore::Caches {
    template <class T>
    using ByCode = TtlCache<std::string, std::optional<T>>;
    static constexpr auto kTtl = std::chrono::seconds(2);
    static constexpr std::size_t kMax = 20000;
    ByCode<Agency> agencies{kTtl, kMax};
    ByCode<Counter> counters{kTtl, kMax};
    ByCode<Officer> officers{kTtl, kMax};
    ByCode<Procedure> procedures{kTtl, kMax};
    ByCode<Device> devices{kTtl, kMax};
    TtlCache<std::int64_t, std::optional<Agency>> agenciesById{kTtl, kMax};
    TtlCache<std::int64_t, std::optional<Counter>> countersById{kTtl, kMax};
    TtlCache<std::int64_t, std::optional<Procedure>> proceduresById{kTtl, kMax};
};

DirectoryStore::DirectoryStore(Database& db, const TextNormalizer& text)
    : db_(db), text_(text), caches_(std::make_unique<Caches>()) {}

DirectoryStore::~DirectoryStore() = default;

void DirectoryStore::forgetCached() const {
    ++generation_;
    caches_->agencies.clear();
    caches_->counters.clear();
    caches_->officers.clear();
    caches_->procedures.clear();
    caches_->devices.clear();
    caches_->agenciesById.clear();
    caches_->countersById.clear();
    caches_->proceduresById.clear();
}

// ---- reads ----------------------------------------------------------------------------------

std::optional<Agency> DirectoryStore::agency(std::string_view code) const {
    return caches_->agencies.get(std::string(code), [&] { return byCode(db_, kAgencies, code); });
}
std::optional<Counter> DirectoryStore::counter(std::string_view code) const {
    return caches_->counters.get(std::string(code), [&] { return byCode(db_, kCounters, code); });
}
std::optional<Officer> DirectoryStore::officer(std::string_view code) const {
    return caches_->officers.get(std::string(code), [&] { return byCode(db_, kOfficers, code); });
}
std::optional<Procedure> DirectoryStore::procedure(std::string_view code) const {
    return caches_->procedures.get(std::string(code),
                                   [&] { return byCode(db_, kProcedures, code); });
}
std::vector<Dossier> DirectoryStore::dossiersChanged(std::string_view status, std::int64_t afterMs,
                                                     std::int64_t afterId,
                                                     std::size_t limit) const {
    return db_.read([&](Session& s) {
        Statement st(s);
        std::string wanted(status);
        st << std::string("SELECT ") + kDossierCols +
                  " WHERE status = $1 AND (updated_at > $2 OR (updated_at = $3 AND id > $4)) "
                  "ORDER BY updated_at, id LIMIT " +
                  std::to_string(std::min<std::size_t>(limit, 10000)),
            use(wanted), bind(afterMs), bind(afterMs), bind(afterId);
        st.execute();
        RecordSet rs(st);
        std::vector<Dossier> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(readDossier(rs));
        return out;
    });
}

std::optional<Procedure> DirectoryStore::procedureById(std::int64_t id) const {
    return caches_->proceduresById.get(id, [&] {
        return db_.read([&](Session& s) {
            return one<Procedure>(s, std::string("SELECT ") + kProcedureCols + " WHERE id = $1", id,
                                  readProcedure);
        });
    });
}
std::optional<Dossier> DirectoryStore::dossier(std::string_view code) const {
    return byCode(db_, kDossiers, code);  // not cached: dossiers change as they are handled
}
std::optional<Dossier> DirectoryStore::dossier(Session& s, std::string_view code) const {
    return byCode(s, kDossiers, std::string(code));
}
std::optional<Device> DirectoryStore::device(std::string_view code) const {
    return caches_->devices.get(std::string(code), [&] { return byCode(db_, kDevices, code); });
}
std::optional<Agency> DirectoryStore::agencyById(std::int64_t id) const {
    return caches_->agenciesById.get(id, [&] {
        return db_.read([&](Session& s) {
            return one<Agency>(s, std::string("SELECT ") + kAgencyCols + " WHERE id = $1", id,
                               readAgency);
        });
    });
}

std::optional<Counter> DirectoryStore::counterById(std::int64_t id) const {
    return caches_->countersById.get(id, [&] {
        return db_.read([&](Session& s) {
            return one<Counter>(s, std::string("SELECT ") + kCounterCols + " WHERE id = $1", id,
                                readCounter);
        });
    });
}

std::vector<Agency> DirectoryStore::agencies(const ListQuery& q) const {
    return db_.read([&](Session& s) {
        Filter f(q, text_, s, "id", true);
        return select(s, f, kAgencies, "path");
    });
}
std::vector<Agency> DirectoryStore::children(std::optional<std::int64_t> parentId) const {
    return db_.read([&](Session& s) {
        ListQuery all;
        all.limit = 1000;
        Filter f(all, text_, s, nullptr, false);
        if (parentId)
            f.add("parent_id = $?", *parentId);
        else
            f.add("parent_id IS NULL");
        return select(s, f, kAgencies, "name");
    });
}
std::vector<Counter> DirectoryStore::counters(const ListQuery& q) const {
    return db_.read([&](Session& s) {
        Filter f(q, text_, s, "agency_id", true);
        return select(s, f, kCounters, "code");
    });
}
std::vector<Officer> DirectoryStore::officers(const ListQuery& q) const {
    return db_.read([&](Session& s) {
        Filter f(q, text_, s, "agency_id", true);
        return select(s, f, kOfficers, "code");
    });
}
std::vector<Procedure> DirectoryStore::procedures(const ListQuery& q) const {
    return db_.read([&](Session& s) {
        Filter f(q, text_, s, nullptr, true);  // procedures are national, not per agency
        return select(s, f, kProcedures, "code");
    });
}
std::vector<Dossier> DirectoryStore::dossiers(const ListQuery& q) const {
    return db_.read([&](Session& s) {
        Filter f(q, text_, s, "agency_id", false);
        if (q.fromMs) f.add("received_at >= $?", *q.fromMs);
        if (q.toMs) f.add("received_at < $?", *q.toMs);
        return select(s, f, kDossiers, "received_at DESC, id DESC");
    });
}
std::vector<Device> DirectoryStore::devices(const ListQuery& q) const {
    return db_.read([&](Session& s) {
        Filter f(q, text_, s,
                 "(SELECT c.agency_id FROM counters c WHERE c.id = devices.counter_id)", false);
        return select(s, f, kDevices, "code");
    });
}

namespace {
void requireKnownTable(std::string_view table) {
    static const std::set<std::string_view> known{"agencies", "counters", "officers", "procedures",
                                                  "dossiers", "devices",  "responses"};
    if (!known.contains(table)) throw std::logic_error("unknown table " + std::string(table));
}
}  // namespace

std::map<std::int64_t, std::string> DirectoryStore::codes(std::string_view table,
                                                          const std::set<std::int64_t>& ids) const {
    requireKnownTable(table);
    std::map<std::int64_t, std::string> out;
    if (ids.empty()) return out;
    std::string list;
    for (std::int64_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    return db_.read([&](Session& s) {
        Statement st(s);
        st << "SELECT id, code FROM " + std::string(table) + " WHERE id IN (" + list + ")";
        st.execute();
        RecordSet rs(st);
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out[i64(rs, 0)] = str(rs, 1);
        return out;
    });
}

std::int64_t DirectoryStore::count(std::string_view table) const {
    requireKnownTable(table);
    return db_.read([&](Session& s) {
        std::int64_t n = 0;
        s << "SELECT COUNT(*) FROM " + std::string(table), into(n), now;
        return n;
    });
}

// ---- writes ---------------------------------------------------------------------------------

void DirectoryStore::takeWriteTurn(Session& s) const {
    serialize(s);
}

void DirectoryStore::serialize(Session& s) const {
    // Writes check then insert or move subtrees; on PostgreSQL (READ COMMITTED) two of them
    // could interleave, so they take turns. SQLite's BEGIN IMMEDIATE already serializes them.
    if (db_.backend() != Backend::PostgreSQL) return;
    int locked = 0;
    s << "SELECT 1 FROM (SELECT pg_advisory_xact_lock(4242002)) AS l", into(locked), now;
}

SaveOutcome DirectoryStore::save(const AgencyInput& in) {
    const SaveOutcome out = db_.write([&](Session& s) { return save(s, in); });
    forgetCached();
    return out;
}
SaveOutcome DirectoryStore::save(const CounterInput& in) {
    const SaveOutcome out = db_.write([&](Session& s) { return save(s, in); });
    forgetCached();
    return out;
}
SaveOutcome DirectoryStore::save(const OfficerInput& in) {
    const SaveOutcome out = db_.write([&](Session& s) { return save(s, in); });
    forgetCached();
    return out;
}
SaveOutcome DirectoryStore::save(const ProcedureInput& in) {
    const SaveOutcome out = db_.write([&](Session& s) { return save(s, in); });
    forgetCached();
    return out;
}
SaveOutcome DirectoryStore::save(const DossierInput& in) {
    const SaveOutcome out = db_.write([&](Session& s) { return save(s, in); });
    forgetCached();
    return out;
}
SaveOutcome DirectoryStore::save(const DeviceInput& in) {
    const SaveOutcome out = db_.write([&](Session& s) { return save(s, in); });
    forgetCached();
    return out;
}

namespace {

// Looks up the id of `code` in `table`, adding a field error when it is unknown.
std::optional<std::int64_t> reference(Session& s, const char* table, const std::string& field,
                                      const std::string& code, bool required,
                                      std::vector<FieldError>& errors) {
    if (code.empty()) {
        if (required) errors.push_back({field, "field.required", {}});
        return std::nullopt;
    }
    std::optional<std::int64_t> id;
    Poco::Nullable<std::int64_t> found;
    std::string key = code;
    s << std::string("SELECT id FROM ") + table + " WHERE code = $1", use(key), into(found), now;
    if (found.isNull()) {
        errors.push_back({field, "directory.unknown_reference", {{"code", code}}});
        return std::nullopt;
    }
    return found.value();
}

// The columns one save writes, in order: builds the INSERT or UPDATE and binds the values.
// Not thread-safe; one per save.
class RowWriter {
public:
    using Value = std::variant<std::string, std::int64_t, NullableId>;
    RowWriter& set(const char* column, Value value) {
        columns_.emplace_back(column);
        values_.push_back(std::move(value));
        return *this;
    }
    /// Inserts with created_at/updated_at = now; returns the new row's id.
    std::int64_t insert(Session& s, const std::string& table) {
        std::string names, marks;
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            names += columns_[i] + ", ";
            marks += "$" + std::to_string(i + 1) + ", ";
        }
        const std::size_t n = columns_.size();
        Statement st(s);
        st << "INSERT INTO " + table + " (" + names + "created_at, updated_at) VALUES (" + marks +
                  "$" + std::to_string(n + 1) + ", $" + std::to_string(n + 2) + ") RETURNING id";
        std::int64_t id = 0;
        bindAll(st);
        st, bind(at_), bind(at_), into(id);
        st.execute();
        return id;
    }
    /// Updates row `id`, with updated_at = now.
    void update(Session& s, const std::string& table, std::int64_t id) {
        std::string sets;
        for (std::size_t i = 0; i < columns_.size(); ++i)
            sets += columns_[i] + " = $" + std::to_string(i + 1) + ", ";
        const std::size_t n = columns_.size();
        Statement st(s);
        st << "UPDATE " + table + " SET " + sets + "updated_at = $" + std::to_string(n + 1) +
                  " WHERE id = $" + std::to_string(n + 2);
        bindAll(st);
        st, bind(at_), bind(id);
        st.execute();
    }

private:
    void bindAll(Statement& st) {
        for (auto& v : values_) std::visit([&](auto& x) { st, use(x); }, v);
    }
    std::vector<std::string> columns_;
    std::deque<Value> values_;  // stable addresses for use()
    std::int64_t at_ = nowMs();
};

std::int64_t asInt(bool b) {
    return b ? 1 : 0;
}

// Updates row `existing`, or inserts a new row with `code`.
SaveOutcome writeRow(Session& s, RowWriter& row, const char* table, const std::string& code,
                     std::optional<std::int64_t> existing) {
    if (existing) {
        row.update(s, table, *existing);
        return SaveOutcome::Updated;
    }
    row.set("code", code).insert(s, table);
    return SaveOutcome::Created;
}

void throwIfAny(const std::vector<FieldError>& errors) {
    if (!errors.empty()) throw Problem(422, "directory.invalid", {}, errors);
}

}  // namespace

SaveOutcome DirectoryStore::save(Session& s, const AgencyInput& raw) {
    serialize(s);
    std::vector<FieldError> errors;
    AgencyInput in = raw;
    validation::code(in.code, "code", errors);
    validation::name(text_, in.name, "name", errors);
    validation::optionalText(text_, in.kind, "kind", 50, errors);
    validation::optionalText(text_, in.address, "address", 300, errors);
    if (in.parentCode == in.code && !in.code.empty())
        errors.push_back({"parent", "directory.agency_cycle", {{"code", in.code}}});
    auto parent =
        in.parentCode.empty() ? std::optional<Agency>() : byCode(s, kAgencies, in.parentCode);
    if (!in.parentCode.empty() && !parent)
        errors.push_back({"parent", "directory.unknown_reference", {{"code", in.parentCode}}});
    throwIfAny(errors);

    auto existing = byCode(s, kAgencies, in.code);
    NullableId parentId = parent ? NullableId(parent->id) : NullableId();
    const std::string parentPath = parent ? parent->path : "/";
    const int depth = parent ? parent->depth + 1 : 0;
    const bool active = in.active.value_or(existing ? existing->active : true);
    RowWriter row;
    row.set("name", in.name).set("parent_id", parentId).set("kind", in.kind);
    row.set("address", in.address).set("active", asInt(active));
    row.set("search_key", text_.key(in.code + " " + in.name));
    if (!existing) {
        row.set("code", in.code).set("depth", std::int64_t{depth});
        std::int64_t id = row.insert(s, "agencies");
        std::string path = parentPath + std::to_string(id) + "/";
        s << "UPDATE agencies SET path = $1 WHERE id = $2", use(path), use(id), now;
        return SaveOutcome::Created;
    }

    const bool parentChanged =
        existing->parentId != (parent ? std::optional(parent->id) : std::nullopt);
    if (!parentChanged && existing->name == in.name && existing->kind == in.kind &&
        existing->address == in.address && existing->active == active)
        return SaveOutcome::Unchanged;
    if (parentChanged && parent && parent->path.starts_with(existing->path))
        throw Problem(422, "directory.invalid", {},
                      {{"parent", "directory.agency_cycle", {{"code", in.parentCode}}}});
    std::int64_t id = existing->id;
    row.update(s, "agencies", id);
    if (parentChanged) {  // move the whole subtree
        std::string newPath = parentPath + std::to_string(id) + "/";
        int keepFrom = static_cast<int>(existing->path.size()) + 1;
        int depthDelta = depth - existing->depth;
        std::string like = existing->path + "%";
        s << "UPDATE agencies SET path = $1 || substr(path, $2), depth = depth + $3 "
             "WHERE path LIKE $4",
            use(newPath), use(keepFrom), use(depthDelta), use(like), now;
    }
    return SaveOutcome::Updated;
}

SaveOutcome DirectoryStore::save(Session& s, const CounterInput& raw) {
    serialize(s);
    std::vector<FieldError> errors;
    CounterInput in = raw;
    validation::code(in.code, "code", errors);
    validation::name(text_, in.name, "name", errors);
    auto agencyId = reference(s, "agencies", "agency", in.agencyCode, true, errors);
    if (in.surveyId && !in.surveyId->empty()) validation::code(*in.surveyId, "survey", errors);
    throwIfAny(errors);
    auto existing = byCode(s, kCounters, in.code);
    const bool active = in.active.value_or(existing ? existing->active : true);
    const std::string survey = in.surveyId.value_or(existing ? existing->surveyId : "");
    if (existing && existing->name == in.name && existing->agencyId == *agencyId &&
        existing->active == active && existing->surveyId == survey)
        return SaveOutcome::Unchanged;
    RowWriter row;
    row.set("name", in.name).set("agency_id", *agencyId).set("active", asInt(active));
    row.set("survey_id", survey);
    row.set("search_key", text_.key(in.code + " " + in.name));
    return writeRow(s, row, "counters", in.code,
                    existing ? std::optional(existing->id) : std::nullopt);
}

SaveOutcome DirectoryStore::save(Session& s, const OfficerInput& raw) {
    serialize(s);
    std::vector<FieldError> errors;
    OfficerInput in = raw;
    validation::code(in.code, "code", errors);
    validation::name(text_, in.name, "name", errors);
    validation::optionalText(text_, in.title, "title", 100, errors);
    auto agencyId = reference(s, "agencies", "agency", in.agencyCode, true, errors);
    throwIfAny(errors);
    auto existing = byCode(s, kOfficers, in.code);
    const bool active = in.active.value_or(existing ? existing->active : true);
    if (existing && existing->name == in.name && existing->title == in.title &&
        existing->agencyId == *agencyId && existing->active == active)
        return SaveOutcome::Unchanged;
    RowWriter row;
    row.set("name", in.name).set("title", in.title).set("agency_id", *agencyId);
    row.set("active", asInt(active)).set("search_key", text_.key(in.code + " " + in.name));
    return writeRow(s, row, "officers", in.code,
                    existing ? std::optional(existing->id) : std::nullopt);
}

SaveOutcome DirectoryStore::save(Session& s, const ProcedureInput& raw) {
    serialize(s);
    std::vector<FieldError> errors;
    ProcedureInput in = raw;
    validation::code(in.code, "code", errors);
    validation::name(text_, in.name, "name", errors);
    validation::optionalText(text_, in.field, "field", 200, errors);
    if (in.online.empty()) in.online = "none";
    if (in.online != "full" && in.online != "partial" && in.online != "none")
        errors.push_back({"online", "field.one_of", {{"allowed", "full, partial, none"}}});
    if (in.processingDays && (*in.processingDays < 0 || *in.processingDays > 3650))
        errors.push_back({"processing_days", "field.range", {{"min", "0"}, {"max", "3650"}}});
    throwIfAny(errors);
    auto existing = byCode(s, kProcedures, in.code);
    const bool active = in.active.value_or(existing ? existing->active : true);
    const int days = in.processingDays.value_or(existing ? existing->processingDays : 0);
    if (existing && existing->name == in.name && existing->field == in.field &&
        existing->processingDays == days && existing->online == in.online &&
        existing->active == active)
        return SaveOutcome::Unchanged;
    RowWriter row;
    row.set("name", in.name).set("field", in.field).set("processing_days", std::int64_t{days});
    row.set("online", in.online).set("active", asInt(active));
    row.set("search_key", text_.key(in.code + " " + in.name));
    return writeRow(s, row, "procedures", in.code,
                    existing ? std::optional(existing->id) : std::nullopt);
}

SaveOutcome DirectoryStore::save(Session& s, const DossierInput& raw) {
    serialize(s);
    std::vector<FieldError> errors;
    DossierInput in = raw;
    validation::code(in.code, "code", errors);
    auto existing = byCode(s, kDossiers, in.code);
    // Times and status not given keep their stored values.
    if (existing) {
        if (!in.dueAtMs) in.dueAtMs = existing->dueAtMs;
        if (!in.returnedAtMs) in.returnedAtMs = existing->returnedAtMs;
    }
    if (in.status.empty())
        in.status = in.returnedAtMs ? "returned" : existing ? existing->status : "received";
    if (in.status != "received" && in.status != "supplement" && in.status != "returned" &&
        in.status != "cancelled")
        errors.push_back(
            {"status", "field.one_of", {{"allowed", "received, supplement, returned, cancelled"}}});
    validation::phone(in.phone, "phone", errors);
    // A number erased after its retention is not brought back by a source sending it again.
    if (existing && existing->phone.empty() && !existing->phoneKey.empty() && phoneKey_ &&
        !in.phone.empty() && phoneKey_(in.phone) == existing->phoneKey)
        in.phone.clear();
    auto agencyId = reference(s, "agencies", "agency", in.agencyCode, true, errors);
    auto procedureId = reference(s, "procedures", "procedure", in.procedureCode, false, errors);
    auto officerId = reference(s, "officers", "officer", in.officerCode, false, errors);
    auto counterId = reference(s, "counters", "counter", in.counterCode, false, errors);
    const std::int64_t received = in.receivedAtMs.value_or(existing ? existing->receivedAtMs : 0);
    if (received <= 0) errors.push_back({"received_at", "field.required", {}});
    for (const auto& [field, ms] :
         {std::pair{"received_at", std::optional<std::int64_t>(received)},
          std::pair{"due_at", in.dueAtMs}, std::pair{"returned_at", in.returnedAtMs}})
        if (ms && *ms > 0 && (*ms < kEarliestMs || *ms >= kLatestMs))
            errors.push_back({field, "field.time_range", {}});
    if (in.returnedAtMs && *in.returnedAtMs < received)
        errors.push_back({"returned_at", "dossier.returned_before_received", {}});
    if (in.dueAtMs && *in.dueAtMs < received)
        errors.push_back({"due_at", "dossier.due_before_received", {}});
    throwIfAny(errors);

    if (existing && existing->agencyId == *agencyId && existing->procedureId == procedureId &&
        existing->officerId == officerId && existing->counterId == counterId &&
        existing->status == in.status && existing->receivedAtMs == received &&
        existing->dueAtMs == in.dueAtMs && existing->returnedAtMs == in.returnedAtMs &&
        existing->phone == in.phone)
        return SaveOutcome::Unchanged;
    RowWriter row;
    row.set("agency_id", *agencyId).set("procedure_id", nullable(procedureId));
    row.set("officer_id", nullable(officerId)).set("counter_id", nullable(counterId));
    row.set("status", in.status).set("received_at", received);
    row.set("due_at", nullable(in.dueAtMs)).set("returned_at", nullable(in.returnedAtMs));
    row.set("phone", in.phone);
    // The key outlives the number (erased after the retention time); no number keeps the key.
    const std::string key = !in.phone.empty() && phoneKey_ ? phoneKey_(in.phone)
                            : existing                     ? existing->phoneKey
                                                           : std::string();
    row.set("phone_key", key);
    return writeRow(s, row, "dossiers", in.code,
                    existing ? std::optional(existing->id) : std::nullopt);
}

SaveOutcome DirectoryStore::save(Session& s, const DeviceInput& raw) {
    serialize(s);
    std::vector<FieldError> errors;
    DeviceInput in = raw;
    validation::code(in.code, "code", errors);
    validation::name(text_, in.name, "name", errors);
    auto counterId = reference(s, "counters", "counter", in.counterCode, true, errors);
    throwIfAny(errors);
    auto existing = byCode(s, kDevices, in.code);
    if (existing && existing->name == in.name && existing->counterId == *counterId)
        return SaveOutcome::Unchanged;
    RowWriter row;
    row.set("name", in.name).set("counter_id", *counterId);
    return writeRow(s, row, "devices", in.code,
                    existing ? std::optional(existing->id) : std::nullopt);
}

}  // namespace hailong
