#include "js/watchdog.h"

#include <v8.h>

namespace dorm::js {
namespace {
long long CpuNanos(clockid_t clock) {
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}
long long WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Watchdog::Slot::Slot(long long limit_ns, long long wall_limit_ns)
    : limit_ns_(limit_ns), wall_limit_ns_(wall_limit_ns) {
  pthread_getcpuclockid(pthread_self(), &clock_);
}

void Watchdog::Slot::Enter(v8::Isolate* isolate) {
  if (depth_++ > 0) return;  // nested entries share the outer one's budget
  isolate_.store(isolate, std::memory_order_relaxed);
  token_.store(next_token_++, std::memory_order_release);
}

bool Watchdog::Slot::Exit() {
  if (--depth_ > 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  bool terminated = terminated_;
  token_.store(0, std::memory_order_relaxed);
  terminated_ = false;
  terminating_.store(false, std::memory_order_relaxed);
  return terminated;
}

bool Watchdog::Slot::active() const { return token_.load() != 0; }

Watchdog::Watchdog(std::chrono::milliseconds cpu_limit, std::chrono::milliseconds wall_limit)
    : limit_ns_(static_cast<long long>(cpu_limit.count()) * 1000000LL),
      wall_limit_ns_(wall_limit.count() > 0 ? static_cast<long long>(wall_limit.count()) * 1000000LL
                                            : 2 * limit_ns_ + 5000000000LL),
      thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Watchdog::Slot* Watchdog::RegisterCurrentThread() {
  std::lock_guard<std::mutex> lock(mu_);
  slots_.emplace_back(new Slot(limit_ns_, wall_limit_ns_));
  return slots_.back().get();
}

void Watchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  // Poll often enough that a runaway loop is stopped close to its limit, rarely enough to cost
  // nothing measurable.
  auto period = std::chrono::milliseconds(limit_ns_ < 2000000000LL ? 10 : 50);
  while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
    for (auto& slot : slots_) {
      unsigned long long token = slot->token_.load(std::memory_order_acquire);
      if (token == 0) continue;
      long long now = CpuNanos(slot->clock_);
      long long wall = WallNanos();
      if (token != slot->seen_token_) {
        slot->seen_token_ = token;
        slot->seen_cpu_ns_ = now;
        slot->seen_wall_ns_ = wall;
        continue;
      }
      if (now - slot->seen_cpu_ns_ <= slot->limit_ns_ &&
          wall - slot->seen_wall_ns_ <= slot->wall_limit_ns_) {
        continue;
      }
      std::lock_guard<std::mutex> slot_lock(slot->mu_);
      // Still the same entry (Exit() takes the lock, so it cannot end in between)?
      if (slot->token_.load() != token || slot->terminated_) continue;
      slot->terminated_ = true;
      slot->terminating_.store(true, std::memory_order_relaxed);
      slot->isolate_.load()->TerminateExecution();
    }
  }
}

}  // namespace dorm::js
