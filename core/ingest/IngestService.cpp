#include "ingest/IngestService.h"

#include "cases/CaseStore.h"

#include "ingest/Feedback.h"
#include "ingest/SubmissionJson.h"
#include "store/RepeatedStatement.h"
#include "survey/Mood.h"

#include "common/Clock.h"
#include "common/Random.h"
#include "common/Utf8.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Nullable.h>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {

namespace {
constexpr std::size_t kMaxAnswers = 200;
constexpr std::size_t kMaxCommentChars = 2000;
constexpr std::size_t kMaxKeyBytes = 128;
constexpr std::int64_t kClockSkewMs = 5 * 60 * 1000;
constexpr std::int64_t kOldestAnswerMs = 1420070400000;  // 2015-01-01
constexpr std::chrono::seconds kCommitDeadline{60};

using NullableId = Poco::Nullable<std::int64_t>;

struct AnswerRow {
    std::string question;
    int position = 0;
    Poco::Nullable<double> number;
    std::string text;
};

// Free text from a citizen: valid UTF-8, no control characters, at most `maxChars`.
bool acceptableText(const std::string& text, const std::string& field, std::size_t maxChars,
                    std::vector<FieldError>& errors) {
    if (auto bad = utf8::firstInvalid(text)) {
        errors.push_back({field, "text.invalid_utf8", {{"offset", std::to_string(*bad)}}});
    } else if (auto control = utf8::firstControl(text)) {
        errors.push_back({field, "text.control_chars", {{"offset", std::to_string(*control)}}});
    } else if (utf8::length(text) > maxChars) {
        errors.push_back({field, "field.too_long", {{"max", std::to_string(maxChars)}}});
    } else {
        return true;
    }
    return false;
}

bool plainCode(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7F; });
}

}  // namespace

struct IngestService::Record {
    std::string key, surveyId, channel, language, commentRaw, commentNorm;
    int surveyVersion = 0;
    NullableId agency, counter, officer, procedure, dossier, device, deviceAt;
    std::int64_t answeredAt = 0;
    std::vector<AnswerRow> answers;
    Poco::Nullable<double> mood;  // see survey/Mood.h
    FeedbackReading feedback;
    std::int64_t servedAt = 0;                // see servedAt()
    std::optional<cases::CaseSeed> caseSeed;  // the follow-up case it opens, if any
};

struct IngestService::Pending {
    Record record;
    std::promise<Receipt> done;
};

IngestService::IngestService(Database& db, const SurveyCatalog& surveys, const Directory& directory,
                             const TextNormalizer& text, Options options)
    : db_(db), surveys_(surveys), directory_(directory), text_(text), options_(options) {
    writer_ = std::thread([this] { writerLoop(); });
}

IngestService::~IngestService() {
    stop();
}

void IngestService::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (writer_.joinable()) writer_.join();
}

IngestService::Stats IngestService::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

std::size_t IngestService::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

Receipt IngestService::submit(const Submission& submission) {
    auto pending = std::make_unique<Pending>();
    pending->record = validate(submission);
    std::future<Receipt> result = pending->done.get_future();
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw Unavailable("the server is shutting down");
        if (queue_.size() >= options_.queueMax) throw Unavailable("too many submissions queued");
        queue_.push_back(pending.release());  // the writer owns it from here
    }
    wake_.notify_one();
    // The writer always answers; the deadline only guards against a database that hangs.
    if (result.wait_for(kCommitDeadline) != std::future_status::ready)
        throw Unavailable("the database did not confirm the write in time");
    return result.get();
}

void IngestService::check(const Submission& submission) const {
    (void)validate(submission);
}

IngestService::Record IngestService::validate(const Submission& sub) const {
    std::vector<FieldError> errors;
    Record r;
    r.key = sub.idempotencyKey;
    if (!plainCode(r.key, kMaxKeyBytes))
        errors.push_back({"idempotency_key", "submission.key_invalid", {{"max", "128"}}});
    r.channel = sub.channel;
    if (!plainCode(r.channel, 32)) errors.push_back({"channel", "field.required", {}});
    r.language = sub.language.empty() ? "vi" : sub.language;
    if (r.language != "vi" && r.language != "en")
        errors.push_back({"language", "field.one_of", {{"allowed", "vi, en"}}});

    auto survey = surveys_.find(sub.surveyId, sub.surveyVersion);
    if (!survey) {
        errors.push_back(
            {"survey",
             "submission.unknown_survey",
             {{"survey", sub.surveyId}, {"version", std::to_string(sub.surveyVersion)}}});
        throw Problem(422, "submission.invalid", {}, errors);
    }
    r.surveyId = survey->id;
    r.surveyVersion = survey->version;
    if (survey->status != "published")  // retired versions keep their answers, take no new ones
        errors.push_back({"survey_version",
                          "submission.survey_not_open",
                          {{"survey", survey->id},
                           {"version", std::to_string(survey->version)},
                           {"status", survey->status}}});
    if (!survey->allowsChannel(r.channel))
        errors.push_back({"channel", "submission.channel_not_allowed", {{"channel", r.channel}}});

    // What the response is about.
    auto lookup = [&](const std::string& code, const char* field, auto find) {
        if (code.empty()) return;
        if (!plainCode(code, 64) || !find(code))
            errors.push_back({field, "directory.unknown_reference", {{"code", code}}});
    };
    lookup(sub.dossierCode, "dossier", [&](const std::string& c) {
        auto d = directory_.dossier(c);
        if (!d) return false;
        r.dossier = d->id, r.agency = d->agencyId;
        if (d->returnedAtMs) r.servedAt = *d->returnedAtMs;
        if (d->procedureId) r.procedure = *d->procedureId;
        if (d->officerId) r.officer = *d->officerId;
        if (d->counterId) r.counter = *d->counterId;
        return true;
    });
    lookup(sub.deviceCode, "device", [&](const std::string& c) {
        auto d = directory_.device(c);
        if (!d) return false;
        r.device = d->id;
        if (r.counter.isNull()) r.counter = d->counterId;
        return true;
    });
    lookup(sub.counterCode, "counter", [&](const std::string& c) {
        auto x = directory_.counter(c);
        if (!x) return false;
        r.counter = x->id;
        if (r.agency.isNull()) r.agency = x->agencyId;
        return true;
    });
    lookup(sub.officerCode, "officer", [&](const std::string& c) {
        auto x = directory_.officer(c);
        if (!x) return false;
        r.officer = x->id;
        if (r.agency.isNull()) r.agency = x->agencyId;
        return true;
    });
    lookup(sub.procedureCode, "procedure", [&](const std::string& c) {
        auto x = directory_.procedure(c);
        if (!x) return false;
        r.procedure = x->id;
        return true;
    });
    lookup(sub.agencyCode, "agency", [&](const std::string& c) {
        auto x = directory_.agency(c);
        if (!x) return false;
        r.agency = x->id;
        return true;
    });
    const std::int64_t now = nowMs();
    r.answeredAt = sub.answeredAtMs == 0 ? now : sub.answeredAtMs;
    if (sub.deviceAtMs) r.deviceAt = *sub.deviceAtMs;
    if (r.answeredAt > now + kClockSkewMs || r.answeredAt < kOldestAnswerMs)
        errors.push_back({"answered_at", "submission.time_out_of_range", {}});

    if (acceptableText(sub.comment, "comment", kMaxCommentChars, errors)) {
        r.commentRaw = sub.comment;
        r.commentNorm = text_.normalize(sub.comment);
    }

    validateAnswers(*survey, sub.answers, r, errors);
    if (!errors.empty()) throw Problem(422, "submission.invalid", {}, errors);
    // What the response says, read now (on the caller's thread, not the writer's).
    std::vector<std::pair<std::string, double>> ratings;
    std::vector<std::string> words{sub.comment};
    for (const AnswerRow& a : r.answers) {
        if (!a.number.isNull()) {
            ratings.emplace_back(a.question, a.number.value());
        } else if (const Question* q = survey->question(a.question);
                   q && q->type != QuestionType::DossierCode) {
            words.push_back(a.text);
        }
    }
    if (const auto mood = moodOf(*survey, ratings)) r.mood = *mood;
    r.servedAt = servedAt(r.servedAt ? std::optional(r.servedAt) : std::nullopt, r.answeredAt);
    r.feedback = readFeedback(words, text_);
    if (cases_) {
        std::optional<std::int64_t> agency;
        if (!r.agency.isNull()) agency = r.agency.value();
        r.caseSeed = cases_->seed(*survey, sub, agency, r.feedback.text, r.feedback.topics);
    }
    return r;
}

void IngestService::validateAnswers(const Survey& survey, const std::vector<Answer>& answers,
                                    Record& r, std::vector<FieldError>& errors) const {
    if (answers.size() > kMaxAnswers) {
        errors.push_back({"answers", "submission.too_many_answers", {{"max", "200"}}});
        return;
    }
    // First pass: which options were chosen, for the conditions of later questions.
    std::map<std::string, std::set<std::string>> chosen;
    std::set<std::string> seen;
    for (const Answer& a : answers) {
        const std::string where = "answers." + a.question;
        const Question* q = survey.question(a.question);
        if (!q) {
            errors.push_back({where, "submission.unknown_question", {{"question", a.question}}});
            continue;
        }
        if (!seen.insert(a.question).second) {
            errors.push_back({where, "submission.duplicate_answer", {}});
            continue;
        }
        switch (q->type) {
            case QuestionType::Rating:
            case QuestionType::SingleChoice:
            case QuestionType::YesNo:
            case QuestionType::Nps: {
                // One option, by id or by its numeric value.
                const QuestionOption* o = nullptr;
                if (a.choices.size() == 1) o = q->option(a.choices.front());
                if (!o && a.number && a.choices.empty())
                    for (const auto& opt : q->options)
                        if (opt.value == *a.number) o = &opt;
                if (!o) {
                    errors.push_back({where,
                                      "submission.not_an_option",
                                      {{"min", std::to_string(static_cast<int>(q->min))},
                                       {"max", std::to_string(static_cast<int>(q->max))}}});
                    break;
                }
                chosen[q->id].insert(o->id);
                r.answers.push_back({q->id, 0, Poco::Nullable<double>(o->value), o->id});
                if (!a.text.empty() && q->allowOther &&
                    acceptableText(a.text, where, q->maxLength, errors))
                    r.answers.push_back({q->id, 1, Poco::Nullable<double>(), a.text});
                else if (!a.text.empty() && !q->allowOther)
                    errors.push_back({where, "submission.other_not_allowed", {}});
                break;
            }
            case QuestionType::MultipleChoice: {
                int pos = 0;
                for (const std::string& c : a.choices) {
                    const QuestionOption* o = q->option(c);
                    if (!o || chosen[q->id].contains(c)) {
                        errors.push_back({where, "submission.not_an_option", {}});
                        break;
                    }
                    chosen[q->id].insert(c);
                    r.answers.push_back({q->id, pos++, Poco::Nullable<double>(o->value), c});
                }
                if (!a.text.empty()) {
                    if (!q->allowOther)
                        errors.push_back({where, "submission.other_not_allowed", {}});
                    else if (acceptableText(a.text, where, q->maxLength, errors))
                        r.answers.push_back({q->id, pos, Poco::Nullable<double>(), a.text});
                }
                if (a.choices.empty() && a.text.empty())
                    errors.push_back({where, "submission.not_an_option", {}});
                break;
            }
            case QuestionType::Text:
            case QuestionType::Complaint:
            case QuestionType::DossierCode:
                if (!a.text.empty() && acceptableText(a.text, where, q->maxLength, errors))
                    r.answers.push_back({q->id, 0, Poco::Nullable<double>(), a.text});
                break;
        }
    }
    // Second pass: conditions and required questions.
    auto asked = [&](const Question& q) {
        if (!q.showIf) return true;
        auto it = chosen.find(q.showIf->question);
        if (it == chosen.end()) return false;
        return std::any_of(q.showIf->values.begin(), q.showIf->values.end(),
                           [&](const std::string& v) { return it->second.contains(v); });
    };
    for (const Question& q : survey.questions) {
        const bool isAsked = asked(q);
        if (seen.contains(q.id) && !isAsked)
            errors.push_back(
                {"answers." + q.id, "submission.not_asked", {{"question", q.showIf->question}}});
        else if (q.required && isAsked && !seen.contains(q.id))
            errors.push_back({"answers." + q.id, "submission.answer_required", {}});
    }
}

void IngestService::writerLoop() {
    for (;;) {
        std::vector<Pending*> batch;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() && stopping_) return;
            while (!queue_.empty() && batch.size() < options_.batchMax) {
                batch.push_back(queue_.front());
                queue_.pop_front();
            }
        }
        commitBatch(batch);
    }
}

// What one group commit writes: each response (or the receipt of the one it repeats), then
// the answers of all. Statements are prepared once for the whole group, because parsing SQL
// for every row cost the writer as much as running it.
class IngestService::GroupWriter {
public:
    virtual ~GroupWriter() = default;
    /// Stores `r` (taken over) or finds the response it repeats.
    virtual Receipt store(Record& r) = 0;
    /// Inserts the answers of every response stored so far.
    virtual void finish() = 0;

    static std::unique_ptr<GroupWriter> open(Database& db, Session& s);

protected:
    static constexpr const char* kInsert =
        "INSERT INTO responses (receipt, idempotency_key, survey_id, survey_version, channel, "
        "language, agency_id, counter_id, officer_id, procedure_id, dossier_id, device_id, "
        "comment_raw, comment_norm, answered_at, received_at, device_at, mood, feedback, "
        "feedback_key, sentiment, topics, served_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) ON "
        "CONFLICT DO NOTHING RETURNING id";
    static constexpr const char* kByKey =
        "SELECT id, receipt, received_at FROM responses WHERE idempotency_key = $1";
    static constexpr const char* kByDossier =
        "SELECT id, receipt, received_at FROM responses WHERE dossier_id = $1 AND survey_id = $2";
    static constexpr const char* kAnswer =
        "INSERT INTO answers (response_id, question_id, position, value_num, value_text) VALUES "
        "($1, $2, $3, $4, $5)";
};

namespace {

// SQLite: the C API on the session's own connection (inside its transaction).
class SqliteGroupWriter final : public IngestService::GroupWriter {
public:
    explicit SqliteGroupWriter(Session& s)
        : db_(Poco::Data::SQLite::Utility::dbHandle(s)),
          insert_(prepare(kInsert)),
          byKey_(prepare(kByKey)),
          byDossier_(prepare(kByDossier)),
          answer_(prepare(kAnswer)) {}
    ~SqliteGroupWriter() override {
        for (sqlite3_stmt* st : {insert_, byKey_, byDossier_, answer_}) sqlite3_finalize(st);
    }

    Receipt store(IngestService::Record& r) override;
    void finish() override {}

private:
    sqlite3_stmt* prepare(const char* sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) fail("prepare");
        return st;
    }
    [[noreturn]] void fail(const char* what) {
        const int code = sqlite3_extended_errcode(db_);
        const std::string message = std::string(what) + ": " + sqlite3_errmsg(db_);
        // Busy, and a full disk or a failing write: nothing was stored, and the same write may
        // well succeed later (the client keeps it and sends it again).
        const int primary = code & 0xff;
        if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL ||
            primary == SQLITE_IOERR)
            throw Unavailable(message);
        throw std::runtime_error(message);
    }
    void text(sqlite3_stmt* st, int i, const std::string& v) {
        sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
    void id(sqlite3_stmt* st, int i, const NullableId& v) {
        if (v.isNull())
            sqlite3_bind_null(st, i);
        else
            sqlite3_bind_int64(st, i, v.value());
    }
    // Steps a statement once: whether it produced a row. Resets it for the next use.
    bool step(sqlite3_stmt* st, const char* what) {
        const int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            sqlite3_reset(st);
            fail(what);
        }
        return rc == SQLITE_ROW;
    }
    std::optional<Receipt> existing(sqlite3_stmt* st) {
        std::optional<Receipt> out;
        if (step(st, "look up a repeated response")) {
            const auto* code = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
            out = Receipt{sqlite3_column_int64(st, 0), code ? code : "", true,
                          sqlite3_column_int64(st, 2)};
        }
        sqlite3_reset(st);
        return out;
    }

    sqlite3* db_;
    sqlite3_stmt *insert_, *byKey_, *byDossier_, *answer_;
};

Receipt SqliteGroupWriter::store(IngestService::Record& r) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        const std::string code = random::code(10);
        const std::int64_t storedAt = nowMs();
        sqlite3_reset(insert_);
        text(insert_, 1, code), text(insert_, 2, r.key), text(insert_, 3, r.surveyId);
        sqlite3_bind_int(insert_, 4, r.surveyVersion);
        text(insert_, 5, r.channel), text(insert_, 6, r.language);
        id(insert_, 7, r.agency), id(insert_, 8, r.counter), id(insert_, 9, r.officer);
        id(insert_, 10, r.procedure), id(insert_, 11, r.dossier), id(insert_, 12, r.device);
        text(insert_, 13, r.commentRaw), text(insert_, 14, r.commentNorm);
        sqlite3_bind_int64(insert_, 15, r.answeredAt);
        sqlite3_bind_int64(insert_, 16, storedAt);
        id(insert_, 17, r.deviceAt);
        if (r.mood.isNull())
            sqlite3_bind_null(insert_, 18);
        else
            sqlite3_bind_double(insert_, 18, r.mood.value());
        text(insert_, 19, r.feedback.text), text(insert_, 20, r.feedback.key);
        text(insert_, 21, r.feedback.sentiment), text(insert_, 22, r.feedback.topics);
        sqlite3_bind_int64(insert_, 23, r.servedAt);
        sqlite3_bind_int64(insert_, 24, storedAt);
        const bool inserted = step(insert_, "store a response");
        const std::int64_t responseId = inserted ? sqlite3_column_int64(insert_, 0) : 0;
        if (inserted && sqlite3_step(insert_) != SQLITE_DONE) fail("store a response");
        sqlite3_reset(insert_);
        if (inserted) {
            for (const AnswerRow& a : r.answers) {
                sqlite3_reset(answer_);
                sqlite3_bind_int64(answer_, 1, responseId);
                text(answer_, 2, a.question);
                sqlite3_bind_int(answer_, 3, a.position);
                if (a.number.isNull())
                    sqlite3_bind_null(answer_, 4);
                else
                    sqlite3_bind_double(answer_, 4, a.number.value());
                text(answer_, 5, a.text);
                step(answer_, "store an answer");
            }
            sqlite3_reset(answer_);
            return Receipt{responseId, code, false, storedAt};
        }
        // The key, or this dossier for this survey, was seen before: answer with the original
        // receipt.
        sqlite3_reset(byKey_);
        text(byKey_, 1, r.key);
        if (auto seen = existing(byKey_)) return *seen;
        if (!r.dossier.isNull()) {
            sqlite3_reset(byDossier_);
            id(byDossier_, 1, r.dossier);
            text(byDossier_, 2, r.surveyId);
            if (auto seen = existing(byDossier_)) return *seen;
        }
        // Otherwise the random receipt code collided: draw another.
    }
    throw std::logic_error("could not draw a unique receipt code");
}

// PostgreSQL: Poco statements bound to members, re-executed for each row; the answers of the
// group go in with one bulk insert. RepeatedStatement, because a plain statement that fails on
// its second run crashes the process (a lost connection did).
class PocoGroupWriter final : public IngestService::GroupWriter {
public:
    explicit PocoGroupWriter(Session& s) : session_(s), insert_(s), byKey_(s), byDossier_(s) {
        *insert_ << kInsert, use(code_), use(r_.key), use(r_.surveyId), use(r_.surveyVersion),
            use(r_.channel), use(r_.language), use(r_.agency), use(r_.counter), use(r_.officer),
            use(r_.procedure), use(r_.dossier), use(r_.device), use(r_.commentRaw),
            use(r_.commentNorm), use(r_.answeredAt), use(storedAt_), use(r_.deviceAt), use(r_.mood),
            use(r_.feedback.text), use(r_.feedback.key), use(r_.feedback.sentiment),
            use(r_.feedback.topics), use(r_.servedAt), use(storedAt_), into(id_);
        *byKey_ << kByKey, use(r_.key), into(existing_), into(existingCode_), into(existingAt_);
        *byDossier_ << kByDossier, use(r_.dossier), use(r_.surveyId), into(existing_),
            into(existingCode_), into(existingAt_);
    }

    Receipt store(IngestService::Record& r) override {
        r_ = std::move(r);
        for (int attempt = 0; attempt < 3; ++attempt) {
            code_ = random::code(10);
            storedAt_ = nowMs();
            id_.clear();
            insert_.execute();
            if (!id_.isNull()) {
                for (const AnswerRow& a : r_.answers) {
                    answerOf_.push_back(id_.value());
                    question_.push_back(a.question);
                    position_.push_back(a.position);
                    number_.push_back(a.number);
                    text_.push_back(a.text);
                }
                return Receipt{id_.value(), code_, false, storedAt_};
            }
            existing_.clear();
            byKey_.execute();
            if (existing_.isNull() && !r_.dossier.isNull()) byDossier_.execute();
            if (!existing_.isNull())
                return Receipt{existing_.value(), existingCode_, true, existingAt_};
        }
        throw std::logic_error("could not draw a unique receipt code");
    }

    void finish() override {
        if (answerOf_.empty()) return;
        RepeatedStatement answers(session_);
        *answers << kAnswer, use(answerOf_), use(question_), use(position_), use(number_),
            use(text_);
        answers.execute();
        answerOf_.clear(), question_.clear(), position_.clear(), number_.clear(), text_.clear();
    }

private:
    Session& session_;
    RepeatedStatement insert_, byKey_, byDossier_;
    IngestService::Record r_;
    std::string code_, existingCode_;
    std::int64_t storedAt_ = 0, existingAt_ = 0;
    NullableId id_, existing_;
    std::vector<std::int64_t> answerOf_;
    std::vector<std::string> question_, text_;
    std::vector<int> position_;
    std::vector<Poco::Nullable<double>> number_;
};

}  // namespace

std::unique_ptr<IngestService::GroupWriter> IngestService::GroupWriter::open(Database& db,
                                                                             Session& s) {
    if (db.backend() == Backend::SQLite) return std::make_unique<SqliteGroupWriter>(s);
    return std::make_unique<PocoGroupWriter>(s);
}

namespace {

// What a follow-up case needs of a record, taken before the writer takes the record.
using PendingOrigin = std::pair<cases::CaseOrigin, std::optional<cases::CaseSeed>>;

cases::CaseOrigin originOf(const PendingOrigin& pending, const Receipt& stored) {
    cases::CaseOrigin o = pending.first;
    o.responseId = stored.responseId;
    o.receivedAtMs = stored.storedAtMs;
    return o;
}

std::optional<PendingOrigin> caseOrigin(const cases::CaseStore* cases,
                                        const IngestService::Record& r) {
    if (!cases || !r.caseSeed) return std::nullopt;
    cases::CaseOrigin o;
    o.channel = r.channel;
    auto id = [](const NullableId& v) {
        return v.isNull() ? std::nullopt : std::optional<std::int64_t>(v.value());
    };
    o.agency = id(r.agency), o.officer = id(r.officer), o.procedure = id(r.procedure);
    o.dossier = id(r.dossier);
    return PendingOrigin{o, r.caseSeed};
}

}  // namespace

void IngestService::commitBatch(std::vector<Pending*>& batch) {
    std::vector<std::unique_ptr<Pending>> owned;
    for (Pending* p : batch) owned.emplace_back(p);
    std::vector<Receipt> receipts;
    std::vector<NullableId> agencyOf;
    for (auto& p : owned) agencyOf.push_back(p->record.agency);  // store() takes the record
    try {
        receipts = db_.write([&](Session& s) {
            const auto writer = GroupWriter::open(db_, s);
            std::vector<Receipt> out;
            std::vector<std::pair<cases::CaseOrigin, cases::CaseSeed>> opening;
            for (auto& p : owned) {
                auto origin = caseOrigin(cases_, p->record);
                out.push_back(writer->store(p->record));
                if (origin && !out.back().duplicate)
                    opening.emplace_back(originOf(*origin, out.back()), *origin->second);
            }
            writer->finish();
            for (const auto& [origin, seed] : opening) cases_->open(s, origin, seed);
            return out;
        });
    } catch (const Unavailable&) {
        for (auto& p : owned) p->done.set_exception(std::current_exception());
        return;
    } catch (const std::exception&) {
        if (owned.size() == 1) {
            owned.front()->done.set_exception(std::current_exception());
            return;
        }
        // One bad submission must not fail the others: commit them one by one.
        std::vector<std::int64_t> agencies;
        for (auto& p : owned) {
            try {
                const NullableId agency = p->record.agency;
                const Receipt receipt = db_.write([&](Session& s) {
                    const auto writer = GroupWriter::open(db_, s);
                    auto origin = caseOrigin(cases_, p->record);
                    const Receipt stored = writer->store(p->record);
                    writer->finish();
                    if (origin && !stored.duplicate)
                        cases_->open(s, originOf(*origin, stored), *origin->second);
                    return stored;
                });
                if (!receipt.duplicate && !agency.isNull()) agencies.push_back(agency.value());
                p->done.set_value(receipt);
            } catch (...) {
                p->done.set_exception(std::current_exception());
            }
        }
        if (storedListener_ && !agencies.empty()) storedListener_(agencies);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        ++stats_.batches;
        for (const Receipt& r : receipts) ++(r.duplicate ? stats_.duplicates : stats_.stored);
    }
    for (std::size_t i = 0; i < owned.size(); ++i) owned[i]->done.set_value(receipts[i]);
    if (storedListener_) {
        std::vector<std::int64_t> agencies;
        for (std::size_t i = 0; i < receipts.size(); ++i)
            if (!receipts[i].duplicate && !agencyOf[i].isNull())
                agencies.push_back(agencyOf[i].value());
        if (!agencies.empty()) storedListener_(agencies);
    }
}

Receipt IngestService::hold(const Submission& submission, std::string_view reason) {
    Record r = validate(submission);
    std::string payload = submissionToJson(submission), why(reason);
    const Receipt receipt = db_.write([&](Session& s) -> Receipt {
        // Already counted under this key: that response is the answer.
        Poco::Nullable<std::int64_t> existing;
        std::string code;
        std::int64_t storedAt = 0;
        s << "SELECT id, receipt, received_at FROM responses WHERE idempotency_key = $1",
            use(r.key), into(existing), into(code), into(storedAt), now;
        if (!existing.isNull()) return Receipt{existing.value(), code, true, storedAt};
        for (int attempt = 0; attempt < 3; ++attempt) {
            Receipt held;
            held.code = random::code(10);
            held.storedAtMs = nowMs();
            held.held = true;
            Poco::Nullable<std::int64_t> id;
            s << "INSERT INTO held_submissions (idempotency_key, receipt, reason, channel, "
                 "survey_id, device_id, agency_id, payload, received_at) VALUES ($1, $2, $3, $4, "
                 "$5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id",
                use(r.key), use(held.code), use(why), use(r.channel), use(r.surveyId),
                use(r.device), use(r.agency), use(payload), use(held.storedAtMs), into(id), now;
            if (!id.isNull()) return held;
            s << "SELECT receipt, received_at FROM held_submissions WHERE idempotency_key = $1",
                use(r.key), into(code), into(storedAt), now;
            if (!code.empty()) return Receipt{0, code, true, storedAt, true};
        }
        throw std::logic_error("could not draw a unique receipt code");
    });
    std::lock_guard lock(mutex_);
    ++(receipt.duplicate ? stats_.duplicates : stats_.held);
    return receipt;
}

std::optional<Receipt> IngestService::answered(std::string_view dossierCode,
                                               std::string_view surveyId) {
    std::string code(dossierCode), survey(surveyId);
    return db_.read([&](Session& s) -> std::optional<Receipt> {
        Poco::Nullable<std::int64_t> id;
        std::string receipt;
        std::int64_t storedAt = 0;
        s << "SELECT r.id, r.receipt, r.received_at FROM responses r JOIN dossiers d ON d.id = "
             "r.dossier_id WHERE d.code = $1 AND r.survey_id = $2 ORDER BY r.id LIMIT 1",
            use(code), use(survey), into(id), into(receipt), into(storedAt), now;
        if (id.isNull()) return std::nullopt;
        return Receipt{id.value(), receipt, true, storedAt};
    });
}

}  // namespace hailong
