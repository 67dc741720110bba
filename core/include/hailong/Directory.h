// hailong — the things ratings are about: agencies, counters, officers, procedures, dossiers,
// devices; and the read-only Directory interface that plugins see.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// A unit of the agency tree (province centre, department, commune...). Any depth.
struct Agency {
    std::int64_t id = 0;
    std::string code;
    std::string name;
    std::optional<std::int64_t> parentId;
    std::string path;  ///< "/1/7/12/": ids from the root, for subtree queries
    int depth = 0;
    std::string kind;  ///< free label: "province", "centre", "department", "commune", ...
    std::string address;
    bool active = true;
};

/// A one-stop desk where dossiers are received and returned.
struct Counter {
    std::int64_t id = 0;
    std::string code;
    std::string name;
    std::int64_t agencyId = 0;
    bool active = true;
    std::string surveyId;  ///< the survey its tablets ask; "" for the counter plugin's setting
};

/// A civil servant who handles dossiers and is rated.
struct Officer {
    std::int64_t id = 0;
    std::string code;
    std::string name;
    std::string title;
    std::int64_t agencyId = 0;
    bool active = true;
};

/// An administrative procedure, by its national code.
struct Procedure {
    std::int64_t id = 0;
    std::string code;
    std::string name;
    std::string field;  ///< "Hộ tịch", "Đất đai", ...
    int processingDays = 0;
    std::string online;  ///< "full", "partial", "none"
    bool active = true;
};

/// One citizen's case at an agency, identified by the code on the receipt.
struct Dossier {
    std::int64_t id = 0;
    std::string code;
    std::int64_t agencyId = 0;
    std::optional<std::int64_t> procedureId;
    std::optional<std::int64_t> officerId;
    std::optional<std::int64_t> counterId;
    std::string status;  ///< "received", "supplement", "returned", "cancelled"
    std::int64_t receivedAtMs = 0;
    std::optional<std::int64_t> dueAtMs;
    std::optional<std::int64_t> returnedAtMs;
    std::string phone;  ///< may be empty (none, or erased after the retention time); never exported
    std::string phoneKey;  ///< the phone's keyed hash (Phones::key), kept after the number goes
    std::int64_t updatedAtMs = 0;  ///< when the dossier last changed here
};

/// A tablet or button box at a counter.
struct Device {
    std::int64_t id = 0;
    std::string code;
    std::string name;
    std::int64_t counterId = 0;
    std::string status;  ///< "unpaired", "active", "revoked"
    std::optional<std::int64_t> lastSeenAtMs;
    std::int64_t queued = 0;  ///< ratings the device said it still held, unsent
};

/// Read access to the directory. Thread-safe; every call reads the store.
class Directory {
public:
    virtual ~Directory() = default;
    virtual std::optional<Agency> agency(std::string_view code) const = 0;
    virtual std::optional<Agency> agencyById(std::int64_t id) const = 0;
    virtual std::optional<Counter> counter(std::string_view code) const = 0;
    virtual std::optional<Officer> officer(std::string_view code) const = 0;
    virtual std::optional<Procedure> procedure(std::string_view code) const = 0;
    virtual std::optional<Procedure> procedureById(std::int64_t id) const = 0;
    /// Dossiers in `status` changed after (afterMs, afterId), in (updated_at, id) order, at
    /// most `limit` (10,000): how a channel follows dossiers as they are returned.
    virtual std::vector<Dossier> dossiersChanged(std::string_view status, std::int64_t afterMs,
                                                 std::int64_t afterId, std::size_t limit) const = 0;
    virtual std::optional<Dossier> dossier(std::string_view code) const = 0;
    virtual std::optional<Device> device(std::string_view code) const = 0;
};

}  // namespace hailong
