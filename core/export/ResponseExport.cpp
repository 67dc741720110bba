#include "export/ResponseExport.h"

#include "export/CsvWriter.h"
#include "hailong/Problem.h"
#include "index/Periods.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>
#include <Poco/JSON/Stringifier.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

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

// "2026-11-28 06:11:05", Vietnam time.
std::string localTime(std::int64_t epochMs) {
    const std::int64_t day = index::localDay(epochMs);
    const std::int64_t inDay =
        ((epochMs + index::kLocalOffsetMs) % 86400000 + 86400000) % 86400000 / 1000;
    char hms[16];
    std::snprintf(hms, sizeof hms, " %02d:%02d:%02d", static_cast<int>(inDay / 3600),
                  static_cast<int>(inDay / 60 % 60), static_cast<int>(inDay % 60));
    return index::format(day) + hms;
}

std::string numberText(double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
        return std::to_string(static_cast<long long>(v));
    std::ostringstream out;
    out.precision(15);
    out << v;
    return out.str();
}

ExportValue text(std::string s) {
    ExportValue v;
    v.missing = s.empty();
    v.text = std::move(s);
    return v;
}

ExportValue number(double n) {
    ExportValue v;
    v.missing = false;
    v.number = n;
    v.text = numberText(n);
    return v;
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
        cells_.clear();
        for (const ExportValue& v : cells) cells_.push_back(v.missing ? std::string() : v.text);
        writer_.row(cells_);
    }
    void end() override {}

private:
    CsvWriter writer_;
    std::vector<std::string> cells_;
};

class JsonLinesSink final : public RowSink {
public:
    explicit JsonLinesSink(std::ostream& out) : out_(out) {}
    void begin(const std::vector<Column>& columns, std::size_t) override { columns_ = columns; }
    void row(const std::vector<ExportValue>& cells) override {
        out_ << '{';
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (i > 0) out_ << ',';
            Poco::JSON::Stringifier::formatString(columns_[i].name, out_);
            out_ << ':';
            if (cells[i].missing)
                out_ << "null";
            else if (columns_[i].numeric)
                out_ << cells[i].text;
            else
                Poco::JSON::Stringifier::formatString(cells[i].text, out_);
        }
        out_ << "}\n";
    }
    void end() override {}

private:
    std::ostream& out_;
    std::vector<Column> columns_;
};

// Codes of a directory table, by id.
std::map<std::int64_t, std::string> codes(Session& s, const std::string& table) {
    std::map<std::int64_t, std::string> out;
    RecordSet rs(s, "SELECT id, code FROM " + table);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext())
        out[rs.value(0).convert<std::int64_t>()] = rs.value(1).convert<std::string>();
    return out;
}

}  // namespace

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
    const std::vector<Column> columns = codebookOf(*survey, filter.language, messages);

    // The directory's codes and the agencies' paths by name, read and built once (small next to
    // the responses).
    std::map<std::int64_t, Agency> agencies;
    std::map<std::int64_t, std::string> counters, officers, procedures;
    std::optional<std::int64_t> procedureId;
    db.read([&](Session& s) {
        std::map<std::int64_t, std::string> names, paths;
        RecordSet rs(s, "SELECT id, code, name, path FROM agencies");
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            const auto id = rs.value(0).convert<std::int64_t>();
            agencies[id].code = rs.value(1).convert<std::string>();
            names[id] = rs.value(2).convert<std::string>();
            paths[id] = rs.value(3).convert<std::string>();
        }
        for (auto& [id, a] : agencies) {  // "/1/7/12/": the names of 1, 7 and 12
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
        counters = codes(s, "counters");
        officers = codes(s, "officers");
        procedures = codes(s, "procedures");
        return 0;
    });
    if (filter.procedureCode) {
        for (const auto& [id, code] : procedures)
            if (code == *filter.procedureCode) procedureId = id;
        if (!procedureId)
            throw Problem(404, "directory.not_found",
                          {{"kind", "procedure"}, {"code", *filter.procedureCode}});
    }
    // The conditions, each with its own placeholder.
    std::string where = "r.survey_id = $1 AND r.id > $2";
    int next = 3;
    auto placeholder = [&] { return "$" + std::to_string(next++); };
    if (filter.version) where += " AND r.survey_version = " + placeholder();
    if (filter.fromDay) where += " AND r.answered_at >= " + placeholder();
    if (filter.toDay) where += " AND r.answered_at < " + placeholder();
    if (filter.channel) where += " AND r.channel = " + placeholder();
    if (procedureId) where += " AND r.procedure_id = " + placeholder();
    if (!filter.scopePath.empty())
        where +=
            " AND r.agency_id IN (SELECT id FROM agencies WHERE path LIKE " + placeholder() + ")";
    const std::string select =
        "SELECT r.id, r.receipt, COALESCE(d.code, ''), COALESCE(r.agency_id, 0), "
        "COALESCE(r.counter_id, 0), COALESCE(r.officer_id, 0), COALESCE(r.procedure_id, 0), "
        "r.channel, r.survey_version, r.answered_at, r.received_at, r.comment_raw, "
        "r.comment_norm, r.sentiment, r.topics FROM responses r LEFT JOIN dossiers d ON d.id = "
        "r.dossier_id WHERE " +
        where + " ORDER BY r.id LIMIT " + std::to_string(kBatch);
    const std::int64_t fromMs = filter.fromDay ? index::dayStartMs(*filter.fromDay) : 0;
    const std::int64_t toMs = filter.toDay ? index::dayStartMs(*filter.toDay + 1) : 0;
    const std::string scope = filter.scopePath + "%";

    // Where each question's answers go.
    std::map<std::string, std::size_t> answerAt, otherAt;
    std::map<std::pair<std::string, std::string>, std::size_t> chosenAt;
    std::map<std::string, const Question*> questions;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const Column& c = columns[i];
        if (c.source == Source::Answer) answerAt[c.question] = i;
        if (c.source == Source::Other) otherAt[c.question] = i;
        if (c.source == Source::Chosen) chosenAt[{c.question, c.option}] = i;
    }
    for (const Question& q : survey->questions) questions[q.id] = &q;

    // How many rows will come: the SAV format writes it first, the progress bar shows time left.
    std::size_t total = 0;
    db.snapshot([&](Session& s) {
        std::string count = select.substr(0, select.find(" ORDER BY"));
        count = "SELECT COUNT(*) FROM responses r WHERE " + count.substr(count.find(" WHERE ") + 7);
        Statement st(s);
        st << count, bind(filter.surveyId), bind(std::int64_t{0});
        if (filter.version) st, bind(*filter.version);
        if (filter.fromDay) st, bind(fromMs);
        if (filter.toDay) st, bind(toMs);
        if (filter.channel) st, bind(*filter.channel);
        if (procedureId) st, bind(*procedureId);
        if (!filter.scopePath.empty()) st, bind(scope);
        st, into(total);
        st.execute();
        return 0;
    });
    sink.begin(columns, total);
    std::size_t written = 0;
    std::int64_t after = 0;
    for (;;) {
        std::vector<std::int64_t> id, agency, counter, officer, procedure, answeredAt, receivedAt;
        std::vector<int> version;
        std::vector<std::string> receipt, dossier, channel, commentRaw, commentNorm, sentiment,
            topics;
        std::vector<std::int64_t> answerOf;
        std::vector<std::string> question, valueText;
        std::vector<int> position;
        std::vector<Poco::Nullable<double>> valueNum;
        db.snapshot([&](Session& s) {
            Statement st(s);
            st << select, bind(filter.surveyId), bind(after);
            if (filter.version) st, bind(*filter.version);
            if (filter.fromDay) st, bind(fromMs);
            if (filter.toDay) st, bind(toMs);
            if (filter.channel) st, bind(*filter.channel);
            if (procedureId) st, bind(*procedureId);
            if (!filter.scopePath.empty()) st, bind(scope);
            st, into(id), into(receipt), into(dossier), into(agency), into(counter), into(officer),
                into(procedure), into(channel), into(version), into(answeredAt), into(receivedAt),
                into(commentRaw), into(commentNorm), into(sentiment), into(topics);
            st.execute();
            if (id.empty()) return 0;
            // The answers of these responses only (ids in between may be other surveys').
            std::string ids;
            for (std::int64_t x : id) ids += (ids.empty() ? "" : ",") + std::to_string(x);
            Statement answers(s);
            answers << "SELECT response_id, question_id, position, value_num, value_text FROM "
                       "answers WHERE response_id IN (" +
                           ids + ") ORDER BY response_id, question_id, position",
                into(answerOf), into(question), into(position), into(valueNum), into(valueText);
            answers.execute();
            return 0;
        });
        if (id.empty()) break;
        std::size_t a = 0;
        std::vector<ExportValue> cells(columns.size());
        auto codeOf = [](const std::map<std::int64_t, std::string>& m, std::int64_t k) {
            auto it = m.find(k);
            return it == m.end() ? std::string() : it->second;
        };
        for (std::size_t r = 0; r < id.size(); ++r) {
            std::fill(cells.begin(), cells.end(), ExportValue{});
            for (std::size_t i = 0; i < columns.size(); ++i) {
                switch (columns[i].source) {
                    case Source::Receipt:
                        cells[i] = text(receipt[r]);
                        break;
                    case Source::Dossier:
                        cells[i] = text(dossier[r]);
                        break;
                    case Source::AgencyCode:
                    case Source::AgencyPath: {
                        auto it = agencies.find(agency[r]);
                        cells[i] =
                            text(it == agencies.end()                      ? ""
                                 : columns[i].source == Source::AgencyCode ? it->second.code
                                                                           : it->second.path);
                        break;
                    }
                    case Source::Counter:
                        cells[i] = text(codeOf(counters, counter[r]));
                        break;
                    case Source::Officer:
                        cells[i] = text(codeOf(officers, officer[r]));
                        break;
                    case Source::Procedure:
                        cells[i] = text(codeOf(procedures, procedure[r]));
                        break;
                    case Source::Channel:
                        cells[i] = text(channel[r]);
                        break;
                    case Source::Version:
                        cells[i] = number(version[r]);
                        break;
                    case Source::AnsweredAt:
                        cells[i] = text(localTime(answeredAt[r]));
                        break;
                    case Source::ReceivedAt:
                        cells[i] = text(localTime(receivedAt[r]));
                        break;
                    case Source::CommentRaw:
                        cells[i] = text(commentRaw[r]);
                        break;
                    case Source::CommentNorm:
                        cells[i] = text(commentNorm[r]);
                        break;
                    case Source::Sentiment:
                        cells[i] = text(sentiment[r]);
                        break;
                    case Source::Topics:
                        cells[i] = text(topics[r]);
                        break;
                    case Source::Answer:
                    case Source::Other:
                    case Source::Chosen:
                        break;  // below, from the answers
                }
            }
            // Multiple-choice flags: 0 or 1 when the question was answered, else missing.
            std::set<std::string> answered;
            for (; a < answerOf.size() && answerOf[a] == id[r]; ++a) {
                auto q = questions.find(question[a]);
                if (q == questions.end()) continue;  // a question of another version
                const Question& qq = *q->second;
                // A multiple choice answered (by its options or its other text): 0 for every
                // option not chosen.
                if (qq.type == QuestionType::MultipleChoice && answered.insert(qq.id).second)
                    for (const QuestionOption& o : qq.options)
                        if (auto it = chosenAt.find({qq.id, o.id}); it != chosenAt.end())
                            cells[it->second] = number(0);
                const bool isOther = valueNum[a].isNull() && qq.type != QuestionType::Text &&
                                     qq.type != QuestionType::DossierCode;
                if (isOther) {
                    if (auto it = otherAt.find(qq.id); it != otherAt.end())
                        cells[it->second] = text(valueText[a]);
                    continue;
                }
                if (qq.type == QuestionType::MultipleChoice) {
                    if (auto it = chosenAt.find({qq.id, valueText[a]}); it != chosenAt.end())
                        cells[it->second] = number(1);
                    continue;
                }
                auto at = answerAt.find(qq.id);
                if (at == answerAt.end()) continue;
                if (qq.type == QuestionType::SingleChoice) {
                    for (std::size_t k = 0; k < qq.options.size(); ++k)
                        if (qq.options[k].id == valueText[a])
                            cells[at->second] = number(static_cast<double>(k + 1));
                } else if (!valueNum[a].isNull()) {
                    cells[at->second] = number(valueNum[a].value());
                } else {
                    cells[at->second] = text(valueText[a]);
                }
            }
            sink.row(cells);
            ++written;
        }
        after = id.back();
        if (progress) progress(written, total);
        if (id.size() < kBatch) break;
    }
    sink.end();
    return written;
}

}  // namespace hailong::exports
