#include "export/ResponseExport.h"

#include "export/CsvWriter.h"
#include "hailong/Problem.h"
#include "index/Periods.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <sqlite3.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <unordered_map>
#include <variant>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace hailong::exports {

namespace {

constexpr std::size_t kBatch = 1000;

// An agency as an export shows it: its code and its place in the tree by name.
struct Agency {
    std::string code, path;
};

// One stored response as read, before it becomes cells.
struct Stored {
    std::int64_t id = 0, agency = 0, counter = 0, officer = 0, procedure = 0, answeredAt = 0,
                 receivedAt = 0;
    int version = 0;
    std::string receipt, dossier, channel, commentRaw, commentNorm, sentiment, topics;
};

// One stored answer: its question, and its number (none for a text or an "other" text).
struct StoredAnswer {
    std::string question, text;
    std::optional<double> number;
};

// "2026-11-28 06:11:05", Vietnam time.
void localTime(std::int64_t epochMs, std::string& out) {
    const std::int64_t day = index::localDay(epochMs);
    const std::int64_t inDay =
        ((epochMs + index::kLocalOffsetMs) % 86400000 + 86400000) % 86400000 / 1000;
    char hms[16];
    std::snprintf(hms, sizeof hms, " %02d:%02d:%02d", static_cast<int>(inDay / 3600),
                  static_cast<int>(inDay / 60 % 60), static_cast<int>(inDay % 60));
    out = index::format(day);
    out += hms;
}

void setText(ExportValue& v, std::string_view s) {
    v.missing = s.empty();
    v.text.assign(s);
}

void setNumber(ExportValue& v, double n) {
    v.missing = false;
    v.number = n;
    v.text = numberText(n);
}

class CsvSink final : public RowSink {
public:
    CsvSink(std::ostream& out, CsvDialect dialect) : writer_(out, dialect) {}
    void begin(const std::vector<Column>& columns, std::size_t) override {
        std::vector<std::string> names;
        for (const Column& c : columns) names.push_back(c.name);
        writer_.row(names);
    }
    void row(const std::vector<ExportValue>& cells) override {
        for (const ExportValue& v : cells) writer_.cell(v.missing ? std::string_view() : v.text);
        writer_.endRow();
    }
    void end() override {}

private:
    CsvWriter writer_;
};

// `s` as a JSON string: quotes, backslashes and control characters escaped, UTF-8 as is.
void jsonString(std::ostream& out, std::string_view s) {
    out.put('"');
    std::size_t from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.write(s.data() + from, static_cast<std::streamsize>(i - from));
        from = i + 1;
        switch (c) {
            case '"':
                out << "\\\"";
                break;
            case '\\':
                out << "\\\\";
                break;
            case '\n':
                out << "\\n";
                break;
            case '\r':
                out << "\\r";
                break;
            case '\t':
                out << "\\t";
                break;
            default: {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                out << escaped;
            }
        }
    }
    out.write(s.data() + from, static_cast<std::streamsize>(s.size() - from));
    out.put('"');
}

class JsonLinesSink final : public RowSink {
public:
    explicit JsonLinesSink(std::ostream& out) : out_(out) {}
    void begin(const std::vector<Column>& columns, std::size_t) override {
        columns_ = columns;
        for (const Column& c : columns) {  // "name": once for every row
            std::ostringstream key;
            jsonString(key, c.name);
            keys_.push_back(key.str() + ":");
        }
    }
    void row(const std::vector<ExportValue>& cells) override {
        out_.put('{');
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (i > 0) out_.put(',');
            out_ << keys_[i];
            if (cells[i].missing)
                out_ << "null";
            else if (columns_[i].numeric)
                out_ << cells[i].text;
            else
                jsonString(out_, cells[i].text);
        }
        out_ << "}\n";
    }
    void end() override {}

private:
    std::ostream& out_;
    std::vector<Column> columns_;
    std::vector<std::string> keys_;
};

// Codes of a directory table, by id.
std::unordered_map<std::int64_t, std::string> codes(Session& s, const std::string& table) {
    std::unordered_map<std::int64_t, std::string> out;
    RecordSet rs(s, "SELECT id, code FROM " + table);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext())
        out[rs.value(0).convert<std::int64_t>()] = rs.value(1).convert<std::string>();
    return out;
}

// The responses an export holds, as SQL: conditions on `responses r` with placeholders $1.. in
// order, and their values.
struct Selection {
    std::string where;
    std::vector<std::variant<std::int64_t, std::string>> values;

    void add(const std::string& condition, std::variant<std::int64_t, std::string> value) {
        values.push_back(std::move(value));
        where += (where.empty() ? "" : " AND ") + condition + " $" + std::to_string(values.size());
    }
    void bindTo(Statement& st) const {
        for (const auto& v : values) std::visit([&](const auto& x) { st, bind(x); }, v);
    }
};

// Turns stored responses into rows of cells, in the columns of a codebook. Built once per
// export (the directory's codes, the agencies' paths, where each answer goes); not thread-safe.
class RowBuilder {
public:
    RowBuilder(const Survey& survey, const std::vector<Column>& columns) : columns_(columns) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            const Column& c = columns[i];
            if (c.source == Source::Answer) answerAt_[c.question] = i;
            if (c.source == Source::Other) otherAt_[c.question] = i;
            if (c.source == Source::Chosen) chosenAt_[{c.question, c.option}] = i;
        }
        for (const Question& q : survey.questions) questions_[q.id] = &q;
    }

    // The directory: agencies with their paths by name, counters, officers, procedures.
    void readDirectory(Session& s) {
        std::unordered_map<std::int64_t, std::string> names, paths;
        RecordSet rs(s, "SELECT id, code, name, path FROM agencies");
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            const auto id = rs.value(0).convert<std::int64_t>();
            agencies_[id].code = rs.value(1).convert<std::string>();
            names[id] = rs.value(2).convert<std::string>();
            paths[id] = rs.value(3).convert<std::string>();
        }
        for (auto& [id, a] : agencies_) {  // "/1/7/12/": the names of 1, 7 and 12
            std::string number;
            for (char c : paths[id] + "/") {
                if (c >= '0' && c <= '9') {
                    number += c;
                } else if (!number.empty()) {
                    a.path += (a.path.empty() ? "" : " / ") + names[std::stoll(number)];
                    number.clear();
                }
            }
        }
        counters_ = codes(s, "counters");
        officers_ = codes(s, "officers");
        procedures_ = codes(s, "procedures");
    }

    // The longest code or path of a directory field, in bytes.
    std::size_t longest(Source source) const {
        std::size_t n = 0;
        auto of = [&](const std::unordered_map<std::int64_t, std::string>& m) {
            for (const auto& [id, code] : m) n = std::max(n, code.size());
        };
        if (source == Source::Counter) of(counters_);
        if (source == Source::Officer) of(officers_);
        if (source == Source::Procedure) of(procedures_);
        for (const auto& [id, a] : agencies_)
            if (source == Source::AgencyCode || source == Source::AgencyPath)
                n = std::max(n, source == Source::AgencyCode ? a.code.size() : a.path.size());
        return n;
    }

    std::optional<std::int64_t> procedureId(const std::string& code) const {
        for (const auto& [id, c] : procedures_)
            if (c == code) return id;
        return std::nullopt;
    }

    void build(const Stored& r, std::span<const StoredAnswer> answers,
               std::vector<ExportValue>& cells) {
        for (ExportValue& c : cells) c.missing = true;
        auto codeOf = [](const std::unordered_map<std::int64_t, std::string>& m,
                         std::int64_t k) -> std::string_view {
            auto it = m.find(k);
            return it == m.end() ? std::string_view() : std::string_view(it->second);
        };
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            ExportValue& cell = cells[i];
            switch (columns_[i].source) {
                case Source::Receipt:
                    setText(cell, r.receipt);
                    break;
                case Source::Dossier:
                    setText(cell, r.dossier);
                    break;
                case Source::AgencyCode:
                case Source::AgencyPath: {
                    auto it = agencies_.find(r.agency);
                    setText(cell, it == agencies_.end()                      ? ""
                                  : columns_[i].source == Source::AgencyCode ? it->second.code
                                                                             : it->second.path);
                    break;
                }
                case Source::Counter:
                    setText(cell, codeOf(counters_, r.counter));
                    break;
                case Source::Officer:
                    setText(cell, codeOf(officers_, r.officer));
                    break;
                case Source::Procedure:
                    setText(cell, codeOf(procedures_, r.procedure));
                    break;
                case Source::Channel:
                    setText(cell, r.channel);
                    break;
                case Source::Version:
                    setNumber(cell, r.version);
                    break;
                case Source::AnsweredAt:
                case Source::ReceivedAt:
                    localTime(
                        columns_[i].source == Source::AnsweredAt ? r.answeredAt : r.receivedAt,
                        cell.text);
                    cell.missing = false;
                    break;
                case Source::CommentRaw:
                    setText(cell, r.commentRaw);
                    break;
                case Source::CommentNorm:
                    setText(cell, r.commentNorm);
                    break;
                case Source::Sentiment:
                    setText(cell, r.sentiment);
                    break;
                case Source::Topics:
                    setText(cell, r.topics);
                    break;
                case Source::Answer:
                case Source::Other:
                case Source::Chosen:
                    break;  // below, from the answers
            }
        }
        answered_.clear();
        for (const StoredAnswer& a : answers) {
            auto q = questions_.find(a.question);
            if (q == questions_.end()) continue;  // a question of another version
            const Question& qq = *q->second;
            // A multiple choice answered (by its options or its other text): 0 for every option
            // not chosen.
            if (qq.type == QuestionType::MultipleChoice && answered_.insert(qq.id).second)
                for (const QuestionOption& o : qq.options)
                    if (auto it = chosenAt_.find({qq.id, o.id}); it != chosenAt_.end())
                        setNumber(cells[it->second], 0);
            const bool isOther =
                !a.number && !isFreeText(qq.type) && qq.type != QuestionType::DossierCode;
            if (isOther) {
                if (auto it = otherAt_.find(qq.id); it != otherAt_.end())
                    setText(cells[it->second], a.text);
                continue;
            }
            if (qq.type == QuestionType::MultipleChoice) {
                if (auto it = chosenAt_.find({qq.id, a.text}); it != chosenAt_.end())
                    setNumber(cells[it->second], 1);
                continue;
            }
            auto at = answerAt_.find(qq.id);
            if (at == answerAt_.end()) continue;
            if (qq.type == QuestionType::SingleChoice) {
                for (std::size_t k = 0; k < qq.options.size(); ++k)
                    if (qq.options[k].id == a.text)
                        setNumber(cells[at->second], static_cast<double>(k + 1));
            } else if (a.number) {
                setNumber(cells[at->second], *a.number);
            } else {
                setText(cells[at->second], a.text);
            }
        }
    }

private:
    const std::vector<Column>& columns_;
    std::unordered_map<std::int64_t, Agency> agencies_;
    std::unordered_map<std::int64_t, std::string> counters_, officers_, procedures_;
    std::map<std::string, std::size_t> answerAt_, otherAt_;
    std::map<std::pair<std::string, std::string>, std::size_t> chosenAt_;
    std::map<std::string, const Question*> questions_;
    std::set<std::string> answered_;
};

// Each text column's longest cell in bytes (at least 1), over the selection: for formats with
// fixed-width strings.
void measureWidths(Session& s, Backend backend, const Selection& selection,
                   const RowBuilder& builder, std::vector<Column>& columns) {
    auto bytes = [&](const std::string& x) {
        return "COALESCE(MAX(" +
               (backend == Backend::SQLite ? "length(CAST(" + x + " AS BLOB))"
                                           : "octet_length(" + x + ")") +
               "), 0)";
    };
    std::map<Source, std::size_t> fields;
    {
        Statement st(s);
        st << "SELECT " + bytes("r.receipt") + ", " + bytes("d.code") + ", " + bytes("r.channel") +
                  ", " + bytes("r.comment_raw") + ", " + bytes("r.comment_norm") + ", " +
                  bytes("r.sentiment") + ", " + bytes("r.topics") +
                  " FROM responses r LEFT JOIN dossiers d ON d.id = r.dossier_id WHERE " +
                  selection.where;
        selection.bindTo(st);
        st.execute();
        RecordSet rs(st);
        int i = 0;
        for (Source f : {Source::Receipt, Source::Dossier, Source::Channel, Source::CommentRaw,
                         Source::CommentNorm, Source::Sentiment, Source::Topics})
            fields[f] = rs.value(static_cast<std::size_t>(i++)).convert<std::size_t>();
    }
    // Texts are the answers without a number: text questions' and "other" texts.
    std::map<std::string, std::size_t> answers;
    {
        Statement st(s);
        st << "SELECT a.question_id, " + bytes("a.value_text") +
                  " FROM responses r JOIN answers a ON a.response_id = r.id WHERE " +
                  selection.where + " AND a.value_num IS NULL GROUP BY a.question_id";
        selection.bindTo(st);
        st.execute();
        RecordSet rs(st);
        for (bool more = rs.moveFirst(); more; more = rs.moveNext())
            answers[rs.value(0).convert<std::string>()] = rs.value(1).convert<std::size_t>();
    }
    for (Column& c : columns) {
        if (c.numeric) continue;
        std::size_t n = 0;
        if (c.source == Source::Answer || c.source == Source::Other)
            n = answers.count(c.question) ? answers[c.question] : 0;
        else if (c.source == Source::AnsweredAt || c.source == Source::ReceivedAt)
            n = 19;  // "2026-11-28 06:11:05"
        else if (fields.count(c.source))
            n = fields[c.source];
        else
            n = builder.longest(c.source);
        c.width = std::max<std::size_t>(1, n);
    }
}

using RowCallback = std::function<void(const Stored&, std::span<const StoredAnswer>)>;

// The response fields, in the order Stored reads them.
constexpr const char* kFields =
    "r.id, r.receipt, COALESCE(d.code, ''), COALESCE(r.agency_id, 0), COALESCE(r.counter_id, "
    "0), COALESCE(r.officer_id, 0), COALESCE(r.procedure_id, 0), r.channel, r.survey_version, "
    "r.answered_at, r.received_at, COALESCE(r.comment_raw, ''), COALESCE(r.comment_norm, ''), "
    "COALESCE(r.sentiment, ''), COALESCE(r.topics, '')";

// SQLite: the responses and their answers in two cursors over one snapshot, both in the order
// of the responses' ids (the table's own order: no sort, nothing held), merged by id.
std::size_t readSqlite(Session& s, const Selection& selection, const RowCallback& each) {
    sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(s);
    auto prepare = [&](const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("export: ") + sqlite3_errmsg(db));
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owned(st, sqlite3_finalize);
        for (std::size_t i = 0; i < selection.values.size(); ++i) {
            const int at = static_cast<int>(i + 1);
            if (const auto* n = std::get_if<std::int64_t>(&selection.values[i]))
                sqlite3_bind_int64(st, at, *n);
            else {
                const std::string& t = std::get<std::string>(selection.values[i]);
                sqlite3_bind_text(st, at, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
            }
        }
        return owned;
    };
    // NOT INDEXED: the table in rowid order, whatever index the filter could use.
    const std::string from = " FROM responses r NOT INDEXED ";
    auto responses = prepare(std::string("SELECT ") + kFields + from +
                             "LEFT JOIN dossiers d ON d.id = r.dossier_id WHERE " +
                             selection.where + " ORDER BY r.id");
    auto answers = prepare("SELECT a.response_id, a.question_id, a.value_num, a.value_text" + from +
                           "JOIN answers a ON a.response_id = r.id WHERE " + selection.where +
                           " ORDER BY r.id, a.question_id, a.position");
    auto text = [](sqlite3_stmt* st, int col, std::string& out) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
        out.assign(p ? p : "", p ? static_cast<std::size_t>(sqlite3_column_bytes(st, col)) : 0);
    };
    auto step = [&](sqlite3_stmt* st) {
        const int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            throw std::runtime_error(std::string("export: ") + sqlite3_errmsg(db));
        return rc == SQLITE_ROW;
    };
    Stored r;
    std::vector<StoredAnswer> found;
    std::size_t pending = 0;  // answers read into `found` so far for the current response
    bool answer = step(answers.get());
    std::size_t n = 0;
    while (step(responses.get())) {
        sqlite3_stmt* st = responses.get();
        r.id = sqlite3_column_int64(st, 0);
        text(st, 1, r.receipt);
        text(st, 2, r.dossier);
        r.agency = sqlite3_column_int64(st, 3);
        r.counter = sqlite3_column_int64(st, 4);
        r.officer = sqlite3_column_int64(st, 5);
        r.procedure = sqlite3_column_int64(st, 6);
        text(st, 7, r.channel);
        r.version = sqlite3_column_int(st, 8);
        r.answeredAt = sqlite3_column_int64(st, 9);
        r.receivedAt = sqlite3_column_int64(st, 10);
        text(st, 11, r.commentRaw);
        text(st, 12, r.commentNorm);
        text(st, 13, r.sentiment);
        text(st, 14, r.topics);
        pending = 0;
        for (; answer && sqlite3_column_int64(answers.get(), 0) <= r.id;
             answer = step(answers.get())) {
            if (sqlite3_column_int64(answers.get(), 0) < r.id) continue;
            if (found.size() <= pending) found.emplace_back();
            StoredAnswer& a = found[pending++];
            text(answers.get(), 1, a.question);
            a.number = sqlite3_column_type(answers.get(), 2) == SQLITE_NULL
                           ? std::nullopt
                           : std::optional(sqlite3_column_double(answers.get(), 2));
            text(answers.get(), 3, a.text);
        }
        // `found` keeps its strings' storage from row to row; only `pending` of them are this
        // response's.
        each(r, std::span<const StoredAnswer>(found.data(), pending));
        ++n;
    }
    return n;
}

}  // namespace

std::string numberText(double v) {
    char buffer[32];
    const auto written =
        std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15
            ? std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(v))
            : std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::general, 15);
    return std::string(buffer, written.ptr);
}

std::unique_ptr<RowSink> csvSink(std::ostream& out, bool excel, char delimiter) {
    return std::make_unique<CsvSink>(out,
                                     excel ? CsvDialect::excel(delimiter) : CsvDialect::plain());
}

std::unique_ptr<RowSink> jsonLinesSink(std::ostream& out) {
    return std::make_unique<JsonLinesSink>(out);
}

std::size_t exportResponses(Database& db, const SurveyCatalog& surveys, const Messages& messages,
                            const ExportFilter& filter, RowSink& sink,
                            const ExportProgress& progress) {
    const auto survey = surveys.find(filter.surveyId, filter.version.value_or(0));
    if (!survey) throw Problem(404, "survey.not_found", {{"id", filter.surveyId}});
    std::vector<Column> columns = codebookOf(*survey, filter.language, messages);
    RowBuilder builder(*survey, columns);
    db.read([&](Session& s) { builder.readDirectory(s); });

    Selection selection;
    selection.add("r.survey_id =", filter.surveyId);
    if (filter.version) selection.add("r.survey_version =", std::int64_t{*filter.version});
    if (filter.fromDay) selection.add("r.answered_at >=", index::dayStartMs(*filter.fromDay));
    if (filter.toDay) selection.add("r.answered_at <", index::dayStartMs(*filter.toDay + 1));
    if (filter.channel) selection.add("r.channel =", *filter.channel);
    if (filter.procedureCode) {
        const auto id = builder.procedureId(*filter.procedureCode);
        if (!id)
            throw Problem(404, "directory.not_found",
                          {{"kind", "procedure"}, {"code", *filter.procedureCode}});
        selection.add("r.procedure_id =", *id);
    }
    if (!filter.scopePath.empty()) {
        selection.add("r.agency_id IN (SELECT id FROM agencies WHERE path LIKE",
                      filter.scopePath + "%");
        selection.where += ")";
    }

    std::vector<ExportValue> cells(columns.size());
    std::size_t total = 0, written = 0;
    auto each = [&](const Stored& r, std::span<const StoredAnswer> answers) {
        builder.build(r, answers, cells);
        sink.row(cells);
        // Every 1,000 rows, as the batches of the other backends.
        if (++written % kBatch == 0 && progress) progress(written, total);
    };
    // One snapshot: the count (SAV writes it first; the progress bar shows time left) and the
    // rows agree.
    db.snapshot([&](Session& s) {
        Statement count(s);
        count << "SELECT COUNT(*) FROM responses r WHERE " + selection.where;
        selection.bindTo(count);
        count, into(total);
        count.execute();
        if (sink.needsWidths()) measureWidths(s, db.backend(), selection, builder, columns);
        sink.begin(columns, total);
        if (db.backend() == Backend::SQLite) {
            readSqlite(s, selection, each);
            return 0;
        }
        // Other backends: keyset batches of responses, and their answers by id.
        const std::string select = std::string("SELECT ") + kFields +
                                   " FROM responses r LEFT JOIN dossiers d ON d.id = "
                                   "r.dossier_id WHERE " +
                                   selection.where + " AND r.id > $" +
                                   std::to_string(selection.values.size() + 1) +
                                   " ORDER BY r.id LIMIT " + std::to_string(kBatch);
        std::vector<Stored> batch;
        std::vector<StoredAnswer> answers;
        for (std::int64_t after = 0;;) {
            Statement st(s);
            st << select;
            selection.bindTo(st);
            st, bind(after);
            st.execute();
            RecordSet rs(st);
            batch.clear();
            for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
                Stored& r = batch.emplace_back();
                r.id = rs.value(0).convert<std::int64_t>();
                r.receipt = rs.value(1).convert<std::string>();
                r.dossier = rs.value(2).convert<std::string>();
                r.agency = rs.value(3).convert<std::int64_t>();
                r.counter = rs.value(4).convert<std::int64_t>();
                r.officer = rs.value(5).convert<std::int64_t>();
                r.procedure = rs.value(6).convert<std::int64_t>();
                r.channel = rs.value(7).convert<std::string>();
                r.version = rs.value(8).convert<int>();
                r.answeredAt = rs.value(9).convert<std::int64_t>();
                r.receivedAt = rs.value(10).convert<std::int64_t>();
                r.commentRaw = rs.value(11).convert<std::string>();
                r.commentNorm = rs.value(12).convert<std::string>();
                r.sentiment = rs.value(13).convert<std::string>();
                r.topics = rs.value(14).convert<std::string>();
            }
            if (batch.empty()) break;
            // The answers of these responses only (ids in between may be other surveys').
            std::string ids;
            for (const Stored& r : batch) ids += (ids.empty() ? "" : ",") + std::to_string(r.id);
            RecordSet as(s,
                         "SELECT response_id, question_id, value_num, value_text FROM answers "
                         "WHERE response_id IN (" +
                             ids + ") ORDER BY response_id, question_id, position");
            std::size_t a = 0;
            answers.clear();
            std::vector<std::int64_t> owner;
            for (bool more = as.moveFirst(); more; more = as.moveNext()) {
                owner.push_back(as.value(0).convert<std::int64_t>());
                answers.push_back(
                    {as.value(1).convert<std::string>(), as.value(3).convert<std::string>(),
                     as.value(2).isEmpty() ? std::nullopt
                                           : std::optional(as.value(2).convert<double>())});
            }
            for (const Stored& r : batch) {
                const std::size_t first = a;
                while (a < answers.size() && owner[a] == r.id) ++a;
                each(r, std::span<const StoredAnswer>(answers.data() + first, a - first));
            }
            after = batch.back().id;
            if (batch.size() < kBatch) break;
        }
        return 0;
    });
    if (progress) progress(written, total);
    sink.end();
    return written;
}

}  // namespace hailong::exports
