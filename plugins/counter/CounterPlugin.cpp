// The counter channel: a tablet facing the citizen at the one-stop desk (one tap, reasons when
// not satisfied, an offline queue on the device) and hardware button boxes. Devices pair with a
// one-time code and keep a token; every rating goes through Host::ingest(). See README.md.
#include "TapLimiter.h"

#include <hailong/ChannelPlugin.h>
#include <hailong/Host.h>
#include <hailong/Problem.h>

#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/UUIDGenerator.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

namespace counter {
namespace {

using hailong::HttpRequest;
using hailong::HttpResponse;
using hailong::Problem;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::size_t kMaxBatch = 200;
constexpr double kMaxQueued = 1e6;  ///< more ratings than a tablet holds
constexpr const char* kCookie = "hl_device";

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct Settings {
    std::string survey, boxSurvey;
    int resetSeconds = 5, retryMaxMs = 30000, perMinute = 12, pairTries = 10;
    std::int64_t debounceMs = 1000;
};

// The parts of a survey the screen shows: the scale, the reasons, the comment.
struct Screen {
    std::shared_ptr<const hailong::Survey> survey;
    const hailong::Question* rating = nullptr;
    const hailong::Question* reasons = nullptr;
    const hailong::Question* comment = nullptr;
    std::vector<std::string> negative;  // option ids that ask for reasons
};

Screen screenOf(std::shared_ptr<const hailong::Survey> survey) {
    Screen s;
    s.survey = std::move(survey);
    for (const hailong::Question& q : s.survey->questions) {
        if (!s.rating && (q.type == hailong::QuestionType::Rating ||
                          q.type == hailong::QuestionType::SingleChoice))
            s.rating = &q;
        else if (!s.reasons && q.type == hailong::QuestionType::MultipleChoice)
            s.reasons = &q;
        else if (!s.comment && q.type == hailong::QuestionType::Text)
            s.comment = &q;
    }
    if (!s.rating) throw std::runtime_error("survey " + s.survey->id + " has no rating question");
    for (const hailong::Question* q : {s.reasons, s.comment})
        if (q && q->showIf && q->showIf->question == s.rating->id)
            for (const std::string& v : q->showIf->values)
                if (std::find(s.negative.begin(), s.negative.end(), v) == s.negative.end())
                    s.negative.push_back(v);
    return s;
}

Object::Ptr localized(const hailong::LocalizedText& text) {
    Object::Ptr o = new Object;
    for (const auto& [lang, value] : text) o->set(lang, value);
    return o;
}

std::string textIn(const hailong::LocalizedText& text, const std::string& lang) {
    auto it = text.find(lang);
    return it != text.end() ? it->second : text.count("vi") ? text.at("vi") : std::string();
}

std::string initials(const std::string& name) {
    // The first letters (UTF-8 sequences) of the last two words: "Nguyễn Văn An" → "VA".
    std::vector<std::string> words;
    std::istringstream in(name);
    for (std::string w; in >> w;) words.push_back(w);
    std::string out;
    for (std::size_t i = words.size() >= 2 ? words.size() - 2 : 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        std::size_t len = 1;
        const auto lead = static_cast<unsigned char>(w[0]);
        if (lead >= 0xF0)
            len = 4;
        else if (lead >= 0xE0)
            len = 3;
        else if (lead >= 0xC0)
            len = 2;
        out += w.substr(0, len);
    }
    return out;
}

// 8-4-4-4-12 hexadecimal digits, checked by hand (a std::regex showed up in the profile).
bool isUuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

std::string field(const std::multimap<std::string, std::string>& f, const std::string& name) {
    auto it = f.find(name);
    return it == f.end() ? std::string() : it->second;
}

std::string tokenOf(const HttpRequest& r) {
    const std::string auth = r.header("authorization");
    if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
    return r.cookie(kCookie);
}

// A number of milliseconds from JSON, if it is one.
std::optional<std::int64_t> millis(const Object::Ptr& o, const std::string& name) {
    if (!o->has(name)) return std::nullopt;
    const Poco::Dynamic::Var v = o->get(name);
    if (!v.isNumeric() || v.type() == typeid(bool)) throw Problem(422, "counter.time_invalid");
    const double d = v.convert<double>();
    if (d < 0 || d > 4.1e12) throw Problem(422, "counter.time_invalid");
    return static_cast<std::int64_t>(d);
}

class CounterChannel {
public:
    CounterChannel(hailong::Host& host, Settings settings)
        : host_(host),
          settings_(std::move(settings)),
          limiter_(settings_.perMinute, settings_.debounceMs) {
        for (const char* lang : {"vi", "en"}) {
            Poco::FileInputStream in(host.dataFolder() + "/locale/" + lang + ".json");
            strings_[lang] = Poco::JSON::Parser().parse(in).extract<Object::Ptr>();
        }
        // Fail at start, not at the first tap, when a configured survey is missing or unfit.
        screen(settings_.survey);
        screen(settings_.boxSurvey);
    }

    void routes(hailong::Router& router);

private:
    // The survey a device's tablet asks: its counter's choice, or the channel's setting.
    const std::string& surveyOf(const hailong::DeviceSession& d) const {
        return d.counter.surveyId.empty() ? settings_.survey : d.counter.surveyId;
    }
    Screen screen(const std::string& surveyId) const {
        auto survey = host_.surveys().find(surveyId);
        if (!survey) throw Problem(503, "counter.survey_missing", {{"survey", surveyId}});
        return screenOf(survey);
    }

    // The dossier `code` if it belongs to the counter's agency tree (above or below it): a
    // device neither confirms nor rates other agencies' dossiers.
    std::optional<hailong::Dossier> dossierAt(const hailong::DeviceSession& d,
                                              const std::string& code) const {
        auto dossier = code.size() <= 64 ? host_.directory().dossier(code) : std::nullopt;
        auto agency = dossier ? host_.directory().agencyById(dossier->agencyId) : std::nullopt;
        if (!agency ||
            !(agency->path.starts_with(d.agency.path) || d.agency.path.starts_with(agency->path)))
            return std::nullopt;
        return dossier;
    }

    hailong::DeviceSession device(const HttpRequest& r) const {
        const std::string token = tokenOf(r);
        const hailong::DeviceAuth auth =
            token.empty() ? hailong::DeviceAuth{} : host_.devices().authenticate(token);
        if (auth.state == hailong::DeviceState::Revoked) throw Problem(403, "device.revoked");
        if (auth.state != hailong::DeviceState::Active) throw Problem(401, "device.unknown");
        return *auth.session;
    }

    // Vietnamese whatever the tablet's own language, unless the page asks for English (the
    // screen's toggle, or ?lang=en); API answers follow Accept-Language as elsewhere.
    std::string language(const HttpRequest& r) const {
        return r.queryParam("lang").value_or("vi") == "en" ? "en" : "vi";
    }
    std::string apiLanguage(const HttpRequest& r) const {
        return r.queryParam("lang").value_or(r.language) == "en" ? "en" : "vi";
    }

    Object::Ptr config(const hailong::DeviceSession& d, const std::string& dossier) const;
    HttpResponse page(const std::string& name, const std::string& lang, Object::Ptr data,
                      int status = 200) const;
    HttpResponse screenPage(const HttpRequest& r, const hailong::DeviceSession& d,
                            const std::string& error, const std::string& lang) const;
    Object::Ptr submit(const hailong::DeviceSession& d, const Screen& screen,
                       const Object::Ptr& item, std::int64_t skewMs, const std::string& lang,
                       bool press);
    Object::Ptr errorJson(const Problem& p, const std::string& lang) const;
    HttpResponse submitAll(const HttpRequest& r, const char* list, bool press);
    void checkPairingTries(const std::string& address);
    void notePairingFailure(const std::string& address);

    hailong::Host& host_;
    const Settings settings_;
    TapLimiter limiter_;
    std::map<std::string, Object::Ptr> strings_;
    std::mutex pairingMutex_;
    struct Tries {
        int failures = 0;
        std::int64_t since = 0;
    };
    std::map<std::string, Tries> pairingTries_;  // by client address
};

Object::Ptr CounterChannel::config(const hailong::DeviceSession& d,
                                   const std::string& dossier) const {
    const Screen s = screen(surveyOf(d));
    Object::Ptr c = new Object;
    auto named = [](const std::string& code, const std::string& name) {
        Object::Ptr o = new Object;
        o->set("code", code);
        o->set("name", name);
        return o;
    };
    c->set("device", named(d.device.code, d.device.name));
    c->set("counter", named(d.counter.code, d.counter.name));
    c->set("agency", named(d.agency.code, d.agency.name));
    if (d.officer) {
        Object::Ptr o = named(d.officer->code, d.officer->name);
        o->set("title", d.officer->title);
        c->set("officer", o);
    } else {
        c->set("officer", Poco::Dynamic::Var());
    }
    Object::Ptr survey = new Object;
    survey->set("id", s.survey->id);
    survey->set("version", s.survey->version);
    c->set("survey", survey);
    Object::Ptr question = new Object;
    question->set("id", s.rating->id);
    question->set("text", localized(s.rating->text));
    c->set("question", question);
    Array::Ptr faces = new Array;
    static const char* kIcons[] = {"very-unhappy", "unhappy", "neutral", "happy", "very-happy"};
    const auto& options = s.rating->options;
    for (auto it = options.rbegin(); it != options.rend(); ++it) {  // best first
        Object::Ptr f = new Object;
        f->set("id", it->id);
        f->set("label", localized(it->label));
        const auto rank = static_cast<std::size_t>(it - options.rbegin());
        const std::size_t fromWorst = options.size() - 1 - rank;
        const std::size_t level = options.size() <= 1 ? 4 : fromWorst * 4 / (options.size() - 1);
        f->set("icon", it->icon.empty() ? kIcons[level] : it->icon);
        f->set("negative",
               std::find(s.negative.begin(), s.negative.end(), it->id) != s.negative.end());
        faces->add(f);
    }
    c->set("faces", faces);
    if (s.reasons) {
        Object::Ptr r = new Object;
        r->set("id", s.reasons->id);
        r->set("text", localized(s.reasons->text));
        Array::Ptr opts = new Array;
        for (const auto& o : s.reasons->options) {
            Object::Ptr x = new Object;
            x->set("id", o.id);
            x->set("label", localized(o.label));
            opts->add(x);
        }
        r->set("options", opts);
        r->set("other", s.reasons->allowOther);
        r->set("maxLength", static_cast<int>(s.reasons->maxLength));
        c->set("reasons", r);
    } else {
        c->set("reasons", Poco::Dynamic::Var());
    }
    if (s.comment) {
        Object::Ptr m = new Object;
        m->set("id", s.comment->id);
        m->set("text", localized(s.comment->text));
        m->set("maxLength", static_cast<int>(s.comment->maxLength));
        c->set("comment", m);
    } else {
        c->set("comment", Poco::Dynamic::Var());
    }
    c->set("resetSeconds", settings_.resetSeconds);
    c->set("retryMaxMs", settings_.retryMaxMs);
    c->set("dossier", dossier);
    Object::Ptr messages = new Object;
    for (const auto& [lang, strings] : strings_) messages->set(lang, strings);
    c->set("messages", messages);
    return c;
}

HttpResponse CounterChannel::page(const std::string& name, const std::string& lang,
                                  Object::Ptr data, int status) const {
    data->set("lang", lang);
    data->set("t", strings_.at(lang));
    HttpResponse out =
        HttpResponse::html(host_.templates().render("counter/" + name, data), status);
    out.header("Cache-Control", "no-store");
    return out;
}

HttpResponse CounterChannel::screenPage(const HttpRequest& r, const hailong::DeviceSession& d,
                                        const std::string& error, const std::string& lang) const {
    std::string dossier = r.queryParam("dossier").value_or("");
    if (dossier.size() > 64) dossier.clear();
    const Object::Ptr c = config(d, dossier);
    std::ostringstream json;
    c->stringify(json);
    // Inside <script>, "</" would end the element: escape it.
    std::string safe;
    for (char ch : json.str()) safe += ch == '<' ? std::string("\\u003c") : std::string(1, ch);
    const Screen s = screen(surveyOf(d));
    Object::Ptr data = new Object;
    data->set("config_json", safe);
    data->set("counter_name", d.counter.name);
    data->set("agency_name", d.agency.name);
    data->set("question", textIn(s.rating->text, lang));
    if (d.officer) {
        Object::Ptr o = new Object;
        o->set("name", d.officer->name);
        o->set("title", d.officer->title);
        o->set("initials", initials(d.officer->name));
        data->set("officer", o);
    }
    Array::Ptr faces = new Array;
    Array::Ptr all = c->getArray("faces");
    for (std::size_t i = 0; i < all->size(); ++i) {
        Object::Ptr f = all->getObject(static_cast<unsigned>(i));
        Object::Ptr x = new Object;
        x->set("id", f->getValue<std::string>("id"));
        x->set("label", f->getObject("label")->optValue<std::string>(lang, ""));
        x->set("icon", f->getValue<std::string>("icon"));
        x->set("negative", f->getValue<bool>("negative"));
        faces->add(x);
    }
    data->set("faces", faces);
    data->set("dossier", dossier);
    data->set("survey_id", s.survey->id);
    data->set("uuid", Poco::UUIDGenerator::defaultGenerator().createRandom().toString());
    data->set("error", error);
    return page("screen", lang, data);
}

Object::Ptr CounterChannel::errorJson(const Problem& p, const std::string& lang) const {
    Object::Ptr e = new Object;
    // The first field's complaint says more than the envelope's ("invalid submission").
    if (!p.errors().empty()) {
        const hailong::FieldError& f = p.errors().front();
        e->set("code", f.code);
        e->set("field", f.field);
        e->set("detail", host_.messages().text(lang, f.code, f.params));
    } else {
        e->set("code", p.code());
        e->set("detail", host_.messages().text(lang, p.code(), p.params()));
    }
    return e;
}

// One rating (from the tablet) or press (from a box) of device `d`: stored, held when the
// device taps faster than people do, or rejected with the reason.
Object::Ptr CounterChannel::submit(const hailong::DeviceSession& d, const Screen& screen,
                                   const Object::Ptr& item, std::int64_t skewMs,
                                   const std::string& lang, bool press) {
    Object::Ptr result = new Object;
    const std::string uuid = item ? item->optValue<std::string>("uuid", "") : "";
    result->set("uuid", uuid);
    std::optional<std::int64_t> judgedAt;
    try {
        if (!item) throw Problem(422, "request.invalid", {}, {{"", "field.object", {}}});
        if (!isUuid(uuid))
            throw Problem(422, "request.invalid", {}, {{"uuid", "counter.uuid_invalid", {}}});
        hailong::Submission s;
        s.idempotencyKey = "counter:" + uuid;
        s.surveyId = screen.survey->id;
        s.channel = "counter";
        s.language = item->optValue<std::string>("lang", lang) == "en" ? "en" : "vi";
        s.agencyCode = d.agency.code;
        s.counterCode = d.counter.code;
        s.deviceCode = d.device.code;
        if (d.officer) s.officerCode = d.officer->code;
        // The device's clock, corrected by how far it was off when it sent.
        const std::int64_t now = nowMs();
        s.deviceAtMs = millis(item, press ? "at" : "tapped_at");
        s.answeredAtMs = s.deviceAtMs ? std::min(now, *s.deviceAtMs + skewMs) : now;
        // The option: a face id, or a box's button counted from the lowest point.
        const hailong::QuestionOption* option = nullptr;
        std::string asked;
        if (press) {
            const Poco::Dynamic::Var b =
                item->has("button") ? item->get("button") : Poco::Dynamic::Var();
            const int count = static_cast<int>(screen.rating->options.size());
            // Compared as a double: a huge integer (2^63) must be refused, not overflow convert.
            const double button =
                b.isInteger() && b.type() != typeid(bool) ? b.convert<double>() : 0;
            if (button < 1 || button > count)
                throw Problem(
                    422, "request.invalid", {},
                    {{"button", "counter.button_invalid", {{"max", std::to_string(count)}}}});
            option = &screen.rating->options[static_cast<std::size_t>(button) - 1];
        } else {
            const Poco::Dynamic::Var v =
                item->has("rating") ? item->get("rating") : Poco::Dynamic::Var();
            asked = v.isEmpty() ? "" : v.convert<std::string>();
            option = screen.rating->option(asked);
            if (!option)
                throw Problem(
                    422, "request.invalid", {},
                    {{"rating", "counter.rating_invalid", {{"value", asked.substr(0, 16)}}}});
        }
        s.answers.push_back({screen.rating->id, option->value, {}, ""});
        if (!press) {
            hailong::Answer reasons{
                screen.reasons ? screen.reasons->id : "reasons", std::nullopt, {}, ""};
            if (Array::Ptr chosen = item->getArray("reasons"))
                for (std::size_t i = 0; i < chosen->size() && i < 50; ++i)
                    reasons.choices.push_back(chosen->get(static_cast<unsigned>(i)).toString());
            reasons.text = item->optValue<std::string>("other", "");
            if (!reasons.choices.empty() || !reasons.text.empty()) s.answers.push_back(reasons);
            const std::string comment = item->optValue<std::string>("comment", "");
            if (!comment.empty())
                s.answers.push_back(
                    {screen.comment ? screen.comment->id : "comment", std::nullopt, {}, comment});
            const std::string dossier = item->optValue<std::string>("dossier", "");
            if (!dossier.empty()) {
                // An unknown code (or another agency's) does not cost the citizen's rating: it
                // counts for the counter.
                if (dossierAt(d, dossier))
                    s.dossierCode = dossier;
                else
                    result->set("warning", "dossier_unknown");
            }
        }
        const auto verdict = limiter_.judge(d.device.id, s.answeredAtMs, press);
        if (verdict == TapLimiter::Verdict::Debounced) {
            result->set("status", "debounced");
            return result;
        }
        if (verdict == TapLimiter::Verdict::Count) judgedAt = s.answeredAtMs;
        const hailong::Receipt receipt = verdict == TapLimiter::Verdict::Hold
                                             ? host_.ingest().hold(s, "rate_limit")
                                             : host_.ingest().submit(s);
        // A repeat (its answer was lost on the way) is not a new tap: it uses up nothing.
        if (receipt.duplicate && judgedAt) limiter_.forget(d.device.id, *judgedAt);
        result->set("status", receipt.held ? "held" : receipt.duplicate ? "duplicate" : "stored");
        result->set("receipt", receipt.code);
    } catch (const Problem& p) {
        if (judgedAt) limiter_.forget(d.device.id, *judgedAt);
        result->set("status", "rejected");
        result->set("error", errorJson(p, lang));
    } catch (const hailong::Unavailable&) {
        if (judgedAt) limiter_.forget(d.device.id, *judgedAt);
        result->set("status", "retry");  // the device keeps it and sends it again
    }
    return result;
}

void CounterChannel::checkPairingTries(const std::string& address) {
    std::lock_guard lock(pairingMutex_);
    auto it = pairingTries_.find(address);
    if (it == pairingTries_.end()) return;
    const std::int64_t left = it->second.since + 600000 - nowMs();
    if (left <= 0) {
        pairingTries_.erase(it);
        return;
    }
    if (it->second.failures >= settings_.pairTries) {
        Problem p(429, "device.pairing_paused", {{"seconds", std::to_string(left / 1000 + 1)}});
        p.headers.push_back({"Retry-After", std::to_string(left / 1000 + 1)});
        throw p;
    }
}

void CounterChannel::notePairingFailure(const std::string& address) {
    std::lock_guard lock(pairingMutex_);
    if (pairingTries_.size() > 10000) pairingTries_.clear();  // bounded, whoever floods it
    Tries& t = pairingTries_[address];
    if (t.failures == 0) t.since = nowMs();
    ++t.failures;
}

// A batch of ratings (`list`: "ratings") or presses ("presses", or one press as the body):
// one result per item, in order, judged by the device's clock corrected by its error.
HttpResponse CounterChannel::submitAll(const HttpRequest& r, const char* list, bool press) {
    const hailong::DeviceSession d = device(r);
    const std::string lang = apiLanguage(r);
    const Object::Ptr body = r.jsonObject();
    const Array::Ptr items = body->getArray(list);
    if (!items && !press) throw Problem(422, "request.invalid", {}, {{list, "field.array", {}}});
    if (items && items->size() > kMaxBatch)
        throw Problem(413, "counter.too_many", {{"max", std::to_string(kMaxBatch)}});
    const auto sent = millis(body, "sent_at");
    // What the tablet still holds after this batch: shown to officials beside the device.
    const Poco::Dynamic::Var queued =
        body->has("queued") ? body->get("queued") : Poco::Dynamic::Var();
    // Read as a double and clamped: 2^63 overflowed an integer conversion (a 500).
    if (queued.isInteger() && queued.type() != typeid(bool))
        host_.devices().noteQueue(d.device.id, static_cast<std::int64_t>(std::clamp(
                                                   queued.convert<double>(), 0.0, kMaxQueued)));
    const std::int64_t now = nowMs();
    const std::int64_t skew = sent ? now - *sent : 0;  // the device clock's error
    // Boxes answer the box survey; tablets their counter's survey, or the default.
    const Screen s = screen(press ? settings_.boxSurvey : surveyOf(d));
    Array::Ptr results = new Array;
    if (items) {
        for (std::size_t i = 0; i < items->size(); ++i)
            results->add(
                submit(d, s, items->getObject(static_cast<unsigned>(i)), skew, lang, press));
    } else {
        results->add(submit(d, s, body, skew, lang, press));
    }
    Object::Ptr out = new Object;
    out->set("server_time", now);
    out->set("results", results);
    return HttpResponse::json(out);
}

void CounterChannel::routes(hailong::Router& router) {
    const hailong::RouteOptions small{64 * 1024}, batch{512 * 1024};
    router.add("GET", "/", [this](const HttpRequest& r) {
        const std::string lang = language(r);
        try {
            return screenPage(r, device(r), "", lang);
        } catch (const Problem& p) {
            if (p.status() != 401 && p.status() != 403) throw;
            Object::Ptr data = new Object;
            // A device that brought a token is told why it is no longer paired.
            const bool told = p.status() == 403 || !tokenOf(r).empty();
            data->set("error", told ? host_.messages().text(lang, p.code()) : "");
            return page("pair", lang, data);
        }
    });
    router.add(
        "POST", "/pair",
        [this](const HttpRequest& r) {
            const bool json = r.header("content-type").find("json") != std::string::npos;
            const std::string lang = language(r);
            std::string code;
            if (json)
                code = r.jsonObject()->optValue<std::string>("code", "");
            else
                code = field(r.formFields(100), "code");
            try {
                checkPairingTries(r.remoteAddress);
                hailong::DevicePairing paired;
                try {
                    paired = host_.devices().pair(code);
                } catch (const Problem&) {
                    notePairingFailure(r.remoteAddress);
                    throw;
                }
                const std::string cookie =
                    std::string(kCookie) + "=" + paired.token +
                    "; Path=/c/counter; Max-Age=315360000; HttpOnly; SameSite=Strict";
                if (json) {
                    Object::Ptr out = new Object;
                    out->set("token", paired.token);
                    out->set("device", paired.session.device.code);
                    out->set("counter", paired.session.counter.code);
                    return HttpResponse::json(out, 201).header("Set-Cookie", cookie);
                }
                return HttpResponse::redirect("/c/counter/").header("Set-Cookie", cookie);
            } catch (const Problem& p) {
                if (json) throw;
                Object::Ptr data = new Object;
                data->set("error", host_.messages().text(lang, p.code(), p.params()));
                return page("pair", lang, data, p.status());
            }
        },
        small);
    // Without JavaScript: the face buttons post the form; the thank-you page returns by itself.
    router.add(
        "POST", "/rate",
        [this](const HttpRequest& r) {
            const hailong::DeviceSession d = device(r);
            const auto f = r.formFields(100);
            const std::string lang = field(f, "lang") == "en" ? "en" : language(r);
            Object::Ptr item = new Object;
            item->set("uuid", field(f, "uuid"));
            item->set("rating", field(f, "rating"));
            Array::Ptr reasons = new Array;
            for (auto [it, end] = f.equal_range("reasons"); it != end; ++it)
                reasons->add(it->second);
            item->set("reasons", reasons);
            item->set("other", field(f, "other"));
            item->set("comment", field(f, "comment"));
            item->set("dossier", field(f, "dossier"));
            item->set("lang", lang);
            const Object::Ptr result = submit(d, screen(surveyOf(d)), item, 0, lang, false);
            const std::string status = result->getValue<std::string>("status");
            if (status == "rejected")
                return screenPage(r, d, result->getObject("error")->getValue<std::string>("detail"),
                                  lang);
            if (status == "retry") throw hailong::Unavailable("the database is away");
            Object::Ptr data = new Object;
            data->set("reset_seconds", settings_.resetSeconds);
            data->set("receipt", result->optValue<std::string>("receipt", ""));
            return page("thanks", lang, data);
        },
        small);
    router.add(
        "POST", "/api/v1/ratings",
        [this](const HttpRequest& r) { return submitAll(r, "ratings", false); }, batch);
    router.add(
        "POST", "/api/v1/press",
        [this](const HttpRequest& r) { return submitAll(r, "presses", true); }, batch);
    router.add("GET", "/api/v1/state", [this](const HttpRequest& r) {
        return HttpResponse::json(config(device(r), r.queryParam("dossier").value_or("")))
            .header("Cache-Control", "no-store");
    });
    router.add(
        "POST", "/api/v1/shift",
        [this](const HttpRequest& r) {
            const hailong::DeviceSession d = device(r);
            const Object::Ptr body = r.jsonObject();
            const std::string officer = body->optValue<std::string>("officer", "");
            const std::string pin = body->optValue<std::string>("pin", "");
            if (officer.empty() || officer.size() > 64 || pin.size() > 16)
                throw Problem(422, "request.invalid", {}, {{"officer", "field.required", {}}});
            const hailong::Officer o = host_.devices().signIn(d.device.id, officer, pin);
            Object::Ptr out = new Object, x = new Object;
            x->set("code", o.code);
            x->set("name", o.name);
            x->set("title", o.title);
            out->set("officer", x);
            return HttpResponse::json(out);
        },
        small);
    router.add("DELETE", "/api/v1/shift", [this](const HttpRequest& r) {
        host_.devices().signOut(device(r).device.id);
        return HttpResponse::noContent();
    });
    router.add("GET", "/api/v1/dossier/{code}", [this](const HttpRequest& r) {
        const hailong::DeviceSession d = device(r);
        auto dossier = dossierAt(d, r.param("code"));
        if (!dossier) throw Problem(404, "http.not_found", {{"path", r.path}});
        Object::Ptr out = new Object;
        out->set("code", dossier->code);
        const auto procedure = dossier->procedureId
                                   ? host_.directory().procedureById(*dossier->procedureId)
                                   : std::nullopt;
        out->set("procedure", procedure ? procedure->name : "");
        if (auto agency = host_.directory().agencyById(dossier->agencyId))
            out->set("agency", agency->name);
        out->set("status", dossier->status);
        return HttpResponse::json(out);
    });
    host_.serveFiles("static", host_.dataFolder() + "/static");
}

}  // namespace

class CounterPlugin final : public hailong::ChannelPlugin {
public:
    std::string name() const override { return "counter"; }

    void start(hailong::Host& host, const Poco::Util::AbstractConfiguration& config) override {
        Settings s;
        s.survey = config.getString("survey", "counter-quick");
        s.boxSurvey = config.getString("box_survey", s.survey);
        s.resetSeconds = std::clamp(config.getInt("reset_seconds", 5), 1, 120);
        s.retryMaxMs = std::clamp(config.getInt("retry_max_ms", 30000), 1000, 3600000);
        s.perMinute = std::clamp(config.getInt("max_per_minute", 12), 1, 1000000);
        s.debounceMs = std::clamp(config.getInt("debounce_ms", 1000), 0, 10000);
        s.pairTries = std::clamp(config.getInt("pairing_tries", 10), 1, 1000);
        channel_ = std::make_unique<CounterChannel>(host, s);
        channel_->routes(host.router());
        host.logger().information("counter channel started: survey %s, boxes %s", s.survey,
                                  s.boxSurvey);
    }

    void stop() noexcept override {}

private:
    std::unique_ptr<CounterChannel> channel_;
};

}  // namespace counter

HAILONG_EXPORT_PLUGIN(counter::CounterPlugin)
