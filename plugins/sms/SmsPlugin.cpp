// The SMS channel: ratings by text message through the Kannel gateway (its sms-service calls
// GET /c/sms/kannel) or any provider posting signed JSON to /c/sms/webhook. A reply is read by
// the text module ("ko hai long" is 2); a conversation per phone remembers the dossier it is
// about and asks one follow-up after a low rating. STOP opts the phone out of every message.
// Phones are known by their keyed hash only. See README.md.
#include <hailong/ChannelPlugin.h>
#include <hailong/Hmac.h>
#include <hailong/Host.h>
#include <hailong/Problem.h>

#include <Poco/FileStream.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <tuple>

namespace sms {
namespace {

using hailong::HttpRequest;
using hailong::HttpResponse;
using hailong::Problem;
using hailong::ReplyIntent;
using Poco::JSON::Object;

constexpr std::size_t kMaxText = 1600;  // ten concatenated segments; longer is cut (and logged)
constexpr std::int64_t kMinuteMs = 60000;
constexpr const char* kInvitePrefix = "sms-invite:";   // outbox keys of invitations
constexpr const char* kAnswerPrefix = "case-answer:";  // outbox keys of answers to cases
constexpr std::int64_t kRatedKeptMs = 400LL * 24 * 60 * kMinuteMs;  // a year and some

// Cuts a message to kMaxText bytes without splitting a character (UTF-16 or UTF-8).
void cut(std::string& bytes, bool utf16) {
    bytes.resize(kMaxText);
    if (utf16) return;  // kMaxText is even
    std::size_t end = bytes.size();
    while (end > 0 && (static_cast<unsigned char>(bytes[end - 1]) & 0xC0) == 0x80) --end;
    if (end > 0 && (static_cast<unsigned char>(bytes[end - 1]) & 0x80)) --end;  // its lead byte
    bytes.resize(end);
}

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool ascii(const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

/// How many SMS a text costs: GSM-7 (ASCII here) 160 alone, 153 a part; UCS-2 70, 67 a part.
int segments(const std::string& text) {
    std::size_t chars = 0;
    for (unsigned char c : text)
        if ((c & 0xC0) != 0x80) ++chars;
    const bool gsm = ascii(text);
    const std::size_t single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    if (chars <= single) return 1;
    return static_cast<int>((chars + part - 1) / part);
}

struct Settings {
    std::string secret, survey, reasonQuestion;
    bool accents = false;
    std::int64_t conversationMs = 24 * 60 * kMinuteMs, reasonMs = 30 * kMinuteMs;
    int perHour = 20;
    // Invitations: sent through Kannel's sendsms when sendsmsUrl is set.
    std::string sendsmsUrl, sendsmsUser, sendsmsPassword, sender;
    std::int64_t inviteWindowMs = 48 * 60 * kMinuteMs;
    int quietFrom = 21 * 60, quietTo = 7 * 60;  // minutes of the day, Vietnam time
    int perMinute = 60;
    // A web survey whose signed link the invitation carries ("" none): for citizens who would
    // rather answer the whole form than reply with a digit.
    std::string inviteLinkSurvey;
};

// Minutes since midnight in Vietnam (UTC+7, no daylight saving) at `ms`.
int vietnamMinute(std::int64_t ms) {
    const std::int64_t local = ms + 7 * 60 * kMinuteMs;
    return static_cast<int>((local / kMinuteMs) % (24 * 60));
}

// Whether `ms` falls in the quiet hours [from, to) (which may wrap past midnight).
bool quiet(const Settings& s, std::int64_t ms) {
    if (s.quietFrom == s.quietTo) return false;
    const int m = vietnamMinute(ms);
    return s.quietFrom < s.quietTo ? (m >= s.quietFrom && m < s.quietTo)
                                   : (m >= s.quietFrom || m < s.quietTo);
}

// The first moment at or after `ms` outside the quiet hours.
std::int64_t afterQuiet(const Settings& s, std::int64_t ms) {
    if (!quiet(s, ms)) return ms;
    const int m = vietnamMinute(ms);
    const int wait = (s.quietTo - m + 24 * 60) % (24 * 60);
    return (ms / kMinuteMs + wait) * kMinuteMs;
}

// "21:00-07:00" as minutes of the day; throws std::invalid_argument otherwise.
std::pair<int, int> quietHours(const std::string& text) {
    int h1 = 0, m1 = 0, h2 = 0, m2 = 0;
    char c1 = 0, dash = 0, c2 = 0;
    std::istringstream in(text);
    if (text.empty()) return {0, 0};
    if (!(in >> h1 >> c1 >> m1 >> dash >> h2 >> c2 >> m2) || c1 != ':' || c2 != ':' ||
        dash != '-' || h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59 || h1 < 0 || h2 < 0 || m1 < 0 ||
        m2 < 0)
        throw std::invalid_argument("plugin.sms.quiet_hours must look like 21:00-07:00, not \"" +
                                    text + "\"");
    return {h1 * 60 + m1, h2 * 60 + m2};
}

// An inbound message, from whichever gateway.
struct Inbound {
    std::string from, text, gateway, messageId;  // "to" (our number) is not needed
};

class SmsChannel {
public:
    SmsChannel(hailong::Host& host, Settings settings)
        : host_(host), settings_(std::move(settings)), log_(host.logger()) {
        for (const char* lang : {"vi", "en"}) {
            Poco::FileInputStream in(host.dataFolder() + "/locale/" + lang + ".json");
            texts_[lang] = Poco::JSON::Parser().parse(in).extract<Object::Ptr>();
        }
        if (!host.surveys().find(settings_.survey))
            throw std::runtime_error("survey " + settings_.survey + " is not published");
        for (const char* key :
             {"invite", "invite_link", "thanks", "why", "help", "stopped", "already"})
            log_.information("SMS text \"%s\" costs %d segment(s) accent-free, %d with accents",
                             std::string(key), segments(text("vi", key, {}, false)),
                             segments(text("vi", key, {}, true)));
        sweeper_ = std::thread([this] { sweep(); });
    }
    ~SmsChannel() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (sweeper_.joinable()) sweeper_.join();
    }

    void routes(hailong::Router& router);
    /// The reply to one inbound message ("" for none).
    std::string receive(const Inbound& in);

private:
    std::string text(const std::string& lang, const std::string& key,
                     const std::map<std::string, std::string>& params, bool accents) const {
        const Object::Ptr t = texts_.at(lang)->getObject(key);
        std::string out = t ? t->getValue<std::string>(accents ? "text" : "plain") : key;
        for (const auto& [name, value] : params) {
            const std::string mark = "{" + name + "}";
            for (std::size_t at = out.find(mark); at != std::string::npos; at = out.find(mark, at))
                out.replace(at, mark.size(), value), at += value.size();
        }
        return out;
    }
    std::string reply(const std::string& key,
                      const std::map<std::string, std::string>& params = {}) const {
        return text("vi", key, params, settings_.accents);
    }
    bool flooding(const std::string& phoneKey);
    std::string rate(const std::string& phoneKey, const std::string& phone,
                     const ReplyIntent& intent, const std::string& dossierCode);
    /// The dossier `code` names, if this phone may speak of it (a dossier handed in with a phone
    /// is rated and complained about from that phone only: its code is on a paper receipt).
    std::optional<hailong::Dossier> dossierFor(const std::string& phoneKey,
                                               const std::string& code) const;
    std::string complain(const Inbound& in, const std::string& phoneKey);
    std::string rateAnswer(const std::string& phoneKey, const std::string& caseCode,
                           const std::string& text);
    std::string finish(const std::string& pendingJson, const std::string& reason);
    std::string finishTaken(const std::string& phoneKey, const std::string& pending,
                            const std::string& reason);
    void sweep();
    void invite();
    hailong::DeliveryResult deliver(const hailong::OutboundMessage& m, std::string& error);

public:
    /// Registers the sender of invitations with the outbox.
    void registerSender() {
        host_.outbox().registerSender(
            "sms", [this](const hailong::OutboundMessage& m, std::string& error) {
                return deliver(m, error);
            });
    }

private:
    std::int64_t lastSentMs_ = 0;  // outbox thread only

    hailong::Host& host_;
    const Settings settings_;
    Poco::Logger& log_;
    std::map<std::string, Object::Ptr> texts_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::map<std::string, std::pair<std::int64_t, int>> hourly_;  // phone key → (hour, messages)
    std::thread sweeper_;
};

bool SmsChannel::flooding(const std::string& phoneKey) {
    const std::int64_t hour = nowMs() / (60 * kMinuteMs);
    std::lock_guard lock(mutex_);
    if (hourly_.size() > 100000) hourly_.clear();  // bounded whatever the senders
    auto& [at, count] = hourly_[phoneKey];
    if (at != hour) at = hour, count = 0;
    return ++count > settings_.perHour;
}

// A rating as a submission, kept as JSON while the follow-up question waits.
std::string pendingJson(const std::string& dossier, int score, const std::string& comment,
                        std::int64_t answeredAt, const std::string& phone) {
    Object::Ptr o = new Object;
    o->set("dossier", dossier);
    o->set("phone", phone);  // where an answer to a case it opens goes
    o->set("score", score);
    o->set("comment", comment);
    o->set("answered_at", answeredAt);
    std::ostringstream out;
    o->stringify(out);
    return out.str();
}

// Finishes a pending rating taken from the state (atomically, so once); if the store is away
// it goes back, to be finished by the sweep, and the exception goes on.
std::string SmsChannel::finishTaken(const std::string& phoneKey, const std::string& pending,
                                    const std::string& reason) {
    try {
        return finish(pending, reason);
    } catch (const hailong::Unavailable&) {
        host_.state().put("pending:" + phoneKey, pending, nowMs() + kMinuteMs);
        throw;
    }
}

// Stores a rating (with its reason, if any); the reply to send.
std::string SmsChannel::finish(const std::string& json, const std::string& reason) {
    const Object::Ptr p = Poco::JSON::Parser().parse(json).extract<Object::Ptr>();
    const std::string dossier = p->getValue<std::string>("dossier");
    hailong::Submission s;
    s.surveyId = settings_.survey;
    s.channel = "sms";
    s.dossierCode = dossier;
    s.idempotencyKey = "sms:" + dossier + ":" + settings_.survey;  // one rating per dossier
    s.answeredAtMs = p->getValue<std::int64_t>("answered_at");
    s.contact = p->optValue<std::string>("phone", "");
    s.answers.push_back({"rating", p->getValue<double>("score"), {}, ""});
    if (!reason.empty() && !settings_.reasonQuestion.empty())
        s.answers.push_back({settings_.reasonQuestion, std::nullopt, {reason}, ""});
    const std::string comment = p->getValue<std::string>("comment");
    if (!comment.empty())
        s.answers.push_back({"comment", std::nullopt, {}, comment.substr(0, 480)});
    try {
        const hailong::Receipt r = host_.ingest().submit(s);
        host_.state().put("rated:" + dossier, r.code, nowMs() + kRatedKeptMs);
        if (r.duplicate) return reply("already", {{"dossier", dossier}});
        // A low rating with a reason or words opened a case: the citizen gets its code.
        if (auto opened = host_.cases().ofReceipt(r.code))
            return reply("thanks_case", {{"dossier", dossier},
                                         {"code", opened->code},
                                         {"due", hailong::dayText(opened->dueAtMs)}});
        return reply("thanks", {{"dossier", dossier}});
    } catch (const Problem& e) {
        log_.warning("SMS rating for dossier %s refused: %s", dossier, e.code());
        return reply("help");
    }
}

std::optional<hailong::Dossier> SmsChannel::dossierFor(const std::string& phoneKey,
                                                       const std::string& code) const {
    auto dossier = host_.directory().dossier(code);
    // The phone it was handed in with, by key ("-": not a number), once the number is erased too.
    std::string dossierPhone;
    if (dossier && !dossier->phoneKey.empty())
        dossierPhone = dossier->phoneKey == "-" ? "" : dossier->phoneKey;
    else if (dossier && !dossier->phone.empty())
        dossierPhone = host_.phones().key(dossier->phone);
    if (!dossier || (!dossierPhone.empty() && dossierPhone != phoneKey)) {
        log_.information("SMS from %s…: no dossier %s for this phone", phoneKey.substr(0, 8), code);
        return std::nullopt;
    }
    return dossier;
}

// "PA <dossier code> <words>": a complaint, opened as a case (or joined to the dossier's open
// one); the reply gives its code and deadline.
std::string SmsChannel::complain(const Inbound& in, const std::string& phoneKey) {
    std::istringstream words(host_.text().normalize(in.text));
    std::string keyword, code, rest;
    words >> keyword >> code;
    std::getline(words, rest);
    rest.erase(0, rest.find_first_not_of(" \t\r\n"));
    if (code.empty() || rest.empty()) return reply("complaint_empty");
    for (char& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto dossier = dossierFor(phoneKey, code);
    if (!dossier) return reply("unknown_code", {{"dossier", code}});
    hailong::Complaint complaint;
    complaint.channel = "sms";
    complaint.dossierCode = dossier->code;
    complaint.text = rest;
    complaint.contact = host_.phones().canonical(in.from);
    // A gateway's retry of one message joins its case once.
    if (!in.messageId.empty()) complaint.idempotencyKey = "sms:" + in.gateway + ":" + in.messageId;
    try {
        const hailong::CaseView c = host_.cases().complain(complaint);
        log_.information("SMS complaint about dossier %s: case %s%s", dossier->code, c.code,
                         c.joined ? std::string(" (joined)") : std::string());
        return reply(
            "complaint_received",
            {{"dossier", dossier->code}, {"code", c.code}, {"due", hailong::dayText(c.dueAtMs)}});
    } catch (const Problem& e) {
        log_.warning("SMS complaint about dossier %s refused: %s", dossier->code, e.code());
        return reply("complaint_empty");
    }
}

// The reply to an answer: 1 (or words meaning satisfied) or 2 (or words meaning not).
std::string SmsChannel::rateAnswer(const std::string& phoneKey, const std::string& caseCode,
                                   const std::string& text) {
    const std::string key = host_.text().key(text);
    int verdict = 0;  // 1 satisfied, -1 not, 0 not an answer to the question
    if (key == "1" || key == "2") {
        verdict = key == "1" ? 1 : -1;
    } else if (const ReplyIntent intent = host_.text().readReply(text); intent.score) {
        verdict = *intent.score >= 4 ? 1 : *intent.score <= 2 ? -1 : 0;
    }
    if (verdict == 0) return "";  // read as any other message
    host_.state().erase("conv:" + phoneKey);
    host_.cases().rateAnswer(caseCode, verdict > 0, "sms");
    return reply("answer_rated", {{"code", caseCode}});
}

std::string SmsChannel::rate(const std::string& phoneKey, const std::string& phone,
                             const ReplyIntent& intent, const std::string& dossierCode) {
    const auto dossier = dossierFor(phoneKey, dossierCode);
    if (!dossier) return reply("unknown_code", {{"dossier", dossierCode}});
    // One rating per dossier: a second is answered politely before any question is asked.
    if (host_.state().get("rated:" + dossier->code)) {
        host_.state().erase("conv:" + phoneKey);
        return reply("already", {{"dossier", dossier->code}});
    }
    const std::string pending =
        pendingJson(dossier->code, *intent.score, intent.comment, nowMs(), phone);
    if (*intent.score <= 2 && !settings_.reasonQuestion.empty()) {
        // Asked why; the rating waits (durably) for the answer, or counts alone when it expires.
        // One waits per phone: an earlier one counts now, without its reason.
        if (auto earlier = host_.state().take("pending:" + phoneKey))
            finishTaken(phoneKey, *earlier, "");
        host_.state().put("pending:" + phoneKey, pending, nowMs() + settings_.reasonMs);
        host_.state().put("conv:" + phoneKey, "reason:" + dossier->code,
                          nowMs() + settings_.reasonMs);
        return reply("why");
    }
    host_.state().erase("conv:" + phoneKey);
    return finish(pending, "");
}

std::string SmsChannel::receive(const Inbound& in) {
    const std::string phoneKey = host_.phones().key(in.from);
    if (phoneKey.empty()) {
        log_.warning("SMS from a sender that is not a phone number (%s gateway): ignored",
                     in.gateway);
        return "";
    }
    if (flooding(phoneKey)) {
        log_.warning("SMS from %s…: more than %d messages this hour, not answered",
                     phoneKey.substr(0, 8), settings_.perHour);
        return "";
    }
    const ReplyIntent intent = host_.text().readReply(in.text);
    const std::string conversation = host_.state().get("conv:" + phoneKey).value_or("");
    if (intent.command == ReplyIntent::Command::Stop) {
        host_.phones().optOut(in.from, "sms");
        host_.state().erase("conv:" + phoneKey);
        if (auto pending = host_.state().take("pending:" + phoneKey))
            finishTaken(phoneKey, *pending, "");  // the rating counts; only the question goes
        return reply("stopped");
    }
    if (intent.command == ReplyIntent::Command::Help) return reply("help");
    // A complaint: "PA <dossier code> <words>" (accents and case aside).
    if (const std::string k = host_.text().key(in.text); k.starts_with("pa ") || k == "pa")
        return complain(in, phoneKey);
    // The reply to an official's answer rates it.
    if (conversation.starts_with("answer:")) {
        const std::string answered = rateAnswer(phoneKey, conversation.substr(7), in.text);
        if (!answered.empty()) return answered;
    }
    // The answer to "why?": 1..4, or words (kept as the comment, reason "other").
    if (conversation.starts_with("reason:") &&
        !(intent.command == ReplyIntent::Command::Rate && !intent.code.empty())) {
        host_.state().erase("conv:" + phoneKey);
        auto pending = host_.state().take("pending:" + phoneKey);
        if (!pending) return reply("help");  // counted alone already (the question expired)
        static const char* kReasons[] = {"attitude", "waiting", "guidance", "other"};
        std::string reason = "other";
        const std::string trimmed = host_.text().key(in.text);
        if (trimmed.size() == 1 && trimmed[0] >= '1' && trimmed[0] <= '4')
            reason = kReasons[trimmed[0] - '1'];
        else if (!trimmed.empty()) {
            // Words: the reason is "other" and the words become the comment.
            Object::Ptr p = Poco::JSON::Parser().parse(*pending).extract<Object::Ptr>();
            const std::string before = p->getValue<std::string>("comment");
            p->set("comment", before.empty() ? host_.text().normalize(in.text)
                                             : before + " — " + host_.text().normalize(in.text));
            std::ostringstream out;
            p->stringify(out);
            return finishTaken(phoneKey, out.str(), reason);
        }
        return finishTaken(phoneKey, *pending, reason);
    }
    if (intent.command == ReplyIntent::Command::Rate && intent.score) {
        const std::string phone = host_.phones().canonical(in.from);
        if (!intent.code.empty()) return rate(phoneKey, phone, intent, intent.code);
        if (conversation.starts_with("invited:"))
            return rate(phoneKey, phone, intent, conversation.substr(8));
        return reply("help");
    }
    // Unreadable: one help message per conversation, then silence (no loops with robots). The
    // conversation itself (an invitation) stays: a readable reply still rates.
    if (!host_.state().add("helped:" + phoneKey, "1", nowMs() + settings_.conversationMs))
        return "";
    log_.information("SMS from %s…: unreadable reply, help sent", phoneKey.substr(0, 8));
    return reply("help");
}

void SmsChannel::sweep() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
        lock.unlock();
        try {
            // Ratings whose follow-up question went unanswered count without a reason.
            for (const auto& [key, pending] : host_.state().takeExpired("pending:", nowMs(), 100)) {
                try {
                    finish(pending, "");
                } catch (const hailong::Unavailable&) {
                    host_.state().put(key, pending, nowMs() + kMinuteMs);  // next time
                }
            }
            if (!settings_.sendsmsUrl.empty()) invite();
        } catch (const std::exception& e) {
            log_.warning("SMS sweep: %s (tried again later)", std::string(e.what()));
        }
        lock.lock();
    }
}

// Queues an invitation for each dossier returned since the last look (the cursor is kept in
// the plugin's state; the first start begins now: no invitations for old dossiers).
void SmsChannel::invite() {
    const std::string cursor = host_.state().get("cursor:returned").value_or("");
    std::int64_t afterMs = nowMs(), afterId = 0;
    if (!cursor.empty()) {
        const auto colon = cursor.find(':');
        afterMs = std::stoll(cursor.substr(0, colon));
        afterId = std::stoll(cursor.substr(colon + 1));
    } else {
        host_.state().put("cursor:returned", std::to_string(afterMs) + ":0", 4102444800000);
        return;
    }
    const auto changed = host_.directory().dossiersChanged("returned", afterMs, afterId, 200);
    for (const hailong::Dossier& d : changed) {
        // Changes of the last two seconds wait for the next look: a transaction still open
        // elsewhere may commit one with an earlier time.
        if (d.updatedAtMs > nowMs() - 2000) break;
        const std::string phone = host_.phones().canonical(d.phone);
        const bool recent = d.returnedAtMs && *d.returnedAtMs > nowMs() - settings_.inviteWindowMs;
        if (!phone.empty() && recent && !host_.phones().optedOut(phone) &&
            !host_.state().get("rated:" + d.code)) {
            const auto agency = host_.directory().agencyById(d.agencyId);
            hailong::OutboundMessage m;
            m.channel = "sms";
            m.recipient = phone;
            std::string name = agency ? agency->name : "";
            if (!settings_.accents) name = host_.text().unaccented(name);
            m.body =
                settings_.inviteLinkSurvey.empty()
                    ? reply("invite", {{"agency", name}, {"dossier", d.code}})
                    : reply("invite_link", {{"agency", name},
                                            {"dossier", d.code},
                                            {"link", host_.links().url(host_.links().token(
                                                         d.code, settings_.inviteLinkSurvey))}});
            m.dedupeKey = std::string(kInvitePrefix) + d.code;  // never twice for one dossier
            m.notBeforeMs = afterQuiet(settings_, nowMs());
            host_.outbox().enqueue(m);
            log_.information("SMS invitation for dossier %s queued (%d segment(s))", d.code,
                             segments(m.body));
        }
        host_.state().put("cursor:returned",
                          std::to_string(d.updatedAtMs) + ":" + std::to_string(d.id),
                          4102444800000);
    }
}

// Sends one invitation through Kannel's sendsms (on the outbox's thread).
hailong::DeliveryResult SmsChannel::deliver(const hailong::OutboundMessage& m, std::string& error) {
    if (host_.phones().optedOut(m.recipient)) {
        error = "the phone opted out before the message left";
        return hailong::DeliveryResult::Failed;
    }
    if (quiet(settings_, nowMs())) return hailong::DeliveryResult::Deferred;
    // At most perMinute messages a minute, evenly: a short wait here, a longer one deferred.
    const std::int64_t gap = kMinuteMs / settings_.perMinute, wait = lastSentMs_ + gap - nowMs();
    if (wait > 1000) return hailong::DeliveryResult::Deferred;
    if (wait > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    try {
        Poco::URI uri(settings_.sendsmsUrl);
        uri.addQueryParameter("username", settings_.sendsmsUser);
        uri.addQueryParameter("password", settings_.sendsmsPassword);
        if (!settings_.sender.empty()) uri.addQueryParameter("from", settings_.sender);
        uri.addQueryParameter("to", m.recipient);
        uri.addQueryParameter("text", m.body);
        if (!ascii(m.body)) {  // UCS-2, from UTF-8 text
            uri.addQueryParameter("coding", "2");
            uri.addQueryParameter("charset", "UTF-8");
        }
        Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(),
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& body = session.receiveResponse(response);
        std::string answer;
        std::getline(body, answer);
        lastSentMs_ = nowMs();
        const int status = response.getStatus();
        if (status == 200 || status == 202) {
            // An invitation opens a conversation (the reply rates its dossier); other messages
            // through this channel (alert notices to officials) expect no reply.
            if (m.dedupeKey.starts_with(kInvitePrefix)) {
                const std::string dossier =
                    m.dedupeKey.substr(std::string_view(kInvitePrefix).size());
                const std::string conv = "conv:" + host_.phones().key(m.recipient);
                // A follow-up question still open keeps its conversation (its answer is awaited).
                if (!host_.state().get(conv).value_or("").starts_with("reason:"))
                    host_.state().put(conv, "invited:" + dossier,
                                      nowMs() + settings_.conversationMs);
            } else if (m.dedupeKey.starts_with(kAnswerPrefix)) {
                // An answer to a case: the reply (1 or 2) rates it.
                std::string code = m.dedupeKey.substr(std::string_view(kAnswerPrefix).size());
                code = code.substr(0, code.find(':'));
                const std::string conv = "conv:" + host_.phones().key(m.recipient);
                if (!host_.state().get(conv).value_or("").starts_with("reason:"))
                    host_.state().put(conv, "answer:" + code, nowMs() + settings_.conversationMs);
            }
            return hailong::DeliveryResult::Sent;
        }
        error = "sendsms answered " + std::to_string(status) + ": " + answer.substr(0, 200);
        return status >= 500 || status == 429 ? hailong::DeliveryResult::RetryLater
                                              : hailong::DeliveryResult::Failed;
    } catch (const Poco::Exception& e) {
        error = "sendsms unreachable: " + e.displayText();
        return hailong::DeliveryResult::RetryLater;
    }
}

HttpResponse textReply(const std::string& body) {
    HttpResponse r = HttpResponse::text(body);
    // Kannel sends a UTF-8 reply with letters beyond Latin-1 as '?' unless told to use UCS-2.
    if (!ascii(body)) r.header("X-Kannel-Coding", "2");
    return r;
}

void SmsChannel::routes(hailong::Router& router) {
    // Kannel's sms-service get-url:
    // ?secret=&from=%p&to=%P&text=%a&coding=%c&charset=%C&smsc=%i&id=%I
    router.add(
        "GET", "/kannel",
        [this](const HttpRequest& r) {
            if (!hailong::sameSecret(r.queryParam("secret").value_or(""), settings_.secret)) {
                log_.warning("Kannel request from %s with a wrong secret: refused",
                             r.remoteAddress);
                throw Problem(403, "sms.bad_secret");
            }
            Inbound in;
            in.gateway = "kannel";
            in.from = r.queryParam("from").value_or("");
            in.messageId = r.queryParam("id").value_or("");
            std::string bytes = r.queryParam("text").value_or("");
            if (bytes.size() > kMaxText) {
                log_.warning("SMS of %z bytes cut to %z", bytes.size(), kMaxText);
                cut(bytes, r.queryParam("coding").value_or("0") == "2");
            }
            // coding 2 is UCS-2: Kannel passes the UTF-16BE bytes as they came.
            std::string charset = r.queryParam("charset").value_or("");
            if (charset.empty())
                charset = r.queryParam("coding").value_or("0") == "2" ? "UTF-16BE" : "UTF-8";
            try {
                in.text = host_.text().decode(bytes, charset);
            } catch (const Problem& p) {
                log_.warning("SMS in charset %s not readable (%s): help sent", charset, p.code());
                return textReply(reply("help"));
            }
            return textReply(receive(in));
        },
        hailong::RouteOptions{0, true});
    // Other providers: {"from", "to", "text", "id"} signed with HMAC-SHA256 under the secret,
    // over "<X-Hailong-Timestamp>.<body>", in X-Hailong-Signature (hex); five minutes of clock
    // difference at most; a message id is taken once.
    router.add(
        "POST", "/webhook",
        [this](const HttpRequest& r) {
            const std::string stamp = r.header("x-hailong-timestamp");
            std::string signature = r.header("x-hailong-signature");
            for (char& c : signature)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::int64_t at = 0;
            try {
                at = std::stoll(stamp);
            } catch (const std::exception&) {
                at = 0;
            }
            const std::string expected =
                hailong::hmacSha256Hex(settings_.secret, stamp + "." + r.body);
            if (signature.empty() || !hailong::sameSecret(signature, expected)) {
                log_.warning("SMS webhook from %s: bad signature, refused", r.remoteAddress);
                throw Problem(401, "sms.bad_signature");
            }
            if (at < nowMs() - 5 * kMinuteMs || at > nowMs() + 5 * kMinuteMs) {
                log_.warning("SMS webhook from %s: timestamp out of range (a replay?), refused",
                             r.remoteAddress);
                throw Problem(401, "sms.stale_signature");
            }
            const Object::Ptr body = r.jsonObject();
            Inbound in;
            in.gateway = "webhook";
            in.from = body->optValue<std::string>("from", "");
            in.messageId = body->optValue<std::string>("id", "");
            in.text = body->optValue<std::string>("text", "");
            if (in.messageId.empty() || in.messageId.size() > 128)
                throw Problem(422, "request.invalid", {}, {{"id", "field.required", {}}});
            if (in.text.size() > kMaxText) cut(in.text, false);
            Object::Ptr out = new Object;
            // Claimed atomically (of two retries at once, one goes on); released if it fails.
            if (!host_.state().add("seen:" + in.messageId, "1", nowMs() + 24 * 60 * kMinuteMs)) {
                out->set("duplicate", true);
                out->set("reply", "");
                return HttpResponse::json(out);
            }
            struct Release {
                hailong::PluginState& state;
                std::string key;
                bool done = false;
                ~Release() {
                    if (!done) state.erase(key);
                }
            } release{host_.state(), "seen:" + in.messageId};
            try {
                in.text = host_.text().decode(in.text, "UTF-8");
            } catch (const Problem&) {
                in.text.clear();
            }
            const std::string answer = receive(in);
            release.done = true;
            out->set("duplicate", false);
            out->set("reply", answer);
            out->set("segments", answer.empty() ? 0 : segments(answer));
            return HttpResponse::json(out);
        },
        hailong::RouteOptions{16 * 1024});
}

}  // namespace

class SmsPlugin final : public hailong::ChannelPlugin {
public:
    std::string name() const override { return "sms"; }

    void start(hailong::Host& host, const Poco::Util::AbstractConfiguration& config) override {
        Settings s;
        s.secret = config.getString("secret", "");
        const bool drawn = s.secret.empty();
        if (s.secret.empty()) {
            // One secret for this database, kept in the plugin's state, shown in the log.
            s.secret = host.state().get("config:secret").value_or("");
            if (s.secret.empty()) {
                std::random_device random;  // the kernel's generator on Linux
                static constexpr char kHex[] = "0123456789abcdef";
                for (int i = 0; i < 32; ++i) s.secret += kHex[random() & 15];
                host.state().put("config:secret", s.secret, 4102444800000);  // 2100-01-01
            }
        }
        s.survey = config.getString("survey", "sms-quick");
        s.accents = config.getBool("accents", false);
        s.conversationMs =
            std::clamp(config.getInt("conversation_minutes", 1440), 1, 43200) * kMinuteMs;
        s.reasonMs = std::clamp(config.getInt("reason_seconds", 1800), 1, 86400) * 1000LL;
        s.perHour = std::clamp(config.getInt("max_per_hour", 20), 1, 100000);
        s.sendsmsUrl = config.getString("sendsms_url", "");
        s.sendsmsUser = config.getString("sendsms_user", "");
        s.sendsmsPassword = config.getString("sendsms_password", "");
        s.sender = config.getString("sender", "");
        s.inviteWindowMs =
            std::clamp(config.getInt("invite_window_hours", 48), 1, 24 * 30) * 60 * kMinuteMs;
        std::tie(s.quietFrom, s.quietTo) =
            quietHours(config.getString("quiet_hours", "21:00-07:00"));
        s.perMinute = std::clamp(config.getInt("per_minute", 60), 1, 6000);
        s.inviteLinkSurvey = config.getString("invite_link_survey", "");
        if (!s.inviteLinkSurvey.empty()) {
            const auto linked = host.surveys().find(s.inviteLinkSurvey);
            if (!linked || !linked->allowsChannel("web"))
                throw std::runtime_error("invite_link_survey " + s.inviteLinkSurvey +
                                         " is not a published web survey");
        }
        if (auto survey = host.surveys().find(s.survey))
            for (const auto& q : survey->questions)
                if (q.type == hailong::QuestionType::SingleChoice && q.showIf &&
                    q.showIf->question == "rating")
                    s.reasonQuestion = q.id;
        channel_ = std::make_unique<SmsChannel>(host, s);
        channel_->routes(host.router());
        if (!s.sendsmsUrl.empty()) channel_->registerSender();
        // A secret the plugin drew (none configured) is shown, for kannel.conf; a configured one
        // is not repeated in the log.
        host.logger().notice(
            "sms channel started: point Kannel's sms-service get-url at "
            "http://HOST:PORT/c/sms/kannel?secret=%s&from=%%p&to=%%P&text=%%a&coding=%%c&"
            "charset=%%C&smsc=%%i&id=%%I",
            drawn ? s.secret : std::string("<plugin.sms.secret>"));
    }

    void stop() noexcept override { channel_.reset(); }

private:
    std::unique_ptr<SmsChannel> channel_;
};

}  // namespace sms

HAILONG_EXPORT_PLUGIN(sms::SmsPlugin)
