// Enforces the CPU-time limit of JavaScript events, and a wall-clock limit on any single entry.
//
// Each thread that runs JavaScript owns a Slot. Around every entry into JS it calls Enter() and
// Exit(); a watchdog thread samples the thread's CPU time from the first time it sees an entry
// and, once the entry has used more than the limit since, terminates the isolate's execution.
// (Sampling from the watchdog keeps Enter() free of system calls; an entry can overrun by at most
// one polling period.) The termination is tied to the entry's token, so a late watchdog can never
// terminate a later, innocent entry.
//
// An entry can also stall without using CPU (blocked in a system call or a lock): after
// `wall_limit` of wall-clock time in one entry it is terminated the same way. While an entry is
// being terminated, terminating_flag() reads true, so that native code that runs long outside
// the JavaScript engine (SQLite, see storage/sql_interrupt.h) can stop too.
//
// Thread-safe.
#pragma once

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

// Only pointers to isolates are kept here: headers that include this one (e.g.
// runtime/runtime_shared.h) need not pull in all of V8.
namespace v8 {
class Isolate;
}  // namespace v8

namespace dorm::js {

class Watchdog {
 public:
  class Slot {
   public:
    // Begins a JS entry on `isolate` with a CPU limit. Must be called on the slot's thread.
    void Enter(v8::Isolate* isolate);
    // Ends the entry. Returns true if the watchdog terminated it for exceeding the CPU limit; the
    // caller must then CancelTerminateExecution() once the stack has unwound.
    bool Exit();
    bool active() const;
    // True from the moment the watchdog terminates the current entry until its Exit().
    const std::atomic<bool>* terminating_flag() const { return &terminating_; }

   private:
    friend class Watchdog;
    Slot(long long limit_ns, long long wall_limit_ns);
    // Guards termination against Exit(); Enter() needs no lock, since an entry can only begin
    // after the previous one's Exit().
    std::mutex mu_;
    clockid_t clock_;
    long long limit_ns_;
    long long wall_limit_ns_;
    std::atomic<bool> terminating_{false};
    std::atomic<v8::Isolate*> isolate_{nullptr};
    std::atomic<unsigned long long> token_{0};
    unsigned long long next_token_ = 1;  // owning thread only
    int depth_ = 0;                      // owning thread only
    bool terminated_ = false;            // under mu_
    // Watchdog thread only: the entry it last saw and the CPU time it saw it at.
    unsigned long long seen_token_ = 0;
    long long seen_cpu_ns_ = 0;
    long long seen_wall_ns_ = 0;
  };

  // `wall_limit` defaults to twice the CPU limit plus five seconds: far above what a busy machine
  // makes of an honest entry, far below forever.
  explicit Watchdog(std::chrono::milliseconds cpu_limit,
                    std::chrono::milliseconds wall_limit = std::chrono::milliseconds(0));
  ~Watchdog();

  // A slot for the calling thread. The slot lives as long as the watchdog.
  Slot* RegisterCurrentThread();

 private:
  void Run();
  long long limit_ns_;
  long long wall_limit_ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::thread thread_;
};

}  // namespace dorm::js
