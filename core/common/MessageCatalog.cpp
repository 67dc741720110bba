#include "common/MessageCatalog.h"

#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace hailong {

MessageCatalog::MessageCatalog(const std::string& localeFolder) {
    for (const char* lang : {"vi", "en"}) {
        const std::string file = localeFolder + "/" + lang + "/messages.json";
        try {
            Poco::FileInputStream in(file);
            std::string json;
            Poco::StreamCopier::copyToString(in, json);
            auto obj = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
            auto& catalog = catalogs_[lang];
            for (const auto& [k, v] : *obj) catalog[k] = v.toString();
        } catch (const Poco::Exception& e) {
            throw std::runtime_error("cannot read message catalog " + file + ": " +
                                     e.displayText());
        }
    }
}

void MessageCatalog::merge(const std::string& lang,
                           const std::map<std::string, std::string>& messages) {
    auto& catalog = catalogs_[lang];
    for (const auto& [k, v] : messages) catalog[k] = v;
}

std::string fillIn(std::string_view pattern, const std::map<std::string, std::string>& params) {
    std::string out;
    out.reserve(pattern.size());
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '{') {
            const auto close = pattern.find('}', i);
            if (close != std::string::npos) {
                auto p = params.find(std::string(pattern.substr(i + 1, close - i - 1)));
                if (p != params.end()) {
                    out += p->second;
                    i = close;
                    continue;
                }
            }
        }
        out.push_back(pattern[i]);
    }
    return out;
}

std::string MessageCatalog::text(std::string_view lang, std::string_view key,
                                 const std::map<std::string, std::string>& params) const {
    std::string pattern;
    for (std::string_view l : {lang, std::string_view("vi")}) {
        auto c = catalogs_.find(l);
        if (c == catalogs_.end()) continue;
        auto m = c->second.find(key);
        if (m != c->second.end()) {
            pattern = m->second;
            break;
        }
    }
    if (pattern.empty()) pattern = std::string(key);
    return fillIn(pattern, params);
}

std::string MessageCatalog::pickLanguage(std::string_view header) const {
    // "en-US,en;q=0.9,vi;q=0.8": take the highest q among the languages we have.
    std::string best = "vi";
    double bestQ = -1;
    std::size_t pos = 0;
    while (pos <= header.size()) {
        auto end = header.find(',', pos);
        if (end == std::string_view::npos) end = header.size();
        std::string_view item = header.substr(pos, end - pos);
        pos = end + 1;
        double q = 1.0;
        if (auto semi = item.find(';'); semi != std::string_view::npos) {
            auto qpos = item.find("q=", semi);
            if (qpos != std::string_view::npos) {
                try {
                    q = std::stod(std::string(item.substr(qpos + 2)));
                } catch (const std::exception&) {
                    q = 0;
                }
            }
            item = item.substr(0, semi);
        }
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        std::string lang(item.substr(0, item.find('-')));
        std::transform(lang.begin(), lang.end(), lang.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (catalogs_.contains(lang) && q > bestQ) {
            best = lang;
            bestQ = q;
        }
        if (end == header.size()) break;
    }
    return best;
}

}  // namespace hailong
