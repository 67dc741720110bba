#include "index/IndexStore.h"

#include "store/RepeatedStatement.h"
#include "survey/Mood.h"

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>

#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <set>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <vector>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace hailong::index {
namespace {

constexpr Family kFamilies[] = {Family::Agency,    Family::Counter, Family::Officer,
                                Family::Procedure, Family::Total,   Family::ProcedureTotal};
constexpr std::size_t kChunk = 2000;

// Up to `count` of `ids` from `at`, comma-separated for an IN list.
std::string idList(const std::vector<std::int64_t>& ids, std::size_t at, std::size_t count) {
    std::string list;
    for (std::size_t i = at; i < std::min(ids.size(), at + count); ++i)
        list += (i > at ? "," : "") + std::to_string(ids[i]);
    return list;
}

// The grains rollups are kept at: a period is a local day number, the day number of a week's
// Monday, a month number (year * 12 + month - 1), a quarter number (year * 4 + quarter - 1) or
// a year.
enum class Kept { Day, Week, Month, Quarter, Year };

std::string rollup(Family f, Kept k) {
    return std::string(name(f)) + (k == Kept::Day       ? ".day"
                                   : k == Kept::Week    ? ".week"
                                   : k == Kept::Month   ? ".month"
                                   : k == Kept::Quarter ? ".quarter"
                                                        : ".year");
}

std::int64_t periodOf(std::int64_t day, Kept k) {
    return k == Kept::Day       ? day
           : k == Kept::Week    ? bucketStart(day, Grain::Week)
           : k == Kept::Month   ? monthOf(day)
           : k == Kept::Quarter ? monthOf(day) / 3
                                : dateOf(day).year;
}

std::int64_t firstDayOf(std::int64_t period, Kept k) {
    return k == Kept::Day || k == Kept::Week ? period
           : k == Kept::Month                ? firstDayOfMonth(period)
           : k == Kept::Quarter              ? firstDayOfMonth(period * 3)
                                             : firstDayOfMonth(period * 12);
}

std::int64_t lastDayOf(std::int64_t period, Kept k) {
    return k == Kept::Day       ? period
           : k == Kept::Week    ? period + 6
           : k == Kept::Month   ? lastDayOfMonth(period)
           : k == Kept::Quarter ? lastDayOfMonth(period * 3 + 2)
                                : lastDayOfMonth(period * 12 + 11);
}

// Where a range is read from: whole years from year rows, whole months around them from month
// rows, the days at the ends from day rows (for weekly buckets: whole weeks from week rows, the
// days at the ends from day rows); a grain only when the query's buckets do not cut through its
// periods.
struct Span {
    Kept kept;
    std::int64_t from, to;  // periods
};
void plan(std::int64_t fromDay, std::int64_t toDay, Kept coarsest, std::vector<Span>& spans) {
    if (fromDay > toDay) return;
    if (coarsest == Kept::Day) {
        spans.push_back({Kept::Day, fromDay, toDay});
        return;
    }
    const Kept finer = coarsest == Kept::Year      ? Kept::Quarter
                       : coarsest == Kept::Quarter ? Kept::Month
                                                   : Kept::Day;
    std::int64_t first = periodOf(fromDay, coarsest), last = periodOf(toDay, coarsest);
    // The first period that starts in the range, the last that ends in it.
    if (firstDayOf(first, coarsest) < fromDay)
        first = periodOf(lastDayOf(first, coarsest) + 1, coarsest);
    if (lastDayOf(last, coarsest) > toDay)
        last = periodOf(firstDayOf(last, coarsest) - 1, coarsest);
    if (first > last) {
        plan(fromDay, toDay, finer, spans);
        return;
    }
    spans.push_back({coarsest, first, last});
    plan(fromDay, firstDayOf(first, coarsest) - 1, finer, spans);
    plan(lastDayOf(last, coarsest) + 1, toDay, finer, spans);
}

// One stored response as the engine reads it.
struct Stored {
    std::int64_t id = 0;
    std::string surveyId, channel;
    int version = 0;
    std::int64_t agency = 0, counter = 0, officer = 0, procedure = 0;
    std::int64_t day = 0, answeredAt = 0, servedAt = 0;
    std::optional<double> mood;
    ResponseAnswers answers;

    std::int64_t group(Family f) const {
        switch (f) {
            case Family::Agency:
            case Family::Total:
                return 0;
            case Family::Counter:
                return counter;
            case Family::Officer:
                return officer;
            case Family::Procedure:
            case Family::ProcedureTotal:
                return procedure;
        }
        return 0;
    }
};

// Reads the responses that match `where` (a condition on responses r, where $1 is the survey id
// when `surveyId` is given), in id order and in chunks, each with the options it chose; calls
// `each` on every one. Stops after `limit` responses.
template <class F>
void readResponses(Session& s, const std::string& where, const std::string* surveyId,
                   std::size_t limit, F&& each) {
    std::int64_t last = 0;
    std::size_t seen = 0;
    while (seen < limit) {
        const std::size_t chunk = std::min(kChunk, limit - seen);
        std::vector<std::int64_t> id, agency, counter, officer, procedure, answeredAt, servedAt;
        std::vector<std::string> survey, channel;
        std::vector<int> version;
        std::vector<Poco::Nullable<double>> mood;
        {
            Statement select(s);
            select << "SELECT r.id, r.survey_id, r.survey_version, r.channel, "
                      "COALESCE(r.agency_id, 0), COALESCE(r.counter_id, 0), "
                      "COALESCE(r.officer_id, 0), COALESCE(r.procedure_id, 0), r.answered_at, "
                      "r.mood, COALESCE(r.served_at, r.answered_at) FROM responses r WHERE " +
                          where + " AND r.id > " + std::to_string(last) + " ORDER BY r.id LIMIT " +
                          std::to_string(chunk),
                into(id), into(survey), into(version), into(channel), into(agency), into(counter),
                into(officer), into(procedure), into(answeredAt), into(mood), into(servedAt);
            if (surveyId) select, bind(*surveyId);
            select.execute();
        }
        if (id.empty()) return;
        std::vector<Stored> batch(id.size());
        std::string ids;
        for (std::size_t i = 0; i < id.size(); ++i) {
            Stored& r = batch[i];
            r.id = id[i], r.surveyId = std::move(survey[i]), r.version = version[i];
            r.channel = std::move(channel[i]), r.agency = agency[i], r.counter = counter[i];
            r.officer = officer[i], r.procedure = procedure[i], r.day = localDay(answeredAt[i]);
            r.answeredAt = answeredAt[i], r.servedAt = servedAt[i];
            if (!mood[i].isNull()) r.mood = mood[i].value();
            ids += (i ? "," : "") + std::to_string(r.id);
        }
        // The chosen options of exactly these responses (their ids are not contiguous: other
        // surveys' and already folded responses lie between them).
        std::vector<std::int64_t> answerOf;
        std::vector<std::string> question, option;
        s << "SELECT response_id, question_id, value_text FROM answers WHERE response_id IN (" +
                 ids + ") AND value_num IS NOT NULL ORDER BY response_id, question_id, position",
            into(answerOf), into(question), into(option), now;
        std::size_t at = 0;
        for (std::size_t k = 0; k < answerOf.size(); ++k) {
            while (at < batch.size() && batch[at].id < answerOf[k]) ++at;
            if (at == batch.size()) break;
            if (batch[at].id == answerOf[k])
                batch[at].answers[question[k]].push_back(std::move(option[k]));
        }
        for (Stored& r : batch) each(r);
        seen += batch.size();
        last = batch.back().id;
        if (batch.size() < chunk) return;
    }
}

// The survey versions met while reading, looked up once each.
class Versions {
public:
    explicit Versions(const SurveyCatalog& catalog) : catalog_(catalog) {}
    const Survey* get(const std::string& id, int version) {
        auto key = std::make_pair(id, version);
        auto it = cache_.find(key);
        if (it == cache_.end()) it = cache_.emplace(key, catalog_.find(id, version)).first;
        return it->second.get();
    }

private:
    const SurveyCatalog& catalog_;
    std::map<std::pair<std::string, int>, std::shared_ptr<const Survey>> cache_;
};

// Runs an aggregate query on SQLite's own API (the Poco statement's per-value extraction cost as
// much as the query on large reads): `sql` selects period, agency, group, channel, version, item,
// value, n, total, squares with $1 rollup, $2 survey, $3 the first period, $4 the last one unless
// the query asks `single` period, and then, when `within` is not empty, an agency path pattern;
// `row` gets each row. Consecutive rows of the same key are added up here before `row` sees
// them: the rows come in the table's key order, so that a query can leave adding up over
// agencies to this loop, far cheaper than the database's GROUP BY.
template <class Row>
void readSqlite(Session& s, const std::string& sql, const std::string& rollupName,
                const std::string& surveyId, std::int64_t from, bool single, std::int64_t to,
                const std::string& within, Row&& row) {
    sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(s);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
        throw std::runtime_error(std::string("index aggregates: ") + sqlite3_errmsg(db));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owned(st, sqlite3_finalize);
    sqlite3_bind_text(st, 1, rollupName.data(), static_cast<int>(rollupName.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, surveyId.data(), static_cast<int>(surveyId.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from);
    if (!single) sqlite3_bind_int64(st, 4, to);
    if (!within.empty())
        sqlite3_bind_text(st, single ? 4 : 5, within.data(), static_cast<int>(within.size()),
                          SQLITE_STATIC);
    auto view = [&](int col) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col)))
                 : std::string_view();
    };
    struct Pending {
        bool any = false;
        std::int64_t period = 0, agency = 0, group = 0, n = 0;
        std::string channel, item, value;
        int version = 0;
        double total = 0, squares = 0;
    } p;
    auto flush = [&] {
        if (p.any)
            row(p.period, p.agency, p.group, std::move(p.channel), p.version, std::move(p.item),
                std::move(p.value), p.n, p.total, p.squares);
        p.any = false;
    };
    for (;;) {
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW)
            throw std::runtime_error(std::string("index aggregates: ") + sqlite3_errmsg(db));
        const std::int64_t period = sqlite3_column_int64(st, 0),
                           agency = sqlite3_column_int64(st, 1),
                           group = sqlite3_column_int64(st, 2);
        const int version = sqlite3_column_int(st, 4);
        const std::string_view channel = view(3), item = view(5), value = view(6);
        if (!p.any || p.period != period || p.agency != agency || p.group != group ||
            p.version != version || p.channel != channel || p.item != item || p.value != value) {
            flush();
            p.any = true;
            p.period = period, p.agency = agency, p.group = group, p.version = version;
            p.channel = channel, p.item = item, p.value = value;
            p.n = 0, p.total = 0, p.squares = 0;
        }
        p.n += sqlite3_column_int64(st, 7);
        p.total += sqlite3_column_double(st, 8);
        p.squares += sqlite3_column_double(st, 9);
    }
    flush();
}

// Counts raw responses into the cells of `q`: every stored one, or only the tail not folded
// yet. The tail is read through the partial index on unfolded responses alone (filtering on the
// survey in SQL would let the planner scan the survey's every response), then filtered here.
void eachRaw(Session& s, const SurveyCatalog& catalog, const CellQuery& q, bool tailOnly,
             const ResponseVisitor& visit) {
    Versions versions(catalog);
    const std::string condition =
        tailOnly
            ? std::string("r.folded = 0")
            : "r.survey_id = $1 AND r.answered_at >= " + std::to_string(dayStartMs(q.fromDay)) +
                  " AND r.answered_at < " + std::to_string(dayStartMs(q.toDay + 1));
    auto each = [&](const Stored& r) {
        if (r.surveyId != q.surveyId || r.day < q.fromDay || r.day > q.toDay) return;
        if (q.channel && r.channel != *q.channel) return;
        if (q.version && r.version != *q.version) return;
        const std::int64_t group = r.group(q.family);
        if (q.family != Family::Agency && q.family != Family::Total && group == 0) return;
        if (isWholeTree(q.family) && r.agency == 0) return;  // added up over the agencies
        if (q.collapse && q.collapse->unassignedOnly && r.agency != 0) return;
        const Survey* survey = versions.get(r.surveyId, r.version);
        if (!survey) return;
        // The total's cells have no agency, as its rows; a report reads them as its scope's.
        const std::int64_t agency =
            isWholeTree(q.family) ? (q.collapse ? q.collapse->withinAgency : 0) : r.agency;
        visit(Cell{agency, group, r.channel, r.version,
                   q.buckets ? bucketStart(r.day, *q.buckets) : q.fromDay},
              *survey, r.answers);
    };
    readResponses(s, condition, tailOnly ? nullptr : &q.surveyId, static_cast<std::size_t>(-1),
                  each);
}

Cells countRaw(Session& s, const SurveyCatalog& catalog, const CellQuery& q, bool tailOnly) {
    Cells cells;
    eachRaw(s, catalog, q, tailOnly,
            [&](const Cell& c, const Survey& survey, const ResponseAnswers& answers) {
                addResponse(cells[c], survey, answers);
            });
    return cells;
}

}  // namespace

bool hasDays(Family f) {
    return f == Family::Agency || f == Family::Total;
}

const char* name(Family f) {
    switch (f) {
        case Family::Agency:
            return "agency";
        case Family::Counter:
            return "counter";
        case Family::Officer:
            return "officer";
        case Family::Procedure:
            return "procedure";
        case Family::Total:
            return "total";
        case Family::ProcedureTotal:
            return "procedure_total";
    }
    return "";
}

std::optional<Family> wholeTreeOf(Family f) {
    if (f == Family::Agency) return Family::Total;
    if (f == Family::Procedure) return Family::ProcedureTotal;
    return std::nullopt;
}

bool isWholeTree(Family f) {
    return f == Family::Total || f == Family::ProcedureTotal;
}

std::optional<Family> parseFamily(std::string_view text) {
    for (Family f : kFamilies)
        if (text == name(f)) return f;
    return std::nullopt;
}

namespace {

// The aggregate keys, numbers first so that most comparisons never reach the strings.
struct CellKey {
    std::int64_t period, agency, group;
    int family, kept, version;
    std::string surveyId, channel;
    auto operator<=>(const CellKey&) const = default;
};

// What one fold adds: every response read counted once per (day, agency, counter, officer,
// procedure, version, survey, channel), then spread over the rollups' keys. Live traffic has
// few such combinations, so most of the work is one addResponse per response.
struct HourKey {
    std::string surveyId;
    std::int64_t month, agency;
    int slot;
    auto operator<=>(const HourKey&) const = default;
};
struct Contribution {
    std::vector<std::int64_t> ids;
    std::map<CellKey, Tally> cells;
    std::map<HourKey, HourCounts> hours;
};

// Folds only responses read at ingest (their mood is known); unread ones wait in the tail.
constexpr const char* kFoldable = "r.folded = 0 AND r.read_at IS NOT NULL";

Contribution contributionOf(Session& s, const SurveyCatalog& surveys, std::size_t limit) {
    struct BaseKey {
        std::int64_t day, agency, counter, officer, procedure;
        int version;
        std::string surveyId, channel;
        auto operator<=>(const BaseKey&) const = default;
    };
    std::map<BaseKey, Tally> base;
    Contribution out;
    Versions versions(surveys);
    readResponses(s, kFoldable, nullptr, limit, [&](const Stored& r) {
        out.ids.push_back(r.id);
        out.hours[HourKey{r.surveyId, monthOf(r.day), r.agency, hourOfWeek(r.servedAt)}].add(
            r.mood);
        const Survey* survey = versions.get(r.surveyId, r.version);
        if (!survey) return;  // a version this host does not know: counted by the raw path
        addResponse(base[BaseKey{r.day, r.agency, r.counter, r.officer, r.procedure, r.version,
                                 r.surveyId, r.channel}],
                    *survey, r.answers);
    });
    for (const auto& [b, tally] : base)
        for (Family f : kFamilies) {
            const std::int64_t group = f == Family::Counter   ? b.counter
                                       : f == Family::Officer ? b.officer
                                       : f == Family::Procedure || f == Family::ProcedureTotal
                                           ? b.procedure
                                           : 0;
            if (f != Family::Agency && f != Family::Total && group == 0) continue;
            if (isWholeTree(f) && b.agency == 0) continue;
            const std::int64_t agency = isWholeTree(f) ? 0 : b.agency;
            for (Kept kept : {Kept::Day, Kept::Week, Kept::Month, Kept::Quarter, Kept::Year}) {
                if ((kept == Kept::Day || kept == Kept::Week) && !hasDays(f)) continue;
                out.cells[CellKey{periodOf(b.day, kept), agency, group, static_cast<int>(f),
                                  static_cast<int>(kept), b.version, b.surveyId, b.channel}]
                    .merge(tally);
            }
        }
    return out;
}

// Whether any of `ids` was folded already (by another host, since they were read).
bool anyFolded(Session& s, const std::vector<std::int64_t>& ids) {
    for (std::size_t at = 0; at < ids.size(); at += 500) {
        std::int64_t n = 0;
        s << "SELECT COUNT(*) FROM responses WHERE folded = 1 AND id IN (" + idList(ids, at, 500) +
                 ")",
            into(n), now;
        if (n > 0) return true;
    }
    return false;
}

// Adds hour-of-week counts to index_hours, in the caller's transaction.
void storeHours(Session& s, const std::map<HourKey, HourCounts>& hours) {
    if (hours.empty()) return;
    std::vector<std::string> surveyIds;
    std::vector<std::int64_t> months, agencies, responses, rated, unhappy;
    std::vector<int> slots;
    std::vector<double> totals;
    for (const auto& [k, c] : hours) {
        surveyIds.push_back(k.surveyId), months.push_back(k.month), agencies.push_back(k.agency);
        slots.push_back(k.slot), responses.push_back(c.responses), rated.push_back(c.rated);
        unhappy.push_back(c.unhappy), totals.push_back(c.moodTotal);
    }
    RepeatedStatement insert(s);  // bound to vectors: one run per row
    *insert
        << "INSERT INTO index_hours (survey_id, period, agency_id, slot, responses, rated, "
           "unhappy, "
           "mood_total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (survey_id, period, "
           "agency_id, slot) DO UPDATE SET responses = index_hours.responses + excluded.responses, "
           "rated = index_hours.rated + excluded.rated, unhappy = index_hours.unhappy + "
           "excluded.unhappy, mood_total = index_hours.mood_total + excluded.mood_total",
        use(surveyIds), use(months), use(agencies), use(slots), use(responses), use(rated),
        use(unhappy), use(totals);
    insert.execute();
}

// Adds `c` to the aggregates and marks its responses folded, in the caller's transaction.
void store(Session& s, const Contribution& c) {
    storeHours(s, c.hours);
    std::vector<std::string> rollups, surveyIds, channels, items, values;
    std::vector<std::int64_t> periods, agencies, groups, counts;
    std::vector<int> versionsOf;
    std::vector<double> sums, squares;
    for (const auto& [k, tally] : c.cells) {
        for (const TallyRow& row : rowsOf(tally)) {
            rollups.push_back(rollup(static_cast<Family>(k.family), static_cast<Kept>(k.kept)));
            surveyIds.push_back(k.surveyId);
            periods.push_back(k.period), agencies.push_back(k.agency);
            groups.push_back(k.group), channels.push_back(k.channel);
            versionsOf.push_back(k.version), items.push_back(row.item);
            values.push_back(row.value), counts.push_back(row.n);
            sums.push_back(row.sum), squares.push_back(row.squares);
        }
    }
    if (!rollups.empty()) {
        RepeatedStatement insert(s);  // bound to vectors: one run per row
        *insert << "INSERT INTO index_counts (rollup, survey_id, period, agency_id, group_id, "
                   "channel, survey_version, item, value, n, total, squares) VALUES ($1, $2, $3, "
                   "$4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (rollup, survey_id, period, "
                   "agency_id, group_id, channel, survey_version, item, value) DO UPDATE SET "
                   "n = index_counts.n + excluded.n, total = index_counts.total + excluded.total, "
                   "squares = index_counts.squares + excluded.squares",
            use(rollups), use(surveyIds), use(periods), use(agencies), use(groups), use(channels),
            use(versionsOf), use(items), use(values), use(counts), use(sums), use(squares);
        insert.execute();
    }
    for (std::size_t at = 0; at < c.ids.size(); at += 500)
        s << "UPDATE responses SET folded = 1 WHERE id IN (" + idList(c.ids, at, 500) + ")", now;
    const auto folded = static_cast<std::int64_t>(c.ids.size());
    s << "UPDATE index_state SET folded = folded + $1 WHERE id = 1", bind(folded), now;
}

}  // namespace

std::size_t IndexStore::fold(std::size_t limit) {
    // Reading and counting happen outside the write transaction, so ingest keeps the one
    // SQLite writer (or PostgreSQL's state row) except for the short store at the end. Stored
    // responses never change, so what was read is still right if no other host folded any of
    // them meanwhile; if one did, the fold is done again under the lock.
    const Contribution read =
        db_.snapshot([&](Session& s) { return contributionOf(s, surveys_, limit); });
    if (read.ids.empty()) return 0;
    if (afterRead_) afterRead_();
    return db_.write([&](Session& s) -> std::size_t {
        // The state row's lock makes folds take turns across hosts (SQLite's BEGIN IMMEDIATE
        // already does).
        s << "UPDATE index_state SET folds = folds + 1 WHERE id = 1", now;
        if (!anyFolded(s, read.ids)) {
            store(s, read);
            return read.ids.size();
        }
        ++recounts_;
        const Contribution again = contributionOf(s, surveys_, limit);
        store(s, again);
        return again.ids.size();
    });
}

std::int64_t IndexStore::unfolded() {
    return db_.read([](Session& s) {
        std::int64_t n = 0;
        s << "SELECT COUNT(*) FROM responses WHERE folded = 0", into(n), now;
        return n;
    });
}

Cells IndexStore::aggregated(const CellQuery& q) {
    if (!hasDays(q.family) && (firstDayOfMonth(monthOf(q.fromDay)) != q.fromDay ||
                               lastDayOfMonth(monthOf(q.toDay)) != q.toDay ||
                               q.buckets == Grain::Day || q.buckets == Grain::Week))
        throw std::logic_error("index: this family is kept by month only");
    std::vector<Span> spans;
    plan(q.fromDay, q.toDay,
         !q.buckets || q.buckets == Grain::Year ? Kept::Year
         : q.buckets == Grain::Quarter          ? Kept::Quarter
         : q.buckets == Grain::Month            ? Kept::Month
         : q.buckets == Grain::Week             ? Kept::Week
                                                : Kept::Day,
         spans);
    // One bucket for the whole range: its periods are added up as they are read.
    const bool oneBucket = !q.buckets;
    if (oneBucket) {
        // Added up over the range: one query per period, each read in the key's order, beats
        // one query over the range that the database must sort.
        std::vector<Span> each;
        for (const Span& span : spans)
            for (std::int64_t p = span.from; p <= span.to;
                 p = periodOf(lastDayOf(p, span.kept) + 1, span.kept))
                each.push_back({span.kept, p, p});
        spans.swap(each);
    }
    const bool sqlite = db_.backend() == Backend::SQLite;
    return db_.snapshot([&](Session& s) {
        Cells cells;
        Tally* last = nullptr;
        Cell lastCell;
        for (const Span& span : spans) {
            const std::string rollupName = rollup(q.family, span.kept);
            // One period is asked as such: the database then reads the grouping index in order.
            const bool single = span.from == span.to;
            const std::string where =
                std::string(" FROM index_counts WHERE rollup = $1 AND survey_id = $2 AND ") +
                (single ? "period = $3" : "period >= $3 AND period <= $4");
            const std::string withinAt = single ? "$4" : "$5";
            std::string sql;
            if (q.collapse) {
                // Added up over the agencies (and channels, versions) not asked apart: far fewer
                // rows to carry over. On SQLite the rows come in the order of the table's key
                // (migration 10) and readSqlite adds neighbours up; elsewhere the database does.
                const auto& c = *q.collapse;
                const std::string kept = std::string(oneBucket ? "" : "period, ") +
                                         "group_id, item, value" + (c.channels ? ", channel" : "") +
                                         (c.versions ? ", survey_version" : "");
                sql = "SELECT " + std::string(oneBucket ? "0" : "period") + ", " +
                      std::to_string(c.withinAgency) + ", group_id, " +
                      (c.channels ? "channel" : "''") + ", " +
                      (c.versions ? "survey_version" : "0") + ", item, value, " +
                      (sqlite ? "n, total, squares" : "SUM(n), SUM(total), SUM(squares)") + where +
                      (c.unassignedOnly ? std::string(" AND agency_id = 0")
                       : c.within.empty()
                           ? std::string()
                           : " AND agency_id IN (SELECT id FROM agencies WHERE path LIKE " +
                                 withinAt + ")") +
                      (sqlite ? "" : " GROUP BY " + kept);
            } else {
                // Every query reads one period or keeps its periods apart: its rows are
                // distinct already (the table's key).
                sql = std::string("SELECT ") + (oneBucket ? "0" : "period") +
                      ", agency_id, group_id, channel, survey_version, item, value, n, total, "
                      "squares" +
                      where;
            }
            const std::string within =
                q.collapse && !q.collapse->unassignedOnly && !q.collapse->within.empty()
                    ? q.collapse->within + "%"
                    : "";
            auto row = [&](std::int64_t period, std::int64_t agency, std::int64_t group,
                           std::string channel, int version, std::string item, std::string value,
                           std::int64_t n, double total, double squares) {
                if (q.channel && channel != *q.channel) return;
                if (q.version && version != *q.version) return;
                const std::int64_t day = firstDayOf(period, span.kept);
                Cell c{agency, group, std::move(channel), version,
                       q.buckets ? bucketStart(day, *q.buckets) : q.fromDay};
                if (!last || !(c == lastCell)) {  // rows come by cell: look each cell up once
                    last = &cells[c];
                    lastCell = std::move(c);
                }
                addRow(*last, TallyRow{std::move(item), std::move(value), n, total, squares});
            };
            if (sqlite) {
                readSqlite(s, sql, rollupName, q.surveyId, span.from, single, span.to, within, row);
                continue;
            }
            std::vector<std::int64_t> period, agency, group, n;
            std::vector<std::string> channel, item, value;
            std::vector<int> version;
            std::vector<double> total, squares;
            Statement select(s);
            select << sql, bind(rollupName), bind(q.surveyId), bind(span.from);
            if (!single) select, bind(span.to);
            if (!within.empty()) select, bind(within);
            select, into(period), into(agency), into(group), into(channel), into(version),
                into(item), into(value), into(n), into(total), into(squares);
            select.execute();
            for (std::size_t i = 0; i < period.size(); ++i)
                row(period[i], agency[i], group[i], std::move(channel[i]), version[i],
                    std::move(item[i]), std::move(value[i]), n[i], total[i], squares[i]);
        }
        // The real-time tail: responses stored since the last fold.
        for (auto& [cell, tally] : countRaw(s, surveys_, q, true)) cells[cell].merge(tally);
        return cells;
    });
}

void IndexStore::eachResponse(const CellQuery& q, const ResponseVisitor& visit) {
    db_.snapshot([&](Session& s) { eachRaw(s, surveys_, q, false, visit); });
}

Cells IndexStore::raw(const CellQuery& q) {
    return db_.snapshot([&](Session& s) { return countRaw(s, surveys_, q, false); });
}

int hourOfWeek(std::int64_t epochMs) {
    const std::int64_t local = epochMs + kLocalOffsetMs;
    const std::int64_t day = localDay(epochMs);
    const auto hour = static_cast<int>(((local % 86400000) + 86400000) % 86400000 / 3600000);
    const auto weekday = static_cast<int>(((day + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
    return weekday * 24 + hour;
}

void HourCounts::add(const std::optional<double>& mood) {
    ++responses;
    if (!mood) return;
    ++rated;
    moodTotal += *mood;
    if (*mood < kUnhappyBelow) ++unhappy;
}

void HourCounts::merge(const HourCounts& o) {
    responses += o.responses, rated += o.rated, unhappy += o.unhappy, moodTotal += o.moodTotal;
}

namespace {

// The hour-of-week counts of raw responses of `surveyId` answered in the months of [fromDay,
// toDay]: all of them, or only those not folded yet.
void rawHoursInto(Session& s, const std::string& surveyId, std::int64_t fromDay, std::int64_t toDay,
                  bool tailOnly, Hours& out) {
    const std::int64_t first = firstDayOfMonth(monthOf(fromDay)),
                       last = lastDayOfMonth(monthOf(toDay));
    const std::string condition =
        tailOnly ? std::string("r.folded = 0")
                 : "r.survey_id = $1 AND r.answered_at >= " + std::to_string(dayStartMs(first)) +
                       " AND r.answered_at < " + std::to_string(dayStartMs(last + 1));
    readResponses(s, condition, tailOnly ? nullptr : &surveyId, static_cast<std::size_t>(-1),
                  [&](const Stored& r) {
                      if (r.surveyId != surveyId || r.day < first || r.day > last) return;
                      out[{r.agency, hourOfWeek(r.servedAt)}].add(r.mood);
                  });
}

}  // namespace

Hours IndexStore::hours(const std::string& surveyId, std::int64_t fromDay, std::int64_t toDay) {
    return db_.snapshot([&](Session& s) {
        Hours out;
        std::vector<std::int64_t> agency, responses, rated, unhappy;
        std::vector<int> slot;
        std::vector<double> total;
        std::string survey = surveyId;
        std::int64_t from = monthOf(fromDay), to = monthOf(toDay);
        s << "SELECT agency_id, slot, SUM(responses), SUM(rated), SUM(unhappy), SUM(mood_total) "
             "FROM index_hours WHERE survey_id = $1 AND period >= $2 AND period <= $3 GROUP BY "
             "agency_id, slot",
            use(survey), use(from), use(to), into(agency), into(slot), into(responses), into(rated),
            into(unhappy), into(total), now;
        for (std::size_t i = 0; i < agency.size(); ++i)
            out[{agency[i], slot[i]}].merge(
                HourCounts{responses[i], rated[i], unhappy[i], total[i]});
        rawHoursInto(s, surveyId, fromDay, toDay, true, out);
        return out;
    });
}

std::map<int, HourCounts> IndexStore::hoursWithin(const std::string& surveyId, std::int64_t fromDay,
                                                  std::int64_t toDay,
                                                  const std::string& scopePath) {
    return db_.snapshot([&](Session& s) {
        std::map<int, HourCounts> out;
        std::vector<std::int64_t> responses, rated, unhappy, scopeIds;
        std::vector<int> slot;
        std::vector<double> total;
        std::string survey = surveyId, like = scopePath + "%";
        std::int64_t from = monthOf(fromDay), to = monthOf(toDay);
        Statement select(s);
        select << "SELECT slot, SUM(responses), SUM(rated), SUM(unhappy), SUM(mood_total) FROM "
                  "index_hours WHERE survey_id = $1 AND period >= $2 AND period <= $3" +
                      std::string(scopePath.empty() ? ""
                                                    : " AND agency_id IN (SELECT id FROM "
                                                      "agencies WHERE path LIKE $4)") +
                      " GROUP BY slot",
            use(survey), use(from), use(to);
        if (!scopePath.empty()) select, use(like);
        select, into(slot), into(responses), into(rated), into(unhappy), into(total);
        select.execute();
        for (std::size_t i = 0; i < slot.size(); ++i)
            out[slot[i]].merge(HourCounts{responses[i], rated[i], unhappy[i], total[i]});
        // The real-time tail, kept to the subtree.
        Hours tail;
        rawHoursInto(s, surveyId, fromDay, toDay, true, tail);
        if (tail.empty()) return out;
        if (!scopePath.empty())
            s << "SELECT id FROM agencies WHERE path LIKE $1", use(like), into(scopeIds), now;
        const std::set<std::int64_t> inScope(scopeIds.begin(), scopeIds.end());
        for (const auto& [cell, counts] : tail)
            if (scopePath.empty() || inScope.contains(cell.first)) out[cell.second].merge(counts);
        return out;
    });
}

Hours IndexStore::rawHours(const std::string& surveyId, std::int64_t fromDay, std::int64_t toDay) {
    return db_.snapshot([&](Session& s) {
        Hours out;
        rawHoursInto(s, surveyId, fromDay, toDay, false, out);
        return out;
    });
}

void IndexStore::addFoldedHours(Session& s, const std::vector<HourSample>& samples) {
    std::map<HourKey, HourCounts> hours;
    for (const HourSample& h : samples)
        hours[HourKey{h.surveyId, monthOf(localDay(h.answeredAt)), h.agency,
                      hourOfWeek(h.servedAt)}]
            .add(h.mood);
    storeHours(s, hours);
}

std::optional<std::pair<std::int64_t, std::int64_t>> IndexStore::span(const std::string& surveyId) {
    // The folded days from the day rollup's key, the rest from the tail: no scan of responses.
    return db_.snapshot([&](Session& s) -> std::optional<std::pair<std::int64_t, std::int64_t>> {
        Poco::Nullable<std::int64_t> first, last;
        // Two subqueries: each is one seek along the key (MIN and MAX together scan every row).
        s << "SELECT (SELECT MIN(period) FROM index_counts WHERE rollup = 'agency.day' AND "
             "survey_id = $1), (SELECT MAX(period) FROM index_counts WHERE rollup = 'agency.day' "
             "AND survey_id = $2)",
            bind(surveyId), bind(surveyId), into(first), into(last), now;
        std::optional<std::pair<std::int64_t, std::int64_t>> out;
        if (!first.isNull() && !last.isNull()) out = std::make_pair(first.value(), last.value());
        readResponses(s, "r.folded = 0", nullptr, static_cast<std::size_t>(-1),
                      [&](const Stored& r) {
                          if (r.surveyId != surveyId) return;
                          if (!out) out = std::make_pair(r.day, r.day);
                          out->first = std::min(out->first, r.day);
                          out->second = std::max(out->second, r.day);
                      });
        return out;
    });
}

}  // namespace hailong::index
