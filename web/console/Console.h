// hailong — the console for officials and analysts: sign-in, their part of the agency tree
// (agencies, counters, officers, devices), accounts and the audit log, as server-rendered pages.
#pragma once

#include <memory>

namespace hailong {

class Runtime;

/// Registers the console's pages under /console/. Every page checks the session and the
/// agency scope on the server; every form carries the session's anti-forgery key; every
/// change is written to the audit log. Thread-safe handlers. The handle returned keeps the
/// console alive: hold it as long as the routes (the Runtime does).
std::shared_ptr<void> registerConsole(Runtime& runtime);

}  // namespace hailong
