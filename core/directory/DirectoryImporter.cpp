#include "directory/DirectoryImporter.h"

#include "common/Clock.h"
#include "common/Utf8.h"
#include "directory/Csv.h"

#include <hailong/TextNormalizer.h>

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cctype>

using Poco::Data::Session;
using namespace Poco::Data::Keywords;

namespace hailong {
namespace {

// Accepted column names (lower case, accent-free, '_' for spaces) -> canonical name.
const std::map<std::string, std::string>& aliases() {
    static const std::map<std::string, std::string> table{{"type", "type"},
                                                          {"loai", "type"},
                                                          {"kind_of_record", "type"},
                                                          {"code", "code"},
                                                          {"ma", "code"},
                                                          {"ma_so", "code"},
                                                          {"ma_ho_so", "code"},
                                                          {"so_ho_so", "code"},
                                                          {"ma_thu_tuc", "code"},
                                                          {"name", "name"},
                                                          {"ten", "name"},
                                                          {"ho_ten", "name"},
                                                          {"ten_thu_tuc", "name"},
                                                          {"parent", "parent"},
                                                          {"parent_code", "parent"},
                                                          {"don_vi_cha", "parent"},
                                                          {"ma_don_vi_cha", "parent"},
                                                          {"agency", "agency"},
                                                          {"agency_code", "agency"},
                                                          {"don_vi", "agency"},
                                                          {"ma_don_vi", "agency"},
                                                          {"co_quan", "agency"},
                                                          {"counter", "counter"},
                                                          {"counter_code", "counter"},
                                                          {"quay", "counter"},
                                                          {"officer", "officer"},
                                                          {"officer_code", "officer"},
                                                          {"can_bo", "officer"},
                                                          {"ma_can_bo", "officer"},
                                                          {"procedure", "procedure"},
                                                          {"procedure_code", "procedure"},
                                                          {"thu_tuc", "procedure"},
                                                          {"title", "title"},
                                                          {"chuc_vu", "title"},
                                                          {"kind", "kind"},
                                                          {"cap", "kind"},
                                                          {"address", "address"},
                                                          {"dia_chi", "address"},
                                                          {"field", "field"},
                                                          {"linh_vuc", "field"},
                                                          {"processing_days", "processing_days"},
                                                          {"so_ngay", "processing_days"},
                                                          {"thoi_han", "processing_days"},
                                                          {"online", "online"},
                                                          {"muc_do", "online"},
                                                          {"active", "active"},
                                                          {"hoat_dong", "active"},
                                                          {"status", "status"},
                                                          {"trang_thai", "status"},
                                                          {"received_at", "received_at"},
                                                          {"ngay_nhan", "received_at"},
                                                          {"due_at", "due_at"},
                                                          {"ngay_hen_tra", "due_at"},
                                                          {"hen_tra", "due_at"},
                                                          {"returned_at", "returned_at"},
                                                          {"ngay_tra", "returned_at"},
                                                          {"ngay_tra_ket_qua", "returned_at"},
                                                          {"phone", "phone"},
                                                          {"so_dien_thoai", "phone"},
                                                          {"dien_thoai", "phone"}};
    return table;
}

// "Mã hồ sơ" -> "ma_ho_so"
std::string columnKey(const TextNormalizer& text, const std::string& header) {
    std::string k = text.key(header);
    for (char& c : k)
        if (c == ' ' || c == '-' || c == '.') c = '_';
    return k;
}

// Singular kind from what files say ("agency", "agencies", "don_vi"...).
std::string kindOf(const TextNormalizer& text, const std::string& raw) {
    static const std::map<std::string, std::string> kinds{
        {"agency", "agency"},       {"agencies", "agency"},      {"don_vi", "agency"},
        {"counter", "counter"},     {"counters", "counter"},     {"quay", "counter"},
        {"officer", "officer"},     {"officers", "officer"},     {"can_bo", "officer"},
        {"procedure", "procedure"}, {"procedures", "procedure"}, {"thu_tuc", "procedure"},
        {"device", "device"},       {"devices", "device"},       {"thiet_bi", "device"}};
    auto it = kinds.find(columnKey(text, raw));
    return it == kinds.end() ? std::string() : it->second;
}

int kindOrder(const std::string& kind) {
    static const std::map<std::string, int> order{{"agency", 0},  {"procedure", 1}, {"counter", 2},
                                                  {"officer", 3}, {"device", 4},    {"dossier", 5}};
    auto it = order.find(kind);
    return it == order.end() ? 9 : it->second;
}

std::string field(const std::map<std::string, std::string>& f, const char* name) {
    auto it = f.find(name);
    return it == f.end() ? std::string() : it->second;
}

// "Có"/"Không" as people type them, or true/false, 1/0, x.
std::optional<bool> flag(const TextNormalizer& text, const std::map<std::string, std::string>& f,
                         const char* name, std::vector<FieldError>& errors) {
    const std::string raw = field(f, name);
    if (!utf8::isValid(raw)) {
        errors.push_back({name, "field.boolean", {{"value", "?"}}});
        return std::nullopt;
    }
    const std::string v = text.key(raw);
    if (v.empty()) return std::nullopt;
    if (v == "1" || v == "true" || v == "yes" || v == "co" || v == "x") return true;
    if (v == "0" || v == "false" || v == "no" || v == "khong") return false;
    errors.push_back({name, "field.boolean", {{"value", raw}}});
    return std::nullopt;
}

std::optional<std::int64_t> time(const std::map<std::string, std::string>& f, const char* name,
                                 std::vector<FieldError>& errors) {
    const std::string v = field(f, name);
    if (v.empty()) return std::nullopt;
    auto ms = parseTimeMs(v);
    if (!ms) errors.push_back({name, "field.time", {{"value", v}}});
    return ms;
}

std::string jsonText(const Poco::Dynamic::Var& v) {
    if (v.isEmpty()) return {};
    if (v.type() == typeid(bool)) return v.extract<bool>() ? "true" : "false";
    return v.convert<std::string>();
}

}  // namespace

std::vector<DirectoryImporter::Row> DirectoryImporter::readRows(std::string_view content,
                                                                std::string_view fileName,
                                                                bool dossiers) {
    if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);
    if (auto bad = utf8::firstInvalid(content)) {
        const auto line =
            1 + std::count(content.begin(), content.begin() + static_cast<long>(*bad), '\n');
        throw Problem(422, "import.not_utf8",
                      {{"line", std::to_string(line)}, {"offset", std::to_string(*bad)}});
    }
    const TextNormalizer& text = store_.text();
    std::vector<Row> rows;
    const auto firstChar = content.find_first_not_of(" \t\r\n");
    const bool json =
        fileName.ends_with(".json") || (firstChar != std::string_view::npos &&
                                        (content[firstChar] == '[' || content[firstChar] == '{'));
    if (json) {
        Poco::Dynamic::Var root;
        try {
            root = Poco::JSON::Parser().parse(std::string(content));
        } catch (const Poco::Exception& e) {
            throw Problem(422, "import.json_malformed", {{"reason", e.message()}});
        }
        auto addItems = [&](const Poco::JSON::Array::Ptr& items, const std::string& kind) {
            if (!items) return;
            for (std::size_t i = 0; i < items->size(); ++i) {
                Row row;
                row.line = i + 1;
                row.kind = kind;
                auto obj = items->getObject(static_cast<unsigned>(i));
                if (!obj) {
                    row.fields["__invalid"] = "1";
                } else {
                    for (const auto& [k, v] : *obj) {
                        auto alias = aliases().find(columnKey(text, k));
                        row.fields[alias == aliases().end() ? k : alias->second] = jsonText(v);
                    }
                }
                rows.push_back(std::move(row));
            }
        };
        if (dossiers) {
            if (root.type() == typeid(Poco::JSON::Array::Ptr))
                addItems(root.extract<Poco::JSON::Array::Ptr>(), "dossier");
            else if (root.type() == typeid(Poco::JSON::Object::Ptr))
                addItems(root.extract<Poco::JSON::Object::Ptr>()->getArray("dossiers"), "dossier");
        } else if (root.type() == typeid(Poco::JSON::Object::Ptr)) {
            auto obj = root.extract<Poco::JSON::Object::Ptr>();
            for (const auto& [key, value] : *obj) {
                const std::string kind = kindOf(text, key);
                if (kind.empty()) throw Problem(422, "import.unknown_section", {{"section", key}});
                addItems(obj->getArray(key), kind);
            }
        } else {
            throw Problem(422, "import.json_shape", {});
        }
        return rows;
    }

    CsvReader csv(content);
    CsvRecord record;
    if (!csv.next(record)) return rows;
    std::vector<std::string> columns;
    for (const std::string& h : record.fields) {
        auto alias = aliases().find(columnKey(text, h));
        columns.push_back(alias == aliases().end() ? columnKey(text, h) : alias->second);
    }
    if (std::find(columns.begin(), columns.end(), "code") == columns.end())
        throw Problem(422, "import.missing_column", {{"column", "code"}});
    if (!dossiers && std::find(columns.begin(), columns.end(), "type") == columns.end())
        throw Problem(422, "import.missing_column", {{"column", "type"}});
    while (csv.next(record)) {
        Row row;
        row.line = record.line;
        if (record.fields.size() != columns.size())
            row.fields["__columns"] = std::to_string(record.fields.size());
        for (std::size_t i = 0; i < columns.size() && i < record.fields.size(); ++i)
            row.fields[columns[i]] = record.fields[i];
        row.kind = dossiers ? "dossier" : kindOf(text, field(row.fields, "type"));
        rows.push_back(std::move(row));
    }
    return rows;
}

ImportReport DirectoryImporter::importDirectory(std::string_view content, std::string_view fileName,
                                                const ImportOptions& options) {
    return apply(readRows(content, fileName, false), options);
}

ImportReport DirectoryImporter::importDossiers(std::string_view content, std::string_view fileName,
                                               const ImportOptions& options) {
    return apply(readRows(content, fileName, true), options);
}

ImportReport DirectoryImporter::apply(std::vector<Row> rows, const ImportOptions& options) {
    // Parents first: by kind, then agencies by their position in the tree (retried below).
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return kindOrder(a.kind) < kindOrder(b.kind);
    });
    ImportReport report;
    report.rows = rows.size();
    struct Abort {};
    // Whatever happens to the transaction, cached lookups must not outlive it.
    struct Forget {
        const DirectoryStore& store;
        ~Forget() { store.forgetCached(); }
    } forget{store_};
    try {
        store_.database().write([&](Session& s) {
            // One group per kind, in dependency order; within agencies, retry while progress.
            for (auto begin = rows.begin(); begin != rows.end();) {
                auto end = std::find_if(begin, rows.end(), [&](const Row& r) {
                    return kindOrder(r.kind) != kindOrder(begin->kind);
                });
                std::vector<const Row*> pending;
                for (auto it = begin; it != end; ++it) pending.push_back(&*it);
                const auto done = [&] {
                    if (options.progress)
                        options.progress(report.created + report.updated + report.unchanged +
                                             report.rejected.size(),
                                         rows.size());
                };
                begin = end;
                while (!pending.empty()) {
                    std::vector<const Row*> deferred;
                    const std::size_t before = pending.size();
                    for (const Row* r : pending) {
                        ImportRejection rej{r->line, r->kind, field(r->fields, "code"), {}};
                        if (r->fields.contains("__invalid")) {
                            rej.errors.push_back({"", "import.row_not_object", {}});
                        } else if (r->fields.contains("__columns")) {
                            rej.errors.push_back({"",
                                                  "import.column_count",
                                                  {{"found", r->fields.at("__columns")}}});
                        } else if (r->kind.empty()) {
                            rej.errors.push_back({"type",
                                                  "import.unknown_type",
                                                  {{"value", field(r->fields, "type")}}});
                        } else if (auto refused = options.admit ? options.admit(r->kind, r->fields)
                                                                : std::nullopt) {
                            rej.errors.push_back(*refused);
                        } else {
                            s << "SAVEPOINT import_row", now;
                            try {
                                const SaveOutcome outcome = saveRow(s, *r);
                                s << "RELEASE SAVEPOINT import_row", now;
                                ++(outcome == SaveOutcome::Created   ? report.created
                                   : outcome == SaveOutcome::Updated ? report.updated
                                                                     : report.unchanged);
                                done();
                                continue;
                            } catch (const Problem& p) {
                                s << "ROLLBACK TO SAVEPOINT import_row", now;
                                s << "RELEASE SAVEPOINT import_row", now;
                                const bool laterParent =
                                    r->kind == "agency" && p.errors().size() == 1 &&
                                    p.errors().front().field == "parent" &&
                                    p.errors().front().code == "directory.unknown_reference";
                                if (laterParent) {
                                    deferred.push_back(r);
                                    continue;
                                }
                                rej.errors =
                                    p.errors().empty()
                                        ? std::vector<FieldError>{{"", p.code(), p.params()}}
                                        : p.errors();
                            }
                        }
                        report.rejected.push_back(std::move(rej));
                        done();
                    }
                    if (deferred.size() == before) {  // no progress: the parents do not exist
                        for (const Row* r : deferred)
                            report.rejected.push_back({r->line,
                                                       r->kind,
                                                       field(r->fields, "code"),
                                                       {{"parent",
                                                         "directory.unknown_reference",
                                                         {{"code", field(r->fields, "parent")}}}}});
                        deferred.clear();
                    }
                    pending = std::move(deferred);
                }
            }
            if (options.dryRun || (options.strict && !report.rejected.empty())) throw Abort{};
        });
        report.committed = true;
    } catch (const Abort&) {
        report.committed = false;
    }
    std::sort(report.rejected.begin(), report.rejected.end(),
              [](const ImportRejection& a, const ImportRejection& b) { return a.line < b.line; });
    return report;
}

SaveOutcome DirectoryImporter::saveRow(Session& s, const Row& r) {
    const auto& f = r.fields;
    std::vector<FieldError> errors;
    SaveOutcome outcome = SaveOutcome::Unchanged;
    if (r.kind == "agency") {
        AgencyInput in{field(f, "code"),    field(f, "name"),
                       field(f, "parent"),  field(f, "kind"),
                       field(f, "address"), flag(store_.text(), f, "active", errors)};
        if (errors.empty()) outcome = store_.save(s, in);
    } else if (r.kind == "counter") {
        CounterInput in{field(f, "code"), field(f, "name"), field(f, "agency"),
                        flag(store_.text(), f, "active", errors)};
        if (errors.empty()) outcome = store_.save(s, in);
    } else if (r.kind == "officer") {
        OfficerInput in{field(f, "code"), field(f, "name"), field(f, "title"), field(f, "agency"),
                        flag(store_.text(), f, "active", errors)};
        if (errors.empty()) outcome = store_.save(s, in);
    } else if (r.kind == "procedure") {
        ProcedureInput in{field(f, "code"),  field(f, "name"),
                          field(f, "field"), field(f, "online"),
                          std::nullopt,      flag(store_.text(), f, "active", errors)};
        const std::string days = field(f, "processing_days");
        if (!days.empty()) {
            try {
                std::size_t used = 0;
                in.processingDays = std::stoi(days, &used);
                if (used != days.size()) throw std::invalid_argument(days);
            } catch (const std::exception&) {
                errors.push_back({"processing_days", "field.integer", {{"value", days}}});
            }
        }
        if (errors.empty()) outcome = store_.save(s, in);
    } else if (r.kind == "device") {
        DeviceInput in{field(f, "code"), field(f, "name"), field(f, "counter")};
        outcome = store_.save(s, in);
    } else if (r.kind == "dossier") {
        DossierInput in;
        in.code = field(f, "code"), in.agencyCode = field(f, "agency");
        in.procedureCode = field(f, "procedure"), in.officerCode = field(f, "officer");
        in.counterCode = field(f, "counter"), in.status = field(f, "status");
        in.phone = field(f, "phone");
        in.receivedAtMs = time(f, "received_at", errors);
        in.dueAtMs = time(f, "due_at", errors);
        in.returnedAtMs = time(f, "returned_at", errors);
        if (errors.empty()) outcome = store_.save(s, in);
    }
    if (!errors.empty()) throw Problem(422, "directory.invalid", {}, errors);
    return outcome;
}

}  // namespace hailong
