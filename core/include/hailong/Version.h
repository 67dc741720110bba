// hailong — the version of the product and of the plugin API.
#pragma once

/// The plugin API version. A plugin built against another value is refused at load time.
/// Raise it whenever a class in core/include/hailong/ changes its layout or virtual functions.
#define HAILONG_PLUGIN_API 5

namespace hailong {
/// The product version, e.g. "0.1.0" (set by CMake).
const char* productVersion() noexcept;
}  // namespace hailong
