// hailong — PeriodicTask: a function run every period on a thread of its own (sweeps, feeds).
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace hailong {

/// Runs `run` every `period` on its own thread, from start() until stop() (or destruction).
/// Thread-safe: start and stop may be called from any thread, more than once; `run` never runs
/// twice at once. What `run` throws goes to `failed` (the next period tries again): a sweep
/// whose database is away must not end the thread.
class PeriodicTask {
public:
    PeriodicTask(std::chrono::milliseconds period, std::function<void()> run,
                 std::function<void(const std::exception&)> failed = {})
        : period_(period), run_(std::move(run)), failed_(std::move(failed)) {}
    ~PeriodicTask() { stop(); }
    PeriodicTask(const PeriodicTask&) = delete;
    PeriodicTask& operator=(const PeriodicTask&) = delete;

    void start() {
        std::lock_guard lock(mutex_);
        if (thread_.joinable()) return;
        stopping_ = false;
        thread_ = std::thread([this] { loop(); });
    }
    /// Returns once the thread has ended (a run in progress finishes first).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

private:
    void loop() {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
            lock.unlock();
            try {
                run_();
            } catch (const std::exception& e) {
                if (failed_) failed_(e);
            }
            lock.lock();
        }
    }

    const std::chrono::milliseconds period_;
    const std::function<void()> run_;
    const std::function<void(const std::exception&)> failed_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hailong
