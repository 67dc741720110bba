// hailong — exports to files: one way for the CLI and the console, and the console's background
// export jobs.
#pragma once

#include "export/ResponseExport.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hailong {

class Runtime;

/// What to export, and how.
struct ExportRequest {
    exports::ExportFilter filter;
    std::string format;      ///< csv, csv-excel, xlsx, sav or jsonl
    char delimiter = ';';    ///< csv-excel: ';' or ','
    std::string agencyCode;  ///< the scope's agency ("" for every response), for the indices
};

/// The formats, and their file names' extensions ("csv-excel" → "csv").
bool isExportFormat(const std::string& format);
std::string exportExtension(const std::string& format);

/// Writes `request` to `path` through `path`.part, renamed into place only when complete (a
/// failure removes it: a file under the name asked is always whole). XLSX adds a sheet of the
/// codebook and one of the indices for the same filter (by agency; by procedure when the filter
/// has one). Returns the rows written. Throws Problem for a bad filter, std::runtime_error when
/// the file cannot be written.
std::size_t writeExport(Runtime& rt, const ExportRequest& request, const std::string& path,
                        const exports::ExportProgress& progress = {});

/// One export asked for in the console.
struct ExportJob {
    std::string id;  ///< 128 random bits, hex: also what the download link names
    std::int64_t userId = 0;
    ExportRequest request;
    std::string state = "queued";  ///< queued, running, done, failed
    std::size_t done = 0, total = 0;
    std::string error;  ///< failed: why, in the filter's language
    std::int64_t createdMs = 0, finishedMs = 0;
    std::string file;  ///< done: its path
    std::uintmax_t bytes = 0;
};

/// The console's background exports: jobs run one at a time on a worker thread, into files under
/// `folder` kept for `keepHours`; each user sees and downloads only their own. Jobs live in
/// memory: a restart forgets them (their files are removed at the next start). Thread-safe.
class ExportJobs {
public:
    ExportJobs(Runtime& rt, std::string folder, int keepHours);
    ~ExportJobs();
    ExportJobs(const ExportJobs&) = delete;
    ExportJobs& operator=(const ExportJobs&) = delete;

    /// Queues an export; returns its id. At most 5 unfinished jobs per user (Problem 429).
    std::string submit(std::int64_t userId, ExportRequest request);
    /// The job, if `userId` asked for it.
    std::optional<ExportJob> find(const std::string& id, std::int64_t userId) const;
    /// `userId`'s jobs, newest first.
    std::vector<ExportJob> of(std::int64_t userId) const;
    /// Stops the worker (the running export is abandoned and its file removed).
    void stop();

private:
    void work();
    void tidy();  // forgets jobs past keepHours and removes their files

    Runtime& rt_;
    std::string folder_;
    std::int64_t keepMs_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<ExportJob> jobs_;  // newest first
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace hailong
