// hailong — reading the responses stored before hailong read each response at ingest: their
// mood and their citizen's words (sentiment, topics, search key), once, at the first start of a
// version that keeps them.
#pragma once

#include "store/Database.h"

#include <hailong/Survey.h>
#include <hailong/TextNormalizer.h>

#include <cstddef>

namespace hailong {

/// Reads every response whose reading is missing, in batches of `batch`, each batch in its own
/// write transaction; responses the index already folded also get their hour-of-week counts
/// there. Several hosts may run it at once: a response is claimed by its own update. Returns
/// how many responses it read.
std::size_t readOlderResponses(Database& db, const SurveyCatalog& surveys,
                               const TextNormalizer& text, std::size_t batch = 1000);

}  // namespace hailong
