#include "export/ResponseImport.h"

#include "directory/Csv.h"
#include "export/Codebook.h"
#include "index/Periods.h"

#include <hailong/Hmac.h>
#include <hailong/Problem.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

namespace hailong::exports {

namespace {

constexpr std::size_t kMaxFileBytes = 64u << 20;

// What a column of the file fills.
enum class Target {
    Form,
    Dossier,
    Agency,
    Counter,
    Officer,
    Procedure,
    AnsweredAt,
    Answer,
    Other,
    Chosen,
    Choices
};

struct Mapping {
    std::size_t column = 0;
    Target target = Target::Answer;
    const Question* question = nullptr;
    const QuestionOption* option = nullptr;  // Chosen
};

// `s` without the spaces, tabs, line ends and no-break spaces (U+00A0, whole) around it.
std::string trim(std::string_view s) {
    static constexpr std::string_view kNbsp = "\xC2\xA0";
    for (;;) {
        const auto first = s.find_first_not_of(" \t\r\n");
        if (first == std::string_view::npos) return {};
        s.remove_prefix(first);
        if (!s.starts_with(kNbsp)) break;
        s.remove_prefix(kNbsp.size());
    }
    for (;;) {
        s = s.substr(0, s.find_last_not_of(" \t\r\n") + 1);
        if (!s.ends_with(kNbsp)) break;
        s.remove_suffix(kNbsp.size());
    }
    return std::string(s);
}

std::optional<double> numberIn(const std::string& s) {
    double v = 0;
    std::string t = s;
    std::replace(t.begin(), t.end(), ',', '.');  // "4,0" typed the Vietnamese way
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// "2026-11-28", "2026-11-28 14:05[:09]", "28/11/2026[ 14:05]" or an Excel date number, local
// time; a date alone is taken at noon.
std::optional<std::int64_t> timeIn(const std::string& s) {
    if (auto serial = numberIn(s); serial && *serial > 20000 && *serial < 80000)
        return static_cast<std::int64_t>(std::llround((*serial - 25569) * 86400000.0)) -
               index::kLocalOffsetMs;
    std::string date = s.substr(0, s.find_first_of(" T"));
    const std::string clock = date.size() < s.size() ? trim(s.substr(date.size() + 1)) : "";
    if (date.size() == 10 && date[2] == '/' && date[5] == '/')
        date = date.substr(6, 4) + "-" + date.substr(3, 2) + "-" + date.substr(0, 2);
    const auto day = index::parseDay(date);
    if (!day) return std::nullopt;
    int h = 12, m = 0, sec = 0;
    if (!clock.empty()) {
        char tail = 0;
        const int n = std::sscanf(clock.c_str(), "%2d:%2d:%2d%c", &h, &m, &sec, &tail);
        if (n < 2 || n > 3 || h > 23 || m > 59 || sec > 59 || h < 0 || m < 0 || sec < 0)
            return std::nullopt;
        if (n == 2) sec = 0;
    }
    return index::dayStartMs(*day) + (h * 3600 + m * 60 + sec) * std::int64_t{1000};
}

// The importer of one file: its columns matched to the survey, then its rows submitted.
class Importer {
public:
    Importer(const Survey& survey, const TextNormalizer& text, const Messages& messages)
        : survey_(survey), text_(text), messages_(messages) {}

    // Each header cell matched to what it fills (or reported as ignored).
    void map(const std::vector<std::string>& header, ResponseImportReport& report) {
        std::map<std::string, Mapping> byName;  // keys: lower-case names and accent-free labels
        auto add = [&](const std::string& name, Mapping m) {
            if (!name.empty()) byName.emplace(columnKey(name), m);
        };
        auto field = [&](Target t, std::initializer_list<const char*> names,
                         const char* messageKey) {
            for (const char* n : names) add(n, Mapping{0, t});
            if (messageKey)
                for (const char* lang : {"vi", "en"})
                    add(messages_.text(lang, messageKey), Mapping{0, t});
        };
        field(Target::Form, {"form_id", "so_phieu", "ma_phieu", "receipt"}, "export.receipt");
        field(Target::Dossier, {"dossier", "ma_ho_so"}, "export.dossier");
        field(Target::Agency, {"agency", "agency_code", "ma_co_quan", "co_quan"},
              "export.agency_code");
        field(Target::Counter, {"counter", "quay"}, "export.counter");
        field(Target::Officer, {"officer", "can_bo"}, "export.officer");
        field(Target::Procedure, {"procedure", "thu_tuc"}, "export.procedure");
        field(Target::AnsweredAt, {"answered_at", "date", "ngay", "ngay_danh_gia"},
              "export.answered_at");
        for (const char* lang : {"vi", "en"})
            for (const Column& c : codebookOf(survey_, lang, messages_)) {
                const Question* q = question(c.question);
                if (!q) continue;
                Mapping m{0,
                          c.source == Source::Other    ? Target::Other
                          : c.source == Source::Chosen ? Target::Chosen
                                                       : Target::Answer,
                          q, q->option(c.option)};
                add(c.name, m);
                add(c.label, m);
            }
        for (const Question& q : survey_.questions) {
            Mapping m{0, q.type == QuestionType::MultipleChoice ? Target::Choices : Target::Answer,
                      &q, nullptr};
            add(q.id, m);
            for (const auto& [lang, t] : q.text) add(t, m);
        }
        // What an export computes, read back as nothing.
        std::set<std::string> computed;
        for (const char* k : {"agency_path", "channel", "version", "received_at", "comment_raw",
                              "comment_norm", "sentiment", "topics"}) {
            computed.insert(columnKey(k));
            for (const char* lang : {"vi", "en"})
                computed.insert(columnKey(messages_.text(lang, std::string("export.") + k)));
        }
        std::set<std::string> taken;
        for (std::size_t i = 0; i < header.size(); ++i) {
            const std::string name = trim(header[i]);
            if (name.empty()) continue;
            const std::string key = columnKey(name);
            auto it = byName.find(key);
            if (it == byName.end()) {
                report.ignored.push_back(name + ": " +
                                         messages_.text(language_, computed.count(key)
                                                                       ? "import.column_computed"
                                                                       : "import.column_unknown"));
                continue;
            }
            Mapping m = it->second;
            m.column = i;
            const std::string what = describe(m);
            if (!taken.insert(what).second) {
                report.ignored.push_back(name + ": " +
                                         messages_.text(language_, "import.column_twice"));
                continue;
            }
            report.mapping.push_back(name + " → " + what);
            mappings_.push_back(m);
        }
        const bool anyQuestion = std::any_of(mappings_.begin(), mappings_.end(),
                                             [](auto& m) { return m.question != nullptr; });
        if (!anyQuestion)
            throw Problem(422, "import.no_question_columns", {{"survey", survey_.id}});
    }

    // One row as a submission (and the form's number, "" when the file has none), or the
    // reasons it cannot be one.
    Submission read(const std::vector<std::string>& cells, std::string& form,
                    std::vector<FieldError>& errors) {
        Submission s;
        s.surveyId = survey_.id;
        s.surveyVersion = survey_.version;
        std::map<std::string, Answer> answers;
        auto answer = [&](const Question& q) -> Answer& {
            Answer& a = answers[q.id];
            a.question = q.id;
            return a;
        };
        for (const Mapping& m : mappings_) {
            const std::string v = m.column < cells.size() ? trim(cells[m.column]) : "";
            if (v.empty()) continue;
            const std::string where = m.question ? m.question->id : describe(m);
            switch (m.target) {
                case Target::Form:
                    form = v;
                    break;
                case Target::Dossier:
                    s.dossierCode = v;
                    break;
                case Target::Agency:
                    s.agencyCode = v;
                    break;
                case Target::Counter:
                    s.counterCode = v;
                    break;
                case Target::Officer:
                    s.officerCode = v;
                    break;
                case Target::Procedure:
                    s.procedureCode = v;
                    break;
                case Target::AnsweredAt:
                    if (auto t = timeIn(v))
                        s.answeredAtMs = *t;
                    else
                        errors.push_back({where, "import.bad_date", {{"value", v}}});
                    break;
                case Target::Answer:
                    if (isFreeText(m.question->type) ||
                        m.question->type == QuestionType::DossierCode) {
                        answer(*m.question).text = v;
                    } else if (const QuestionOption* o = option(*m.question, v)) {
                        answer(*m.question).choices.push_back(o->id);
                    } else {
                        errors.push_back(unknown(*m.question, v));
                    }
                    break;
                case Target::Other:
                    answer(*m.question).text = v;
                    break;
                case Target::Chosen: {
                    const std::string k = text_.key(v);
                    if (k == "1" || k == "x" || k == "co" || k == "yes" || k == "true") {
                        if (m.option) answer(*m.question).choices.push_back(m.option->id);
                    } else if (k != "0" && k != "khong" && k != "no" && k != "false") {
                        errors.push_back({where, "import.bad_flag", {{"value", v}}});
                    }
                    break;
                }
                case Target::Choices: {
                    // One option, else a list split at ';' (at ',' when there is no ';').
                    if (const QuestionOption* o = option(*m.question, v)) {
                        answer(*m.question).choices.push_back(o->id);
                        break;
                    }
                    const char mark = v.find(';') != std::string::npos ? ';' : ',';
                    for (std::size_t at = 0; at <= v.size();) {
                        const std::size_t end = std::min(v.find(mark, at), v.size());
                        const std::string one = trim(v.substr(at, end - at));
                        at = end + 1;
                        if (one.empty()) continue;
                        if (const QuestionOption* o = option(*m.question, one))
                            answer(*m.question).choices.push_back(o->id);
                        else
                            errors.push_back(unknown(*m.question, one));
                    }
                    break;
                }
            }
        }
        for (const Question& q : survey_.questions)  // in the survey's order
            if (auto it = answers.find(q.id); it != answers.end()) s.answers.push_back(it->second);
        if (s.answers.empty() && errors.empty()) errors.push_back({"", "import.no_answers", {}});
        return s;
    }

    void setLanguage(const std::string& lang) { language_ = lang; }

private:
    // A header's key: accent-free, case-folded, "_" and "-" read as spaces ("Số phiếu" and
    // "so_phieu" match).
    std::string columnKey(const std::string& name) const {
        std::string k = name;
        std::replace(k.begin(), k.end(), '_', ' ');
        std::replace(k.begin(), k.end(), '-', ' ');
        return text_.key(k);
    }

    const Question* question(const std::string& id) const {
        for (const Question& q : survey_.questions)
            if (q.id == id) return &q;
        return nullptr;
    }

    // An option by its id, its position (single choice, as exports code it), its value
    // (ratings, yes/no, NPS, as exports write them) or its label, with or without diacritics.
    const QuestionOption* option(const Question& q, const std::string& v) const {
        for (const QuestionOption& o : q.options)
            if (o.id == v) return &o;
        if (auto n = numberIn(v)) {
            if (q.type == QuestionType::SingleChoice) {
                if (*n >= 1 && *n <= static_cast<double>(q.options.size()) && *n == std::floor(*n))
                    return &q.options[static_cast<std::size_t>(*n) - 1];
            } else {
                for (const QuestionOption& o : q.options)
                    if (o.value == *n) return &o;
            }
            return nullptr;
        }
        const std::string k = text_.key(v);
        for (const QuestionOption& o : q.options)
            for (const auto& [lang, label] : o.label)
                if (text_.key(label) == k) return &o;
        return nullptr;
    }

    FieldError unknown(const Question& q, const std::string& v) const {
        std::string options;
        for (const QuestionOption& o : q.options) {
            const std::string label = o.label.count(language_) ? o.label.at(language_)
                                      : o.label.count("vi")    ? o.label.at("vi")
                                                               : o.id;
            options += (options.empty() ? "" : "; ") + o.id + " = " + label;
        }
        return {q.id, "import.unknown_option", {{"value", v}, {"options", options}}};
    }

    std::string describe(const Mapping& m) const {
        switch (m.target) {
            case Target::Form:
                return "form_id";
            case Target::Dossier:
                return "dossier";
            case Target::Agency:
                return "agency";
            case Target::Counter:
                return "counter";
            case Target::Officer:
                return "officer";
            case Target::Procedure:
                return "procedure";
            case Target::AnsweredAt:
                return "answered_at";
            case Target::Answer:
            case Target::Choices:
                return m.question->id;
            case Target::Other:
                return m.question->id + " (other)";
            case Target::Chosen:
                return m.question->id + " = " + (m.option ? m.option->id : "?");
        }
        return "?";
    }

    const Survey& survey_;
    const TextNormalizer& text_;
    const Messages& messages_;
    std::string language_ = "vi";
    std::vector<Mapping> mappings_;
};

}  // namespace

ResponseImportReport importResponses(Ingest& ingest, const SurveyCatalog& surveys,
                                     const TextNormalizer& text, const vi::LegacyTables& tables,
                                     const Messages& messages, std::string_view content,
                                     std::string_view fileName,
                                     const ResponseImportOptions& options) {
    const auto survey = surveys.find(options.surveyId, 0);
    if (!survey) throw Problem(404, "survey.not_found", {{"id", options.surveyId}});
    if (content.size() > kMaxFileBytes)
        throw Problem(413, "import.too_large", {{"max", std::to_string(kMaxFileBytes >> 20)}});
    ResponseImportReport report;
    std::vector<std::pair<std::size_t, std::vector<std::string>>> rows;
    const bool xlsx = fileName.ends_with(".xlsx") || content.starts_with("PK\x03\x04");
    if (xlsx) {
        rows = readXlsxSheet(content);
        for (auto& [line, cells] : rows)
            for (std::string& c : cells) c = text.normalize(c);
        report.encoding = "xlsx";
        report.encodingReason = "Excel workbook (text is UTF-8)";
    } else {
        const vi::Detection found = vi::detect(content, tables);
        const std::string decoded =
            vi::decode(content, found.encoding, tables, vi::Invalid::Reject);
        report.encoding = vi::toString(found.encoding);
        report.encodingReason = found.reason;
        report.confidence = found.confidence;
        CsvReader reader(decoded);
        CsvRecord record;
        while (reader.next(record)) rows.push_back({record.line, std::move(record.fields)});
    }
    if (rows.empty()) throw Problem(422, "import.empty");

    Importer importer(*survey, text, messages);
    importer.setLanguage(options.language);
    importer.map(rows.front().second, report);
    std::map<std::string, int> seen;  // rows of identical content so far
    for (std::size_t r = 1; r < rows.size(); ++r) {
        if (options.progress) options.progress(r - 1, rows.size() - 1);
        const auto& [line, cells] = rows[r];
        if (std::all_of(cells.begin(), cells.end(),
                        [](const std::string& c) { return trim(c).empty(); }))
            continue;  // a blank line between forms
        ++report.rows;
        std::vector<FieldError> errors;
        std::string form;
        Submission s = importer.read(cells, form, errors);
        s.channel = options.channel;
        // The same row imported again has the same key: its form number, else its content
        // and how many identical rows came before it in this file.
        if (!form.empty()) {
            s.idempotencyKey = options.channel + ":" + survey->id + ":form:" + form;
        } else {
            std::string content1;
            for (const std::string& c : cells) content1 += trim(c) + '\x1f';
            const std::string digest = hmacSha256Hex(survey->id, content1).substr(0, 32);
            s.idempotencyKey = options.channel + ":" + survey->id + ":" + digest + "#" +
                               std::to_string(++seen[digest]);
        }
        if (!errors.empty()) {
            report.rejected.push_back({line, "response", form, std::move(errors)});
            continue;
        }
        if (options.admit)
            if (auto refused = options.admit(s)) {
                report.rejected.push_back({line, "response", form, {*refused}});
                continue;
            }
        try {
            if (options.dryRun) {
                if (options.check) options.check(s);
                ++report.imported;
                continue;
            }
            const Receipt receipt = ingest.submit(s);
            ++(receipt.duplicate ? report.duplicates : report.imported);
        } catch (const Problem& p) {
            std::vector<FieldError> why = p.errors();
            if (why.empty()) why.push_back({"", p.code(), p.params()});
            report.rejected.push_back({line, "response", form, std::move(why)});
        }
    }
    if (options.progress) options.progress(rows.size() - 1, rows.size() - 1);
    return report;
}

}  // namespace hailong::exports
