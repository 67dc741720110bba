// The web form channel: the whole questionnaire of a survey as HTML pages, reached from a link
// (/s/<survey>), a dossier's signed link or QR code (/s/t/<token>), or a saved form's resume
// link (/s/r/<form>). Pages work without JavaScript; a small script only hides the questions
// whose condition does not hold yet. See README.md.
#include "FormFlow.h"
#include "RateLimits.h"

#include <hailong/ChannelPlugin.h>
#include <hailong/Hmac.h>
#include <hailong/Host.h>
#include <hailong/Problem.h>

#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/RandomStream.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iomanip>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <variant>

namespace webform {
namespace {

using hailong::HttpRequest;
using hailong::HttpResponse;
using hailong::Problem;
using hailong::Question;
using hailong::QuestionType;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::int64_t kMinuteMs = 60000;
constexpr std::int64_t kHourMs = 60 * kMinuteMs;
constexpr std::int64_t kDayMs = 24 * kHourMs;
constexpr const char* kCookie = "hl_form";
constexpr std::size_t kMaxDraftBytes = 60 * 1024;
// Pages are the citizen's own: no third-party content, nothing inline, no framing.
constexpr const char* kPolicy =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

std::int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string randomHex(std::size_t bytes) {
    Poco::RandomInputStream random;
    std::ostringstream out;
    for (std::size_t i = 0; i < bytes; ++i)
        out << std::hex << std::setw(2) << std::setfill('0') << (random.get() & 0xFF);
    return out.str();
}

bool isFormId(const std::string& s) {
    return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string field(const std::multimap<std::string, std::string>& form, const std::string& name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
}

int number(const std::string& s, int fallback) {
    if (s.empty() || s.size() > 4 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fallback;
    return std::stoi(s);
}

bool scaleType(QuestionType t) {
    return t == QuestionType::Rating || t == QuestionType::Nps || t == QuestionType::YesNo;
}

struct Settings {
    int draftDays = 30;
    int postsPerForm = 120;     // in 10 minutes: a person answers far slower
    int postsPerLink = 300;     // in an hour, for one dossier's link
    int formsPerAddress = 600;  // new forms in an hour from one address (a whole office NAT)
};

// A page that is not the form: a message with a title (link errors, thanks, answered...).
struct Message {
    int status = 200;
    std::string title, text;
};

class WebForm {
public:
    WebForm(hailong::Host& host, Settings settings)
        : host_(host), settings_(settings), log_(host.logger()), base_(host.publicPath()) {
        for (const char* lang : {"vi", "en"}) {
            Poco::FileInputStream in(host.dataFolder() + "/locale/" + lang + ".json");
            strings_[lang] = Poco::JSON::Parser().parse(in).extract<Object::Ptr>();
        }
        // The key of the forms' CSRF tokens, shared by every host of the database.
        host_.state().add("secret", randomHex(32), 253402300799000);
        secret_ = host_.state().get("secret").value_or("");
        if (secret_.empty()) throw std::runtime_error("the web form's key could not be stored");
        sweeper_ = std::thread([this] { sweep(); });
    }
    ~WebForm() { stop(); }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (sweeper_.joinable()) sweeper_.join();
    }

    void routes(hailong::Router& router);

private:
    std::string t(const std::string& lang, const std::string& key,
                  const std::map<std::string, std::string>& params = {}) const {
        return hailong::fillIn(strings_.at(lang)->optValue<std::string>(key, key), params);
    }

    static std::string language(const HttpRequest& r, const std::string& fallback = "vi") {
        const auto asked = r.queryParam("lang");
        if (asked) return *asked == "en" ? "en" : "vi";
        return fallback == "en" ? "en" : "vi";
    }

    HttpResponse html(const std::string& name, const std::string& lang, Object::Ptr data,
                      int status = 200) const {
        data->set("lang", lang);
        data->set("t", strings_.at(lang));
        data->set("base", base_);
        data->set("home_url", base_ + "/" + (lang == "en" ? "?lang=en" : ""));
        HttpResponse out =
            HttpResponse::html(host_.templates().render("webform/" + name, data), status);
        out.header("Cache-Control", "no-store");
        out.header("Content-Security-Policy", kPolicy);
        return out;
    }

    HttpResponse message(const Message& m, const std::string& lang) const {
        Object::Ptr data = new Object;
        data->set("title", m.title);
        data->set("text", m.text);
        return html("message", lang, data, m.status);
    }

    HttpResponse tooMany(const std::string& key, const std::string& lang) const {
        const std::int64_t wait = std::max<std::int64_t>(1, limits_.retryAfterMs(key, nowMs()));
        HttpResponse out =
            message({429, t(lang, "too_many_title"),
                     t(lang, "too_many", {{"minutes", std::to_string(wait / kMinuteMs + 1)}})},
                    lang);
        out.header("Retry-After", std::to_string(wait / 1000 + 1));
        return out;
    }

    // The citizen's browser key for CSRF tokens: the cookie, or a new one set with the answer.
    std::string browserKey(const HttpRequest& r, std::string& setCookie) const {
        std::string key = r.cookie(kCookie);
        if (isFormId(key)) return key;
        key = randomHex(16);
        setCookie = std::string(kCookie) + "=" + key + "; Path=/; HttpOnly; SameSite=Lax";
        return key;
    }
    std::string csrf(const std::string& browser, const std::string& form) const {
        return hailong::hmacSha256Hex(secret_, "csrf|" + browser + "|" + form).substr(0, 32);
    }

    std::optional<Draft> load(const std::string& id) {
        const auto json = host_.state().get("draft:" + id);
        if (!json) return std::nullopt;
        return Draft::fromJson(*json);
    }
    void save(const Draft& d) {
        const std::string json = d.toJson();
        if (json.size() > kMaxDraftBytes) throw Problem(413, "form.too_large");
        host_.state().put("draft:" + d.id, json, nowMs() + settings_.draftDays * kDayMs);
    }

    std::shared_ptr<const hailong::Survey> openSurvey(const std::string& id,
                                                      int version = 0) const {
        if (id.empty() || id.size() > 64) return nullptr;
        auto s = host_.surveys().find(id, version);
        if (!s || s->status != "published" || !s->allowsChannel("web")) return nullptr;
        return s;
    }

    // A new form for a survey (from its link) or a dossier's link; a Message when it cannot be.
    std::variant<Draft, Message> start(const std::string& id, const std::string& surveyId,
                                       const std::string& token, const std::string& lang) const;
    Object::Ptr dossierView(const std::string& code, const std::string& lang) const;

    Object::Ptr questionView(const hailong::Survey& survey, const Question& q, const Page& page,
                             const Draft& d, const std::map<std::string, std::string>& problems,
                             const std::map<std::string, int>& numbers,
                             const std::string& lang) const;
    HttpResponse formPage(const Draft& d, const hailong::Survey& survey,
                          const std::vector<Page>& pages, int shown,
                          const std::vector<FieldProblem>& problems, const std::string& notice,
                          const HttpRequest& r, int status = 200) const;
    HttpResponse formHtml(const std::string& name, const Draft& d, const hailong::Survey& survey,
                          Object::Ptr data, const std::string& notice, const HttpRequest& r,
                          int status) const;
    HttpResponse reviewPage(const Draft& d, const hailong::Survey& survey,
                            const std::vector<Page>& pages, const std::string& notice,
                            const HttpRequest& r, int status = 200) const;
    /// The thank-you page, which stays at /r/<form>: the follow-up case the response opened, its
    /// answer when there is one, and the buttons that rate it.
    HttpResponse thanksPage(const Draft& d, const std::string& lang, const HttpRequest& r);
    HttpResponse rateAnswer(const HttpRequest& r);
    HttpResponse answeredPage(const std::string& dossier, const std::string& receipt,
                              const std::string& lang) const;
    HttpResponse savedPage(const Draft& d, const std::string& lang) const;
    HttpResponse post(const HttpRequest& r);
    HttpResponse submit(Draft& d, const hailong::Survey& survey, const std::vector<Page>& pages,
                        const HttpRequest& r);
    // Each page at its own address, so that the browser's Back goes to the page before.
    std::string resumeUrl(const Draft& d, const std::string& lang) const {
        return base_ + "/r/" + d.id + "?page=" + std::to_string(d.page) +
               (lang == "en" ? "&lang=en" : "");
    }
    // The record that lets a browser coming back to a link find the form it left there.
    std::string returnKey(const std::string& browser, const std::string& start) const {
        return "return:" + hailong::hmacSha256Hex(secret_, browser + "|" + start).substr(0, 40);
    }
    static std::string startOf(const Draft& d) {
        return d.token.empty() ? "survey:" + d.surveyId : "link:" + d.token;
    }
    std::optional<Draft> leftHere(const HttpRequest& r, const Draft& fresh);
    void sweep();

    hailong::Host& host_;
    const Settings settings_;
    Poco::Logger& log_;
    const std::string base_;
    std::map<std::string, Object::Ptr> strings_;
    std::string secret_;
    RateLimits limits_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread sweeper_;
};

// Pages a citizen passes through: those asking at least one question given the answers.
bool pageAsks(const hailong::Survey& survey, const Page& page, const Answers& answers) {
    return std::any_of(page.questions.begin(), page.questions.end(),
                       [&](const Question* q) { return isAsked(survey, *q, answers); });
}
int nextPage(const hailong::Survey& s, const std::vector<Page>& pages, int from, const Answers& a) {
    int p = from + 1;
    while (p < static_cast<int>(pages.size()) && !pageAsks(s, pages[p], a)) ++p;
    return p;
}
int previousPage(const hailong::Survey& s, const std::vector<Page>& pages, int from,
                 const Answers& a) {
    int p = from - 1;
    while (p > 0 && !pageAsks(s, pages[p], a)) --p;
    return std::max(p, 0);
}

std::variant<Draft, Message> WebForm::start(const std::string& id, const std::string& surveyId,
                                            const std::string& token,
                                            const std::string& lang) const {
    Draft d;
    d.id = id;
    d.lang = lang;
    d.startedAtMs = nowMs();
    std::string wanted = surveyId;
    if (!token.empty()) {
        const auto link = host_.links().read(token);
        if (!link) return Message{404, t(lang, "link_invalid_title"), t(lang, "link_invalid")};
        if (!host_.directory().dossier(link->dossierCode))
            return Message{404, t(lang, "link_invalid_title"), t(lang, "dossier_missing")};
        if (const auto done = host_.ingest().answered(link->dossierCode, link->surveyId))
            return Message{
                200, t(lang, "answered_title"),
                t(lang, "answered", {{"dossier", link->dossierCode}, {"code", done->code}})};
        d.token = token;
        d.dossier = link->dossierCode;
        wanted = link->surveyId;
    }
    const auto survey = openSurvey(wanted);
    if (!survey) return Message{404, t(lang, "survey_missing_title"), t(lang, "survey_missing")};
    d.surveyId = survey->id;
    d.version = survey->version;
    return d;
}

Object::Ptr WebForm::dossierView(const std::string& code, const std::string& lang) const {
    const auto dossier = host_.directory().dossier(code);
    if (!dossier) return nullptr;
    Object::Ptr o = new Object;
    o->set("code", dossier->code);
    if (const auto agency = host_.directory().agencyById(dossier->agencyId))
        o->set("agency", agency->name);
    if (dossier->procedureId)
        if (const auto p = host_.directory().procedureById(*dossier->procedureId))
            o->set("procedure", p->name);
    o->set("about", t(lang, "about_dossier", {{"code", dossier->code}}));
    return o;
}

Object::Ptr WebForm::questionView(const hailong::Survey& survey, const Question& q,
                                  const Page& page, const Draft& d,
                                  const std::map<std::string, std::string>& problems,
                                  const std::map<std::string, int>& numbers,
                                  const std::string& lang) const {
    Object::Ptr v = new Object;
    const std::string dom = "q-" + q.id;
    v->set("id", dom);
    v->set("name", "q." + q.id);
    v->set("other_name", "o." + q.id);
    v->set("number", numbers.at(q.id));
    v->set("text", textIn(q.text, lang));
    // Empty texts are left out: a template section shows for any string, even "".
    if (const std::string help = textIn(q.help, lang); !help.empty()) v->set("help", help);
    v->set("required", q.required);
    v->set("maxlength", q.maxLength);
    const auto given = d.answers.find(q.id);
    const Given none;
    const Given& g = given == d.answers.end() ? none : given->second;
    const bool scale = scaleType(q.type);
    v->set("scale", scale);
    v->set("nps", q.type == QuestionType::Nps);
    v->set("choice", q.type == QuestionType::SingleChoice);
    v->set("multi", q.type == QuestionType::MultipleChoice);
    v->set("long_text", isFreeText(q.type));
    v->set("line", q.type == QuestionType::DossierCode);
    v->set("value", g.text);
    Array::Ptr options = new Array;
    for (const auto& o : q.options) {
        Object::Ptr ov = new Object;
        ov->set("value", o.id);
        ov->set("id", dom + "-" + o.id);
        const std::string label = textIn(o.label, lang);
        ov->set("label", label);
        ov->set("point", scale && q.type != QuestionType::YesNo ? o.id : "");
        ov->set("checked", std::find(g.choices.begin(), g.choices.end(), o.id) != g.choices.end());
        options->add(ov);
    }
    v->set("options", options);
    v->set("columns", std::to_string(std::min<std::size_t>(q.options.size(), 11)));
    if (q.allowOther && !isFreeText(q.type) && q.type != QuestionType::DossierCode) {
        v->set("other", true);
        v->set("other_value", g.text);
    }
    auto problem = problems.find(q.id);
    if (problem != problems.end()) v->set("error", problem->second);
    // A condition on an answer of this same page: shown with a hint (and hidden by the script
    // while it does not hold).
    if (q.showIf && dependsOnPage(q, page)) {
        const Question* source = survey.question(q.showIf->question);
        std::string labels;
        for (const std::string& value : q.showIf->values) {
            const hailong::QuestionOption* o = source ? source->option(value) : nullptr;
            labels += (labels.empty() ? "" : ", ") + std::string("“") +
                      (o ? textIn(o->label, lang) : value) + "”";
        }
        v->set("condition", t(lang, "condition",
                              {{"number", std::to_string(numbers.at(q.showIf->question))},
                               {"options", labels}}));
        v->set("show_if", "q-" + q.showIf->question);
        std::string values;
        for (const std::string& value : q.showIf->values)
            values += (values.empty() ? "" : " ") + value;
        v->set("show_values", values);
    }
    return v;
}

// Questions are numbered as the citizen sees them, across pages.
std::map<std::string, int> numbering(const std::vector<Page>& pages) {
    std::map<std::string, int> out;
    int n = 0;
    for (const Page& p : pages)
        for (const Question* q : p.questions) out[q->id] = ++n;
    return out;
}

HttpResponse WebForm::formPage(const Draft& d, const hailong::Survey& survey,
                               const std::vector<Page>& pages, int shown,
                               const std::vector<FieldProblem>& problems, const std::string& notice,
                               const HttpRequest& r, int status) const {
    const std::string& lang = d.lang;
    const auto numbers = numbering(pages);
    std::map<std::string, std::string> problemText;
    Array::Ptr summary = new Array;
    for (const FieldProblem& p : problems) {
        const Question* q = survey.question(p.question);
        std::string code = p.code;
        if (code == "form.required" && q &&
            (isFreeText(q->type) || q->type == QuestionType::DossierCode))
            code = "form.required_text";
        const std::string text = t(lang, code, p.params);
        problemText[p.question] = text;
        Object::Ptr e = new Object;
        e->set("href", "#q-" + p.question);
        e->set("text", t(lang, "question_n", {{"n", std::to_string(numbers.at(p.question))}}) +
                           ": " + text);
        summary->add(e);
    }
    const Page& page = pages.at(static_cast<std::size_t>(shown));
    Array::Ptr questions = new Array;
    for (const Question* q : page.questions) {
        // Asked on an earlier page's answer and not asked now: not shown at all.
        if (q->showIf && !dependsOnPage(*q, page) && !isAsked(survey, *q, d.answers)) continue;
        questions->add(questionView(survey, *q, page, d, problemText, numbers, lang));
    }
    Object::Ptr data = new Object;
    if (const std::string about = textIn(survey.description, lang); shown == 0 && !about.empty())
        data->set("description", about);
    data->set("page", shown);
    const int count = static_cast<int>(pages.size());
    data->set(
        "page_label",
        t(lang, "page_of", {{"n", std::to_string(shown + 1)}, {"total", std::to_string(count)}}));
    data->set("progress", shown);
    data->set("progress_max", count);
    data->set("first", shown == 0);
    data->set("last", nextPage(survey, pages, shown, d.answers) >= count);
    data->set("questions", questions);
    if (summary->size() > 0) {
        data->set("errors", summary);
        data->set("errors_title",
                  t(lang, "errors_title", {{"n", std::to_string(summary->size())}}));
    }
    return formHtml("form", d, survey, data, notice, r, status);
}

// What the form and the review share: the form's address and key, the survey and dossier, the
// notice and the language switch. Sets the browser's key cookie when it had none.
HttpResponse WebForm::formHtml(const std::string& name, const Draft& d,
                               const hailong::Survey& survey, Object::Ptr data,
                               const std::string& notice, const HttpRequest& r, int status) const {
    std::string setCookie;
    const std::string browser = browserKey(r, setCookie);
    data->set("title", textIn(survey.title, d.lang));
    if (!d.dossier.empty()) data->set("dossier", dossierView(d.dossier, d.lang));
    data->set("action", base_ + "/f/" + d.id);
    data->set("csrf", csrf(browser, d.id));
    data->set("survey", d.surveyId);
    data->set("token", d.token);
    if (!notice.empty()) data->set("notice", notice);
    const std::string other = d.lang == "en" ? "vi" : "en";
    data->set("switch_lang", other);
    data->set("switch_label", t(other, "language_name"));
    // A form not stored yet is still at the address it started from.
    data->set("switch_url", r.method == "GET" && r.path.find("/r/") == std::string::npos
                                ? r.path + "?lang=" + other
                                : base_ + "/r/" + d.id + "?lang=" + other);
    HttpResponse out = html(name, d.lang, data, status);
    if (!setCookie.empty()) out.header("Set-Cookie", setCookie);
    return out;
}

HttpResponse WebForm::reviewPage(const Draft& d, const hailong::Survey& survey,
                                 const std::vector<Page>& pages, const std::string& notice,
                                 const HttpRequest& r, int status) const {
    const std::string& lang = d.lang;
    const auto numbers = numbering(pages);
    Array::Ptr sections = new Array;
    for (std::size_t p = 0; p < pages.size(); ++p) {
        Array::Ptr items = new Array;
        for (const Question* q : pages[p].questions) {
            if (!isAsked(survey, *q, d.answers)) continue;
            Object::Ptr item = new Object;
            item->set("number", numbers.at(q->id));
            item->set("text", textIn(q->text, lang));
            std::string answer;
            auto given = d.answers.find(q->id);
            if (given != d.answers.end()) {
                for (const std::string& c : given->second.choices)
                    if (const auto* o = q->option(c))
                        answer += (answer.empty() ? "" : "; ") +
                                  (q->type == QuestionType::Rating ? c + " – " : std::string()) +
                                  textIn(o->label, lang);
                if (!given->second.text.empty())
                    answer += (answer.empty() ? "" : "; ") + given->second.text;
            }
            item->set("answer", answer);
            items->add(item);
        }
        if (items->size() == 0) continue;
        Object::Ptr section = new Object;
        section->set("label",
                     t(lang, "page_of",
                       {{"n", std::to_string(p + 1)}, {"total", std::to_string(pages.size())}}));
        section->set("edit_url", base_ + "/r/" + d.id + "?page=" + std::to_string(p) +
                                     (lang == "en" ? "&lang=en" : ""));
        section->set("edit_label", t(lang, "edit_page", {{"n", std::to_string(p + 1)}}));
        section->set("items", items);
        sections->add(section);
    }
    Object::Ptr data = new Object;
    data->set("page", static_cast<int>(pages.size()));
    data->set("sections", sections);
    return formHtml("review", d, survey, data, notice, r, status);
}

HttpResponse WebForm::thanksPage(const Draft& d, const std::string& lang, const HttpRequest& r) {
    Object::Ptr data = new Object;
    data->set("receipt", d.receipt);
    data->set("receipt_text", t(lang, "receipt", {{"code", d.receipt}}));
    if (!d.dossier.empty()) data->set("dossier", dossierView(d.dossier, lang));
    std::string setCookie;
    if (const auto c = host_.cases().ofReceipt(d.receipt)) {
        Object::Ptr o = new Object;
        const std::string address = base_ + "/r/" + d.id + (lang == "en" ? "?lang=en" : "");
        o->set("text",
               t(lang, "case_text", {{"code", c->code}, {"due", hailong::dayText(c->dueAtMs)}}));
        o->set("status", t(lang, "case_status_" + c->status));
        o->set("address", host_.links().absolute(address));
        o->set("url", address);
        if (!c->answer.empty()) {
            o->set("answer", c->answer);
            o->set("answered",
                   t(lang, "case_answered_at", {{"day", hailong::dayText(*c->answeredAtMs)}}));
            if (c->verdict.empty()) {
                o->set("action", base_ + "/r/" + d.id + "/verdict");
                o->set("csrf", csrf(browserKey(r, setCookie), d.id));
            } else {
                o->set("verdict", t(lang, "case_verdict_" + c->verdict));
            }
        }
        data->set("case", o);
        // The page stays while its case is followed: each visit keeps the form longer.
        if (c->status != "closed") save(d);
    }
    HttpResponse out = html("thanks", lang, data);
    if (!setCookie.empty()) out.header("Set-Cookie", setCookie);
    return out;
}

HttpResponse WebForm::rateAnswer(const HttpRequest& r) {
    const std::string id = r.param("form");
    const auto d = isFormId(id) ? load(id) : std::nullopt;
    const std::string lang = language(r, d ? d->lang : "vi");
    if (!d || d->receipt.empty())
        return message({404, t(lang, "form_missing_title"),
                        t(lang, "form_missing", {{"days", std::to_string(settings_.draftDays)}})},
                       lang);
    const auto form = r.formFields(10);
    const std::string sent = field(form, "csrf"), verdict = field(form, "verdict");
    if (sent.size() != 32 || !hailong::sameSecret(sent, csrf(r.cookie(kCookie), id)) ||
        (verdict != "satisfied" && verdict != "unsatisfied"))
        return message({403, t(lang, "form_missing_title"), t(lang, "session_expired")}, lang);
    if (const auto c = host_.cases().ofReceipt(d->receipt))
        host_.cases().rateAnswer(c->code, verdict == "satisfied", "web");
    return HttpResponse::redirect(base_ + "/r/" + id + (lang == "en" ? "?lang=en" : ""));
}

HttpResponse WebForm::answeredPage(const std::string& dossier, const std::string& receipt,
                                   const std::string& lang) const {
    return message({200, t(lang, "answered_title"),
                    t(lang, "answered", {{"dossier", dossier}, {"code", receipt}})},
                   lang);
}

// The form this browser started from the same link and has not sent yet, if any.
std::optional<Draft> WebForm::leftHere(const HttpRequest& r, const Draft& fresh) {
    const std::string browser = r.cookie(kCookie);
    if (!isFormId(browser)) return std::nullopt;
    const auto id = host_.state().get(returnKey(browser, startOf(fresh)));
    if (!id || !isFormId(*id)) return std::nullopt;
    auto d = load(*id);
    if (!d || !d->receipt.empty()) return std::nullopt;
    d->lang = fresh.lang;
    return d;
}

HttpResponse WebForm::savedPage(const Draft& d, const std::string& lang) const {
    Object::Ptr data = new Object;
    const std::string resume = base_ + "/r/" + d.id + (lang == "en" ? "?lang=en" : "");
    data->set("resume_url", resume);
    data->set("resume_address", host_.links().absolute(resume));
    data->set("saved_text", t(lang, "saved_text", {{"days", std::to_string(settings_.draftDays)}}));
    return html("saved", lang, data);
}

HttpResponse WebForm::post(const HttpRequest& r) {
    const std::string id = r.param("form");
    std::string lang = r.queryParam("lang").value_or("vi") == "en" ? "en" : "vi";
    if (!isFormId(id))
        return message({404, t(lang, "form_missing_title"),
                        t(lang, "form_missing", {{"days", std::to_string(settings_.draftDays)}})},
                       lang);
    std::multimap<std::string, std::string> form;
    try {
        form = r.formFields(400);
    } catch (const Problem& p) {
        return message({p.status(), t(lang, "form_broken_title"),
                        host_.messages().text(lang, p.code(), p.params())},
                       lang);
    }
    lang = field(form, "lang") == "en" ? "en" : "vi";
    const std::int64_t now = nowMs();
    if (!limits_.allow("form:" + id, settings_.postsPerForm, 10 * kMinuteMs, now))
        return tooMany("form:" + id, lang);
    Draft d;
    auto stored = load(id);
    const bool fresh = !stored;
    if (stored) {
        d = std::move(*stored);
    } else {
        const std::string address = "address:" + r.remoteAddress;
        if (!limits_.allow(address, settings_.formsPerAddress, kHourMs, now))
            return tooMany(address, lang);
        auto started = start(id, field(form, "survey"), field(form, "token"), lang);
        if (auto* m = std::get_if<Message>(&started)) return message(*m, lang);
        d = std::get<Draft>(std::move(started));
    }
    if (!d.token.empty() && !limits_.allow("link:" + d.token, settings_.postsPerLink, kHourMs, now))
        return tooMany("link:" + d.token, lang);
    if (!d.receipt.empty()) return HttpResponse::redirect(resumeUrl(d, lang));
    d.lang = lang;
    const auto survey = host_.surveys().find(d.surveyId, d.version);
    if (!survey) throw std::logic_error("a draft names a survey version that is gone");
    const auto pages = pagesOf(*survey, !d.dossier.empty());
    const int count = static_cast<int>(pages.size());
    const int shown = std::clamp(number(field(form, "page"), 0), 0, count);
    if (shown < count) readPage(pages[static_cast<std::size_t>(shown)], form, d.answers);
    if (!field(form, "website").empty()) d.suspicious = true;  // the honeypot: a robot
    // A page posted without this browser's key (cookies off, an old tab, another site): shown
    // again with what was typed, and nothing stored until it is sent from the page itself.
    const std::string sent = field(form, "csrf");
    if (sent.size() != 32 || !hailong::sameSecret(sent, csrf(r.cookie(kCookie), id))) {
        const std::string notice = t(lang, "session_expired");
        return shown < count ? formPage(d, *survey, pages, shown, {}, notice, r, 403)
                             : reviewPage(d, *survey, pages, notice, r, 403);
    }
    const std::string action = field(form, "action");
    const auto dossierExists = [this](const std::string& code) {
        return host_.directory().dossier(code).has_value();
    };
    try {
        if (fresh)  // this browser coming back to the same link finds this form
            host_.state().put(returnKey(r.cookie(kCookie), startOf(d)), d.id,
                              nowMs() + settings_.draftDays * kDayMs);
        if (action == "save") {
            d.page = std::min(shown, count);
            save(d);
            return savedPage(d, lang);
        }
        if (action == "back") {
            d.page = previousPage(*survey, pages, std::min(shown, count), d.answers);
            save(d);
            return HttpResponse::redirect(resumeUrl(d, lang));
        }
        if (action == "submit" && shown == count) return submit(d, *survey, pages, r);
        if (shown < count) {  // "next", or Enter in a field
            const auto problems = checkPage(*survey, pages[static_cast<std::size_t>(shown)],
                                            d.answers, dossierExists);
            if (!problems.empty()) {
                d.page = shown;
                save(d);
                return formPage(d, *survey, pages, shown, problems, "", r, 422);
            }
            d.page = nextPage(*survey, pages, shown, d.answers);
            d.reached = std::max(d.reached, d.page);
        }
        save(d);
    } catch (const hailong::Unavailable&) {
        return message({503, t(lang, "busy_title"), t(lang, "busy_unsaved")}, lang);
    }
    return HttpResponse::redirect(resumeUrl(d, lang));
}

HttpResponse WebForm::submit(Draft& d, const hailong::Survey& survey,
                             const std::vector<Page>& pages, const HttpRequest& r) {
    const auto dossierExists = [this](const std::string& code) {
        return host_.directory().dossier(code).has_value();
    };
    for (std::size_t p = 0; p < pages.size(); ++p) {
        if (!pageAsks(survey, pages[p], d.answers)) continue;
        const auto problems = checkPage(survey, pages[p], d.answers, dossierExists);
        if (problems.empty()) continue;
        d.page = static_cast<int>(p);
        save(d);
        return formPage(d, survey, pages, d.page, problems, t(d.lang, "fix_before_sending"), r,
                        422);
    }
    hailong::Submission s;
    s.idempotencyKey = "web:" + d.id;
    s.surveyId = d.surveyId;
    s.surveyVersion = d.version;
    s.channel = "web";
    s.language = d.lang;
    s.dossierCode = d.dossier;
    for (const Question& q : survey.questions)
        if (q.type == QuestionType::DossierCode && s.dossierCode.empty() &&
            d.answers.contains(q.id) && isAsked(survey, q, d.answers))
            s.dossierCode = d.answers.at(q.id).text;
    s.answers = submissionAnswers(survey, d.answers);
    if (!s.dossierCode.empty())
        if (const auto done = host_.ingest().answered(s.dossierCode, survey.id)) {
            d.receipt = done->code;
            save(d);
            return answeredPage(s.dossierCode, done->code, d.lang);
        }
    try {
        const hailong::Receipt receipt =
            d.suspicious ? host_.ingest().hold(s, "honeypot") : host_.ingest().submit(s);
        d.receipt = receipt.code;
        d.page = static_cast<int>(pages.size());
        save(d);
        log_.information("web form %s stored for survey %s%s", receipt.code, survey.id,
                         receipt.held ? std::string(" (held: honeypot)") : std::string());
    } catch (const Problem& p) {
        std::string detail = host_.messages().text(d.lang, p.code(), p.params());
        if (!p.errors().empty())
            detail =
                host_.messages().text(d.lang, p.errors().front().code, p.errors().front().params);
        save(d);
        return reviewPage(d, survey, pages, detail, r, 422);
    } catch (const hailong::Unavailable&) {
        save(d);  // the answers wait in the draft: sending again later stores them once
        return reviewPage(d, survey, pages, t(d.lang, "busy"), r, 503);
    }
    return HttpResponse::redirect(resumeUrl(d, d.lang));
}

void WebForm::routes(hailong::Router& router) {
    host_.serveFiles("static", host_.dataFolder() + "/static");
    router.add("GET", "/", [this](const HttpRequest& r) {
        const std::string lang = language(r);
        Array::Ptr list = new Array;
        for (const auto& s : host_.surveys().list()) {
            if (!openSurvey(s->id)) continue;
            Object::Ptr o = new Object;
            o->set("title", textIn(s->title, lang));
            o->set("url", base_ + "/" + s->id + (lang == "en" ? "?lang=en" : ""));
            list->add(o);
        }
        Object::Ptr data = new Object;
        data->set("surveys", list);
        data->set("switch_url", std::string(lang == "en" ? "?lang=vi" : "?lang=en"));
        data->set("switch_label", t(lang == "en" ? "vi" : "en", "language_name"));
        data->set("switch_lang", lang == "en" ? "vi" : "en");
        return html("index", lang, data);
    });
    // A new form: for an open survey, or for the dossier a signed link names.
    const auto begin = [this](const HttpRequest& r, const std::string& survey,
                              const std::string& token) -> HttpResponse {
        const std::string lang = language(r);
        auto started = start(randomHex(16), survey, token, lang);
        if (auto* m = std::get_if<Message>(&started)) return message(*m, lang);
        const Draft& d = std::get<Draft>(started);
        // The link's address is the first page's: the browser's Back from page 2 comes here.
        if (const auto left = leftHere(r, d)) {
            const auto s = host_.surveys().find(left->surveyId, left->version);
            return formPage(*left, *s, pagesOf(*s, !left->dossier.empty()), 0, {},
                            t(lang, "resumed"), r);
        }
        const auto s = host_.surveys().find(d.surveyId, d.version);
        return formPage(d, *s, pagesOf(*s, !d.dossier.empty()), 0, {}, "", r);
    };
    router.add("GET", "/{survey}",
               [begin](const HttpRequest& r) { return begin(r, r.param("survey"), ""); });
    router.add("GET", "/t/{token}",
               [begin](const HttpRequest& r) { return begin(r, "", r.param("token")); });
    router.add("GET", "/r/{form}", [this](const HttpRequest& r) {
        const std::string id = r.param("form");
        const auto d0 = isFormId(id) ? load(id) : std::nullopt;
        if (!d0) {
            const std::string lang = language(r);
            return message(
                {404, t(lang, "form_missing_title"),
                 t(lang, "form_missing", {{"days", std::to_string(settings_.draftDays)}})},
                lang);
        }
        Draft d = *d0;
        d.lang = language(r, d.lang);
        if (!d.receipt.empty()) return thanksPage(d, d.lang, r);
        const auto survey = host_.surveys().find(d.surveyId, d.version);
        if (!survey) throw std::logic_error("a draft names a survey version that is gone");
        const auto pages = pagesOf(*survey, !d.dossier.empty());
        const int count = static_cast<int>(pages.size());
        int shown = std::min(d.page, count);
        // A page already reached may be opened again (the review's "edit" links).
        const int asked = number(r.queryParam("page").value_or(""), -1);
        if (asked >= 0 && asked <= std::min(d.reached, count)) shown = asked;
        if (shown == count) return reviewPage(d, *survey, pages, "", r);
        return formPage(d, *survey, pages, shown, {}, "", r);
    });
    router.add(
        "POST", "/f/{form}", [this](const HttpRequest& r) { return post(r); },
        hailong::RouteOptions{256 * 1024});
    router.add(
        "POST", "/r/{form}/verdict", [this](const HttpRequest& r) { return rateAnswer(r); },
        hailong::RouteOptions{4 * 1024});
}

// Drafts past their time are removed now and then (the store keeps expired records until then).
void WebForm::sweep() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, std::chrono::minutes(10));
        if (stopping_) break;
        lock.unlock();
        try {
            std::size_t removed = 0;
            for (;;) {
                const auto batch = host_.state().takeExpired("draft:", nowMs(), 500);
                removed += batch.size();
                if (batch.size() < 500) break;
            }
            if (removed > 0) log_.information("%z unfinished web forms expired", removed);
        } catch (const std::exception& e) {
            log_.warning("expired web forms not removed yet: %s", std::string(e.what()));
        }
        lock.lock();
    }
}

Settings read(const Poco::Util::AbstractConfiguration& config) {
    Settings s;
    s.draftDays = std::clamp(config.getInt("draft_days", 30), 1, 365);
    s.postsPerForm = std::clamp(config.getInt("posts_per_form", 120), 10, 100000);
    s.postsPerLink = std::clamp(config.getInt("posts_per_link", 300), 10, 100000);
    s.formsPerAddress = std::clamp(config.getInt("forms_per_address", 600), 10, 1000000);
    return s;
}

}  // namespace

class WebformPlugin final : public hailong::ChannelPlugin {
public:
    std::string name() const override { return "webform"; }
    void start(hailong::Host& host, const Poco::Util::AbstractConfiguration& config) override {
        form_ = std::make_unique<WebForm>(host, read(config));
        form_->routes(host.router());
    }
    void stop() noexcept override {
        if (form_) form_->stop();
    }

private:
    std::unique_ptr<WebForm> form_;
};

}  // namespace webform

HAILONG_EXPORT_PLUGIN(webform::WebformPlugin)
