// IcuTextNormalizer::readReply: what a short SMS reply means, following the rules written at
// the top of tests/text/intents.tsv. Deliberately conservative: anything it cannot read with
// confidence is Command::None, never a guess; "không hài lòng" is never read as "hài lòng".
#include "text/IcuTextNormalizer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

namespace hailong {
namespace {

using Words = std::vector<IcuTextNormalizer::Word>;

// A score expression found at some position.
struct Expression {
    int score = 0;
    std::size_t length = 0;      // words used
    bool explicitScore = false;  // a digit or a scale label (soft words: tốt, tệ, ổn...)
};

struct Phrase {
    std::vector<std::string> words;
    int score;  // 0: recognised but not a score ("không bình thường" = "không biết")
    bool explicitScore;
};

const std::vector<std::string> kNegators{"khong", "chua", "chang", "cha"};

// Longest first: "rat khong hai long" must win over "khong hai long" and "hai long".
const std::vector<Phrase>& phrases() {
    static const std::vector<Phrase> all = [] {
        std::vector<Phrase> p;
        auto add = [&](std::vector<std::string> words, int score, bool strong) {
            p.push_back({std::move(words), score, strong});
        };
        for (const std::string& neg : kNegators) {
            add({"rat", neg, "hai", "long"}, 1, true);
            add({neg, "hai", "long", "lam"}, 2, true);
            add({neg, "hai", "long", "qua"}, 2, true);
            add({neg, "hai", "long"}, 2, true);
            add({neg, "binh", "thuong"}, 0, true);  // "ko bt": không biết
            add({neg, "tot"}, 2, false);
        }
        for (const char* intensifier : {"rat", "cuc ky", "vo cung", "rat la", "rat rat"}) {
            std::vector<std::string> w;
            std::string s = intensifier;
            for (std::size_t pos = 0; pos <= s.size();) {
                auto space = s.find(' ', pos);
                if (space == std::string::npos) space = s.size();
                w.push_back(s.substr(pos, space - pos));
                pos = space + 1;
            }
            auto withLabel = w;
            withLabel.insert(withLabel.end(), {"hai", "long"});
            add(withLabel, 5, true);
            auto withBad = w;
            withBad.push_back("te");
            add(withBad, 1, false);
        }
        add({"hai", "long", "lam"}, 5, true), add({"hai", "long", "qua"}, 5, true);
        add({"kha", "hai", "long"}, 4, true), add({"hai", "long"}, 4, true);
        add({"binh", "thuong"}, 3, true);
        add({"rat", "tot"}, 5, false), add({"tot", "lam"}, 5, false), add({"tot", "qua"}, 5, false);
        add({"tuyet", "voi"}, 5, false);
        add({"tot"}, 4, false), add({"on"}, 4, false);
        add({"tam", "duoc"}, 3, false), add({"tam", "on"}, 3, false),
            add({"cung", "duoc"}, 3, false);
        add({"trung", "binh"}, 3, false);
        add({"qua", "te"}, 1, false), add({"te", "qua"}, 1, false), add({"rat", "kem"}, 1, false);
        add({"kem", "qua"}, 1, false);
        add({"te"}, 2, false), add({"kem"}, 2, false);
        std::stable_sort(p.begin(), p.end(), [](const Phrase& a, const Phrase& b) {
            return a.words.size() > b.words.size();
        });
        return p;
    }();
    return all;
}

const std::set<std::string> kUnits{"lan",   "ngay",  "tieng", "gio",  "phut", "p",
                                   "k",     "nghin", "ngan",  "dong", "tr",   "trieu",
                                   "thang", "nam",   "tuan",  "nguoi"};
// Politeness particles, as typed (before abbreviations: "a" alone would become "anh").
const std::set<std::string> kParticles{"ạ", "a", "nhé", "nhe", "nha", "nhá", "à", "ah", "thôi"};

bool allDigits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A digit form: "4", "4*", "4/5", "5sao", "4diem"; 99 for numbers that are not 1..5.
std::optional<int> digitForm(std::string w, bool& withUnit) {
    withUnit = false;
    for (const char* suffix : {"sao", "diem", "*", "/5"}) {
        if (w.size() > std::string_view(suffix).size() && w.ends_with(suffix)) {
            w.resize(w.size() - std::string_view(suffix).size());
            withUnit = true;
            break;
        }
    }
    if (!allDigits(w)) return std::nullopt;
    if (w.size() > 1) return 99;
    const int v = w[0] - '0';
    return v >= 1 && v <= 5 ? v : 99;
}

// The expression starting at `at`, if any; score 0 means "recognised, not a score".
std::optional<Expression> expressionAt(const Words& ws, std::size_t at) {
    if (at >= ws.size()) return std::nullopt;
    std::size_t i = at;
    const bool pointFirst = ws[i].key == "diem" && i + 1 < ws.size();  // "điểm 4"
    if (pointFirst) ++i;
    bool suffixed = false;
    if (auto digit = digitForm(ws[i].key, suffixed)) {
        std::size_t used = i - at + 1;
        if (!suffixed && !pointFirst && at + used < ws.size()) {
            const std::string& next = ws[at + used].key;
            if (kUnits.contains(next)) return Expression{0, used + 1, true};  // "3 lần"
            if (next == "sao" || next == "diem" || next == "*") ++used;
        }
        if (*digit == 99) return Expression{0, used, true};
        return Expression{*digit, used, true};
    }
    if (pointFirst) return std::nullopt;
    for (const Phrase& p : phrases()) {
        if (at + p.words.size() > ws.size()) continue;
        bool match = true;
        for (std::size_t k = 0; k < p.words.size() && match; ++k)
            match = ws[at + k].key == p.words[k];
        if (match) return Expression{p.score, p.words.size(), p.explicitScore};
    }
    return std::nullopt;
}

// Commands are the whole reply. A token typed with marks must carry the command's own marks:
// "Đúng" (right) folds to "dung" but is not "dừng" (stop).
bool isCommand(const Words& ws, const IcuTextNormalizer& text, ReplyIntent::Command command) {
    for (const auto& form : text.commandForms()) {
        if (form.command != command || form.plain.size() != ws.size()) continue;
        bool match = true;
        for (std::size_t k = 0; k < ws.size() && match; ++k)
            match = ws[k].key == form.plain[k] && (!ws[k].marked || ws[k].lower == form.marked[k]);
        if (match) return true;
    }
    return false;
}

bool looksLikeCode(const std::string& key, bool strict) {
    if (key.size() < 3 || key.size() > 64) return false;
    const auto digits =
        std::count_if(key.begin(), key.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!std::all_of(key.begin(), key.end(), [](unsigned char c) {
            return std::isalnum(c) || c == '.' || c == '-' || c == '_';
        }))
        return false;
    if (strict) return key.find('-') != std::string::npos && digits >= 6;
    return digits >= 1;
}

// The text between two byte offsets, trimmed; empty when it holds only politeness particles.
std::string commentBetween(const std::string& text, const Words& ws, std::size_t fromWord,
                           std::size_t toWord) {
    if (fromWord >= toWord) return {};
    bool onlyParticles = true;
    for (std::size_t k = fromWord; k < toWord; ++k)
        onlyParticles = onlyParticles && kParticles.contains(ws[k].lower);
    if (onlyParticles) return {};
    const std::size_t begin = ws[fromWord].begin;
    const std::size_t end = toWord < ws.size() ? ws[toWord].begin : text.size();
    std::string s = text.substr(begin, end - begin);
    const char* trim = " ,.;:-!\t";
    const auto first = s.find_first_not_of(trim);
    if (first == std::string::npos) return {};
    return s.substr(first, s.find_last_not_of(trim) - first + 1);
}

// Index of the first word after those that share the source token of word `i` (an expanded
// abbreviation such as "khl" is several words from one token).
std::size_t afterToken(const Words& ws, std::size_t i) {
    std::size_t j = i + 1;
    while (j < ws.size() && ws[j].begin == ws[i].begin) ++j;
    return j;
}

}  // namespace

ReplyIntent IcuTextNormalizer::readReply(std::string_view raw) const {
    ReplyIntent none;
    const std::string text = normalize(raw);
    const Words ws = words(text);
    if (ws.empty()) return none;
    if (isCommand(ws, *this, ReplyIntent::Command::Stop))
        return ReplyIntent{ReplyIntent::Command::Stop, std::nullopt, "", ""};
    if (isCommand(ws, *this, ReplyIntent::Command::Help) ||
        std::all_of(ws.begin(), ws.end(), [](const Word& w) { return w.key == "?"; }))
        return ReplyIntent{ReplyIntent::Command::Help, std::nullopt, "", ""};

    ReplyIntent intent;
    std::size_t at = 0;
    // Keyword form: DG | ĐG | DANH GIA | ĐÁNH GIÁ | DANHGIA, then a code unless a score follows.
    bool keyword = false;
    if (ws[0].key == "dg" || ws[0].key == "danhgia") {
        at = 1, keyword = true;
    } else if (ws.size() > 1 && ws[0].key == "danh" && ws[1].key == "gia") {
        at = 2, keyword = true;
    }
    auto takeCode = [&](std::size_t i) {
        intent.code = text.substr(ws[i].begin, ws[i].end - ws[i].begin);
        std::transform(intent.code.begin(), intent.code.end(), intent.code.begin(),
                       [](unsigned char c) { return std::toupper(c); });
    };
    if (keyword && at < ws.size() && !expressionAt(ws, at) && looksLikeCode(ws[at].key, false)) {
        takeCode(at++);
    } else if (!keyword && looksLikeCode(ws[0].key, true)) {
        takeCode(at++);
    }
    // Fillers: "dạ", "vâng", and "tôi/em/mình/cháu" + "chấm/cho".
    while (at < ws.size() && (ws[at].key == "da" || ws[at].key == "vang")) ++at;
    if (at + 1 < ws.size() &&
        (ws[at].key == "toi" || ws[at].key == "em" || ws[at].key == "minh" ||
         ws[at].key == "chau") &&
        (ws[at + 1].key == "cham" || ws[at + 1].key == "cho"))
        at += 2;

    std::optional<Expression> first = expressionAt(ws, at);
    std::size_t commentFrom = 0, commentTo = 0;
    if (first) {
        if (first->score == 0) return none;  // "7", "3 lần", "ko bt"
        std::size_t end = at + first->length;
        int score = first->score;
        std::size_t softFrom = ws.size(), softTo = ws.size();
        // The next expression, directly or after "hoặc"/"hay".
        std::size_t next = end;
        if (next < ws.size() && (ws[next].key == "hoac" || ws[next].key == "hay")) ++next;
        if (auto second = expressionAt(ws, next); second && second->explicitScore) {
            if (!first->explicitScore && second->score != 0) {
                // A soft word before an explicit score is comment: "tốt 5 sao".
                softFrom = at, softTo = end;
                score = second->score;
                end = next + second->length;
            } else if (second->score != score) {
                return none;  // "5 4", "hài lòng 5", "4 hoặc 5"
            } else {
                end = next + second->length;  // an echo: "5 rất hài lòng", "hài lòng 4"
            }
        }
        intent.score = score;
        if (softFrom < softTo) {
            commentFrom = softFrom, commentTo = softTo;
        } else {
            commentFrom = afterToken(ws, end - 1), commentTo = ws.size();
        }
    } else {
        // Not at the start: an explicit score that ends the reply, after the comment.
        for (std::size_t k = at + 1; k < ws.size(); ++k) {
            auto e = expressionAt(ws, k);
            if (e && e->explicitScore && e->score > 0 && k + e->length == ws.size() &&
                (k == 0 || ws[k].begin != ws[k - 1].begin)) {
                intent.score = e->score;
                commentFrom = at, commentTo = k;
                break;
            }
        }
        if (!intent.score) return none;
    }
    intent.command = ReplyIntent::Command::Rate;
    intent.comment = commentBetween(text, ws, commentFrom, commentTo);
    return intent;
}

}  // namespace hailong
