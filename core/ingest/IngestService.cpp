#include "ingest/IngestService.h"

#include "common/Clock.h"
#include "common/Random.h"
#include "common/Utf8.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Nullable.h>

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
    NullableId agency, counter, officer, procedure, dossier, device;
    std::int64_t answeredAt = 0;
    std::vector<AnswerRow> answers;
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
    if (r.answeredAt > now + kClockSkewMs || r.answeredAt < kOldestAnswerMs)
        errors.push_back({"answered_at", "submission.time_out_of_range", {}});

    if (acceptableText(sub.comment, "comment", kMaxCommentChars, errors)) {
        r.commentRaw = sub.comment;
        r.commentNorm = text_.normalize(sub.comment);
    }

    validateAnswers(*survey, sub.answers, r, errors);
    if (!errors.empty()) throw Problem(422, "submission.invalid", {}, errors);
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

void IngestService::commitBatch(std::vector<Pending*>& batch) {
    std::vector<std::unique_ptr<Pending>> owned;
    for (Pending* p : batch) owned.emplace_back(p);
    std::vector<Receipt> receipts;
    try {
        receipts = db_.write([&](Session& s) {
            std::vector<Receipt> out;
            for (auto& p : owned) out.push_back(store(s, p->record));
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
        for (auto& p : owned) {
            try {
                p->done.set_value(db_.write([&](Session& s) { return store(s, p->record); }));
            } catch (...) {
                p->done.set_exception(std::current_exception());
            }
        }
        return;
    }
    {
        std::lock_guard lock(mutex_);
        ++stats_.batches;
        for (const Receipt& r : receipts) ++(r.duplicate ? stats_.duplicates : stats_.stored);
    }
    for (std::size_t i = 0; i < owned.size(); ++i) owned[i]->done.set_value(receipts[i]);
}

Receipt IngestService::store(Session& s, Record& r) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        Receipt receipt;
        receipt.code = random::code(10);
        receipt.storedAtMs = nowMs();
        Poco::Nullable<std::int64_t> id;
        s << "INSERT INTO responses (receipt, idempotency_key, survey_id, survey_version, channel, "
             "language, agency_id, counter_id, officer_id, procedure_id, dossier_id, device_id, "
             "comment_raw, comment_norm, answered_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, "
             "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING RETURNING id",
            use(receipt.code), use(r.key), use(r.surveyId), use(r.surveyVersion), use(r.channel),
            use(r.language), use(r.agency), use(r.counter), use(r.officer), use(r.procedure),
            use(r.dossier), use(r.device), use(r.commentRaw), use(r.commentNorm), use(r.answeredAt),
            use(receipt.storedAtMs), into(id), now;
        if (!id.isNull()) {
            receipt.responseId = id.value();
            for (AnswerRow& a : r.answers) {
                s << "INSERT INTO answers (response_id, question_id, position, value_num, "
                     "value_text) VALUES ($1, $2, $3, $4, $5)",
                    use(receipt.responseId), use(a.question), use(a.position), use(a.number),
                    use(a.text), now;
            }
            return receipt;
        }
        // The key, or this dossier for this survey, was seen before: answer with the original
        // receipt.
        Poco::Nullable<std::int64_t> existing;
        std::string code;
        std::int64_t storedAt = 0;
        s << "SELECT id, receipt, received_at FROM responses WHERE idempotency_key = $1",
            use(r.key), into(existing), into(code), into(storedAt), now;
        if (existing.isNull() && !r.dossier.isNull())
            s << "SELECT id, receipt, received_at FROM responses WHERE dossier_id = $1 AND "
                 "survey_id = $2",
                use(r.dossier), use(r.surveyId), into(existing), into(code), into(storedAt), now;
        if (!existing.isNull()) return Receipt{existing.value(), code, true, storedAt};
        // Otherwise the random receipt code collided: draw another.
    }
    throw std::logic_error("could not draw a unique receipt code");
}

}  // namespace hailong
