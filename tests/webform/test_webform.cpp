// Tests for the web form channel as a citizen's browser and an official reach it over HTTP, in
// a real test host on SQLite and on PostgreSQL: every question type rendered and escaped,
// conditions, dossier links (signed, tampered, answered), the CSRF key, the honeypot, request
// limits, save and resume, and the survey-link API with its QR code.
#include "support/TestSupport.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <catch2/catch.hpp>

#include <regex>

using namespace hailong;
using Poco::JSON::Object;

namespace {

constexpr std::int64_t kHour = 3600000;

Object::Ptr parse(const std::string& body) {
    return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::string encode(const std::string& s) {
    std::string out;
    Poco::URI::encode(s, "&=+%#?/ ", out);
    return out;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string formBody(const Fields& fields) {
    std::string body;
    for (const auto& [k, v] : fields)
        body += (body.empty() ? "" : "&") + encode(k) + "=" + encode(v);
    return body;
}

// The hidden fields of the first form of a page.
Fields hiddenFields(const std::string& html) {
    Fields out;
    static const std::regex hidden(R"re(<input type="hidden" name="([^"]+)" value="([^"]*)")re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), hidden);
         it != std::sregex_iterator(); ++it)
        out.emplace_back((*it)[1], (*it)[2]);
    return out;
}

std::string formAction(const std::string& html) {
    std::smatch m;
    REQUIRE(std::regex_search(html, m, std::regex(R"re(<form method="post" action="([^"]+)")re")));
    return m[1];
}

// A citizen's browser: keeps the form cookie, follows the answers' redirects.
struct Browser {
    explicit Browser(std::uint16_t p) : port(p) {}
    std::uint16_t port;
    std::string cookie;
    test::HttpResult last;

    test::HttpResult request(const std::string& method, const std::string& path,
                             const std::string& body = "") {
        std::map<std::string, std::string> headers;
        if (!cookie.empty()) headers["Cookie"] = cookie;
        if (method == "POST") headers["Content-Type"] = "application/x-www-form-urlencoded";
        test::HttpResult r = test::http(port, method, path, body, headers);
        auto set = r.headers.find("set-cookie");
        if (set != r.headers.end()) cookie = set->second.substr(0, set->second.find(';'));
        if (r.status == 303) return last = request("GET", r.headers.at("location"));
        return last = r;
    }
    test::HttpResult get(const std::string& path) { return request("GET", path); }
    // Posts the form of the last page with its hidden fields, the given answers and `action`.
    test::HttpResult send(const Fields& answers, const std::string& action = "next") {
        Fields fields = hiddenFields(last.body);
        fields.insert(fields.end(), answers.begin(), answers.end());
        fields.emplace_back("action", action);
        return request("POST", formAction(last.body), formBody(fields));
    }
};

std::string title(const std::string& html) {
    std::smatch m;
    return std::regex_search(html, m, std::regex("<title>([^<]*)</title>")) ? std::string(m[1])
                                                                            : std::string();
}

std::string formId(const std::string& html) {
    std::smatch m;
    REQUIRE(std::regex_search(html, m, std::regex("/f/([0-9a-f]{32})")));
    return m[1];
}

// A host serving the web form with the shipped surveys plus the test survey of every question
// type, and a small directory: agencies PT > XA, XB; dossiers of XA and XB.
struct Site {
    explicit Site(Backend b, std::map<std::string, std::string> extra = {})
        : tdb(b), host(tdb.url(), dir, false, settings(std::move(extra))) {
        Runtime& rt = host.runtime();
        test::serveWithPlugin(rt, "webform");
        DirectoryStore& d = rt.directory();
        test::saveProvinceWithTwoCommunes(d);
        d.save(ProcedureInput{"1.001193", "Đăng ký khai sinh", "Hộ tịch", "full", 1, true});
        for (const std::string code : {"XA-1", "XA-2", "XA-3", "XB-1"}) {
            DossierInput x;
            x.code = code;
            x.agencyCode = code.substr(0, 2);
            x.procedureCode = "1.001193";
            x.receivedAtMs = nowMs() - 24 * kHour;
            d.save(x);
        }
    }

    std::map<std::string, std::string> settings(std::map<std::string, std::string> extra) {
        const std::string surveys = dir.path() + "/surveys";
        Poco::File(surveys).createDirectories();
        Poco::File(test::sourceDir() + "/surveys/sipas-2017.json").copyTo(surveys);
        // A survey only the counter may use: no web form, no link.
        Poco::FileInputStream in(test::sourceDir() + "/surveys/counter-quick.json");
        std::string text;
        Poco::StreamCopier::copyToString(in, text);
        text.replace(text.find("\"counter-quick\""), 15, "\"counter-only\"");
        text.replace(text.find("\"web\","), 6, "");
        dir.write("surveys/counter-only.json", text);
        Poco::File(test::sourceDir() + "/tests/webform/all-types.json").copyTo(surveys);
        std::map<std::string, std::string> out{{"paths.plugins", test::pluginDir()},
                                               {"plugins.enabled", "webform"},
                                               {"paths.surveys", surveys}};
        for (auto& [k, v] : extra) out[k] = v;
        return out;
    }

    static std::int64_t nowMs() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    Runtime& rt() { return host.runtime(); }
    std::uint16_t port() { return rt().port(); }
    Browser browser() { return Browser(port()); }

    test::HttpResult official(const std::string& path, const std::string& token = "test-token") {
        return test::http(port(), "GET", path, "", {{"Authorization", "Bearer " + token}});
    }
    // The path of a dossier's survey link (the URL without its host).
    std::string linkPath(const std::string& dossier, const std::string& survey = "") {
        auto r = official("/api/v1/dossiers/" + dossier + "/survey-link" +
                          (survey.empty() ? "" : "?survey=" + survey));
        REQUIRE(r.status == 200);
        const std::string url = parse(r.body)->getValue<std::string>("url");
        return url.substr(url.find("/s/t/"));
    }
    int responsesOf(const std::string& dossier) {
        return rt().database().read([&](Poco::Data::Session& s) {
            int n = 0;
            std::string code = dossier;
            s << "SELECT COUNT(*) FROM responses r JOIN dossiers d ON d.id = r.dossier_id WHERE "
                 "d.code = $1",
                Poco::Data::Keywords::use(code), Poco::Data::Keywords::into(n),
                Poco::Data::Keywords::now;
            return n;
        });
    }

    test::TempDir dir;
    test::TestDatabase tdb;
    test::TestHost host;
};

// Answers every SIPAS rating of the page shown with `value`; returns the fields.
Fields ratingsOf(const std::string& html, const std::string& value) {
    Fields out;
    static const std::regex radio(R"re(type="radio" name="(q\.[a-z_]+)" id="q-[a-z_]+-1")re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), radio);
         it != std::sregex_iterator(); ++it)
        out.emplace_back((*it)[1], value);
    return out;
}

}  // namespace

TEST_CASE("webform: a dossier's link walks the SIPAS form to a stored response", "[webform]") {
    test::onEachBackend([](Backend b) {
        Site site(b);
        Browser br = site.browser();
        auto r = br.get(site.linkPath("XA-1"));
        REQUIRE(r.status == 200);
        const std::string id = formId(r.body);
        CHECK(contains(r.body, "Phiếu về hồ sơ XA-1"));
        CHECK(contains(r.body, "Đăng ký khai sinh"));
        CHECK(contains(r.body, "Trang 1/5"));
        CHECK_FALSE(contains(r.body, "name=\"q.dossier\""));  // the link names it
        CHECK(contains(r.headers.at("content-security-policy"), "script-src 'self'"));
        CHECK(contains(r.headers.at("set-cookie"), "HttpOnly"));
        for (int page = 1; page <= 5; ++page) {
            INFO("page " << page);
            Fields answers = ratingsOf(br.last.body, std::to_string(page));
            if (page == 5)
                answers.emplace_back("q.comment", "Cán bộ nhiệt tình <b>lắm</b> & vui vẻ");
            r = br.send(answers);
            REQUIRE(r.status == 200);
        }
        CHECK(title(r.body).starts_with("Xem lại câu trả lời"));
        CHECK(contains(r.body, "Cán bộ nhiệt tình &lt;b&gt;lắm&lt;/b&gt; &amp; vui vẻ"));
        CHECK(contains(r.body, "3 – Bình thường"));
        r = br.send({}, "submit");
        REQUIRE(r.status == 200);
        CHECK(title(r.body) == "Cảm ơn Ông/Bà!");
        std::smatch m;
        REQUIRE(std::regex_search(r.body, m, std::regex("Mã phiếu: ([0-9A-Z]+)")));
        const std::string receipt = m[1];

        const auto stored = site.official("/api/v1/responses/" + receipt);
        REQUIRE(stored.status == 200);
        const Object::Ptr response = parse(stored.body);
        CHECK(response->getValue<std::string>("channel") == "web");
        CHECK(response->getValue<std::string>("dossier") == "XA-1");
        CHECK(response->getValue<std::string>("agency") == "XA");
        const Object::Ptr answers = response->getObject("answers");
        CHECK(answers->size() == 23);
        CHECK(answers->getArray("access_seats")->getElement<std::string>(0) == "1");
        CHECK(answers->getArray("officer_polite")->getElement<std::string>(0) == "3");
        CHECK(answers->getArray("feedback_notified")->getElement<std::string>(0) == "5");
        CHECK(answers->getArray("comment")->getElement<std::string>(0) ==
              "Cán bộ nhiệt tình <b>lắm</b> & vui vẻ");

        // The same link again: answered, no form. The old form sent again: still one response.
        Browser other = site.browser();
        r = other.get(site.linkPath("XA-1"));
        CHECK(r.status == 200);
        CHECK(title(r.body) == "Hồ sơ này đã được đánh giá");
        CHECK(contains(r.body, receipt));
        CHECK_FALSE(contains(r.body, "<form"));
        r = br.request("POST", "/s/f/" + id, "page=5&action=submit");
        CHECK(title(r.body) == "Cảm ơn Ông/Bà!");
        CHECK(site.responsesOf("XA-1") == 1);
        // The API says so too.
        CHECK(parse(site.official("/api/v1/dossiers/XA-1/survey-link").body)
                  ->getValue<bool>("answered"));
    });
}

TEST_CASE("webform: every question type is rendered, escaped, and checked next to its field",
          "[webform]") {
    Site site(Backend::SQLite);
    Browser br = site.browser();
    auto r = br.get("/s/webform-all");
    REQUIRE(r.status == 200);
    const std::string& html = r.body;
    CHECK(contains(html, "Phiếu thử &lt;mọi&gt; loại câu hỏi"));
    CHECK(contains(html, "Ông/Bà có hài lòng &lt;b&gt;không&lt;/b&gt;?"));
    CHECK_FALSE(contains(html, "<b>không</b>"));
    // The dossier code, a 1–5 scale (a fieldset of radios), the reasons (checkboxes with an
    // "other" text) shown with their condition's hint, as they depend on this page.
    CHECK(contains(html, R"(<input type="text" name="q.dossier" id="q-dossier-input")"));
    CHECK(contains(html, R"(<fieldset class="question scale" id="q-rating")"));
    for (int i = 1; i <= 5; ++i)
        CHECK(contains(html, "type=\"radio\" name=\"q.rating\" id=\"q-rating-" + std::to_string(i) +
                                 "\" value=\"" + std::to_string(i) + "\""));
    CHECK(contains(html, R"(type="checkbox" name="q.why" id="q-why-slow" value="slow")"));
    CHECK(contains(html, R"(name="o.why" id="q-why-other")"));
    CHECK(contains(html, R"(data-show-if="q-rating" data-show-values="1 2")"));
    CHECK(contains(html,
                   "Chỉ trả lời nếu ở câu 2 Ông/Bà chọn “Rất không hài lòng”, “Không hài lòng”."));
    CHECK(contains(html, R"(<input type="text" name="website" id="website" tabindex="-1")"));

    // Nothing answered: the required scale is named in the summary and next to the field.
    r = br.send({});
    CHECK(r.status == 422);
    CHECK(title(r.body).starts_with("Có lỗi:"));
    CHECK(contains(r.body, R"(<a href="#q-rating">Câu 2: Vui lòng chọn một câu trả lời.</a>)"));
    CHECK(contains(r.body, R"(<p class="error" id="q-rating-error">)"));
    // An unknown dossier code and a low rating without reasons.
    r = br.send({{"q.dossier", "XA-404"}, {"q.rating", "1"}});
    CHECK(r.status == 422);
    CHECK(contains(r.body, "Không tìm thấy mã hồ sơ này."));
    CHECK(contains(r.body, R"(<a href="#q-why">)"));
    CHECK(contains(r.body, R"(id="q-rating-1" value="1" checked)"));  // what was chosen stays
    // A value that is no option of the scale.
    r = br.send({{"q.rating", "6"}});
    CHECK(contains(r.body, "Lựa chọn này không có trong phiếu"));
    r = br.send({{"q.dossier", "XA-2"}, {"q.rating", "2"}, {"q.why", "slow"}, {"o.why", "đông"}});
    REQUIRE(r.status == 200);
    // Page 2: a single choice with "other", yes/no, a 0–10 scale.
    CHECK(contains(r.body, "Trang 2/3"));
    CHECK(contains(r.body, R"(type="radio" name="q.channel" id="q-channel-counter")"));
    CHECK(contains(r.body, R"(name="o.channel" id="q-channel-other")"));
    CHECK(contains(r.body, R"(id="q-again-1" value="1")"));
    CHECK(contains(r.body, "Có"));
    CHECK(contains(r.body, R"(<fieldset class="question scale nps" id="q-recommend")"));
    CHECK(contains(r.body, R"(id="q-recommend-0" value="0")"));
    CHECK(contains(r.body, R"(id="q-recommend-10" value="10")"));
    r = br.send({{"q.again", "0"}, {"q.recommend", "7"}, {"o.channel", "bưu điện"}});
    CHECK(r.status == 422);  // an "other" text without its choice
    CHECK(contains(r.body, "Vui lòng chọn một câu trả lời, rồi ghi thêm ý kiến khác"));
    r = br.send({{"q.again", "0"},
                 {"q.recommend", "7"},
                 {"q.channel", "counter"},
                 {"o.channel", "bưu điện"}});
    REQUIRE(r.status == 200);
    // Page 3: the follow-up asked because of "no" on page 2, without a hint (it is asked).
    CHECK(contains(r.body, R"(<textarea name="q.followup" id="q-followup-input")"));
    CHECK_FALSE(contains(r.body, "data-show-if"));
    r = br.send({{"q.followup", std::string(21, 'x')}});
    CHECK(r.status == 422);
    CHECK(contains(r.body, "Câu trả lời dài quá 20 ký tự"));
    // Back to page 2 and "yes": the follow-up is no longer asked, so the form skips it.
    r = br.send({{"q.followup", "xa"}}, "back");
    CHECK(contains(r.body, "Trang 2/3"));
    r = br.send({{"q.again", "1"},
                 {"q.recommend", "7"},
                 {"q.channel", "counter"},
                 {"o.channel", "bưu điện"}});
    CHECK(contains(r.body, "Trang 3/3"));
    CHECK_FALSE(contains(r.body, "q.followup"));
    r = br.send({{"q.comment", "Tốt"}});
    CHECK(title(r.body).starts_with("Xem lại"));
    CHECK_FALSE(contains(r.body, "Vì sao không quay lại?"));
    r = br.send({}, "submit");
    REQUIRE(title(r.body) == "Cảm ơn Ông/Bà!");
    std::smatch m;
    REQUIRE(std::regex_search(r.body, m, std::regex("Mã phiếu: ([0-9A-Z]+)")));
    const Object::Ptr answers =
        parse(site.official("/api/v1/responses/" + std::string(m[1])).body)->getObject("answers");
    CHECK(answers->getArray("why")->size() == 2);      // "slow" and the other text
    CHECK(answers->getArray("channel")->size() == 2);  // the choice and its other text
    CHECK(answers->getArray("again")->getElement<std::string>(0) == "1");
    CHECK(answers->getArray("recommend")->getElement<std::string>(0) == "7");
    CHECK_FALSE(answers->has("followup"));  // answered once, then no longer asked
    CHECK(site.responsesOf("XA-2") == 1);   // the typed dossier code binds it
}

TEST_CASE("webform: English from the survey's own translations", "[webform]") {
    Site site(Backend::SQLite);
    Browser br = site.browser();
    auto r = br.get("/s/webform-all?lang=en");
    REQUIRE(r.status == 200);
    CHECK(contains(r.body, "<html lang=\"en\">"));
    CHECK(contains(r.body, "Are you satisfied?"));
    CHECK(contains(r.body, "Page 1 of 3"));
    CHECK(contains(r.body, ">Continue<"));
    CHECK(contains(r.body, "href=\"/s/webform-all?lang=vi\""));
    r = br.send({});
    CHECK(contains(r.body, "Question 2: Please choose an answer."));
}

TEST_CASE("webform: dossier links are signed, a changed or foreign one is refused", "[webform]") {
    Site site(Backend::SQLite);
    Browser br = site.browser();
    const std::string path = site.linkPath("XB-1");
    CHECK(br.get(path).status == 200);
    // One character changed in the dossier part, or in the signature.
    std::string tampered = path;
    tampered[6] = tampered[6] == 'A' ? 'B' : 'A';
    auto r = br.get(tampered);
    CHECK(r.status == 404);
    CHECK(title(r.body) == "Đường dẫn không hợp lệ");
    CHECK(br.get(path.substr(0, path.size() - 1) + (path.back() == 'A' ? "B" : "A")).status == 404);
    CHECK(br.get("/s/t/not-a-token").status == 404);
    CHECK(br.get("/s/t/" + std::string(300, 'A') + ".x").status == 404);
    // A link of another database's key does not open here.
    const std::string foreign = "/s/t/WEEtMQpzaXBhcy0yMDE3.AAAAAAAAAAAAAAAAAAAAAA";
    CHECK(br.get(foreign).status == 404);
    // A survey that is not open on the web has no link; an unknown survey or dossier neither.
    CHECK(site.official("/api/v1/dossiers/XA-1/survey-link?survey=nope").status == 404);
    CHECK(site.official("/api/v1/dossiers/XA-404/survey-link").status == 404);
    CHECK(br.get("/s/no-such-survey").status == 404);
}

TEST_CASE("webform: the survey-link API gives the URL and a QR code, to whom may see the dossier",
          "[webform]") {
    Site site(Backend::SQLite, {{"links.base_url", "https://hailong.example.gov.vn/"}});
    auto r = site.official("/api/v1/dossiers/XA-1/survey-link");
    REQUIRE(r.status == 200);
    const Object::Ptr link = parse(r.body);
    const std::string url = link->getValue<std::string>("url");
    CHECK(url.starts_with("https://hailong.example.gov.vn/s/t/"));
    CHECK(url.substr(url.rfind('/') + 1) == link->getValue<std::string>("token"));
    CHECK(link->getValue<std::string>("survey") == "sipas-2017");
    CHECK_FALSE(link->getValue<bool>("answered"));
    const std::string svg = link->getValue<std::string>("qr_svg");
    CHECK(svg.starts_with("<svg"));
    CHECK(contains(svg, "XA-1"));  // in its title
    // The same pair always gives the same link; another survey another one.
    CHECK(parse(site.official("/api/v1/dossiers/XA-1/survey-link").body)
              ->getValue<std::string>("url") == url);
    CHECK(parse(site.official("/api/v1/dossiers/XA-1/survey-link?survey=webform-all").body)
              ->getValue<std::string>("url") != url);
    r = site.official("/api/v1/dossiers/XA-1/survey-link?format=svg");
    CHECK(r.status == 200);
    CHECK(r.headers.at("content-type") == "image/svg+xml");
    CHECK(site.official("/api/v1/dossiers/XA-1/survey-link?format=png").status == 400);
    // counter-only is not open on the web: no link.
    CHECK(site.official("/api/v1/dossiers/XA-1/survey-link?survey=counter-only").status == 422);
    // Credentials: none, an API key of XB's subtree (not XA's), of the province.
    CHECK(test::http(site.port(), "GET", "/api/v1/dossiers/XA-1/survey-link").status == 401);
    const std::string xb = site.rt().apiKeys().add("one-stop-xb", "XB");
    const std::string pt = site.rt().apiKeys().add("one-stop-pt", "PT");
    CHECK(site.official("/api/v1/dossiers/XA-1/survey-link", xb).status == 403);
    CHECK(site.official("/api/v1/dossiers/XB-1/survey-link", xb).status == 200);
    CHECK(site.official("/api/v1/dossiers/XA-1/survey-link", pt).status == 200);
}

TEST_CASE("webform: a page sent without the browser's key is shown again, not stored",
          "[webform]") {
    Site site(Backend::SQLite);
    Browser br = site.browser();
    br.get(site.linkPath("XA-1"));
    const std::string id = formId(br.last.body);
    Fields fields = hiddenFields(br.last.body);
    for (auto& [k, v] : fields)
        if (k == "csrf") v = std::string(32, '0');
    fields.emplace_back("q.access_seats", "4");
    fields.emplace_back("action", "next");
    // Another site's page posting into the form: no cookie, no key.
    auto r = test::http(site.port(), "POST", "/s/f/" + id, formBody(fields),
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
    CHECK(r.status == 403);
    CHECK(contains(r.body, "Phiên làm việc đã hết hạn"));
    CHECK(contains(r.body, R"(id="q-access_seats-4" value="4" checked)"));  // nothing lost
    CHECK(r.headers.count("set-cookie") == 1);                              // a key to send it with
    CHECK(site.browser().get("/s/r/" + id).status == 404);                  // and nothing stored
    // The browser's own cookie with a wrong key: the same.
    r = br.request("POST", "/s/f/" + id, formBody(fields));
    CHECK(r.status == 403);
    // Sent from the page shown again, it goes through.
    r = br.send({{"q.access_seats", "4"}});
    CHECK(r.status == 422);  // the other three questions of the page are still missing
    CHECK(br.get("/s/r/" + id).status == 200);  // stored with what it had
}

TEST_CASE("webform: a saved form resumes from its link on another device", "[webform]") {
    Site site(Backend::SQLite, {{"plugin.webform.draft_days", "7"}});
    Browser br = site.browser();
    br.get(site.linkPath("XA-3"));
    br.send(ratingsOf(br.last.body, "4"));
    auto r = br.send({{"q.procedure_posted_full", "2"}}, "save");
    REQUIRE(r.status == 200);
    CHECK(title(r.body) == "Đã lưu phiếu");
    CHECK(contains(r.body, "trong vòng 7 ngày"));
    std::smatch m;
    REQUIRE(std::regex_search(r.body, m,
                              std::regex(R"re(href="(/s/r/[0-9a-f]{32})" id="resume-link")re")));
    const std::string resume = m[1];
    Browser phone = site.browser();  // no cookie of the first browser
    r = phone.get(resume);
    REQUIRE(r.status == 200);
    CHECK(contains(r.body, "Trang 2/5"));
    CHECK(contains(r.body, R"(id="q-procedure_posted_full-2" value="2" checked)"));
    // Pages reached may be opened again; pages not reached yet may not.
    CHECK(
        contains(phone.get(resume + "?page=0").body, R"(id="q-access_seats-4" value="4" checked)"));
    CHECK(contains(phone.get(resume + "?page=4").body, "Trang 2/5"));
    phone.get(resume);
    for (int page = 2; page <= 5; ++page) phone.send(ratingsOf(phone.last.body, "5"));
    r = phone.send({}, "submit");
    CHECK(title(r.body) == "Cảm ơn Ông/Bà!");
    CHECK(site.responsesOf("XA-3") == 1);
    // The resume link now shows the thanks; an unknown or malformed one says it is not found.
    CHECK(title(site.browser().get(resume).body) == "Cảm ơn Ông/Bà!");
    CHECK(site.browser().get("/s/r/0123456789abcdef0123456789abcdef").status == 404);
    CHECK(site.browser().get("/s/r/x").status == 404);
}

TEST_CASE("webform: a filled honeypot is held for review, and the robot sees thanks", "[webform]") {
    Site site(Backend::SQLite);
    Browser br = site.browser();
    br.get("/s/webform-all");
    br.send({{"q.rating", "5"}, {"website", "http://spam.example"}});
    br.send({{"q.again", "1"}});
    br.send({});
    auto r = br.send({}, "submit");
    CHECK(title(r.body) == "Cảm ơn Ông/Bà!");
    const int responses = site.rt().database().read([](Poco::Data::Session& s) {
        int n = 0;
        s << "SELECT COUNT(*) FROM responses", Poco::Data::Keywords::into(n),
            Poco::Data::Keywords::now;
        return n;
    });
    CHECK(responses == 0);
    auto held = parse(site.official("/api/v1/held").body);
    REQUIRE(held->getArray("items")->size() == 1);
    CHECK(held->getArray("items")->getObject(0)->getValue<std::string>("reason") == "honeypot");
}

TEST_CASE("webform: requests beyond the limits are refused per form, per link, per address",
          "[webform]") {
    Site site(Backend::SQLite, {{"plugin.webform.posts_per_form", "10"},
                                {"plugin.webform.posts_per_link", "15"},
                                {"plugin.webform.forms_per_address", "12"}});
    SECTION("one form") {
        Browser br = site.browser();
        br.get("/s/webform-all");
        const std::string page = br.last.body;
        for (int i = 0; i < 10; ++i) {
            br.last.body = page;
            CHECK(br.send({}).status == 422);
        }
        br.last.body = page;
        auto r = br.send({});
        CHECK(r.status == 429);
        CHECK(r.headers.count("retry-after") == 1);
        CHECK(contains(r.body, "Vui lòng thử lại sau 10 phút"));
        // Another form from the same address (an office behind one NAT) is not held back.
        Browser colleague = site.browser();
        colleague.get("/s/webform-all");
        CHECK(colleague.send({}).status == 422);
    }
    SECTION("one dossier's link, over several forms") {
        const std::string link = site.linkPath("XA-1");
        int refused = 0;
        for (int i = 0; i < 10; ++i) {
            Browser br = site.browser();
            br.get(link);
            for (int j = 0; j < 2; ++j)
                if (br.send({}).status == 429) {
                    ++refused;
                    break;
                }
        }
        CHECK(refused == 3);  // posts 1 to 15 went through; the 16th and the next forms' not
    }
    SECTION("new forms from one address") {
        int refused = 0;
        for (int i = 0; i < 15; ++i) {
            Browser br = site.browser();
            br.get("/s/webform-all");
            if (br.send({}).status == 429) ++refused;
        }
        CHECK(refused == 3);
    }
}

TEST_CASE("webform: malformed or oversized forms get a page that says so", "[webform]") {
    Site site(Backend::SQLite);
    Browser br = site.browser();
    br.get("/s/webform-all");
    const std::string action = formAction(br.last.body);
    std::string many;
    for (int i = 0; i < 401; ++i) many += "f" + std::to_string(i) + "=1&";
    auto r = br.request("POST", action, many);
    CHECK(r.status == 413);
    CHECK(contains(r.body, "Biểu mẫu có quá nhiều trường (tối đa 400)."));
    r = br.request("POST", action, "q.comment=%FF%FE");
    CHECK(r.status == 400);
    CHECK(contains(r.body, "<h1>Không đọc được biểu mẫu</h1>"));
    r = br.request("POST", action, "q.comment=a%00b");
    CHECK(r.status == 400);
    // Beyond the route's 256 KiB the server answers 413 without reading the body; the client
    // may see that answer or, still writing, the connection closed under it.
    try {
        const int status = br.request("POST", action, std::string(300 * 1024, 'a')).status;
        CHECK(status == 413);
    } catch (const Poco::IOException& e) {
        SUCCEED("connection closed while sending: " + e.displayText());
    }
    CHECK(br.request("POST", "/s/f/XYZ", "action=next").status == 404);
}

TEST_CASE("webform: the list of open surveys, and the pages' assets", "[webform]") {
    Site site(Backend::SQLite);
    Browser br = site.browser();
    auto r = br.get("/s/");
    REQUIRE(r.status == 200);
    CHECK(contains(r.body, R"(href="/s/sipas-2017")"));
    CHECK(contains(r.body, R"(href="/s/webform-all")"));
    CHECK_FALSE(contains(r.body, "counter-only"));  // not open on the web
    CHECK(br.get("/s/static/webform.css").status == 200);
    CHECK(br.get("/s/static/webform.js").status == 200);
    CHECK(br.get("/c/webform/sipas-2017").status == 200);  // the long address works as well
    // The whole first page of SIPAS with its style and script stays small for a phone on 3G.
    const std::size_t weight = br.get("/s/sipas-2017").body.size() +
                               br.get("/s/static/webform.css").body.size() +
                               br.get("/s/static/webform.js").body.size();
    CHECK(weight < 50 * 1024);
}
