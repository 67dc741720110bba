// IcuTextNormalizer::readReply: what a short SMS reply means. Deliberately conservative:
// anything it cannot read with confidence is Command::None, never a guess.
#include "text/IcuTextNormalizer.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace hailong {
namespace {

using Words = std::vector<IcuTextNormalizer::Word>;

struct ScorePhrase {
    std::vector<std::string> words;
    int score;
};

// Longest first: "rat khong hai long" must win over "khong hai long" and "hai long".
const std::vector<ScorePhrase>& scorePhrases() {
    static const std::vector<ScorePhrase> phrases = [] {
        std::vector<ScorePhrase> p;
        auto add = [&](std::initializer_list<const char*> words, int score) {
            p.push_back({std::vector<std::string>(words.begin(), words.end()), score});
        };
        for (const char* neg : {"khong", "chua", "chang", "cha"}) {
            add({"rat", neg, "hai", "long"}, 1);
            add({neg, "hai", "long", "chut", "nao"}, 1);
            add({neg, "hai", "long"}, 2);
            add({neg, "tot"}, 2);
        }
        add({"rat", "te"}, 1), add({"qua", "te"}, 1), add({"te", "qua"}, 1), add({"te", "lam"}, 1);
        add({"rat", "kem"}, 1), add({"qua", "kem"}, 1), add({"kem", "qua"}, 1);
        add({"te"}, 2), add({"kem"}, 2);
        add({"binh", "thuong"}, 3), add({"tam", "duoc"}, 3), add({"trung", "binh"}, 3);
        add({"tam", "on"}, 3), add({"tam"}, 3);
        add({"rat", "hai", "long"}, 5), add({"hai", "long", "lam"}, 5), add({"rat", "tot"}, 5);
        add({"tot", "lam"}, 5), add({"tuyet", "voi"}, 5), add({"xuat", "sac"}, 5);
        add({"hai", "long"}, 4), add({"tot"}, 4);
        std::stable_sort(p.begin(), p.end(), [](const ScorePhrase& a, const ScorePhrase& b) {
            return a.words.size() > b.words.size();
        });
        return p;
    }();
    return phrases;
}

// Words a citizen may put before the score without changing it ("tôi thấy hài lòng").
const std::set<std::string> kLeading{"toi", "em", "minh", "chau", "con", "anh", "chi",
                                     "thay", "cam", "cho", "muc", "la", "danh", "gia"};

bool isDigitScore(const std::string& w, int& score) {
    std::string s = w;
    if (s.ends_with("*")) s.pop_back();
    if (s.ends_with("/5")) s.resize(s.size() - 2);
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
        return false;
    score = s.size() > 2 ? 99 : std::stoi(s);
    return true;
}

// Reads a score at `at`; returns the number of words used, 0 when there is none, -1 when the
// words say something that cannot be a score on the scale (e.g. "7" or "5 4").
int readScore(const Words& ws, std::size_t at, int& score) {
    if (at >= ws.size()) return 0;
    std::size_t i = at;
    bool point = false;  // "điểm 4"
    if (ws[i].key == "diem" && i + 1 < ws.size()) {
        point = true;
        ++i;
    }
    int digit = 0;
    if (isDigitScore(ws[i].key, digit)) {
        if (digit < 1 || digit > 5) return -1;
        std::size_t used = i - at + 1;
        if (!point && at + used < ws.size() &&
            (ws[at + used].key == "sao" || ws[at + used].key == "diem" || ws[at + used].key == "*"))
            ++used;
        // A second number right after, or "hoặc/hay" a number, makes it ambiguous.
        std::size_t next = at + used;
        if (next < ws.size() && (ws[next].key == "hoac" || ws[next].key == "hay")) ++next;
        int other = 0;
        if (next < ws.size() && isDigitScore(ws[next].key, other)) return -1;
        score = digit;
        return static_cast<int>(used);
    }
    if (point) return 0;
    for (const ScorePhrase& p : scorePhrases()) {
        if (at + p.words.size() > ws.size()) continue;
        bool match = true;
        for (std::size_t k = 0; k < p.words.size() && match; ++k)
            match = ws[at + k].key == p.words[k];
        if (!match) continue;
        score = p.score;
        return static_cast<int>(p.words.size());
    }
    return 0;
}

bool looksLikeCode(const std::string& key) {
    return key.size() >= 3 && key.size() <= 64 &&
           std::any_of(key.begin(), key.end(), [](unsigned char c) { return std::isdigit(c); }) &&
           std::all_of(key.begin(), key.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '/';
           });
}

bool only(const Words& ws, std::initializer_list<std::initializer_list<const char*>> forms) {
    for (const auto& form : forms) {
        if (form.size() != ws.size()) continue;
        std::size_t k = 0;
        bool match = true;
        for (const char* w : form) match = match && ws[k++].key == w;
        if (match) return true;
    }
    return false;
}

}  // namespace

ReplyIntent IcuTextNormalizer::readReply(std::string_view text) const {
    ReplyIntent intent;
    const std::string normalized = normalize(text);
    const Words ws = words(normalized);
    if (ws.empty()) return intent;
    if (only(ws, {{"stop"}, {"huy"}, {"tu", "choi"}, {"dung"}, {"dung", "lai"}})) {
        intent.command = ReplyIntent::Command::Stop;
        return intent;
    }
    if (only(ws, {{"help"}, {"hd"}, {"huong", "dan"}, {"?"}, {"tro", "giup"}})) {
        intent.command = ReplyIntent::Command::Help;
        return intent;
    }
    std::size_t at = 0;
    // "DG <code> ...", "ĐG", "DANH GIA", "Đánh giá", "danhgia".
    if (ws[0].key == "dg" || ws[0].key == "danhgia") {
        at = 1;
    } else if (ws.size() > 1 && ws[0].key == "danh" && ws[1].key == "gia") {
        at = 2;
    }
    if (at > 0) {
        if (at >= ws.size() || !looksLikeCode(ws[at].key)) return intent;  // keyword, no code
        intent.code = normalized.substr(ws[at].begin, ws[at].end - ws[at].begin);
        std::transform(intent.code.begin(), intent.code.end(), intent.code.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        ++at;
    }
    // Skip a few words that may precede the score ("tôi thấy ..."), never more than three.
    std::size_t start = at;
    int score = 0, used = 0;
    for (std::size_t skipped = 0; start < ws.size(); ++start, ++skipped) {
        used = readScore(ws, start, score);
        if (used != 0 || skipped >= 3 || !kLeading.contains(ws[start].key)) break;
    }
    if (used <= 0) {
        intent.code.clear();
        return intent;
    }
    intent.command = ReplyIntent::Command::Rate;
    intent.score = score;
    const std::size_t last = start + static_cast<std::size_t>(used) - 1;
    // The comment: what follows the score, as written; words sharing the score's last source
    // token (an expanded abbreviation) are part of the score.
    std::size_t from = ws[last].end;
    std::string comment = normalized.substr(std::min(from, normalized.size()));
    const auto first = comment.find_first_not_of(" ,.;:!-");
    intent.comment = first == std::string::npos ? "" : comment.substr(first);
    return intent;
}

}  // namespace hailong
