// hailong — secrets that every host of one database shares (the phone key, the link key).
#pragma once

#include "store/Database.h"

#include <string>
#include <string_view>

namespace hailong {

/// The secret called `name` in host_secrets: 32 random bytes as hex, drawn and stored by the
/// first host that asks; every later call, on any host of the database, reads the same one.
/// Call it outside any write transaction of the caller (it writes in its own).
std::string hostSecret(Database& db, std::string_view name);

}  // namespace hailong
