#include <hailong/ChannelPlugin.h>
#include <hailong/Problem.h>
#include <hailong/Version.h>

namespace hailong {

Problem::Problem(int status, std::string code, std::map<std::string, std::string> params,
                 std::vector<FieldError> errors)
    : std::runtime_error(code),
      status_(status),
      code_(std::move(code)),
      params_(std::move(params)),
      errors_(std::move(errors)) {}

ChannelPlugin::~ChannelPlugin() = default;

const char* productVersion() noexcept {
    return HAILONG_VERSION_STRING;
}

}  // namespace hailong
