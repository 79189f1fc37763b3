#include "runtime/long_turn_limit.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>

namespace dorm::runtime {

LongTurnLimit::LongTurnLimit(size_t capacity, size_t max_threads,
                             std::chrono::nanoseconds long_after,
                             std::chrono::nanoseconds heavy_period, std::chrono::nanoseconds linger,
                             std::chrono::nanoseconds waiter_first_after)
    : capacity_(capacity),
      max_threads_(std::max<size_t>(1, max_threads)),
      long_after_ns_(long_after.count()),
      heavy_period_ns_(heavy_period.count()),
      linger_ns_(linger.count()),
      waiter_first_after_ns_(waiter_first_after.count()),
      slots_(new Slot[capacity]),
      heavy_until_ns_(new std::atomic<int64_t>[kHeavyBuckets]) {
  for (size_t i = 0; i < kHeavyBuckets; ++i) heavy_until_ns_[i].store(INT64_MIN);
}

size_t LongTurnLimit::DefaultMaxThreads(size_t threads) { return std::max<size_t>(1, threads / 2); }

uint64_t LongTurnLimit::AppTag(const std::string& app) {
  // 0 means "no turn": shift a hash that happens to be 0.
  uint64_t tag = std::hash<std::string>{}(app);
  return tag == 0 ? 1 : tag;
}

int LongTurnLimit::Register() {
  int slot = registered_.fetch_add(1);
  if (slot < 0 || static_cast<size_t>(slot) >= capacity_) return -1;
  return slot;
}

void LongTurnLimit::Begin(int slot, uint64_t tag, int64_t now_ns) {
  if (slot < 0) return;
  // The times first: a reader that sees the tag sees this turn's times (or later ones).
  slots_[slot].started_ns.store(now_ns, std::memory_order_relaxed);
  slots_[slot].tag.store(tag, std::memory_order_release);
  Slot& s = slots_[slot];
  if (s.waiting_tag.load(std::memory_order_relaxed) == tag) {
    // Let in after waiting its turn: the app stays this thread's for as long, as after a long
    // turn (otherwise the thread it came from, free again between two of this thread's turns,
    // would take it back at once, and this thread's objects would get one turn per wait).
    if (Waits(s, tag, now_ns) &&
        now_ns - s.waiting_since_ns.load(std::memory_order_relaxed) >= waiter_first_after_ns_) {
      ExtendLinger(s, tag, now_ns + waiter_first_after_ns_);
    }
    s.waiting_tag.store(0, std::memory_order_release);
  }
}

void LongTurnLimit::ExtendLinger(Slot& s, uint64_t tag, int64_t until_ns) {
  if (s.linger_tag.load(std::memory_order_relaxed) == tag &&
      s.linger_until_ns.load(std::memory_order_relaxed) > until_ns) {
    return;
  }
  s.linger_until_ns.store(until_ns, std::memory_order_relaxed);
  s.linger_tag.store(tag, std::memory_order_release);
}

void LongTurnLimit::NoteRefused(int slot, uint64_t tag, int64_t now_ns) {
  if (slot < 0 || static_cast<size_t>(slot) >= capacity_) return;
  Slot& s = slots_[slot];
  if (!Waits(s, tag, now_ns)) s.waiting_since_ns.store(now_ns, std::memory_order_relaxed);
  s.waiting_seen_ns.store(now_ns, std::memory_order_relaxed);
  s.waiting_tag.store(tag, std::memory_order_release);
}

bool LongTurnLimit::Waits(const Slot& s, uint64_t tag, int64_t now_ns) const {
  return s.waiting_tag.load(std::memory_order_acquire) == tag &&
         now_ns - s.waiting_seen_ns.load(std::memory_order_relaxed) < 2 * long_after_ns_;
}

void LongTurnLimit::End(int slot, int64_t now_ns) {
  if (slot < 0) return;
  uint64_t tag = slots_[slot].tag.load(std::memory_order_relaxed);
  if (tag != 0 &&
      now_ns - slots_[slot].started_ns.load(std::memory_order_relaxed) >= long_after_ns_) {
    std::atomic<int64_t>& until = heavy_until_ns_[tag % kHeavyBuckets];
    int64_t mark = now_ns + heavy_period_ns_;
    int64_t seen = until.load(std::memory_order_relaxed);
    while (seen < mark && !until.compare_exchange_weak(seen, mark, std::memory_order_relaxed)) {
    }
    // The thread stays the app's for the linger period.
    ExtendLinger(slots_[slot], tag, now_ns + linger_ns_);
  }
  slots_[slot].tag.store(0, std::memory_order_release);
}

bool LongTurnLimit::Heavy(uint64_t tag, int64_t now_ns) const {
  return now_ns < heavy_until_ns_[tag % kHeavyBuckets].load(std::memory_order_relaxed);
}

bool LongTurnLimit::Busy(int slot, int64_t now_ns) const {
  if (slot < 0 || static_cast<size_t>(slot) >= capacity_) return false;
  const Slot& s = slots_[slot];
  uint64_t tag = s.tag.load(std::memory_order_acquire);
  if (tag != 0 && (now_ns - s.started_ns.load(std::memory_order_relaxed) >= long_after_ns_ ||
                   Heavy(tag, now_ns))) {
    return true;
  }
  return s.linger_tag.load(std::memory_order_acquire) != 0 &&
         now_ns < s.linger_until_ns.load(std::memory_order_relaxed);
}

bool LongTurnLimit::MayStart(int slot, uint64_t tag, int64_t now_ns) const {
  if (slot < 0 || static_cast<size_t>(slot) >= capacity_) return true;
  size_t used = std::min<size_t>(capacity_, static_cast<size_t>(registered_.load()));
  // Threads that have waited long enough, and longer than this one, go first.
  const Slot& me = slots_[slot];
  const int64_t my_since =
      Waits(me, tag, now_ns) ? me.waiting_since_ns.load(std::memory_order_relaxed) : now_ns;
  for (size_t i = 0; i < used; ++i) {
    if (static_cast<int>(i) == slot || !Waits(slots_[i], tag, now_ns)) continue;
    const int64_t since = slots_[i].waiting_since_ns.load(std::memory_order_relaxed);
    if (now_ns - since >= waiter_first_after_ns_ && since < my_since) return false;
  }
  size_t holding = 0;
  int heavy = -1;  // looked up once, when a young turn of the app is seen
  for (size_t i = 0; i < used; ++i) {
    if (static_cast<int>(i) == slot) continue;
    bool held = false;
    if (slots_[i].tag.load(std::memory_order_acquire) == tag) {
      if (now_ns - slots_[i].started_ns.load(std::memory_order_relaxed) >= long_after_ns_) {
        held = true;
      } else {
        if (heavy < 0) heavy = Heavy(tag, now_ns) ? 1 : 0;
        held = heavy == 1;
      }
    }
    // A thread that waits for the app (it stepped aside) does not keep it by its linger.
    if (!held && slots_[i].linger_tag.load(std::memory_order_acquire) == tag &&
        !Waits(slots_[i], tag, now_ns)) {
      held = now_ns < slots_[i].linger_until_ns.load(std::memory_order_relaxed);
    }
    if (!held) continue;
    if (++holding >= max_threads_) return false;
  }
  return true;
}

}  // namespace dorm::runtime
