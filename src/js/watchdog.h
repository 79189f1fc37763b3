// Enforces the CPU-time limit of JavaScript events.
//
// Each thread that runs JavaScript owns a Slot. Around every entry into JS it calls Enter() and
// Exit(); a watchdog thread measures the thread's CPU time since Enter() and, past the limit,
// terminates the isolate's execution. The termination is tied to the entry's token, so a late
// watchdog can never terminate a later, innocent entry.
//
// Thread-safe.
#pragma once

#include <v8.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>
#include <time.h>

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

   private:
    friend class Watchdog;
    explicit Slot(long long limit_ns);
    mutable std::mutex mu_;
    clockid_t clock_;
    long long limit_ns_;
    v8::Isolate* isolate_ = nullptr;
    unsigned long long token_ = 0;
    unsigned long long next_token_ = 1;
    long long start_cpu_ns_ = 0;
    bool terminated_ = false;
    int depth_ = 0;
  };

  explicit Watchdog(std::chrono::milliseconds cpu_limit);
  ~Watchdog();

  // A slot for the calling thread. The slot lives as long as the watchdog.
  Slot* RegisterCurrentThread();

 private:
  void Run();
  long long limit_ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::thread thread_;
};

}  // namespace dorm::js
