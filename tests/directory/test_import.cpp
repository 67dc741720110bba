// hailong tests — DirectoryImporter: CSV and JSON directory and dossier files, line numbers of
// rejected rows, dry runs, strict runs and all-or-nothing writes, on SQLite and PostgreSQL.
#include "directory/DirectoryImporter.h"
#include "directory/DirectoryStore.h"
#include "support/TestSupport.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Problem.h>

#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using namespace hailong;

template <>
struct Catch::StringMaker<hailong::SaveOutcome> {
    static std::string convert(hailong::SaveOutcome o) { return hailong::toString(o); }
};
using namespace Poco::Data::Keywords;

namespace {

struct Ctx {
    Backend backend;
    Database& db;
    DirectoryStore& store;
    DirectoryImporter& importer;
};

// Runs `body` once per backend, each in its own section with a fresh migrated database.
void onEachBackend(const std::function<void(Ctx&)>& body) {
    test::onEachBackend([&](Backend b) {
        test::TestDatabase tdb(b);
        IcuTextNormalizer text;
        DirectoryStore store(tdb.migrated(), text);
        DirectoryImporter importer(store);
        Ctx ctx{b, tdb.db(), store, importer};
        body(ctx);
    });
}

using test::problemOf;

bool hasError(const ImportRejection& r, const std::string& field, const std::string& code) {
    return test::hasError(r.errors, field, code);
}

std::string describe(const ImportReport& r) {
    std::string out = "rows " + std::to_string(r.rows) + ", created " + std::to_string(r.created) +
                      ", updated " + std::to_string(r.updated) + ", unchanged " +
                      std::to_string(r.unchanged) +
                      (r.committed ? ", committed" : ", not committed") + "; rejected:";
    for (const ImportRejection& j : r.rejected) {
        out += " [line " + std::to_string(j.line) + " " + j.kind + " " + j.code;
        for (const FieldError& e : j.errors) out += " " + e.field + ":" + e.code;
        out += "]";
    }
    return out;
}

std::vector<std::size_t> rejectedLines(const ImportReport& r) {
    std::vector<std::size_t> lines;
    for (const ImportRejection& j : r.rejected) lines.push_back(j.line);
    return lines;
}

const ImportRejection& rejectionAt(const ImportReport& r, std::size_t line) {
    auto it = std::find_if(r.rejected.begin(), r.rejected.end(),
                           [&](const ImportRejection& j) { return j.line == line; });
    REQUIRE(it != r.rejected.end());
    return *it;
}

struct Counts {
    std::int64_t agencies, counters, officers, procedures, devices, dossiers;
    bool operator==(const Counts&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Counts& n) {
    return out << "{agencies " << n.agencies << ", counters " << n.counters << ", officers "
               << n.officers << ", procedures " << n.procedures << ", devices " << n.devices
               << ", dossiers " << n.dossiers << "}";
}
Counts counts(const DirectoryStore& store) {
    return {store.count("agencies"),   store.count("counters"), store.count("officers"),
            store.count("procedures"), store.count("devices"),  store.count("dossiers")};
}

void sameOutcome(const ImportReport& a, const ImportReport& b) {
    CHECK(a.rows == b.rows);
    CHECK(a.created == b.created);
    CHECK(a.updated == b.updated);
    CHECK(a.unchanged == b.unchanged);
    CHECK(rejectedLines(a) == rejectedLines(b));
}

const std::string kBom = "\xEF\xBB\xBF";

// Mixed kinds in any order, Vietnamese headers and kinds, agencies whose parents come later,
// a comma inside a name, ';' as delimiter, a BOM and CRLF: as a spreadsheet saves it.
const std::string kDirectoryCsv = kBom +
                                  "Loại;Mã;Tên;Đơn vị cha;Đơn vị;Quầy\r\n"
                                  "Quầy;Q1;Quầy một cửa;;XA1;\r\n"
                                  "đơn vị;XA1;Xã An Bình, huyện Một;HUYEN1;;\r\n"
                                  "Cán bộ;CB1;Nguyễn Văn A;;XA1;\r\n"
                                  "thiết bị;TB1;Máy tính bảng;;;Q1\r\n"
                                  "agency;HUYEN1;Huyện Một;TINH;;\r\n"
                                  "Thủ tục;1.001;Đăng ký khai sinh;;;\r\n"
                                  "AGENCIES;TINH;Tỉnh Một;;;\r\n";

constexpr std::int64_t kReceived = 1741050900000;  // 04/03/2025 08:15 Vietnam time
constexpr std::int64_t kReturned = 1741167000000;  // 05/03/2025 16:30 Vietnam time
constexpr std::int64_t kDue = 1741539600000;       // 10/03/2025 00:00 Vietnam time
constexpr std::int64_t kNine = 1741053600000;      // 04/03/2025 09:00 Vietnam time

// One agency A1 and one procedure, for dossier imports.
void seedForDossiers(DirectoryStore& store) {
    AgencyInput a;
    a.code = "A1", a.name = "UBND phường Một";
    REQUIRE(store.save(a) == SaveOutcome::Created);
    REQUIRE(store.save(ProcedureInput{"1.001", "Khai sinh", "", "", {}, {}}) ==
            SaveOutcome::Created);
}

}  // namespace

TEST_CASE("CSV directory import with mixed kinds and later parents and Vietnamese headers",
          "[import]") {
    onEachBackend([](Ctx& c) {
        const ImportReport first = c.importer.importDirectory(kDirectoryCsv, "danh-muc.csv", {});
        INFO(describe(first));
        CHECK(first.rows == 7);
        CHECK(first.created == 7);
        CHECK(first.updated == 0);
        CHECK(first.unchanged == 0);
        CHECK(first.rejected.empty());
        CHECK(first.committed);
        CHECK(counts(c.store) == Counts{3, 1, 1, 1, 1, 0});

        auto tinh = c.store.agency("TINH");
        auto huyen = c.store.agency("HUYEN1");
        auto xa = c.store.agency("XA1");
        REQUIRE(tinh);
        REQUIRE(huyen);
        REQUIRE(xa);
        CHECK(tinh->name == "Tỉnh Một");
        CHECK(tinh->depth == 0);
        CHECK(huyen->parentId == std::optional<std::int64_t>(tinh->id));
        CHECK(huyen->depth == 1);
        CHECK(xa->name == "Xã An Bình, huyện Một");
        CHECK(xa->parentId == std::optional<std::int64_t>(huyen->id));
        CHECK(xa->depth == 2);
        CHECK(xa->path == "/" + std::to_string(tinh->id) + "/" + std::to_string(huyen->id) + "/" +
                              std::to_string(xa->id) + "/");
        auto q1 = c.store.counter("Q1");
        REQUIRE(q1);
        CHECK(q1->name == "Quầy một cửa");
        CHECK(q1->agencyId == xa->id);
        auto cb1 = c.store.officer("CB1");
        REQUIRE(cb1);
        CHECK(cb1->name == "Nguyễn Văn A");
        CHECK(cb1->agencyId == xa->id);
        auto tb1 = c.store.device("TB1");
        REQUIRE(tb1);
        CHECK(tb1->counterId == q1->id);
        auto proc = c.store.procedure("1.001");
        REQUIRE(proc);
        CHECK(proc->name == "Đăng ký khai sinh");

        // The same file again changes nothing.
        const ImportReport again = c.importer.importDirectory(kDirectoryCsv, "danh-muc.csv", {});
        INFO(describe(again));
        CHECK(again.rows == 7);
        CHECK(again.created == 0);
        CHECK(again.updated == 0);
        CHECK(again.unchanged == 7);
        CHECK(again.rejected.empty());
        CHECK(again.committed);
        CHECK(counts(c.store) == Counts{3, 1, 1, 1, 1, 0});

        // One changed name and one new row.
        std::string changed = kDirectoryCsv;
        const std::string from = "Nguyễn Văn A";
        changed.replace(changed.find(from), from.size(), "Nguyễn Văn Ánh");
        changed += "quầy;Q2;Quầy hai;;HUYEN1;\r\n";
        const ImportReport third = c.importer.importDirectory(changed, "danh-muc.csv", {});
        INFO(describe(third));
        CHECK(third.rows == 8);
        CHECK(third.created == 1);
        CHECK(third.updated == 1);
        CHECK(third.unchanged == 6);
        CHECK(c.store.officer("CB1")->name == "Nguyễn Văn Ánh");
        CHECK(c.store.counter("Q2")->agencyId == huyen->id);
    });
}

TEST_CASE("CSV import reports bad rows with their physical lines and writes the good ones",
          "[import]") {
    onEachBackend([](Ctx& c) {
        const std::string csv =
            "type,code,name,parent,agency\n"                    // 1
            "agency,ROOT,Gốc,,\n"                               // 2 good
            "widget,W1,Thing,,\n"                               // 3 unknown type
            "agency,NONAME,,ROOT,\n"                            // 4 no name
            "\n"                                                // 5 blank
            "agency,ORPHAN,Mồ côi,NOWHERE,\n"                   // 6 unknown parent
            "counter,Q1,\"Quầy\n"                               // 7 good, two lines
            "nhiều dòng\",,ROOT\n"                              // 8
            "counter,Q2,Thiếu cột\n"                            // 9 too few columns
            "agency,CHILD,Con,ROOT,\n"                          // 10 good
            "counter,Q3,Quầy 3,,NOPE\n"                         // 11 unknown agency
            "agency,KID2,\"Cháu, \"\"nhỏ\"\"\",CHILD,,extra\n"  // 12 too many columns
            "agency,KID3,\"Cháu, \"\"nhỏ\"\"\",CHILD,\n";       // 13 good
        const ImportReport r = c.importer.importDirectory(csv, "x.csv", {});
        INFO(describe(r));
        CHECK(r.rows == 10);
        CHECK(r.created == 4);
        CHECK(r.updated == 0);
        CHECK(r.unchanged == 0);
        CHECK(r.committed);
        CHECK(rejectedLines(r) == std::vector<std::size_t>{3, 4, 6, 9, 11, 12});

        const ImportRejection& unknownType = rejectionAt(r, 3);
        CHECK(unknownType.code == "W1");
        CHECK(hasError(unknownType, "type", "import.unknown_type"));
        const ImportRejection& noName = rejectionAt(r, 4);
        CHECK(noName.kind == "agency");
        CHECK(noName.code == "NONAME");
        CHECK(hasError(noName, "name", "field.required"));
        const ImportRejection& orphan = rejectionAt(r, 6);
        CHECK(orphan.kind == "agency");
        CHECK(orphan.code == "ORPHAN");
        REQUIRE(orphan.errors.size() == 1);
        CHECK(hasError(orphan, "parent", "directory.unknown_reference"));
        CHECK(orphan.errors.front().params.at("code") == "NOWHERE");
        const ImportRejection& tooFew = rejectionAt(r, 9);
        CHECK(tooFew.code == "Q2");
        CHECK(hasError(tooFew, "", "import.column_count"));
        CHECK(tooFew.errors.front().params.at("found") == "3");
        const ImportRejection& badAgency = rejectionAt(r, 11);
        CHECK(badAgency.kind == "counter");
        CHECK(badAgency.code == "Q3");
        CHECK(hasError(badAgency, "agency", "directory.unknown_reference"));
        const ImportRejection& tooMany = rejectionAt(r, 12);
        CHECK(tooMany.code == "KID2");
        CHECK(hasError(tooMany, "", "import.column_count"));
        CHECK(tooMany.errors.front().params.at("found") == "6");

        CHECK(counts(c.store) == Counts{3, 1, 0, 0, 0, 0});
        CHECK(c.store.agency("ROOT"));
        CHECK(c.store.agency("CHILD"));
        REQUIRE(c.store.agency("KID3"));
        CHECK(c.store.agency("KID3")->name == "Cháu, \"nhỏ\"");
        CHECK(c.store.agency("KID3")->depth == 2);
        REQUIRE(c.store.counter("Q1"));
        CHECK(c.store.counter("Q1")->name == "Quầy nhiều dòng");
        for (const char* absent : {"NONAME", "ORPHAN", "KID2"}) CHECK_FALSE(c.store.agency(absent));
        CHECK_FALSE(c.store.counter("Q2"));
        CHECK_FALSE(c.store.counter("Q3"));
    });
}

TEST_CASE("CSV import line numbers count CRLF lines and the BOM line", "[import]") {
    onEachBackend([](Ctx& c) {
        const std::string csv = kBom +
                                "type;code;name;parent\r\n"  // 1
                                "agency;A;Một;\r\n"          // 2
                                "\r\n"                       // 3
                                "agency;B;;A\r\n"            // 4 no name
                                "agency;C;\"Ba\r\n"          // 5
                                "dòng\r\n"                   // 6
                                "hai\";A\r\n"                // 7
                                "agency;D;Bốn;Z\r\n";        // 8 unknown parent
        const ImportReport r = c.importer.importDirectory(csv, "x.csv", {});
        INFO(describe(r));
        CHECK(r.created == 2);
        CHECK(rejectedLines(r) == std::vector<std::size_t>{4, 8});
        CHECK(hasError(rejectionAt(r, 4), "name", "field.required"));
        CHECK(hasError(rejectionAt(r, 8), "parent", "directory.unknown_reference"));
        REQUIRE(c.store.agency("C"));
        CHECK(c.store.agency("C")->name == "Ba dòng hai");
    });
}

TEST_CASE("CSV and JSON files without what an import needs are refused", "[import]") {
    onEachBackend([](Ctx& c) {
        Problem p =
            problemOf([&] { c.importer.importDirectory("code,name\nA,Một\n", "x.csv", {}); });
        CHECK(p.status() == 422);
        CHECK(p.code() == "import.missing_column");
        CHECK(p.params().at("column") == "type");
        p = problemOf(
            [&] { c.importer.importDossiers("agency,received_at\nA1,x\n", "x.csv", {}); });
        CHECK(p.code() == "import.missing_column");
        CHECK(p.params().at("column") == "code");
        p = problemOf([&] { c.importer.importDirectory("{\"agencies\": [", "x.json", {}); });
        CHECK(p.code() == "import.json_malformed");
        p = problemOf([&] {
            c.importer.importDirectory("{\"widgets\": [{\"code\": \"W\"}]}", "x.json", {});
        });
        CHECK(p.code() == "import.unknown_section");
        p = problemOf([&] { c.importer.importDirectory("[{\"code\": \"A\"}]", "x.json", {}); });
        CHECK(p.code() == "import.json_shape");
        p = problemOf(
            [&] { c.importer.importDirectory("type,code,name\nagency,A,\"Một\n", "x.csv", {}); });
        CHECK(p.code() == "csv.unterminated_quote");
        CHECK(p.params().at("line") == "2");
        CHECK(counts(c.store) == Counts{0, 0, 0, 0, 0, 0});
    });
}

TEST_CASE("JSON directory import", "[import]") {
    onEachBackend([](Ctx& c) {
        const std::string json = R"({
  "counters": [
    {"code": "Q1", "name": "Quầy 1", "agency": "A2"},
    {"code": "Q2", "name": "", "agency": "A1"}
  ],
  "agencies": [
    {"code": "A2", "name": "Phòng Tư pháp", "parent": "A1", "kind": "department"},
    {"code": "A1", "name": "UBND huyện", "kind": "district", "address": "1 Trần Phú",
     "active": true},
    "not an object"
  ],
  "procedures": [
    {"Mã thủ tục": "1.001", "Tên thủ tục": "Khai sinh", "processing_days": 3,
     "online": "full", "field": "Hộ tịch"}
  ],
  "officers": [
    {"code": "CB1", "ho_ten": "Lê Văn C", "chuc_vu": "Chuyên viên", "agency": "A2",
     "active": false}
  ]
})";
        const ImportReport r = c.importer.importDirectory(json, "directory.json", {});
        INFO(describe(r));
        CHECK(r.rows == 7);
        CHECK(r.created == 5);
        CHECK(r.updated == 0);
        CHECK(r.unchanged == 0);
        CHECK(r.committed);
        REQUIRE(r.rejected.size() == 2);
        // JSON rejections are numbered by item within their section.
        std::set<std::string> rejected;
        for (const ImportRejection& j : r.rejected)
            rejected.insert(j.kind + "#" + std::to_string(j.line));
        CHECK(rejected == std::set<std::string>{"counter#2", "agency#3"});
        for (const ImportRejection& j : r.rejected) {
            if (j.kind == "counter") {
                CHECK(j.code == "Q2");
                CHECK(hasError(j, "name", "field.required"));
            } else {
                CHECK(hasError(j, "", "import.row_not_object"));
            }
        }

        auto a1 = c.store.agency("A1");
        auto a2 = c.store.agency("A2");
        REQUIRE(a1);
        REQUIRE(a2);
        CHECK(a1->kind == "district");
        CHECK(a1->address == "1 Trần Phú");
        CHECK(a2->parentId == std::optional<std::int64_t>(a1->id));
        CHECK(a2->depth == 1);
        REQUIRE(c.store.counter("Q1"));
        CHECK(c.store.counter("Q1")->agencyId == a2->id);
        auto proc = c.store.procedure("1.001");
        REQUIRE(proc);
        CHECK(proc->name == "Khai sinh");
        CHECK(proc->processingDays == 3);
        CHECK(proc->online == "full");
        CHECK(proc->field == "Hộ tịch");
        auto cb1 = c.store.officer("CB1");
        REQUIRE(cb1);
        CHECK(cb1->name == "Lê Văn C");
        CHECK(cb1->title == "Chuyên viên");
        CHECK_FALSE(cb1->active);
        CHECK(counts(c.store) == Counts{2, 1, 1, 1, 0, 0});

        const ImportReport again = c.importer.importDirectory(json, "directory.json", {});
        INFO(describe(again));
        CHECK(again.created == 0);
        CHECK(again.updated == 0);
        CHECK(again.unchanged == 5);
        CHECK(again.rejected.size() == 2);
    });
}

TEST_CASE("JSON dossier import reads ISO and Vietnamese times", "[import]") {
    onEachBackend([](Ctx& c) {
        seedForDossiers(c.store);
        const std::string json = R"([
  {"code": "HS1", "agency": "A1", "procedure": "1.001",
   "received_at": "2025-03-04T08:15:00+07:00", "returned_at": "05/03/2025 16:30",
   "phone": "0912 345 678"},
  {"Mã hồ sơ": "HS2", "Đơn vị": "A1", "Ngày nhận": "04/03/2025 08:15",
   "Ngày hẹn trả": "2025-03-10", "Trạng thái": "supplement"},
  {"code": "HS3", "agency": "A1", "received_at": "2025-03-04T09:00:00+07:00",
   "returned_at": "2025-03-04T08:00:00+07:00"},
  {"code": "HS4", "agency": "A1", "received_at": 1741053600000},
  {"code": "HS5", "agency": "A1", "received_at": "2025-03-04T01:15:00Z"}
])";
        const ImportReport r = c.importer.importDossiers(json, "dossiers.json", {});
        INFO(describe(r));
        CHECK(r.rows == 5);
        CHECK(r.created == 4);
        CHECK(r.committed);
        REQUIRE(rejectedLines(r) == std::vector<std::size_t>{3});
        CHECK(r.rejected.front().kind == "dossier");
        CHECK(r.rejected.front().code == "HS3");
        CHECK(hasError(r.rejected.front(), "returned_at", "dossier.returned_before_received"));

        auto hs1 = c.store.dossier("HS1");
        REQUIRE(hs1);
        CHECK(hs1->receivedAtMs == kReceived);
        CHECK(hs1->returnedAtMs == std::optional<std::int64_t>(kReturned));
        CHECK(hs1->status == "returned");
        CHECK(hs1->phone == "84912345678");
        CHECK(hs1->procedureId == std::optional<std::int64_t>(c.store.procedure("1.001")->id));
        auto hs2 = c.store.dossier("HS2");
        REQUIRE(hs2);
        CHECK(hs2->receivedAtMs == kReceived);
        CHECK(hs2->dueAtMs == std::optional<std::int64_t>(kDue));
        CHECK(hs2->status == "supplement");
        CHECK(hs2->agencyId == c.store.agency("A1")->id);
        REQUIRE(c.store.dossier("HS4"));
        CHECK(c.store.dossier("HS4")->receivedAtMs == kNine);
        REQUIRE(c.store.dossier("HS5"));
        CHECK(c.store.dossier("HS5")->receivedAtMs == kReceived);
        CHECK_FALSE(c.store.dossier("HS3"));
        CHECK(c.store.count("dossiers") == 4);

        // The object form, {"dossiers": [...]}, is read the same way.
        const ImportReport wrapped = c.importer.importDossiers(
            R"({"dossiers": [{"code": "HS6", "agency": "A1", "received_at": "04/03/2025 09:00"}]})",
            "upload", {});
        INFO(describe(wrapped));
        CHECK(wrapped.created == 1);
        REQUIRE(c.store.dossier("HS6"));
        CHECK(c.store.dossier("HS6")->receivedAtMs == kNine);
    });
}

TEST_CASE("CSV dossier import rejects unreadable times and keeps the other rows", "[import]") {
    onEachBackend([](Ctx& c) {
        seedForDossiers(c.store);
        const std::string csv =
            "Mã hồ sơ,Đơn vị,Thủ tục,Ngày nhận,Ngày hẹn trả,Số điện thoại\n"  // 1
            "HS1,A1,1.001,04/03/2025 08:15,10/03/2025,0912345678\n"           // 2
            "HS2,A1,1.001,ngày mai,,\n"                                       // 3
            "HS3,A1,,2025-03-04 09:00,,\n"                                    // 4
            "HS4,A1,,04/03/2025 08:15,hôm qua,\n";                            // 5
        const ImportReport r = c.importer.importDossiers(csv, "hs.csv", {});
        INFO(describe(r));
        CHECK(r.rows == 4);
        CHECK(r.created == 2);
        CHECK(r.committed);
        CHECK(rejectedLines(r) == std::vector<std::size_t>{3, 5});
        const ImportRejection& hs2 = rejectionAt(r, 3);
        CHECK(hs2.code == "HS2");
        CHECK(hasError(hs2, "received_at", "field.time"));
        CHECK(hs2.errors.front().params.at("value") == "ngày mai");
        CHECK(hasError(rejectionAt(r, 5), "due_at", "field.time"));

        auto hs1 = c.store.dossier("HS1");
        REQUIRE(hs1);
        CHECK(hs1->receivedAtMs == kReceived);
        CHECK(hs1->dueAtMs == std::optional<std::int64_t>(kDue));
        CHECK(hs1->phone == "84912345678");
        REQUIRE(c.store.dossier("HS3"));
        CHECK(c.store.dossier("HS3")->receivedAtMs == kNine);
        CHECK_FALSE(c.store.dossier("HS2"));
        CHECK_FALSE(c.store.dossier("HS4"));
        CHECK(c.store.count("dossiers") == 2);
    });
}

TEST_CASE("A dry run writes nothing but reports the same", "[import]") {
    onEachBackend([](Ctx& c) {
        ImportOptions dry;
        dry.dryRun = true;
        const std::string csv = kDirectoryCsv + "widget;W;Thing;;;\r\n";
        const ImportReport planned = c.importer.importDirectory(csv, "x.csv", dry);
        INFO(describe(planned));
        CHECK_FALSE(planned.committed);
        CHECK(planned.rows == 8);
        CHECK(planned.created == 7);
        CHECK(rejectedLines(planned) == std::vector<std::size_t>{9});
        CHECK(counts(c.store) == Counts{0, 0, 0, 0, 0, 0});

        const ImportReport done = c.importer.importDirectory(csv, "x.csv", {});
        INFO(describe(done));
        CHECK(done.committed);
        sameOutcome(planned, done);
        CHECK(counts(c.store) == Counts{3, 1, 1, 1, 1, 0});

        // A dry run of changes reports them and leaves the rows as they are.
        std::string changed = csv;
        const std::string from = "Tỉnh Một";
        changed.replace(changed.find(from), from.size(), "Tỉnh Hai");
        const ImportReport plannedUpdate = c.importer.importDirectory(changed, "x.csv", dry);
        INFO(describe(plannedUpdate));
        CHECK_FALSE(plannedUpdate.committed);
        CHECK(plannedUpdate.updated == 1);
        CHECK(plannedUpdate.unchanged == 6);
        CHECK(c.store.agency("TINH")->name == "Tỉnh Một");

        // Dossiers too.
        const std::string dossiers = "code,agency,received_at\nHS1,TINH,04/03/2025 08:15\n";
        const ImportReport plannedDossiers = c.importer.importDossiers(dossiers, "d.csv", dry);
        CHECK_FALSE(plannedDossiers.committed);
        CHECK(plannedDossiers.created == 1);
        CHECK(c.store.count("dossiers") == 0);
    });
}

TEST_CASE("A strict import writes nothing when a row is bad and everything when none is",
          "[import]") {
    onEachBackend([](Ctx& c) {
        ImportOptions strict;
        strict.strict = true;
        const std::string bad =
            "type,code,name,parent,agency\n"
            "agency,A1,Một,,\n"
            "counter,Q1,Quầy,,A1\n"
            "counter,Q2,,,A1\n";  // no name
        const ImportReport refused = c.importer.importDirectory(bad, "x.csv", strict);
        INFO(describe(refused));
        CHECK_FALSE(refused.committed);
        CHECK(refused.created == 2);
        CHECK(rejectedLines(refused) == std::vector<std::size_t>{4});
        CHECK(counts(c.store) == Counts{0, 0, 0, 0, 0, 0});

        const std::string good =
            "type,code,name,parent,agency\n"
            "agency,A1,Một,,\n"
            "counter,Q1,Quầy,,A1\n"
            "counter,Q2,Quầy hai,,A1\n";
        const ImportReport accepted = c.importer.importDirectory(good, "x.csv", strict);
        INFO(describe(accepted));
        CHECK(accepted.committed);
        CHECK(accepted.created == 3);
        CHECK(accepted.rejected.empty());
        CHECK(counts(c.store) == Counts{1, 2, 0, 0, 0, 0});

        // Strict dossiers: one bad time keeps every dossier out.
        const std::string dossiers =
            "code,agency,received_at\nHS1,A1,04/03/2025 08:15\nHS2,A1,hôm nay\n";
        const ImportReport d = c.importer.importDossiers(dossiers, "d.csv", strict);
        CHECK_FALSE(d.committed);
        CHECK(rejectedLines(d) == std::vector<std::size_t>{3});
        CHECK(c.store.count("dossiers") == 0);
    });
}

TEST_CASE("A file that is not UTF-8 is refused with its line", "[import]") {
    onEachBackend([](Ctx& c) {
        // "Hà Nội" in Windows-1258 on line 3.
        const std::string latin = "type,code,name\nagency,A1,Một\nagency,A2,H\xE0 N\xF4i\n";
        Problem p = problemOf([&] { c.importer.importDirectory(latin, "x.csv", {}); });
        CHECK(p.status() == 422);
        CHECK(p.code() == "import.not_utf8");
        CHECK(p.params().at("line") == "3");
        p = problemOf([&] { c.importer.importDirectory(kBom + latin, "x.csv", {}); });
        CHECK(p.code() == "import.not_utf8");
        CHECK(p.params().at("line") == "3");
        p = problemOf([&] {
            c.importer.importDossiers("code,agency,received_at\r\n\r\nHS\xFF,A1,x\r\n", "d.csv",
                                      {});
        });
        CHECK(p.code() == "import.not_utf8");
        CHECK(p.params().at("line") == "3");
        p = problemOf([&] {
            c.importer.importDirectory("{\"agencies\": [{\"code\": \"A\", \"name\": \"\xC3\"}]}",
                                       "x.json", {});
        });
        CHECK(p.code() == "import.not_utf8");
        CHECK(p.params().at("line") == "1");
        CHECK(counts(c.store) == Counts{0, 0, 0, 0, 0, 0});
    });
}

TEST_CASE("A database failure in the middle of an import writes nothing", "[import]") {
    onEachBackend([](Ctx& c) {
        if (c.backend == Backend::SQLite) {
            c.db.write([](Poco::Data::Session& s) {
                s << "CREATE TRIGGER boom BEFORE INSERT ON counters WHEN NEW.code = 'BOOM' "
                     "BEGIN SELECT RAISE(ABORT, 'simulated disk trouble'); END",
                    now;
            });
        } else {
            c.db.write([](Poco::Data::Session& s) {
                s << "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                     "'BEGIN IF NEW.code = ''BOOM'' THEN "
                     "RAISE EXCEPTION ''simulated disk trouble''; END IF; RETURN NEW; END'",
                    now;
                s << "CREATE TRIGGER boom BEFORE INSERT ON counters FOR EACH ROW "
                     "EXECUTE FUNCTION boom()",
                    now;
            });
        }
        const std::string csv =
            "type,code,name,parent,agency\n"
            "agency,A1,Một,,\n"
            "agency,A2,Hai,A1,\n"
            "procedure,P1,Thủ tục,,\n"
            "counter,OK1,Quầy,,A1\n"
            "counter,BOOM,Nổ,,A2\n"
            "officer,CB1,Cán bộ,,A2\n";
        std::string error;
        try {
            c.importer.importDirectory(csv, "x.csv", {});
        } catch (const Problem& p) {
            FAIL("a database failure is not the user's Problem: " << p.code());
        } catch (const std::exception& e) {
            error = e.what();
        }
        INFO("error: " << error);
        CHECK_FALSE(error.empty());
        CHECK(counts(c.store) == Counts{0, 0, 0, 0, 0, 0});
        CHECK_FALSE(c.store.agency("A1"));

        // The database is still usable afterwards; without the failing row all is written.
        std::string ok = csv;
        ok.erase(ok.find("counter,BOOM"), std::string("counter,BOOM,Nổ,,A2\n").size());
        const ImportReport r = c.importer.importDirectory(ok, "x.csv", {});
        INFO(describe(r));
        CHECK(r.committed);
        CHECK(r.created == 5);
        CHECK(counts(c.store) == Counts{2, 1, 1, 1, 0, 0});
    });
}
