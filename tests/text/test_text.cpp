// Tests for core/text against real references: hunspell-vi's dictionary, glibc iconv's
// TCVN5712-1, ICU's windows-1258; plus idempotence, legacy encodings, replies and tags.
#include "common/Tsv.h"
#include "support/TestSupport.h"
#include "text/Decoding.h"
#include "text/IcuTextNormalizer.h"
#include "text/Tones.h"

#include <hailong/Problem.h>

#include <Poco/File.h>
#include <Poco/FileStream.h>

#include <catch2/catch.hpp>

#include <unicode/normalizer2.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>

#include <iconv.h>

#include <map>
#include <random>
#include <set>
#include <sstream>

using namespace hailong;
using vi::ToneStyle;

namespace {

const IcuTextNormalizer& text() {
    static const IcuTextNormalizer t(test::sourceDir() + "/locale");
    return t;
}
const vi::LegacyTables& tables() {
    static const vi::LegacyTables t(test::sourceDir() + "/locale/vi/encodings");
    return t;
}

std::vector<std::string> lines(const std::string& file) {
    std::vector<std::string> out;
    Poco::FileInputStream in(file);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// hunspell-vi's dictionary: one word per line after the count (Debian package hunspell-vi).
const std::vector<std::string>& dictionary() {
    static const std::vector<std::string> words = [] {
        const std::string file = "/usr/share/hunspell/vi_VN.dic";
        REQUIRE(Poco::File(file).exists());  // scripts/deps.sh installs hunspell-vi
        auto all = lines(file);
        all.erase(all.begin());  // the entry count
        for (auto& w : all) w = w.substr(0, w.find('/'));
        return all;
    }();
    return words;
}

std::string nfd(const std::string& s) {
    UErrorCode status = U_ZERO_ERROR;
    std::string out;
    icu::Normalizer2::getNFDInstance(status)
        ->normalize(icu::UnicodeString::fromUTF8(s), status)
        .toUTF8String(out);
    return out;
}

std::string iconvTcvn(unsigned char byte) {
    iconv_t cd = iconv_open("UTF-8", "TCVN5712-1");
    REQUIRE(cd != reinterpret_cast<iconv_t>(-1));
    char in[1] = {static_cast<char>(byte)};
    char out[16];
    char* ip = in;
    char* op = out;
    std::size_t il = 1, ol = sizeof out;
    const std::size_t r = iconv(cd, &ip, &il, &op, &ol);
    std::size_t fl = ol;
    iconv(cd, nullptr, nullptr, &op, &fl);  // flush a buffered base letter
    iconv_close(cd);
    if (r == static_cast<std::size_t>(-1) && il != 0) return "";
    UErrorCode status = U_ZERO_ERROR;
    std::string s(out, sizeof out - fl), composed;
    icu::Normalizer2::getNFCInstance(status)
        ->normalize(icu::UnicodeString::fromUTF8(s), status)
        .toUTF8String(composed);
    return composed;
}

}  // namespace

TEST_CASE("hunspell-vi: every word is stable in the new style and survives old and back") {
    const auto& words = dictionary();
    REQUIRE(words.size() > 6000);
    std::size_t changed = 0, roundTrip = 0, fromNfd = 0, nonAsciiKey = 0;
    for (const std::string& w : words) {
        if (text().normalize(w, ToneStyle::New) != w) ++changed;
        if (text().normalize(text().normalize(w, ToneStyle::Old), ToneStyle::New) != w) ++roundTrip;
        if (text().normalize(nfd(w), ToneStyle::New) != w) ++fromNfd;
        const std::string k = text().key(w);
        if (!std::all_of(k.begin(), k.end(), [](unsigned char c) { return c < 0x80; }))
            ++nonAsciiKey;
    }
    CHECK(changed == 0);
    CHECK(roundTrip == 0);
    CHECK(fromNfd == 0);
    CHECK(nonAsciiKey == 0);
    // And the old style really differs where it should.
    CHECK(text().normalize("hoà khoẻ thuỷ", ToneStyle::Old) == "hòa khỏe thủy");
    CHECK(text().normalize("hòa khỏe thủy", ToneStyle::New) == "hoà khoẻ thuỷ");
    CHECK(text().normalize("Hoàng quý giữa khuỷu ngoài thuở", ToneStyle::Old) ==
          "Hoàng quý giữa khuỷu ngoài thuở");  // the same in both styles
}

TEST_CASE("TCVN3 agrees with glibc iconv wherever TCVN3 and iconv's VN1 table agree") {
    std::set<unsigned> differ;
    for (const std::string& line :
         lines(test::sourceDir() + "/locale/vi/encodings/tcvn3-vs-iconv.tsv"))
        if (!line.empty() && line[0] != '#')
            differ.insert(std::stoul(line.substr(0, line.find('\t')), nullptr, 16));
    std::size_t compared = 0, letters = 0;
    for (unsigned b = 1; b < 256; ++b) {
        if (differ.contains(b)) continue;
        const std::string ours = vi::decode(std::string(1, static_cast<char>(b)),
                                            vi::Encoding::Tcvn3, tables(), vi::Invalid::Replace);
        INFO("byte " << b);
        CHECK(ours == iconvTcvn(static_cast<unsigned char>(b)));
        ++compared;
        letters += b >= 0x80;
    }
    CHECK(compared > 180);
    CHECK(letters >= 60);
    CHECK(differ.size() < 70);
    CHECK(vi::decode("Vi\xd6t Nam", vi::Encoding::Tcvn3, tables()) == "Việt Nam");
}

TEST_CASE("CP1258 text decodes and normalizes back to the NFC original") {
    UErrorCode status = U_ZERO_ERROR;
    UConverter* conv = ucnv_open("windows-1258", &status);
    REQUIRE(U_SUCCESS(status));
    std::size_t checked = 0;
    for (std::size_t i = 0; i < dictionary().size(); i += 7) {
        const std::string& w = dictionary()[i];
        // CP1258 writes â ê ô ơ ư ă đ precomposed and tones as combining marks after them.
        icu::UnicodeString u;
        icu::UnicodeString in = icu::UnicodeString::fromUTF8(w);
        for (std::int32_t k = 0; k < in.length(); ++k) {
            const vi::Letter l = vi::split(static_cast<char32_t>(in.char32At(k)));
            if (l.vowel < 0 || l.tone == vi::NoTone) {
                u.append(in.char32At(k));
                continue;
            }
            static const UChar32 marks[] = {0, 0x0300, 0x0301, 0x0309, 0x0303, 0x0323};
            u.append(static_cast<UChar32>(vi::compose(l.vowel, vi::NoTone, l.upper)));
            u.append(marks[l.tone]);
        }
        char buffer[256];
        const std::int32_t n = u.extract(buffer, sizeof buffer, conv, status);
        REQUIRE(U_SUCCESS(status));
        CHECK(text().normalize(vi::decode(std::string(buffer, static_cast<std::size_t>(n)),
                                          vi::Encoding::Cp1258, tables())) == w);
        ++checked;
    }
    ucnv_close(conv);
    CHECK(checked > 900);
}

TEST_CASE("VNI, VIQR, UTF-16 and invalid input") {
    CHECK(vi::decode("Vie\xe4t Nam", vi::Encoding::Vni, tables()) == "Việt Nam");
    CHECK(vi::decode("Vie^.t Nam, dda^'t nu+o+'c", vi::Encoding::Viqr, tables()) ==
          "Việt Nam, đất nước");
    CHECK(vi::decode("co\\? gi\\` khong?", vi::Encoding::Viqr, tables()) == "co? gi` khong?");
    // "Hài lòng" in UTF-16BE, as Kannel hands UCS-2 messages over.
    const std::string utf16("\x00H\x00\xe0\x00i\x00 \x00l\x00\xf2\x00n\x00g", 16);
    CHECK(vi::decode(utf16, vi::Encoding::Utf16BE, tables()) == "Hài lòng");
    auto p = test::problemOf([] { vi::decode("ok\xff", vi::Encoding::Utf8, tables()); });
    CHECK(p.code() == "text.invalid_encoding");
    CHECK(p.params().at("offset") == "2");
    CHECK(vi::decode("ok\xff", vi::Encoding::Utf8, tables(), vi::Invalid::Replace) ==
          "ok\xEF\xBF\xBD");
    // A valid surrogate pair first, then a lone high surrogate at byte 6.
    p = test::problemOf([] {
        vi::decode(std::string("\x00"
                               "a\xd8\x3d\xde\x00\xd8\x00\x00"
                               "b",
                               10),
                   vi::Encoding::Utf16BE, tables());
    });
    CHECK(p.params().at("offset") == "6");
    // An odd byte at the end of UTF-16 is cut off at byte 2.
    p = test::problemOf(
        [] { vi::decode(std::string("a\0b", 3), vi::Encoding::Utf16LE, tables()); });
    CHECK(p.params().at("offset") == "2");
}

TEST_CASE("detect() tells the encodings of a Vietnamese text apart") {
    const std::string sample =
        "Cán bộ hướng dẫn nhiệt tình, thủ tục nhanh gọn. Phòng chờ hơi nóng, thiếu ghế ngồi. "
        "Đề nghị bổ sung quạt và nước uống cho người dân đến làm hồ sơ.";
    // Encode the sample in each legacy encoding with the tables themselves (reversed).
    std::map<char32_t, std::string> toTcvn, toVni;
    for (unsigned b = 0x80; b < 256; ++b)
        if (char32_t c = tables().tcvn3(static_cast<unsigned char>(b)))
            toTcvn[c] = std::string(1, static_cast<char>(b));
    for (const std::string& line : lines(test::sourceDir() + "/locale/vi/encodings/vni.tsv")) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string bytes, cp;
        std::getline(fields, bytes, '\t');
        std::getline(fields, cp, '\t');
        std::string seq;
        std::istringstream hex(bytes);
        for (std::string h; hex >> h;) seq.push_back(static_cast<char>(std::stoul(h, nullptr, 16)));
        toVni[static_cast<char32_t>(std::stoul(cp.substr(2), nullptr, 16))] = seq;
    }
    auto encode = [&](const std::map<char32_t, std::string>& table) {
        std::string out;
        icu::UnicodeString u = icu::UnicodeString::fromUTF8(sample);
        for (std::int32_t i = 0; i < u.length(); ++i) {
            const char32_t c = static_cast<char32_t>(u.char32At(i));
            auto it = table.find(c);
            if (it != table.end())
                out += it->second;
            else if (c < 0x80)
                out.push_back(static_cast<char>(c));
            else
                FAIL("no byte for a letter of the sample");
        }
        return out;
    };
    const std::string tcvn = encode(toTcvn), vni = encode(toVni);
    CHECK(vi::decode(tcvn, vi::Encoding::Tcvn3, tables()) == sample);
    CHECK(vi::decode(vni, vi::Encoding::Vni, tables()) == sample);
    auto d = vi::detect(tcvn, tables());
    CHECK(d.encoding == vi::Encoding::Tcvn3);
    CHECK(d.confidence > 0.5);
    d = vi::detect(vni, tables());
    CHECK(d.encoding == vi::Encoding::Vni);
    CHECK(d.confidence > 0.5);
    CHECK(vi::detect(sample, tables()).encoding == vi::Encoding::Utf8);
    CHECK(vi::detect("Vie^.t Nam dda^'t nu+o+'c", tables()).encoding == vi::Encoding::Viqr);
    CHECK(vi::detect("plain ascii text", tables()).encoding == vi::Encoding::Utf8);
}

TEST_CASE("normalize is idempotent on a generated corpus of messy text") {
    std::mt19937 rng(20251125);
    const auto& words = dictionary();
    const std::vector<std::string> noise{" ",        "  ", "\t",          "\n",
                                         ", ",       ".",  "\xC2\xA0",    "\xE2\x80\x8B",
                                         "\xC3\x90", "!",  "\xEF\xBB\xBF"};
    std::size_t checked = 0, settled = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const int n = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < n; ++k) {
            std::string w = words[rng() % words.size()];
            switch (rng() % 4) {
                case 0:
                    w = nfd(w);
                    break;
                case 1:
                    w = text().normalize(w, ToneStyle::Old);
                    break;
                default:
                    break;
            }
            s += w + noise[rng() % noise.size()];
        }
        const std::string once = text().normalize(s);
        CHECK(text().normalize(once) == once);
        // The one-pass fast check agrees with the full pipeline: what it calls settled is.
        for (const std::string* x : std::initializer_list<const std::string*>{&s, &once}) {
            if (!vi::isSettled(*x, ToneStyle::New)) continue;
            ++settled;
            std::string moved;
            CHECK_FALSE(vi::placeTones(*x, ToneStyle::New, moved));
            UErrorCode status = U_ZERO_ERROR;
            CHECK(icu::Normalizer2::getNFCInstance(status)->isNormalized(
                icu::UnicodeString::fromUTF8(*x), status));
            CHECK(x->find("  ") == std::string::npos);
            CHECK(x->find('\n') == std::string::npos);
        }
        ++checked;
    }
    CHECK(checked == 20000);
    CHECK(settled > 10000);  // the fast path is the common case on normalized text
}

TEST_CASE("the compiled settled-check agrees with its rules applied step by step") {
    // Pieces that reach every event and every decoder state: toned and plain vowels of both
    // cases, "qu"/"gi", đ, spaces and separators, quotes and dashes (E2 80 xx), letters and signs
    // outside the tables, marks, controls, odd spaces, 4-byte characters and broken UTF-8.
    std::vector<std::string> pieces{"q",
                                    "Q",
                                    "g",
                                    "G",
                                    "n",
                                    "h",
                                    "t",
                                    "đ",
                                    "Đ",
                                    "ng",
                                    " ",
                                    " ",
                                    " ",
                                    ",",
                                    ".",
                                    "-",
                                    "\xE2\x80\x9C",
                                    "\xE2\x80\xA6",
                                    "\xE2\x80\x8B",
                                    "\xC2\xA0",
                                    "\xC2\xAB",
                                    "\xC3\x90",
                                    "\xC3\x97",
                                    "\xC3\xB1",
                                    "\xCC\x81",
                                    "\xD0\xB4",
                                    "\xE4\xB8\xAD",
                                    "\xF0\x9F\x98\x80",
                                    "\t",
                                    "\n",
                                    "\xFF",
                                    "\xC3",
                                    "\xE1\xBA",
                                    "\xE1\xB8\x80",
                                    "\xE2\x82\xAC"};
    for (int v = 0; v < 12; ++v)
        for (int tone = 0; tone < 6; ++tone)
            for (bool upper : {false, true}) {
                std::string letter;
                icu::UnicodeString(
                    static_cast<UChar32>(vi::compose(v, static_cast<vi::Tone>(tone), upper)))
                    .toUTF8String(letter);
                pieces.push_back(letter);
            }
    std::mt19937 rng(7);
    std::size_t settled = 0;
    for (int i = 0; i < 200000; ++i) {
        std::string s;
        const int n = 1 + static_cast<int>(rng() % 12);
        for (int k = 0; k < n; ++k) {
            // Mostly vowels and consonants, so that syllables of two and three vowels are common.
            const std::size_t at = rng() % 3 ? 35 + rng() % (pieces.size() - 35) : rng() % 35;
            s += pieces[at];
        }
        for (ToneStyle style : {ToneStyle::New, ToneStyle::Old}) {
            const bool fast = vi::isSettled(s, style);
            INFO("text: " << s);
            REQUIRE(fast == vi::isSettledStepByStep(s, style));
            settled += fast;
            // A leading space sends it down the full pipeline, which must then change nothing else.
            if (fast) CHECK(text().normalize(" " + s, style) == s);
        }
    }
    CHECK(settled > 20000);  // both answers are common, so neither is checked only one way
    CHECK(settled < 380000);
}

TEST_CASE("replies: the intent table, read as the table says") {
    const auto rows = lines(test::sourceDir() + "/tests/text/intents.tsv");
    std::size_t cases = 0;
    for (const std::string& row : rows) {
        if (row.empty() || row[0] == '#') continue;
        const std::vector<std::string> f = tsv::split(row);
        REQUIRE(f.size() == 5);
        const ReplyIntent got = text().readReply(f[0]);
        static const char* names[] = {"none", "rate", "stop", "help"};
        INFO("reply: " << f[0]);
        CHECK(names[static_cast<int>(got.command)] == f[1]);
        CHECK((got.score ? std::to_string(*got.score) : std::string()) == f[2]);
        CHECK(got.code == f[3]);
        CHECK(got.comment == text().normalize(f[4]));
        ++cases;
    }
    CHECK(cases >= 150);
    // The one that matters most: "không hài lòng" is never "hài lòng".
    for (const char* reply : {"không hài lòng", "ko hai long", "KHONG HAI LONG", "k hl", "khl",
                              "chưa hài lòng", "chẳng hài lòng gì"})
        CHECK(text().readReply(reply).score != std::optional<int>(4));
}

TEST_CASE("comment tags: sentiment with negation, topics") {
    auto tags = text().tag("Cán bộ rất nhiệt tình, hướng dẫn chu đáo");
    CHECK(tags.sentiment == "positive");
    CHECK(std::find(tags.topics.begin(), tags.topics.end(), "attitude") != tags.topics.end());
    tags = text().tag("Cán bộ không nhiệt tình, chờ lâu quá");
    CHECK(tags.sentiment == "negative");
    CHECK(std::find(tags.topics.begin(), tags.topics.end(), "waiting") != tags.topics.end());
    tags = text().tag("tra ket qua tre hen, phai di lai nhieu lan");
    CHECK(tags.sentiment == "negative");
    CHECK(std::find(tags.topics.begin(), tags.topics.end(), "result") != tags.topics.end());
    CHECK(text().tag("Tôi đến nộp hồ sơ").sentiment == "neutral");
}

TEST_CASE("syllables come from ICU's word breaks") {
    CHECK(text().syllables("Thủ tục đăng ký khai sinh, 2 ngày!") ==
          std::vector<std::string>{"Thủ", "tục", "đăng", "ký", "khai", "sinh", "2", "ngày"});
}
