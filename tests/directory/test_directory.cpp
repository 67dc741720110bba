// hailong tests — DirectoryStore: the agency tree, references, validation, normalization,
// search and paging, on SQLite and on PostgreSQL.
#include "directory/DirectoryStore.h"
#include "support/TestSupport.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Problem.h>

#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace hailong;

template <>
struct Catch::StringMaker<hailong::SaveOutcome> {
    static std::string convert(hailong::SaveOutcome o) { return hailong::toString(o); }
};

namespace {

// Runs `body` once per backend, each in its own section with a fresh migrated database.
void onEachBackend(const std::function<void(Database&, DirectoryStore&)>& body) {
    test::onEachBackend([&](Backend b) {
        test::TestDatabase tdb(b);
        IcuTextNormalizer text;
        DirectoryStore store(tdb.migrated(), text);
        body(tdb.db(), store);
    });
}

using test::problemOf;

bool hasError(const Problem& p, const std::string& field, const std::string& code) {
    return test::hasError(p.errors(), field, code);
}

std::string describe(const Problem& p) {
    std::string out = std::to_string(p.status()) + " " + p.code() + " [";
    for (const FieldError& e : p.errors()) out += " " + e.field + ":" + e.code;
    return out + " ]";
}

template <class T>
std::set<std::string> codesOf(const std::vector<T>& items) {
    std::set<std::string> out;
    for (const T& item : items) out.insert(item.code);
    return out;
}

Agency mustAgency(const DirectoryStore& store, const std::string& code) {
    auto a = store.agency(code);
    REQUIRE(a.has_value());
    return *a;
}

AgencyInput agencyIn(const std::string& code, const std::string& name,
                     const std::string& parent = "") {
    AgencyInput in;
    in.code = code, in.name = name, in.parentCode = parent;
    return in;
}

// Everything about every agency, to prove that a refused write changed nothing.
std::map<std::string, std::string> snapshot(const DirectoryStore& store) {
    std::map<std::string, std::string> out;
    ListQuery all;
    all.limit = 1000;
    for (const Agency& a : store.agencies(all))
        out[a.code] = a.name + "|" + a.path + "|" + std::to_string(a.depth) + "|" +
                      (a.parentId ? std::to_string(*a.parentId) : "-") + "|" + a.kind + "|" +
                      a.address + "|" + (a.active ? "1" : "0");
    return out;
}

constexpr std::int64_t kHour = 3600 * 1000;
constexpr std::int64_t kT0 = 1741050900000;  // 2025-03-04T01:15:00Z

}  // namespace

TEST_CASE("DirectoryStore keeps agencies as a tree of any depth", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        // Five levels under ROOT, a sibling branch, a second root, and enough agencies for
        // ids of two digits (so "/1/" must not be read as a prefix of "/11/").
        const std::vector<std::pair<std::string, std::string>> chain{
            {"ROOT", ""}, {"L1", "ROOT"}, {"L2", "L1"}, {"L3", "L2"}, {"L4", "L3"}};
        for (const auto& [code, parent] : chain)
            REQUIRE(store.save(agencyIn(code, "Đơn vị " + code, parent)) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("SIB", "Chi nhánh", "ROOT")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("SIBKID", "Con chi nhánh", "SIB")) == SaveOutcome::Created);
        for (int i = 0; i < 6; ++i)
            REQUIRE(store.save(agencyIn("OTHER" + std::to_string(i), "Khác",
                                        i == 0 ? "" : "OTHER0")) == SaveOutcome::Created);

        const Agency root = mustAgency(store, "ROOT");
        CHECK(root.depth == 0);
        CHECK_FALSE(root.parentId.has_value());
        CHECK(root.path == "/" + std::to_string(root.id) + "/");
        CHECK(root.name == "Đơn vị ROOT");

        Agency parent = root;
        for (std::size_t level = 1; level < chain.size(); ++level) {
            const Agency a = mustAgency(store, chain[level].first);
            CHECK(a.depth == static_cast<int>(level));
            REQUIRE(a.parentId.has_value());
            CHECK(*a.parentId == parent.id);
            CHECK(a.path == parent.path + std::to_string(a.id) + "/");
            parent = a;
        }
        const Agency l4 = mustAgency(store, "L4");
        CHECK(l4.depth == 4);
        auto byId = store.agencyById(l4.id);
        REQUIRE(byId.has_value());
        CHECK(byId->code == "L4");
        CHECK_FALSE(store.agencyById(l4.id + 1000).has_value());
        CHECK_FALSE(store.agency("NOPE").has_value());

        CHECK(codesOf(store.children(std::nullopt)) == std::set<std::string>{"ROOT", "OTHER0"});
        CHECK(codesOf(store.children(root.id)) == std::set<std::string>{"L1", "SIB"});
        CHECK(codesOf(store.children(mustAgency(store, "L3").id)) == std::set<std::string>{"L4"});
        CHECK(store.children(l4.id).empty());
        CHECK(codesOf(store.children(mustAgency(store, "OTHER0").id)).size() == 5);

        ListQuery q;
        q.agencyCode = "ROOT";
        CHECK(codesOf(store.agencies(q)) ==
              std::set<std::string>{"ROOT", "L1", "L2", "L3", "L4", "SIB", "SIBKID"});
        q.agencyCode = "L2";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"L2", "L3", "L4"});
        q.agencyCode = "L4";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"L4"});
        q.agencyCode = "SIB";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"SIB", "SIBKID"});
        q.agencyCode = "OTHER0";
        CHECK(store.agencies(q).size() == 6);
        q.agencyCode = "";
        CHECK(store.agencies(q).size() == 13);
        CHECK(store.count("agencies") == 13);

        // Listing a subtree of an unknown agency is a 404, not an empty list.
        q.agencyCode = "NOPE";
        const Problem p = problemOf([&] { store.agencies(q); });
        CHECK(p.status() == 404);
        CHECK(p.code() == "directory.not_found");

        // A parent that does not exist is refused.
        const Problem orphan = problemOf([&] { store.save(agencyIn("ORPHAN", "Mồ côi", "NOPE")); });
        CHECK(orphan.status() == 422);
        CHECK(hasError(orphan, "parent", "directory.unknown_reference"));
        CHECK(store.count("agencies") == 13);
        CHECK_FALSE(store.agency("ORPHAN").has_value());
    });
}

TEST_CASE("Moving an agency moves its whole subtree and cycles are refused", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        // A > B > C > D, and X > Y > Z elsewhere.
        REQUIRE(store.save(agencyIn("A", "A")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("B", "B", "A")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("C", "C", "B")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("D", "D", "C")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("X", "X")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("Y", "Y", "X")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("Z", "Z", "Y")) == SaveOutcome::Created);

        auto checkChain = [&](const std::vector<std::string>& codes) {
            Agency up = mustAgency(store, codes.front());
            for (std::size_t i = 1; i < codes.size(); ++i) {
                const Agency a = mustAgency(store, codes[i]);
                INFO(codes[i] << " path " << a.path);
                REQUIRE(a.parentId.has_value());
                CHECK(*a.parentId == up.id);
                CHECK(a.depth == up.depth + 1);
                CHECK(a.path == up.path + std::to_string(a.id) + "/");
                up = a;
            }
        };

        // B (with C and D) moves under Z: two levels deeper.
        REQUIRE(store.save(agencyIn("B", "B", "Z")) == SaveOutcome::Updated);
        checkChain({"X", "Y", "Z", "B", "C", "D"});
        CHECK(mustAgency(store, "D").depth == 5);
        ListQuery q;
        q.agencyCode = "A";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"A"});
        q.agencyCode = "Y";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"Y", "Z", "B", "C", "D"});

        // C (with D) moves up to the top level.
        REQUIRE(store.save(agencyIn("C", "C", "")) == SaveOutcome::Updated);
        const Agency c = mustAgency(store, "C");
        CHECK(c.depth == 0);
        CHECK_FALSE(c.parentId.has_value());
        CHECK(c.path == "/" + std::to_string(c.id) + "/");
        checkChain({"C", "D"});
        CHECK(mustAgency(store, "D").depth == 1);
        q.agencyCode = "X";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"X", "Y", "Z", "B"});
        CHECK(codesOf(store.children(std::nullopt)) == std::set<std::string>{"A", "X", "C"});

        // X (with Y, Z, B) moves under D.
        REQUIRE(store.save(agencyIn("X", "X", "D")) == SaveOutcome::Updated);
        checkChain({"C", "D", "X", "Y", "Z", "B"});
        q.agencyCode = "C";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"C", "D", "X", "Y", "Z", "B"});

        // Refusals: under its own descendant (near and far), under itself.
        const auto before = snapshot(store);
        for (const auto& [code, parent] : std::vector<std::pair<std::string, std::string>>{
                 {"C", "D"}, {"C", "B"}, {"X", "Z"}, {"Y", "Y"}}) {
            INFO(code << " under " << parent);
            AgencyInput in = agencyIn(code, "Tên mới", parent);
            in.address = "Somewhere";
            const Problem p = problemOf([&] { store.save(in); });
            INFO(describe(p));
            CHECK(p.status() == 422);
            CHECK(hasError(p, "parent", "directory.agency_cycle"));
            CHECK(snapshot(store) == before);
        }
    });
}

TEST_CASE("Saves report Created then Unchanged then Updated", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        AgencyInput a = agencyIn("SO-TP", "Sở Tư pháp");
        a.kind = "department";
        a.address = "1 Lê Lợi";
        CHECK(store.save(a) == SaveOutcome::Created);
        CHECK(store.save(a) == SaveOutcome::Unchanged);
        a.address = "2 Lê Lợi";
        CHECK(store.save(a) == SaveOutcome::Updated);
        CHECK(mustAgency(store, "SO-TP").address == "2 Lê Lợi");
        CHECK(store.save(a) == SaveOutcome::Unchanged);
        a.active = false;
        CHECK(store.save(a) == SaveOutcome::Updated);
        CHECK_FALSE(mustAgency(store, "SO-TP").active);
        a.active.reset();  // leave as is
        CHECK(store.save(a) == SaveOutcome::Unchanged);
        CHECK_FALSE(mustAgency(store, "SO-TP").active);
        CHECK(store.count("agencies") == 1);

        CounterInput c{"Q1", "Quầy 1", "SO-TP", std::nullopt};
        CHECK(store.save(c) == SaveOutcome::Created);
        CHECK(store.save(c) == SaveOutcome::Unchanged);
        c.name = "Quầy số 1";
        CHECK(store.save(c) == SaveOutcome::Updated);
        REQUIRE(store.counter("Q1").has_value());
        CHECK(store.counter("Q1")->name == "Quầy số 1");
        CHECK(store.counter("Q1")->agencyId == mustAgency(store, "SO-TP").id);

        OfficerInput o{"CB1", "Nguyễn Văn An", "Chuyên viên", "SO-TP", std::nullopt};
        CHECK(store.save(o) == SaveOutcome::Created);
        CHECK(store.save(o) == SaveOutcome::Unchanged);
        o.title = "Trưởng phòng";
        CHECK(store.save(o) == SaveOutcome::Updated);
        REQUIRE(store.officer("CB1").has_value());
        CHECK(store.officer("CB1")->title == "Trưởng phòng");

        ProcedureInput p{"1.000656", "Đăng ký khai sinh", "Hộ tịch", "full", 3, std::nullopt};
        CHECK(store.save(p) == SaveOutcome::Created);
        CHECK(store.save(p) == SaveOutcome::Unchanged);
        p.processingDays = 5;
        CHECK(store.save(p) == SaveOutcome::Updated);
        p.processingDays.reset();  // leave as is
        CHECK(store.save(p) == SaveOutcome::Unchanged);
        REQUIRE(store.procedure("1.000656").has_value());
        CHECK(store.procedure("1.000656")->processingDays == 5);
        CHECK(store.procedure("1.000656")->online == "full");

        DeviceInput d{"TAB-1", "Máy tính bảng", "Q1"};
        CHECK(store.save(d) == SaveOutcome::Created);
        CHECK(store.save(d) == SaveOutcome::Unchanged);
        d.name = "Máy tính bảng 2";
        CHECK(store.save(d) == SaveOutcome::Updated);
        REQUIRE(store.device("TAB-1").has_value());
        CHECK(store.device("TAB-1")->status == "unpaired");
        CHECK(store.device("TAB-1")->counterId == store.counter("Q1")->id);

        DossierInput h;
        h.code = "HS-001", h.agencyCode = "SO-TP", h.receivedAtMs = kT0;
        CHECK(store.save(h) == SaveOutcome::Created);
        CHECK(store.save(h) == SaveOutcome::Unchanged);
        h.counterCode = "Q1";
        CHECK(store.save(h) == SaveOutcome::Updated);
        REQUIRE(store.dossier("HS-001").has_value());
        CHECK(store.dossier("HS-001")->counterId == store.counter("Q1")->id);

        CHECK(std::string(toString(SaveOutcome::Created)) == "created");
        CHECK(std::string(toString(SaveOutcome::Updated)) == "updated");
        CHECK(std::string(toString(SaveOutcome::Unchanged)) == "unchanged");
    });
}

TEST_CASE("Counters and officers and devices and dossiers need existing references",
          "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        REQUIRE(store.save(agencyIn("A1", "Ủy ban xã")) == SaveOutcome::Created);

        auto refused = [&](const std::function<void()>& fn, const char* table,
                           const std::string& field, const std::string& code) {
            const std::int64_t before = store.count(table);
            const Problem p = problemOf(fn);
            INFO(describe(p));
            CHECK(p.status() == 422);
            CHECK(p.code() == "directory.invalid");
            CHECK(hasError(p, field, code));
            CHECK(store.count(table) == before);
            return p;
        };

        const Problem pc = refused(
            [&] {
                store.save(CounterInput{"Q1", "Quầy", "NOPE", {}});
            },
            "counters", "agency", "directory.unknown_reference");
        REQUIRE(pc.errors().size() == 1);
        CHECK(pc.errors().front().params.at("code") == "NOPE");
        refused(
            [&] {
                store.save(CounterInput{"Q1", "Quầy", "", {}});
            },
            "counters", "agency", "field.required");
        refused(
            [&] {
                store.save(OfficerInput{"CB1", "Lê Thị Hoa", "", "NOPE", {}});
            },
            "officers", "agency", "directory.unknown_reference");
        refused(
            [&] {
                store.save(DeviceInput{"TAB", "Máy", "NOPE"});
            },
            "devices", "counter", "directory.unknown_reference");

        DossierInput h;
        h.code = "HS1", h.agencyCode = "NOPE", h.receivedAtMs = kT0;
        refused([&] { store.save(h); }, "dossiers", "agency", "directory.unknown_reference");
        h.agencyCode = "A1", h.counterCode = "NOPE";
        refused([&] { store.save(h); }, "dossiers", "counter", "directory.unknown_reference");

        // An update with a bad reference leaves the row as it was.
        REQUIRE(store.save(CounterInput{"Q1", "Quầy", "A1", {}}) == SaveOutcome::Created);
        refused(
            [&] {
                store.save(CounterInput{"Q1", "Quầy mới", "NOPE", {}});
            },
            "counters", "agency", "directory.unknown_reference");
        REQUIRE(store.counter("Q1").has_value());
        CHECK(store.counter("Q1")->name == "Quầy");
        CHECK(store.counter("Q1")->agencyId == mustAgency(store, "A1").id);

        CHECK(store.save(DeviceInput{"TAB", "Máy", "Q1"}) == SaveOutcome::Created);
        CHECK(store.count("devices") == 1);
        CHECK(store.count("counters") == 1);
        CHECK(store.count("officers") == 0);
        CHECK(store.count("dossiers") == 0);
    });
}

TEST_CASE("Codes and names are validated and names are stored in NFC", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        Problem p = problemOf([&] { store.save(agencyIn("X Y", "Tên")); });
        CHECK(p.status() == 422);
        CHECK(hasError(p, "code", "directory.code_chars"));
        p = problemOf([&] { store.save(agencyIn("Mã", "Tên")); });
        CHECK(hasError(p, "code", "directory.code_chars"));
        p = problemOf([&] { store.save(agencyIn("", "Tên")); });
        CHECK(hasError(p, "code", "field.required"));
        p = problemOf([&] { store.save(agencyIn(std::string(65, 'A'), "Tên")); });
        CHECK(hasError(p, "code", "field.too_long"));
        p = problemOf([&] { store.save(agencyIn("OK", "")); });
        CHECK(hasError(p, "name", "field.required"));
        p = problemOf([&] { store.save(agencyIn("OK", " \t ")); });
        CHECK(hasError(p, "name", "field.required"));
        // Both complaints at once.
        p = problemOf([&] { store.save(CounterInput{"Q 1", "", "", {}}); });
        CHECK(hasError(p, "code", "directory.code_chars"));
        CHECK(hasError(p, "name", "field.required"));
        CHECK(hasError(p, "agency", "field.required"));
        CHECK(store.count("agencies") == 0);
        CHECK(store.count("counters") == 0);

        // Codes may use . _ - : and are trimmed; '/' would break the API's paths.
        CHECK(store.save(agencyIn(" 01.TP_HN-2:a ", "Tên")) == SaveOutcome::Created);
        CHECK(store.agency("01.TP_HN-2:a").has_value());
        p = problemOf([&] { store.save(agencyIn("12/2025", "Tên")); });
        CHECK(hasError(p, "code", "directory.code_chars"));

        // "Hồ sơ" typed with combining marks (NFD) is stored composed (NFC), spaces tidied.
        const std::string nfd = "Ho\xCC\x82\xCC\x80  so\xCC\x9B ";
        const std::string nfc = "H\xE1\xBB\x93 s\xC6\xA1";
        REQUIRE(nfd != nfc);
        CHECK(store.save(agencyIn("HOSO", nfd)) == SaveOutcome::Created);
        CHECK(mustAgency(store, "HOSO").name == nfc);
        // The same name in NFC is the same name.
        CHECK(store.save(agencyIn("HOSO", nfc)) == SaveOutcome::Unchanged);
        CHECK(store.save(OfficerInput{"CB", nfd, nfd, "HOSO", {}}) == SaveOutcome::Created);
        REQUIRE(store.officer("CB").has_value());
        CHECK(store.officer("CB")->name == nfc);
        CHECK(store.officer("CB")->title == nfc);
        // Searching finds it by either form.
        ListQuery q;
        q.search = nfd;
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"HOSO"});
        q.search = "ho so";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"HOSO"});

        // Invalid UTF-8 in a name is a field error, not a crash.
        p = problemOf([&] { store.save(agencyIn("BAD", "T\xFF")); });
        CHECK(p.status() == 422);
        CHECK(hasError(p, "name", "text.invalid_utf8"));
        CHECK_FALSE(store.agency("BAD").has_value());
    });
}

TEST_CASE("Dossiers are validated and normalized", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        REQUIRE(store.save(agencyIn("A1", "UBND phường")) == SaveOutcome::Created);
        REQUIRE(store.save(CounterInput{"Q1", "Quầy 1", "A1", {}}) == SaveOutcome::Created);
        REQUIRE(store.save(OfficerInput{"CB1", "Trần Văn Bình", "", "A1", {}}) ==
                SaveOutcome::Created);
        REQUIRE(store.save(ProcedureInput{"1.001", "Khai sinh", "", "", {}, {}}) ==
                SaveOutcome::Created);

        auto base = [] {
            DossierInput d;
            d.code = "HS1", d.agencyCode = "A1", d.receivedAtMs = kT0;
            return d;
        };
        auto refused = [&](const DossierInput& in, const std::string& field,
                           const std::string& code) {
            const Problem p = problemOf([&] { store.save(in); });
            INFO(describe(p));
            CHECK(p.status() == 422);
            CHECK(hasError(p, field, code));
            CHECK(store.count("dossiers") == 0);
        };

        DossierInput d = base();
        d.procedureCode = "9.999";
        refused(d, "procedure", "directory.unknown_reference");
        d = base();
        d.officerCode = "CB404";
        refused(d, "officer", "directory.unknown_reference");
        d = base();
        d.returnedAtMs = kT0 - 1;
        refused(d, "returned_at", "dossier.returned_before_received");
        d = base();
        d.dueAtMs = kT0 - kHour;
        refused(d, "due_at", "dossier.due_before_received");
        d = base();
        d.receivedAtMs.reset();
        refused(d, "received_at", "field.required");
        d = base();
        d.phone = "09abc12345";
        refused(d, "phone", "phone.invalid");
        d = base();
        d.phone = "0123";
        refused(d, "phone", "phone.invalid");
        d = base();
        d.status = "done";
        refused(d, "status", "field.one_of");
        d = base();
        d.code = "HS 1";
        refused(d, "code", "directory.code_chars");

        // A complete dossier.
        d = base();
        d.procedureCode = "1.001", d.officerCode = "CB1", d.counterCode = "Q1";
        d.phone = "0912 345 678";
        d.dueAtMs = kT0 + 72 * kHour;
        CHECK(store.save(d) == SaveOutcome::Created);
        auto got = store.dossier("HS1");
        REQUIRE(got.has_value());
        CHECK(got->phone == "84912345678");
        CHECK(got->status == "received");
        CHECK(got->agencyId == mustAgency(store, "A1").id);
        CHECK(got->procedureId == std::optional<std::int64_t>(store.procedure("1.001")->id));
        CHECK(got->officerId == std::optional<std::int64_t>(store.officer("CB1")->id));
        CHECK(got->counterId == std::optional<std::int64_t>(store.counter("Q1")->id));
        CHECK(got->receivedAtMs == kT0);
        CHECK(got->dueAtMs == std::optional<std::int64_t>(kT0 + 72 * kHour));
        CHECK_FALSE(got->returnedAtMs.has_value());
        // The same number written differently is the same number.
        d.phone = "+84 912.345.678";
        CHECK(store.save(d) == SaveOutcome::Unchanged);

        // Returned without a status: "returned". Returned at the moment of receipt is fine.
        DossierInput r = base();
        r.code = "HS2", r.returnedAtMs = kT0;
        CHECK(store.save(r) == SaveOutcome::Created);
        REQUIRE(store.dossier("HS2").has_value());
        CHECK(store.dossier("HS2")->status == "returned");
        CHECK(store.dossier("HS2")->returnedAtMs == std::optional<std::int64_t>(kT0));
        CHECK(store.dossier("HS2")->phone.empty());
        // An explicit status wins.
        r.code = "HS3", r.status = "cancelled";
        CHECK(store.save(r) == SaveOutcome::Created);
        CHECK(store.dossier("HS3")->status == "cancelled");
        CHECK(store.count("dossiers") == 3);
    });
}

TEST_CASE("Saving a dossier without its optional times leaves them as they are",
          "[directory][dossier]") {
    // DirectoryStore.h: "Empty optional = leave as is."
    onEachBackend([](Database&, DirectoryStore& store) {
        REQUIRE(store.save(agencyIn("A1", "UBND phường")) == SaveOutcome::Created);
        DossierInput full;
        full.code = "HS1", full.agencyCode = "A1", full.status = "returned";
        full.receivedAtMs = kT0, full.dueAtMs = kT0 + 72 * kHour;
        full.returnedAtMs = kT0 + 24 * kHour;
        REQUIRE(store.save(full) == SaveOutcome::Created);

        DossierInput partial;
        partial.code = "HS1", partial.agencyCode = "A1", partial.status = "returned";
        CHECK(store.save(partial) == SaveOutcome::Unchanged);
        auto got = store.dossier("HS1");
        REQUIRE(got.has_value());
        CHECK(got->receivedAtMs == kT0);
        CHECK(got->dueAtMs == std::optional<std::int64_t>(kT0 + 72 * kHour));
        CHECK(got->returnedAtMs == std::optional<std::int64_t>(kT0 + 24 * kHour));
    });
}

TEST_CASE("Search is accent- and case-insensitive", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        REQUIRE(store.save(agencyIn("HN", "Hà Nội")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("DN", "Đà Nẵng")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("HP", "Hải Phòng")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("DA", "Dong Anh", "HN")) == SaveOutcome::Created);
        REQUIRE(store.save(CounterInput{"Q-DD", "Quầy Đất đai", "DA", {}}) == SaveOutcome::Created);
        REQUIRE(store.save(CounterInput{"Q-HT", "Quầy Hộ tịch", "DN", {}}) == SaveOutcome::Created);
        REQUIRE(store.save(OfficerInput{"CB1", "Nguyễn Thị Đào", "", "HP", {}}) ==
                SaveOutcome::Created);
        REQUIRE(store.save(ProcedureInput{"2.002", "Chứng thực bản sao", "", "", {}, {}}) ==
                SaveOutcome::Created);

        auto agencies = [&](const std::string& search) {
            ListQuery q;
            q.search = search;
            return codesOf(store.agencies(q));
        };
        CHECK(agencies("ha noi") == std::set<std::string>{"HN"});
        CHECK(agencies("HA NOI") == std::set<std::string>{"HN"});
        CHECK(agencies("Hà Nội") == std::set<std::string>{"HN"});
        CHECK(agencies("nội") == std::set<std::string>{"HN"});
        CHECK(agencies("da nang") == std::set<std::string>{"DN"});
        CHECK(agencies("đà nẵng") == std::set<std::string>{"DN"});
        // đ and d are the same letter for search, both ways.
        CHECK(agencies("đong anh") == std::set<std::string>{"DA"});
        CHECK(agencies("Đông Anh") == std::set<std::string>{"DA"});
        CHECK(agencies("phong") == std::set<std::string>{"HP"});
        CHECK(agencies("hp") == std::set<std::string>{"HP"});  // codes are searched too
        CHECK(agencies("sài gòn").empty());
        CHECK(agencies("").size() == 4);
        // A renamed agency is found by its new name only.
        REQUIRE(store.save(agencyIn("HP", "Hải Dương")) == SaveOutcome::Updated);
        CHECK(agencies("phong").empty());
        CHECK(agencies("hai duong") == std::set<std::string>{"HP"});

        ListQuery q;
        q.search = "dat dai";
        CHECK(codesOf(store.counters(q)) == std::set<std::string>{"Q-DD"});
        q.search = "quầy";
        CHECK(codesOf(store.counters(q)) == std::set<std::string>{"Q-DD", "Q-HT"});
        q.agencyCode = "HN";  // search within a subtree
        CHECK(codesOf(store.counters(q)) == std::set<std::string>{"Q-DD"});
        q = ListQuery{};
        q.search = "dao";
        CHECK(codesOf(store.officers(q)) == std::set<std::string>{"CB1"});
        q.search = "CHỨNG THỰC";
        CHECK(codesOf(store.procedures(q)) == std::set<std::string>{"2.002"});
        q.agencyCode = "HN";  // procedures are national: the agency is ignored
        CHECK(codesOf(store.procedures(q)) == std::set<std::string>{"2.002"});
    });
}

TEST_CASE("Search treats LIKE wildcards as plain characters", "[directory][search]") {
    // ListQuery::search is documented as a substring match: '_' and '%' in a code are just
    // characters, not wildcards.
    onEachBackend([](Database&, DirectoryStore& store) {
        REQUIRE(store.save(agencyIn("A_1", "Một")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("AB1", "Hai")) == SaveOutcome::Created);
        ListQuery q;
        q.search = "a_1";
        CHECK(codesOf(store.agencies(q)) == std::set<std::string>{"A_1"});
        q.search = "%";
        CHECK(store.agencies(q).empty());
    });
}

TEST_CASE("Dossiers list by received time and agency subtree and in pages", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        REQUIRE(store.save(agencyIn("P", "Tỉnh")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("H1", "Huyện 1", "P")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("H2", "Huyện 2", "P")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("X1", "Xã 1", "H1")) == SaveOutcome::Created);
        std::set<std::string> all, inH1;
        for (int i = 0; i < 10; ++i) {
            DossierInput d;
            d.code = "HS" + std::to_string(i);
            d.agencyCode = i % 3 == 0 ? "X1" : i % 3 == 1 ? "H1" : "H2";
            d.receivedAtMs = kT0 + i * kHour;
            REQUIRE(store.save(d) == SaveOutcome::Created);
            all.insert(d.code);
            if (i % 3 != 2) inH1.insert(d.code);
        }

        ListQuery q;
        CHECK(codesOf(store.dossiers(q)) == all);
        q.fromMs = kT0 + 2 * kHour;
        q.toMs = kT0 + 5 * kHour;  // [from, to)
        CHECK(codesOf(store.dossiers(q)) == std::set<std::string>{"HS2", "HS3", "HS4"});
        q.toMs.reset();
        CHECK(store.dossiers(q).size() == 8);
        q.fromMs.reset();
        q.toMs = kT0 + kHour;
        CHECK(codesOf(store.dossiers(q)) == std::set<std::string>{"HS0"});
        q.toMs = kT0;
        CHECK(store.dossiers(q).empty());

        q = ListQuery{};
        q.agencyCode = "H1";
        CHECK(codesOf(store.dossiers(q)) == inH1);
        q.agencyCode = "X1";
        CHECK(codesOf(store.dossiers(q)) == std::set<std::string>{"HS0", "HS3", "HS6", "HS9"});
        q.fromMs = kT0 + 3 * kHour;
        q.toMs = kT0 + 9 * kHour;
        CHECK(codesOf(store.dossiers(q)) == std::set<std::string>{"HS3", "HS6"});

        // Pages of 4: 4 + 4 + 2, disjoint, together everything.
        std::set<std::string> seen;
        std::size_t total = 0;
        for (int offset : {0, 4, 8, 12}) {
            ListQuery page;
            page.limit = 4;
            page.offset = offset;
            const auto rows = store.dossiers(page);
            CHECK(rows.size() == (offset < 8 ? 4u : offset == 8 ? 2u : 0u));
            total += rows.size();
            for (const Dossier& d : rows) seen.insert(d.code);
        }
        CHECK(total == 10);
        CHECK(seen == all);
        // Paging within a time window.
        ListQuery window;
        window.fromMs = kT0 + 2 * kHour;
        window.limit = 5;
        window.offset = 5;
        CHECK(store.dossiers(window).size() == 3);

        // Other lists page too.
        for (int i = 0; i < 5; ++i)
            REQUIRE(store.save(CounterInput{"Q" + std::to_string(i), "Quầy", "P", {}}) ==
                    SaveOutcome::Created);
        ListQuery cq;
        cq.limit = 2;
        cq.offset = 4;
        CHECK(store.counters(cq).size() == 1);
        cq.offset = 0;
        CHECK(store.counters(cq).size() == 2);
    });
}

TEST_CASE("codes() maps ids to codes and count() counts rows", "[directory]") {
    onEachBackend([](Database&, DirectoryStore& store) {
        REQUIRE(store.save(agencyIn("A1", "Một")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("A2", "Hai", "A1")) == SaveOutcome::Created);
        REQUIRE(store.save(agencyIn("A3", "Ba")) == SaveOutcome::Created);
        REQUIRE(store.save(CounterInput{"Q1", "Quầy", "A2", {}}) == SaveOutcome::Created);
        REQUIRE(store.save(DeviceInput{"T1", "Máy", "Q1"}) == SaveOutcome::Created);
        const std::int64_t a1 = mustAgency(store, "A1").id, a2 = mustAgency(store, "A2").id,
                           a3 = mustAgency(store, "A3").id;
        const std::int64_t q1 = store.counter("Q1")->id;

        const auto agencies = store.codes("agencies", {a1, a3, a3 + 1000});
        CHECK(agencies == std::map<std::int64_t, std::string>{{a1, "A1"}, {a3, "A3"}});
        CHECK(store.codes("agencies", {a2}) == std::map<std::int64_t, std::string>{{a2, "A2"}});
        CHECK(store.codes("counters", {q1}) == std::map<std::int64_t, std::string>{{q1, "Q1"}});
        CHECK(store.codes("agencies", {}).empty());
        CHECK(store.codes("dossiers", {1, 2}).empty());
        CHECK_THROWS_AS(store.codes("agencies; DROP TABLE agencies", {a1}), std::logic_error);
        CHECK_THROWS_AS(store.count("schema_migrations"), std::logic_error);

        CHECK(store.count("agencies") == 3);
        CHECK(store.count("counters") == 1);
        CHECK(store.count("devices") == 1);
        CHECK(store.count("officers") == 0);
        CHECK(store.count("procedures") == 0);
        CHECK(store.count("dossiers") == 0);
        CHECK(store.count("responses") == 0);

        // Devices list by the agency subtree of their counter.
        ListQuery q;
        q.agencyCode = "A1";
        CHECK(codesOf(store.devices(q)) == std::set<std::string>{"T1"});
        q.agencyCode = "A3";
        CHECK(store.devices(q).empty());
    });
}
