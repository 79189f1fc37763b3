#include "js/watchdog.h"

namespace dorm::js {
namespace {
long long CpuNanos(clockid_t clock) {
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}
}  // namespace

Watchdog::Slot::Slot(long long limit_ns) : limit_ns_(limit_ns) {
  pthread_getcpuclockid(pthread_self(), &clock_);
}

void Watchdog::Slot::Enter(v8::Isolate* isolate) {
  std::lock_guard<std::mutex> lock(mu_);
  if (depth_++ > 0) return;  // nested entries share the outer one's budget
  isolate_ = isolate;
  token_ = next_token_++;
  start_cpu_ns_ = CpuNanos(clock_);
  terminated_ = false;
}

bool Watchdog::Slot::Exit() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--depth_ > 0) return false;
  bool terminated = terminated_;
  token_ = 0;
  isolate_ = nullptr;
  terminated_ = false;
  return terminated;
}

bool Watchdog::Slot::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return token_ != 0;
}

Watchdog::Watchdog(std::chrono::milliseconds cpu_limit)
    : limit_ns_(static_cast<long long>(cpu_limit.count()) * 1000000LL),
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
  slots_.emplace_back(new Slot(limit_ns_));
  return slots_.back().get();
}

void Watchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  // Poll often enough that a runaway loop is stopped close to its limit, rarely enough to cost
  // nothing measurable.
  auto period = std::chrono::milliseconds(limit_ns_ < 2000000000LL ? 10 : 50);
  while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
    for (auto& slot : slots_) {
      std::lock_guard<std::mutex> slot_lock(slot->mu_);
      if (slot->token_ == 0 || slot->terminated_) continue;
      if (CpuNanos(slot->clock_) - slot->start_cpu_ns_ > slot->limit_ns_) {
        slot->terminated_ = true;
        slot->isolate_->TerminateExecution();
      }
    }
  }
}

}  // namespace dorm::js
