// hailong — the dashboard's data made readable: numbers in the reader's language, names for
// codes, the lists cut for a page, and the charts drawn as SVG beside their tables. The console
// page and the printable report both show what this adds.
#pragma once

#include <Poco/JSON/Object.h>

#include <functional>
#include <map>
#include <string>

namespace hailong {

/// A console string in the page's language, with {placeholders} filled.
using ConsoleText =
    std::function<std::string(const std::string& key, const std::map<std::string, std::string>&)>;

/// Adds the texts, rows and charts a page shows to `data` (what dashboardData() returned), in
/// `lang`. `rowsShown` rows of each ranking are shown at once, the rest folded away. Pure
/// (no I/O); thread-safe.
void addDashboardView(Poco::JSON::Object::Ptr data, const std::string& lang, const ConsoleText& t,
                      std::size_t rowsShown = 15);

/// Adds "when" and "text" (the alert in words) to an alert as alertJson() wrote it.
void addAlertView(Poco::JSON::Object::Ptr alert, const std::string& lang, const ConsoleText& t);

}  // namespace hailong
