// hailong — DirectoryStore: agencies, counters, officers, procedures, dossiers and devices in
// the database; the Directory that plugins read, plus the writes the API and imports make.
#pragma once

#include "store/Database.h"

#include <hailong/Directory.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hailong {

class TextNormalizer;

// Inputs name their references by code, as other systems do. Empty optional = leave as is.
struct AgencyInput {
    std::string code, name, parentCode, kind, address;
    std::optional<bool> active;
};
struct CounterInput {
    std::string code, name, agencyCode;
    std::optional<bool> active;
    std::optional<std::string> surveyId =
        std::nullopt;  ///< nullopt: kept; "": the plugin's setting
};
struct OfficerInput {
    std::string code, name, title, agencyCode;
    std::optional<bool> active;
};
struct ProcedureInput {
    std::string code, name, field, online;
    std::optional<int> processingDays;
    std::optional<bool> active;
};
struct DossierInput {
    std::string code, agencyCode, procedureCode, officerCode, counterCode, status, phone;
    std::optional<std::int64_t> receivedAtMs, dueAtMs, returnedAtMs;
};
struct DeviceInput {
    std::string code, name, counterCode;
};

enum class SaveOutcome { Created, Updated, Unchanged };

/// Which rows to list. Paging is bounded (limit at most 1000).
struct ListQuery {
    std::string agencyCode;  ///< restrict to this agency's subtree ("" = everything)
    std::string search;      ///< accent-insensitive substring of the name or code
    std::optional<std::int64_t> fromMs, toMs;  ///< dossiers: received in [from, to)
    int limit = 100;
    int offset = 0;
};

/// Reads and writes the directory. Thread-safe (every call uses its own pooled session or the
/// caller's session). Writes validate their input and throw Problem(422) with field errors;
/// nothing is written when they throw.
class DirectoryStore final : public Directory {
public:
    DirectoryStore(Database& db, const TextNormalizer& text);
    ~DirectoryStore() override;

    // Directory
    std::optional<Agency> agency(std::string_view code) const override;
    std::optional<Agency> agencyById(std::int64_t id) const override;
    std::optional<Counter> counterById(std::int64_t id) const;
    std::optional<Counter> counter(std::string_view code) const override;
    std::optional<Officer> officer(std::string_view code) const override;
    std::optional<Procedure> procedure(std::string_view code) const override;
    std::optional<Procedure> procedureById(std::int64_t id) const override;
    std::vector<Dossier> dossiersChanged(std::string_view status, std::int64_t afterMs,
                                         std::int64_t afterId, std::size_t limit) const override;
    std::optional<Dossier> dossier(std::string_view code) const override;
    std::optional<Device> device(std::string_view code) const override;
    /// The dossier as the caller's transaction sees it.
    std::optional<Dossier> dossier(Poco::Data::Session& s, std::string_view code) const;

    // Writes in their own transaction.
    SaveOutcome save(const AgencyInput& in);
    SaveOutcome save(const CounterInput& in);
    SaveOutcome save(const OfficerInput& in);
    SaveOutcome save(const ProcedureInput& in);
    SaveOutcome save(const DossierInput& in);
    SaveOutcome save(const DeviceInput& in);

    /// Waits for this host's and other hosts' directory writes to finish (PostgreSQL), so that
    /// what the caller's transaction reads next stays true until it commits. The saves below
    /// do it themselves; call it first when a decision read earlier feeds a save.
    void takeWriteTurn(Poco::Data::Session& s) const;

    // Writes inside the caller's transaction (imports).
    SaveOutcome save(Poco::Data::Session& s, const AgencyInput& in);
    SaveOutcome save(Poco::Data::Session& s, const CounterInput& in);
    SaveOutcome save(Poco::Data::Session& s, const OfficerInput& in);
    SaveOutcome save(Poco::Data::Session& s, const ProcedureInput& in);
    SaveOutcome save(Poco::Data::Session& s, const DossierInput& in);
    SaveOutcome save(Poco::Data::Session& s, const DeviceInput& in);

    std::vector<Agency> agencies(const ListQuery& q) const;
    std::vector<Agency> children(std::optional<std::int64_t> parentId) const;
    std::vector<Counter> counters(const ListQuery& q) const;
    std::vector<Officer> officers(const ListQuery& q) const;
    std::vector<Procedure> procedures(const ListQuery& q) const;
    std::vector<Dossier> dossiers(const ListQuery& q) const;
    std::vector<Device> devices(const ListQuery& q) const;

    /// Codes of the given ids in `table` ("agencies", "counters", ...), one query.
    std::map<std::int64_t, std::string> codes(std::string_view table,
                                              const std::set<std::int64_t>& ids) const;
    /// Row counts per table, for health and the demo loader.
    std::int64_t count(std::string_view table) const;

    Database& database() { return db_; }
    const TextNormalizer& text() const { return text_; }

    /// Forgets the cached lookups (agencies, counters, officers, procedures, devices by code
    /// or id): every write here does it; so must a write to those tables made elsewhere.
    void forgetCached() const;
    /// Counts forgetCached() calls: a cache kept elsewhere from directory rows (the device
    /// sessions) compares it to know that a write here has made it stale.
    std::uint64_t generation() const noexcept { return generation_.load(); }
    /// How a dossier's phone becomes its stored key (the host's Phones::key); without it, no
    /// key is stored. Set once, before any write.
    void setPhoneKey(std::function<std::string(std::string_view)> key) {
        phoneKey_ = std::move(key);
    }

private:
    void serialize(Poco::Data::Session& s) const;

    Database& db_;
    const TextNormalizer& text_;
    // Lookups by code and id are kept two seconds (ingest asks them for every response); a
    // write on another host is seen within that time.
    struct Caches;
    std::unique_ptr<Caches> caches_;
    mutable std::atomic<std::uint64_t> generation_{0};
    std::function<std::string(std::string_view)> phoneKey_;
};

const char* toString(SaveOutcome o);

}  // namespace hailong
