// libFuzzer target for what browsers send besides JSON: url-encoded form bodies
// (HttpRequest::formFields: the web form, the counter, every console form), the console's base64
// file uploads (paper forms), cookies, Accept-Language, and message texts with the sender's
// values in their placeholders. (There is no multipart parser: the console's imports arrive as
// base64 fields of url-encoded forms.) Properties: a refused form is a Problem 400 or 413; the
// fields of an accepted form encoded again read back the same; a cookie's value is what the
// header says after its name; base64 decodes, re-encodes and decodes to the same bytes; the
// language picked is one the catalogs have.
#include "FuzzSupport.h"
#include "common/MessageCatalog.h"
#include "common/Utf8.h"

#include <hailong/Http.h>
#include <hailong/Problem.h>

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/URI.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

using namespace hailong;
using hailong::fuzz::fail;

namespace {

// As the console reads paper_content; nullopt where it answers 400.
std::optional<std::string> base64(const std::string& text) {
    std::istringstream in(text);
    Poco::Base64Decoder decoder(in);
    try {
        return std::string(std::istreambuf_iterator<char>(decoder), {});
    } catch (const Poco::Exception&) {
        return std::nullopt;
    }
}

std::string encoded(const std::string& raw) {
    std::string out;
    Poco::URI::encode(raw, "&=+#%;", out);
    return out;
}

void checkCookie(const HttpRequest& r, const std::string& name) {
    const std::string value = r.cookie(name);
    if (value.empty()) return;
    const std::string header = r.header("cookie");
    if (header.find(name + "=" + value) == std::string::npos) fail("a cookie not in its header");
    if (value.find(';') != std::string::npos) fail("a cookie value runs past its ';'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const MessageCatalog messages(HAILONG_SOURCE_DIR "/locale");
    const std::string bytes(reinterpret_cast<const char*>(data), size);

    HttpRequest r;
    r.headers["cookie"] = bytes;
    for (const char* name : {"hl_session", "csrf", "a", ""}) checkCookie(r, name);

    const std::string lang = messages.pickLanguage(bytes);
    if (lang != "vi" && lang != "en") fail("a language the catalogs do not have");

    r.body = bytes;
    std::multimap<std::string, std::string> fields;
    try {
        fields = r.formFields(200);
    } catch (const Problem& p) {
        if ((p.status() != 400 && p.status() != 413) || p.code().empty())
            fail("a refused form is not a 400 or 413");
        return 0;
    }
    if (fields.size() > 200) fail("more fields than asked for");

    // Encoded again (as a browser would) the fields read back the same, in the same order.
    std::string again;
    for (const auto& [name, value] : fields) {
        if (!utf8::isValid(name) || !utf8::isValid(value)) fail("a field that is not UTF-8");
        again += (again.empty() ? "" : "&") + encoded(name) + "=" + encoded(value);
    }
    HttpRequest second;
    second.body = again;
    if (second.formFields(200) != fields) fail("a form encoded again reads differently");

    for (const auto& [name, value] : fields) {
        if (name == "paper_content" || name.empty()) {
            if (auto decoded = base64(value)) {
                std::ostringstream out;
                Poco::Base64Encoder encoder(out);
                encoder << *decoded;
                encoder.close();
                if (base64(out.str()) != decoded) fail("base64 does not read back");
            }
        }
        // A message with the sender's text in a placeholder (problem details do this).
        (void)messages.text(lang, "json.malformed", {{"reason", value}});
        (void)messages.text(value, name, {{name, value}});
        (void)messages.pickLanguage(value);
    }
    return 0;
}
