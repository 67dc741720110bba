// hailong — PluginStateStore: the PluginState of one plugin, in the plugin_state table.
#pragma once

#include "store/Database.h"

#include <hailong/PluginState.h>

#include <string>

namespace hailong {

/// One plugin's view of plugin_state. Thread-safe (each call uses its own pooled session).
class PluginStateStore final : public PluginState {
public:
    PluginStateStore(Database& db, std::string plugin) : db_(db), plugin_(std::move(plugin)) {}

    std::optional<std::string> get(std::string_view key) override;
    void put(std::string_view key, std::string_view value, std::int64_t expiresAtMs) override;
    void erase(std::string_view key) override;
    bool add(std::string_view key, std::string_view value, std::int64_t expiresAtMs) override;
    std::optional<std::string> take(std::string_view key) override;
    std::vector<std::pair<std::string, std::string>> takeExpired(std::string_view prefix,
                                                                 std::int64_t nowMs,
                                                                 std::size_t limit) override;

private:
    Database& db_;
    const std::string plugin_;
};

}  // namespace hailong
