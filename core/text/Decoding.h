// hailong — reading Vietnamese text in the encodings it arrives in: UTF-8, UTF-16 (SMS
// gateways), Windows-1258, and the legacy TCVN3, VNI-Windows and VIQR of old office files.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong::vi {

enum class Encoding { Utf8, Utf16BE, Utf16LE, Cp1258, Tcvn3, Vni, Viqr };

/// "utf8", "utf-16be", "cp1258", "windows-1258", "tcvn3", "vni", "viqr" (any case).
std::optional<Encoding> encodingNamed(std::string_view name);
const char* toString(Encoding e);

/// The TCVN3 and VNI tables of locale/vi/encodings. Immutable after load; thread-safe.
class LegacyTables {
public:
    /// Reads <folder>/tcvn3.tsv and <folder>/vni.tsv; throws std::runtime_error naming the file
    /// and line of anything malformed.
    explicit LegacyTables(const std::string& folder);
    /// Empty tables: enough for every encoding but TCVN3 and VNI.
    LegacyTables() = default;
    char32_t tcvn3(unsigned char byte) const { return tcvn3_[byte]; }
    /// The longest VNI sequence at `bytes` (1 or 2 bytes): its letter and length; 0 if none.
    std::pair<char32_t, std::size_t> vni(std::string_view bytes) const;

private:
    std::array<char32_t, 256> tcvn3_{};
    std::map<std::string, char32_t, std::less<>> vni_;  // sequence -> letter
};

/// What to do with bytes that are not valid in the encoding.
enum class Invalid { Reject, Replace };

/// Decodes `bytes` to NFC UTF-8. With Invalid::Reject, a bad sequence throws Problem(400,
/// "text.invalid_encoding") with its byte offset; with Replace it becomes U+FFFD.
std::string decode(std::string_view bytes, Encoding encoding, const LegacyTables& tables,
                   Invalid invalid = Invalid::Reject);

struct Detection {
    Encoding encoding = Encoding::Utf8;
    double confidence = 0;  ///< 0..1: how sure the guess is
    std::string reason;     ///< why, in a few words (for the CLI and import reports)
};

/// Guesses the encoding of an imported file from its bytes.
Detection detect(std::string_view bytes, const LegacyTables& tables);

}  // namespace hailong::vi
