#include "export/IndexSheet.h"

#include <cmath>

namespace hailong::exports {

namespace {

ExportValue text(const std::string& s) {
    return ExportValue{s.empty(), 0, s};
}

ExportValue number(std::optional<double> v) {
    if (!v || !std::isfinite(*v)) return ExportValue{};
    const double rounded = std::round(*v * 10000) / 10000;
    return ExportValue{false, rounded, numberText(rounded)};
}

}  // namespace

Sheet indexSheet(const index::IndexReport& report, const std::string& language,
                 const std::string& sheetName) {
    Sheet sheet;
    sheet.name = sheetName;
    sheet.header = {"period", "group", "name", "responses", "index",  "title",
                    "value",  "n",     "low",  "high",      "too_few"};
    sheet.numeric = {false, false, false, true, false, false, true, true, true, true, true};
    for (const index::GroupResult& g : report.groups)
        for (const index::IndexValue* v : index::flatten(g.indices)) {
            std::string title;
            if (v->definition) {
                const auto& t = v->definition->title;
                auto it = t.find(language);
                title = it != t.end() ? it->second : t.count("vi") ? t.at("vi") : "";
            }
            sheet.rows.push_back({text(g.period), text(g.key), text(g.name),
                                  number(static_cast<double>(g.tally.responses)), text(v->id),
                                  text(title), number(v->value), number(static_cast<double>(v->n)),
                                  number(v->low), number(v->high), number(v->tooFew ? 1 : 0)});
        }
    return sheet;
}

}  // namespace hailong::exports
