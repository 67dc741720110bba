#include "text/IcuTextNormalizer.h"

#include "common/Utf8.h"

#include <hailong/Problem.h>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <stdexcept>

namespace hailong {
namespace {

void requireUtf8(std::string_view text) {
    if (auto bad = utf8::firstInvalid(text))
        throw Problem(400, "text.invalid_utf8", {{"offset", std::to_string(*bad)}});
}

const icu::Normalizer2& normalizer(bool composed) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = composed ? icu::Normalizer2::getNFCInstance(status)
                                         : icu::Normalizer2::getNFDInstance(status);
    if (U_FAILURE(status) || n == nullptr) throw std::logic_error("ICU normalizer unavailable");
    return *n;
}

// Collapses runs of white space (any Unicode space) into one ASCII space and trims the ends.
icu::UnicodeString tidySpaces(const icu::UnicodeString& in) {
    icu::UnicodeString out;
    bool pendingSpace = false;
    for (int32_t i = 0; i < in.length();) {
        const UChar32 c = in.char32At(i);
        i += U16_LENGTH(c);
        if (u_isUWhiteSpace(c) || c == 0x200B || c == 0xFEFF) {
            pendingSpace = !out.isEmpty();
            continue;
        }
        if (u_iscntrl(c)) continue;
        if (pendingSpace) out.append(static_cast<UChar>(0x20));
        pendingSpace = false;
        out.append(c == 0x00D0 ? static_cast<UChar32>(0x0110) : c);  // Ð (Icelandic eth) -> Đ
    }
    return out;
}

}  // namespace

std::string IcuTextNormalizer::normalize(std::string_view text) const {
    requireUtf8(text);
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString s = tidySpaces(icu::UnicodeString::fromUTF8(
        icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))));
    const icu::Normalizer2& nfc = normalizer(true);
    const int32_t done = nfc.spanQuickCheckYes(s, status);
    if (U_SUCCESS(status) && done < s.length()) {
        icu::UnicodeString head(s, 0, done);
        icu::UnicodeString tail(s, done);
        nfc.normalizeSecondAndAppend(head, tail, status);
        s = head;
    }
    if (U_FAILURE(status)) throw std::logic_error(u_errorName(status));
    std::string out;
    s.toUTF8String(out);
    return out;
}

std::string IcuTextNormalizer::key(std::string_view text) const {
    requireUtf8(text);
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString s = tidySpaces(icu::UnicodeString::fromUTF8(
        icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))));
    s.foldCase();
    icu::UnicodeString decomposed = normalizer(false).normalize(s, status);
    if (U_FAILURE(status)) throw std::logic_error(u_errorName(status));
    icu::UnicodeString out;
    for (int32_t i = 0; i < decomposed.length();) {
        const UChar32 c = decomposed.char32At(i);
        i += U16_LENGTH(c);
        if (u_getCombiningClass(c) != 0 || u_charType(c) == U_NON_SPACING_MARK) continue;
        out.append(c == 0x0111 ? static_cast<UChar32>('d') : c);  // đ has no decomposition
    }
    std::string result;
    out.toUTF8String(result);
    return result;
}

}  // namespace hailong
