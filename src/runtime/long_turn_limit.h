// Keeps one app's long JavaScript turns from holding every event-loop thread at once.
//
// A turn runs to completion on its thread: a tenant whose events burn CPU up to the CPU limit
// holds that thread (and every object placed on it) for as long. Without a bound, such a tenant
// sending one request per thread stops the server for every app. Each runtime thread reports the
// app of the turn it is running and when the turn began; before a thread starts a turn for an
// app, it asks MayStart(), which refuses while that app already holds `max_threads` other
// threads. The refused thread keeps the app's events queued and serves the other apps' objects
// meanwhile. An app whose turns are all short is never held back and uses every thread.
//
// A thread is held by an app
// - while a turn of the app has been running there for `long_after` or more;
// - while any turn of the app runs there, however young, once the app is "heavy": it had a long
//   turn that ended less than `heavy_period` ago (a turn cannot be preempted, and each one of a
//   heavy app may run to the CPU limit);
// - for `linger` after a long turn of the app ended there: its next turns then run on the same
//   thread rather than moving to the one that served the other apps meanwhile, whose
//   connections (the answers it relays from the other thread) would stall with it.
//
// Threads held back take turns: a thread refused for an app records that it waits
// (NoteRefused). Once it has waited for `waiter_first_after`, a thread about to start another turn
// of that app steps aside for it (and waits in turn), and the linger of a thread that waits stops
// counting; the thread let in lingers for `waiter_first_after` (so its objects get that long,
// not one turn each). So a held-back app moves between threads at most once per
// `waiter_first_after`, still holding at most `max_threads` at a time, and none of its objects
// waits much longer than that plus one turn. Without it, a heavy app busy on one thread ran there
// without pause while its objects on the other threads starved (let in only in the instants between
// two of its turns, and never during a linger that its long turns renewed): on a loaded machine,
// where ordinary turns of an app can pass `long_after`, for minutes. The wait is seconds, not less,
// because the thread the app moves to is then held in turn: the other apps' objects placed there
// for being free (ObjectPlacement) should have been served long before.
//
// What this cannot bound: the first long turns of an app that start on several threads within
// `long_after` of each other, before it is known to be heavy.
//
// Apps are named by a tag (AppTag(): a hash of the app's name); two apps sharing a tag would only
// be held back together, never run together past the bound.
//
// Thread-safe: each runtime thread writes only its own registered slot; any thread may read all.
// Times are steady_clock nanoseconds passed by the caller, so that the rules are testable without
// a clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace dorm::runtime {

class LongTurnLimit {
 public:
  // At most `capacity` threads register; `max_threads` >= 1 is how many threads one app's long
  // turns may hold at once (see DefaultMaxThreads()).
  LongTurnLimit(size_t capacity, size_t max_threads,
                std::chrono::nanoseconds long_after = std::chrono::milliseconds(50),
                std::chrono::nanoseconds heavy_period = std::chrono::minutes(5),
                std::chrono::nanoseconds linger = std::chrono::milliseconds(500),
                std::chrono::nanoseconds waiter_first_after = std::chrono::seconds(2));

  // The limit for `threads` event-loop threads: half of them, at least one. A tenant can hold at
  // most that many threads; the others keep serving.
  static size_t DefaultMaxThreads(size_t threads);

  static uint64_t AppTag(const std::string& app);

  // The steady clock in nanoseconds: the time base of every `now_ns` and `*_ns` argument.
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // A slot for the calling thread, or -1 past the capacity (that thread is then neither limited
  // nor counted).
  int Register();

  // The thread of `slot` begins (Begin) or ends (End) its outermost turn for the app `tag`.
  // Called by that thread only; -1 is ignored.
  void Begin(int slot, uint64_t tag, int64_t now_ns);
  void End(int slot, int64_t now_ns);

  // Whether a turn that began at `began_ns` and ended at `now_ns` was long.
  bool IsLong(int64_t began_ns, int64_t now_ns) const {
    return now_ns - began_ns >= long_after_ns_;
  }

  // Whether `tag` had a long turn that ended less than `heavy_period` before `now_ns`.
  bool Heavy(uint64_t tag, int64_t now_ns) const;

  // Whether the thread of `slot` may start a turn for `tag` at `now_ns`: false while `tag` has
  // turns running for longer than `long_after` (or lingering there) on `max_threads` threads other
  // than `slot`, or while another thread has waited for `tag` for `waiter_first_after` or more,
  // since before `slot` did.
  bool MayStart(int slot, uint64_t tag, int64_t now_ns) const;

  // The thread of `slot` was refused a turn for `tag` and keeps it queued: it waits for `tag`
  // from now (or since its first refusal, when it still waits). A waiter that has not been
  // refused again for 2 * `long_after` counts as gone (its work ended, or its thread is busy
  // elsewhere). Begin() for `tag` ends the wait. Called by that thread only; -1 is ignored.
  void NoteRefused(int slot, uint64_t tag, int64_t now_ns);

  // Whether the thread of `slot` is busy with a long turn at `now_ns`: one running for
  // `long_after` or more, any turn of a heavy app, or the linger after a long turn. Objects not yet
  // placed on a thread go elsewhere while their home thread is busy (see ObjectPlacement).
  bool Busy(int slot, int64_t now_ns) const;

  size_t max_threads() const { return max_threads_; }

 private:
  // Written by the slot's thread, read by any.
  struct Slot {
    // The app of the running turn; 0: none.
    std::atomic<uint64_t> tag{0};
    std::atomic<int64_t> started_ns{0};
    // The app of the last long turn, and when its hold on the thread ends.
    std::atomic<uint64_t> linger_tag{0};
    std::atomic<int64_t> linger_until_ns{0};
    // The app this thread waits for (0: none), since when, and its latest refusal.
    std::atomic<uint64_t> waiting_tag{0};
    std::atomic<int64_t> waiting_since_ns{0};
    std::atomic<int64_t> waiting_seen_ns{0};
  };
  // Makes `s` linger for `tag` until `until_ns`, or later if it already does.
  static void ExtendLinger(Slot& s, uint64_t tag, int64_t until_ns);
  // Whether `s` waits for `tag` at `now_ns` (see NoteRefused).
  bool Waits(const Slot& s, uint64_t tag, int64_t now_ns) const;
  // Heavy marks, by tag modulo kHeavyBuckets: lock-free, at the price of an app sharing a bucket
  // with a heavy one being held back with it (only while both run on several threads).
  static constexpr size_t kHeavyBuckets = 4096;
  size_t capacity_;
  size_t max_threads_;
  int64_t long_after_ns_;
  int64_t heavy_period_ns_;
  int64_t linger_ns_;
  int64_t waiter_first_after_ns_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<std::atomic<int64_t>[]> heavy_until_ns_;
  std::atomic<int> registered_{0};
};

}  // namespace dorm::runtime
