#include "privacy/PersonalData.h"

#include "common/Clock.h"
#include "ingest/SubmissionJson.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/JSON/Array.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <vector>

namespace hailong {

using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

constexpr std::int64_t kDayMs = 86400000;

// Where each free-text sweep stopped, by task.
std::int64_t doneUntil(Session& s, const std::string& task) {
    std::int64_t at = 0;
    std::string t = task;
    s << "SELECT COALESCE(MAX(done_until), 0) FROM housekeeping WHERE task = $1", use(t), into(at),
        now;
    return at;
}

void setDoneUntil(Session& s, const std::string& task, std::int64_t at) {
    std::string t = task;
    s << "DELETE FROM housekeeping WHERE task = $1", use(t), now;
    s << "INSERT INTO housekeeping (task, done_until) VALUES ($1, $2)", use(t), bind(at), now;
}

// What is left of words past their retention: nothing, or the words masked.
std::string kept(const std::string& words, bool deleteText) {
    return deleteText ? std::string() : PersonalData::mask(words);
}

// A held submission's stored JSON without its contact, its words kept masked or emptied.
std::string scrubbed(const std::string& payload, bool deleteText) {
    Submission sub = submissionFromJson(payload);
    sub.contact.clear();
    sub.comment = kept(sub.comment, deleteText);
    for (Answer& a : sub.answers) a.text = kept(a.text, deleteText);
    return submissionToJson(sub);
}

// A JSON value for a nullable time.
Poco::Dynamic::Var timeOrNull(const Poco::Nullable<std::int64_t>& ms) {
    return ms.isNull() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(formatTimeMs(ms.value()));
}

// "(1, 2, 3)" for ids read from the database (never from a request).
std::string idList(const std::vector<std::int64_t>& ids) {
    std::string out = "(";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
    return out + ")";
}

}  // namespace

// The rows that hold one phone number: found by its keyed hash (dossiers, conversations,
// opt-out) or by comparing canonical numbers (case contacts and message recipients, kept clear).
struct PersonalData::Person {
    std::string number, key;
    std::vector<std::int64_t> dossiers, cases, messages, held;
};

PersonalData::PersonalData(Database& db, PhoneBook& phones, const SurveyCatalog& surveys)
    : db_(db), phones_(phones), surveys_(surveys) {}

std::string PersonalData::mask(std::string_view text) {
    static const std::regex email(R"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)");
    static const std::regex number(R"(\+?[0-9](?:[ .-]?[0-9]){5,})");
    std::string out = std::regex_replace(std::string(text), email, "***");
    return std::regex_replace(out, number, "***");
}

PersonalDataReport PersonalData::sweep(const Retention& retention) {
    PersonalDataReport report;
    report.dossierPhones = phones_.tidy(retention.phonesBeforeMs);
    db_.write([&](Session& s) {
        Poco::Data::Statement contacts(s);
        contacts << "UPDATE cases SET contact = '' WHERE contact <> '' AND "
                    "COALESCE(closed_at, answered_at) < $1",
            bind(retention.phonesBeforeMs);
        report.caseContacts = contacts.execute();
        // Dossier events still waiting for their dossier hold the number they came with.
        Poco::Data::Statement events(s);
        events << "UPDATE dossier_events SET phone = '' WHERE phone <> '' AND received_at < $1",
            bind(retention.phonesBeforeMs);
        report.dossierPhones += events.execute();
        if (retention.textBeforeMs) {
            Poco::Data::Statement messages(s);
            messages << "UPDATE outbox SET body = '' WHERE body <> '' AND status IN ('sent', "
                        "'failed') AND created_at < $1",
                bind(*retention.textBeforeMs);
            report.messages = messages.execute();
        }
    });
    if (retention.textBeforeMs) {
        report.texts = sweepResponseText(*retention.textBeforeMs, retention.deleteText) +
                       sweepCaseText(*retention.textBeforeMs, retention.deleteText) +
                       sweepHeldText(*retention.textBeforeMs, retention.deleteText);
    }
    return report;
}

std::size_t PersonalData::sweepResponseText(std::int64_t beforeMs, bool deleteText) {
    std::int64_t from = db_.read([&](Session& s) { return doneUntil(s, "response_text"); });
    if (from == 0) {
        db_.read([&](Session& s) {
            Poco::Nullable<std::int64_t> first;
            s << "SELECT MIN(received_at) FROM responses", into(first), now;
            from = first.isNull() ? beforeMs : first.value();
        });
    }
    std::size_t changed = 0;
    // A day of responses per transaction, so that a first sweep over years stays small.
    for (std::int64_t start = from; start < beforeMs; start += kDayMs) {
        const std::int64_t end = std::min(start + kDayMs, beforeMs);
        changed += db_.write([&](Session& s) {
            std::size_t n = 0;
            std::vector<std::int64_t> ids;
            std::vector<std::string> raw, norm, feedback, feedbackKey;
            s << "SELECT id, comment_raw, comment_norm, feedback, feedback_key FROM responses "
                 "WHERE received_at >= $1 AND received_at < $2 AND (comment_raw <> '' OR "
                 "comment_norm <> '' OR feedback <> '')",
                bind(start), bind(end), into(ids), into(raw), into(norm), into(feedback),
                into(feedbackKey), now;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                std::string r = kept(raw[i], deleteText), c = kept(norm[i], deleteText),
                            f = kept(feedback[i], deleteText), k = kept(feedbackKey[i], deleteText);
                if (r == raw[i] && c == norm[i] && f == feedback[i] && k == feedbackKey[i])
                    continue;
                s << "UPDATE responses SET comment_raw = $1, comment_norm = $2, feedback = $3, "
                     "feedback_key = $4 WHERE id = $5",
                    use(r), use(c), use(f), use(k), use(ids[i]), now;
                ++n;
            }
            // Free-text answers, by the questions of each survey version answered that day.
            std::vector<std::string> surveys;
            std::vector<int> versions;
            s << "SELECT DISTINCT survey_id, survey_version FROM responses WHERE received_at >= "
                 "$1 AND received_at < $2",
                bind(start), bind(end), into(surveys), into(versions), now;
            for (std::size_t v = 0; v < surveys.size(); ++v) {
                const auto survey = surveys_.find(surveys[v], versions[v]);
                if (!survey) continue;
                for (const Question& q : survey->questions) {
                    if (!isFreeText(q.type)) continue;
                    std::vector<std::int64_t> responses;
                    std::vector<int> positions;
                    std::vector<std::string> values;
                    s << "SELECT a.response_id, a.position, a.value_text FROM answers a JOIN "
                         "responses r ON r.id = a.response_id WHERE r.survey_id = $1 AND "
                         "r.survey_version = $2 AND r.received_at >= $3 AND r.received_at < $4 "
                         "AND a.question_id = $5 AND a.value_text <> ''",
                        bind(surveys[v]), bind(versions[v]), bind(start), bind(end), bind(q.id),
                        into(responses), into(positions), into(values), now;
                    for (std::size_t i = 0; i < responses.size(); ++i) {
                        std::string value = kept(values[i], deleteText);
                        if (value == values[i]) continue;
                        s << "UPDATE answers SET value_text = $1 WHERE response_id = $2 AND "
                             "question_id = $3 AND position = $4",
                            use(value), use(responses[i]), bind(q.id), use(positions[i]), now;
                        ++n;
                    }
                }
            }
            setDoneUntil(s, "response_text", end);
            return n;
        });
    }
    return changed;
}

std::size_t PersonalData::sweepCaseText(std::int64_t beforeMs, bool deleteText) {
    // Cases an official finished (answered or closed) before the cutoff; open ones keep their
    // words for the official handling them.
    return db_.write([&](Session& s) {
        const std::int64_t from = doneUntil(s, "case_text");
        std::vector<std::int64_t> ids;
        std::vector<std::string> summaries;
        s << "SELECT id, summary FROM cases WHERE COALESCE(answered_at, closed_at) >= $1 AND "
             "COALESCE(answered_at, closed_at) < $2",
            bind(from), bind(beforeMs), into(ids), into(summaries), now;
        std::size_t n = 0;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            bool changed = false;
            std::string summary = kept(summaries[i], deleteText);
            if (summary != summaries[i]) {
                s << "UPDATE cases SET summary = $1 WHERE id = $2", use(summary), use(ids[i]), now;
                changed = true;
            }
            std::vector<std::int64_t> sources;
            std::vector<std::string> words;
            s << "SELECT id, words FROM case_sources WHERE case_id = $1", use(ids[i]),
                into(sources), into(words), now;
            for (std::size_t k = 0; k < sources.size(); ++k) {
                std::string w = kept(words[k], deleteText);
                if (w == words[k]) continue;
                s << "UPDATE case_sources SET words = $1 WHERE id = $2", use(w), use(sources[k]),
                    now;
                changed = true;
            }
            n += changed ? 1 : 0;
        }
        setDoneUntil(s, "case_text", beforeMs);
        return n;
    });
}

std::size_t PersonalData::sweepHeldText(std::int64_t beforeMs, bool deleteText) {
    // Submissions held for review and since released or discarded: a released one lives on
    // as a response (swept with the responses), so the payload is only a record.
    return db_.write([&](Session& s) {
        const std::int64_t from = doneUntil(s, "held_text");
        std::vector<std::int64_t> ids;
        std::vector<std::string> payloads;
        s << "SELECT id, payload FROM held_submissions WHERE decided_at >= $1 AND decided_at < "
             "$2 AND status <> 'held'",
            bind(from), bind(beforeMs), into(ids), into(payloads), now;
        std::size_t n = 0;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            std::string payload = scrubbed(payloads[i], deleteText);
            if (payload == payloads[i]) continue;
            s << "UPDATE held_submissions SET payload = $1 WHERE id = $2", use(payload),
                use(ids[i]), now;
            ++n;
        }
        setDoneUntil(s, "held_text", beforeMs);
        return n;
    });
}

PersonalData::Person PersonalData::find(std::string_view phone) {
    Person p;
    p.number = phones_.canonical(phone);
    if (p.number.empty()) throw Problem(422, "privacy.phone_invalid");
    p.key = phones_.key(phone);
    db_.read([&](Session& s) {
        s << "SELECT id FROM dossiers WHERE phone_key = $1 ORDER BY id", use(p.key),
            into(p.dossiers), now;
        // Contacts and recipients are kept as written: compared as numbers.
        std::vector<std::int64_t> ids;
        std::vector<std::string> contacts;
        std::vector<Poco::Nullable<std::int64_t>> dossiers;
        s << "SELECT id, contact, dossier_id FROM cases WHERE contact <> '' OR dossier_id IS NOT "
             "NULL ORDER BY id",
            into(ids), into(contacts), into(dossiers), now;
        const std::set<std::int64_t> own(p.dossiers.begin(), p.dossiers.end());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (phones_.canonical(contacts[i]) == p.number ||
                (!dossiers[i].isNull() && own.contains(dossiers[i].value())))
                p.cases.push_back(ids[i]);
        }
        ids.clear();
        std::vector<std::string> recipients;
        s << "SELECT id, recipient FROM outbox WHERE recipient <> '' AND channel = 'sms' "
             "ORDER BY id",
            into(ids), into(recipients), now;
        for (std::size_t i = 0; i < ids.size(); ++i)
            if (phones_.canonical(recipients[i]) == p.number) p.messages.push_back(ids[i]);
        // Submissions held for review, by their contact or their dossier.
        std::vector<std::string> codes, payloads;
        s << "SELECT code FROM dossiers WHERE phone_key = $1", use(p.key), into(codes), now;
        const std::set<std::string> ownCodes(codes.begin(), codes.end());
        ids.clear();
        s << "SELECT id, payload FROM held_submissions ORDER BY id", into(ids), into(payloads), now;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const Submission sub = submissionFromJson(payloads[i]);
            if ((!sub.contact.empty() && phones_.canonical(sub.contact) == p.number) ||
                ownCodes.contains(sub.dossierCode))
                p.held.push_back(ids[i]);
        }
    });
    return p;
}

Object::Ptr PersonalData::report(std::string_view phone) {
    const Person p = find(phone);
    Object::Ptr out = new Object;
    out->set("phone", p.number);
    out->set("generated_at", formatTimeMs(nowMs()));
    db_.read([&](Session& s) {
        Array::Ptr dossiers = new Array;
        if (!p.dossiers.empty()) {
            Poco::Data::Statement q(s);
            q << "SELECT d.code, a.code, a.name, COALESCE(pr.code, ''), COALESCE(pr.name, ''), "
                 "d.status, d.received_at, d.returned_at, d.phone FROM dossiers d JOIN agencies a "
                 "ON a.id = d.agency_id LEFT JOIN procedures pr ON pr.id = d.procedure_id WHERE "
                 "d.id IN " +
                     idList(p.dossiers) + " ORDER BY d.id";
            q.execute();
            Poco::Data::RecordSet rs(q);
            for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
                Object::Ptr d = new Object;
                d->set("code", rs.value(0).convert<std::string>());
                d->set("agency", rs.value(1).convert<std::string>());
                d->set("agency_name", rs.value(2).convert<std::string>());
                d->set("procedure", rs.value(3).convert<std::string>());
                d->set("procedure_name", rs.value(4).convert<std::string>());
                d->set("status", rs.value(5).convert<std::string>());
                d->set("received_at", formatTimeMs(rs.value(6).convert<std::int64_t>()));
                if (rs.value(7).isEmpty())
                    d->set("returned_at", Poco::Dynamic::Var());
                else
                    d->set("returned_at", formatTimeMs(rs.value(7).convert<std::int64_t>()));
                d->set("phone_held", !rs.value(8).convert<std::string>().empty());
                dossiers->add(d);
            }
        }
        out->set("dossiers", dossiers);

        Array::Ptr responses = new Array;
        if (!p.dossiers.empty()) {
            std::vector<std::int64_t> ids, answered;
            std::vector<std::string> receipts, surveyIds, channels, comments;
            s << "SELECT id, receipt, survey_id, channel, answered_at, comment_raw FROM responses "
                 "WHERE dossier_id IN " +
                     idList(p.dossiers) + " ORDER BY id",
                into(ids), into(receipts), into(surveyIds), into(channels), into(answered),
                into(comments), now;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                Object::Ptr r = new Object;
                r->set("receipt", receipts[i]);
                r->set("survey", surveyIds[i]);
                r->set("channel", channels[i]);
                r->set("answered_at", formatTimeMs(answered[i]));
                r->set("comment", comments[i]);
                std::vector<std::string> questions, texts;
                std::vector<Poco::Nullable<double>> numbers;
                s << "SELECT question_id, value_num, value_text FROM answers WHERE response_id = "
                     "$1 ORDER BY question_id, position",
                    use(ids[i]), into(questions), into(numbers), into(texts), now;
                Array::Ptr answers = new Array;
                for (std::size_t k = 0; k < questions.size(); ++k) {
                    Object::Ptr a = new Object;
                    a->set("question", questions[k]);
                    if (!numbers[k].isNull()) a->set("number", numbers[k].value());
                    if (!texts[k].empty()) a->set("text", texts[k]);
                    answers->add(a);
                }
                r->set("answers", answers);
                responses->add(r);
            }
        }
        out->set("responses", responses);

        Array::Ptr cases = new Array;
        for (std::int64_t id : p.cases) {
            std::string code, kind, status, summary, answer, verdict, contact;
            std::int64_t opened = 0;
            Poco::Nullable<std::int64_t> answered, closed;
            s << "SELECT code, kind, status, summary, answer, verdict, contact, opened_at, "
                 "answered_at, closed_at FROM cases WHERE id = $1",
                use(id), into(code), into(kind), into(status), into(summary), into(answer),
                into(verdict), into(contact), into(opened), into(answered), into(closed), now;
            std::vector<std::string> words;
            s << "SELECT words FROM case_sources WHERE case_id = $1 ORDER BY id", use(id),
                into(words), now;
            Object::Ptr c = new Object;
            c->set("code", code);
            c->set("kind", kind);
            c->set("status", status);
            c->set("summary", summary);
            Array::Ptr said = new Array;
            for (const auto& w : words)
                if (!w.empty()) said->add(w);
            c->set("words", said);
            c->set("answer", answer);
            c->set("verdict", verdict);
            c->set("contact_held", !contact.empty());
            c->set("opened_at", formatTimeMs(opened));
            c->set("answered_at", timeOrNull(answered));
            c->set("closed_at", timeOrNull(closed));
            cases->add(c);
        }
        out->set("cases", cases);

        Array::Ptr messages = new Array;
        for (std::int64_t id : p.messages) {
            std::string channel, body, status;
            std::int64_t created = 0;
            Poco::Nullable<std::int64_t> sent;
            s << "SELECT channel, body, status, created_at, sent_at FROM outbox WHERE id = $1",
                use(id), into(channel), into(body), into(status), into(created), into(sent), now;
            Object::Ptr m = new Object;
            m->set("channel", channel);
            m->set("text", body);
            m->set("status", status);
            m->set("created_at", formatTimeMs(created));
            m->set("sent_at", timeOrNull(sent));
            messages->add(m);
        }
        out->set("messages", messages);

        Array::Ptr held = new Array;
        for (std::int64_t id : p.held) {
            std::string receipt, status, payload;
            std::int64_t received = 0;
            s << "SELECT receipt, status, payload, received_at FROM held_submissions WHERE id = $1",
                use(id), into(receipt), into(status), into(payload), into(received), now;
            const Submission sub = submissionFromJson(payload);
            Object::Ptr h = new Object;
            h->set("receipt", receipt);
            h->set("status", status);
            h->set("survey", sub.surveyId);
            h->set("received_at", formatTimeMs(received));
            h->set("comment", sub.comment);
            held->add(h);
        }
        out->set("held", held);

        Array::Ptr conversations = new Array;
        std::vector<std::string> plugins, keys, values;
        std::vector<std::int64_t> expires;
        s << "SELECT plugin, record_key, value, expires_at FROM plugin_state WHERE record_key "
             "LIKE $1 ORDER BY plugin, record_key",
            bind("%:" + p.key), into(plugins), into(keys), into(values), into(expires), now;
        for (std::size_t i = 0; i < plugins.size(); ++i) {
            Object::Ptr c = new Object;
            c->set("channel", plugins[i]);
            c->set("kind", keys[i].substr(0, keys[i].find(':')));
            c->set("value", values[i]);
            c->set("expires_at", formatTimeMs(expires[i]));
            conversations->add(c);
        }
        out->set("conversations", conversations);

        std::vector<std::string> channels;
        std::vector<std::int64_t> at;
        s << "SELECT channel, created_at FROM phone_optouts WHERE phone_key = $1", bind(p.key),
            into(channels), into(at), now;
        if (channels.empty()) {
            out->set("opted_out", Poco::Dynamic::Var());
        } else {
            Object::Ptr o = new Object;
            o->set("channel", channels[0]);
            o->set("at", formatTimeMs(at[0]));
            out->set("opted_out", o);
        }
    });
    return out;
}

PersonalDataReport PersonalData::erase(std::string_view phone) {
    const Person p = find(phone);
    PersonalDataReport report;
    db_.write([&](Session& s) {
        if (!p.dossiers.empty()) {
            Poco::Data::Statement dossiers(s);
            dossiers << "UPDATE dossiers SET phone = '', phone_key = '' WHERE id IN " +
                            idList(p.dossiers);
            report.dossierPhones = dossiers.execute();
            // The words of their responses; the ratings stay (anonymous statistics).
            std::vector<std::int64_t> ids;
            std::vector<std::string> surveyIds;
            std::vector<int> versions;
            s << "SELECT id, survey_id, survey_version FROM responses WHERE dossier_id IN " +
                     idList(p.dossiers),
                into(ids), into(surveyIds), into(versions), now;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                s << "UPDATE responses SET comment_raw = '', comment_norm = '', feedback = '', "
                     "feedback_key = '' WHERE id = $1",
                    use(ids[i]), now;
                if (const auto survey = surveys_.find(surveyIds[i], versions[i])) {
                    for (const Question& q : survey->questions)
                        if (isFreeText(q.type))
                            s << "UPDATE answers SET value_text = '' WHERE response_id = $1 AND "
                                 "question_id = $2",
                                use(ids[i]), bind(q.id), now;
                }
                ++report.texts;
            }
        }
        {
            // Waiting dossier events keep the number as the directory writes it (no '+').
            Poco::Data::Statement events(s);
            events << "UPDATE dossier_events SET phone = '' WHERE phone IN ($1, $2)",
                bind(p.number), bind(p.number.starts_with('+') ? p.number.substr(1) : p.number);
            report.dossierPhones += events.execute();
        }
        for (std::int64_t id : p.cases) {
            s << "UPDATE cases SET contact = '', summary = '' WHERE id = $1", bind(id), now;
            s << "UPDATE case_sources SET words = '' WHERE case_id = $1", bind(id), now;
            ++report.caseContacts;
        }
        for (std::int64_t id : p.messages) {
            // A message not sent yet is not sent at all.
            s << "UPDATE outbox SET recipient = '', body = '', status = CASE WHEN status IN "
                 "('pending', 'sending') THEN 'failed' ELSE status END, last_error = CASE WHEN "
                 "status IN ('pending', 'sending') THEN 'erased on request' ELSE last_error END "
                 "WHERE id = $1",
                bind(id), now;
            ++report.messages;
        }
        for (std::int64_t id : p.held) {
            std::string payload;
            s << "SELECT payload FROM held_submissions WHERE id = $1", bind(id), into(payload), now;
            payload = scrubbed(payload, true);
            s << "UPDATE held_submissions SET payload = $1 WHERE id = $2", use(payload), bind(id),
                now;
            ++report.texts;
        }
        Poco::Data::Statement states(s);
        states << "DELETE FROM plugin_state WHERE record_key LIKE $1", bind("%:" + p.key);
        report.states = states.execute();
    });
    return report;
}

}  // namespace hailong
