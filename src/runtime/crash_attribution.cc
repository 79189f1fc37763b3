#include "runtime/crash_attribution.h"

#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>

namespace dorm::runtime {

namespace {

CrashAttribution* g_current = nullptr;

// The calling thread's slot and how deeply it is inside Scopes. Plain thread_local ints of the
// executable: read by the signal handler, which must not allocate or lock.
thread_local int t_slot = -2;  // -2: not registered yet; -1: no slot left
thread_local int t_depth = 0;

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
struct sigaction g_previous[sizeof kFatalSignals / sizeof kFatalSignals[0]];

int IndexOfSignal(int signal_number) {
  for (size_t i = 0; i < sizeof kFatalSignals / sizeof kFatalSignals[0]; ++i) {
    if (kFatalSignals[i] == signal_number) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

CrashAttribution* CrashAttribution::CreateShared(size_t threads) {
  size_t bytes = sizeof(CrashAttribution) + threads * sizeof(Slot);
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw std::runtime_error(std::string("cannot map the crash record: ") + std::strerror(errno));
  }
  auto* attribution = new (memory) CrashAttribution();
  attribution->capacity_ = threads;
  attribution->slots_ = new (static_cast<char*>(memory) + sizeof(CrashAttribution)) Slot[threads];
  return attribution;
}

void CrashAttribution::SetCurrent(CrashAttribution* attribution) { g_current = attribution; }

CrashAttribution* CrashAttribution::Current() { return g_current; }

int CrashAttribution::SlotOfThisThread() {
  if (t_slot == -2) {
    int slot = registered_.fetch_add(1);
    t_slot = slot < static_cast<int>(capacity_) ? slot : -1;
  }
  return t_slot;
}

CrashAttribution::Scope::Scope(std::string_view app) {
  CrashAttribution* self = g_current;
  if (!self) return;
  if (t_depth++ > 0) return;  // the outermost app stays
  slot_ = self->SlotOfThisThread();
  if (slot_ < 0) return;
  Slot& slot = self->slots_[slot_];
  size_t length = std::min(app.size(), kMaxAppName);
  if (slot.length.load(std::memory_order_relaxed) != length ||
      std::memcmp(slot.app, app.data(), length) != 0) {
    std::memcpy(slot.app, app.data(), length);
    slot.length.store(static_cast<uint32_t>(length), std::memory_order_relaxed);
  }
  slot.active.store(1, std::memory_order_release);
}

CrashAttribution::Scope::~Scope() {
  CrashAttribution* self = g_current;
  if (!self) return;
  if (--t_depth > 0) return;
  if (slot_ >= 0) self->slots_[slot_].active.store(0, std::memory_order_release);
}

void CrashAttribution::OnFatalSignal(int) {
  CrashAttribution* self = g_current;
  int slot = t_slot;
  if (self && slot >= 0 && t_depth > 0 &&
      self->slots_[slot].active.load(std::memory_order_acquire) == 1) {
    int none = -1;
    if (self->crashed_slot_.compare_exchange_strong(none, slot)) {
      uint32_t length = self->slots_[slot].length.load(std::memory_order_relaxed);
      std::memcpy(self->crashed_app_, self->slots_[slot].app, length);
      self->crashed_length_.store(length, std::memory_order_release);
    }
  }
}

namespace {

void FatalSignalHandler(int signal_number, siginfo_t* info, void* context) {
  CrashAttribution::OnFatalSignal(signal_number);
  int index = IndexOfSignal(signal_number);
  const struct sigaction& previous = g_previous[index];
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) {
      previous.sa_sigaction(signal_number, info, context);
      return;
    }
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(signal_number);
    return;
  }
  // The default action: restored, then taken when the faulting instruction runs again (or, for a
  // raised signal such as abort()'s, re-raised here).
  struct sigaction fallback = {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  ::sigaction(signal_number, &fallback, nullptr);
  if (info == nullptr || info->si_code <= 0) ::raise(signal_number);
}

}  // namespace

void CrashAttribution::InstallSignalHandlers() {
  for (size_t i = 0; i < sizeof kFatalSignals / sizeof kFatalSignals[0]; ++i) {
    struct sigaction action = {};
    action.sa_sigaction = &FatalSignalHandler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(kFatalSignals[i], &action, &g_previous[i]);
  }
}

std::string CrashAttribution::CrashedApp() const {
  if (crashed_slot_.load(std::memory_order_acquire) < 0) return "";
  return std::string(crashed_app_, crashed_length_.load(std::memory_order_acquire));
}

void CrashAttribution::Clear() {
  for (size_t i = 0; i < capacity_; ++i) {
    slots_[i].active.store(0);
    slots_[i].length.store(0);
  }
  registered_.store(0);
  crashed_slot_.store(-1);
  crashed_length_.store(0);
}

}  // namespace dorm::runtime
