// libFuzzer target for core/text: every decoder, the normalizer, the reply reader and the
// tagger take any bytes without crashing, normalize stays idempotent, and the compiled check
// for settled text agrees with its rules. Built with clang
// (-fsanitize=fuzzer,address,undefined) when clang++ is installed; ctest runs it for a bounded
// time (see tests/CMakeLists.txt).
#include "text/Decoding.h"
#include "text/IcuTextNormalizer.h"
#include "text/Tones.h"

#include <hailong/Problem.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace hailong;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const IcuTextNormalizer text(HAILONG_SOURCE_DIR "/locale");
    static const vi::LegacyTables tables(HAILONG_SOURCE_DIR "/locale/vi/encodings");
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    (void)vi::detect(bytes, tables);
    // The compiled settled-check says what its rules say, on any bytes.
    for (vi::ToneStyle style : {vi::ToneStyle::New, vi::ToneStyle::Old})
        if (vi::isSettled(bytes, style) != vi::isSettledStepByStep(bytes, style)) std::abort();
    for (vi::Encoding e :
         {vi::Encoding::Utf8, vi::Encoding::Utf16BE, vi::Encoding::Utf16LE, vi::Encoding::Cp1258,
          vi::Encoding::Tcvn3, vi::Encoding::Vni, vi::Encoding::Viqr}) {
        std::string decoded;
        try {
            decoded = vi::decode(bytes, e, tables, vi::Invalid::Replace);
        } catch (const Problem&) {
            continue;  // VIQR of invalid UTF-8 is refused even when replacing: fine
        }
        const std::string once = text.normalize(decoded);
        if (text.normalize(once) != once) std::abort();  // idempotence is a promise
        (void)text.key(once);
        (void)text.readReply(once);
        (void)text.tag(once);
        (void)text.normalize(once, vi::ToneStyle::Old);
    }
    try {
        (void)vi::decode(bytes, vi::Encoding::Utf8, tables, vi::Invalid::Reject);
    } catch (const Problem&) {
    }
    return 0;
}
