// hailong — IcuTextNormalizer: the TextNormalizer built on ICU.
#pragma once

#include <hailong/TextNormalizer.h>

namespace hailong {

/// NFC (with ICU's quick-check fast path), U+00D0 read as Đ, whitespace tidied; keys are
/// case-folded and accent-free (đ -> d). Thread-safe: ICU normalizer instances are immutable
/// singletons. The full Vietnamese pipeline (legacy encodings, tone placement, reply reading)
/// grows here.
class IcuTextNormalizer final : public TextNormalizer {
public:
    std::string normalize(std::string_view utf8) const override;
    std::string key(std::string_view utf8) const override;
};

}  // namespace hailong
