// hailong — IngestService: the Ingest implementation. Validates on the caller's thread, then
// one writer thread commits queued submissions in groups (group commit).
#pragma once

#include "store/Database.h"

namespace hailong::cases {
class CaseStore;
}

#include <hailong/Directory.h>
#include <hailong/Ingest.h>
#include <hailong/Survey.h>
#include <hailong/TextNormalizer.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace hailong {

/// Owns the writer thread. Thread-safe: submit() may be called from any number of threads;
/// each call returns only after its group's COMMIT (acknowledged means durable).
/// Destruction or stop() drains the queue before the writer exits.
class IngestService final : public Ingest {
public:
    struct Options {
        std::size_t batchMax = 256;    ///< most submissions in one transaction
        std::size_t queueMax = 10000;  ///< beyond this, submit() answers Unavailable
    };
    struct Stats {
        std::uint64_t stored = 0, duplicates = 0, batches = 0, held = 0;
    };

    IngestService(Database& db, const SurveyCatalog& surveys, const Directory& directory,
                  const TextNormalizer& text, Options options);
    ~IngestService() override;
    IngestService(const IngestService&) = delete;
    IngestService& operator=(const IngestService&) = delete;

    Receipt submit(const Submission& submission) override;
    /// Written at once in its own transaction (holds are rare), not through the writer queue.
    Receipt hold(const Submission& submission, std::string_view reason) override;
    std::optional<Receipt> answered(std::string_view dossierCode,
                                    std::string_view surveyId) override;
    /// Validates without storing: throws the Problem(422) submit() would throw, or returns.
    void check(const Submission& submission) const;
    /// Called on the writer thread after each commit with the agencies of the responses it
    /// stored (not the duplicates); it must return at once. Set before the first submit().
    void setStoredListener(std::function<void(const std::vector<std::int64_t>&)> listener) {
        storedListener_ = std::move(listener);
    }
    /// Opens follow-up cases for the responses that call for one, in the transaction that stores
    /// them (a response and its case are durable together). Set before the first submit().
    void setCases(cases::CaseStore* cases) { cases_ = cases; }
    /// Stops accepting, commits what is queued, joins the writer. Idempotent.
    void stop();
    Stats stats() const;
    std::size_t queued() const;

    /// A validated submission with every reference resolved to ids. Internal, but public so the
    /// validation can be tested on its own.
    struct Record;
    /// Writes one group inside the writer's transaction (per backend). Internal.
    class GroupWriter;

private:
    struct Pending;
    Record validate(const Submission& submission) const;
    void validateAnswers(const Survey& survey, const std::vector<Answer>& answers, Record& record,
                         std::vector<FieldError>& errors) const;
    void writerLoop();
    void commitBatch(std::vector<Pending*>& batch);

    Database& db_;
    const SurveyCatalog& surveys_;
    const Directory& directory_;
    const TextNormalizer& text_;
    Options options_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Pending*> queue_;
    bool stopping_ = false;
    Stats stats_;
    std::function<void(const std::vector<std::int64_t>&)> storedListener_;
    cases::CaseStore* cases_ = nullptr;
    std::thread writer_;
};

}  // namespace hailong
