// When a live object may leave memory, and when its database connection may be closed.
//
// An object idle for `idle_evict` is evicted (its next event constructs it again). An object whose
// only remaining activity is hibernatable WebSockets hibernates sooner, after `hibernate_after`:
// its sockets stay open without it. Nothing is evicted while it has work in progress (events
// queued or running, outputs held, a flush running, the input gate locked, a transaction open,
// storage.sync() waiters), while a standard (accept()ed) WebSocket lives in its JavaScript, or
// while its alarm is due soon (so that the alarm does not have to load it again).
//
// Pure: decisions only, from a snapshot the engine takes. Thread-safe (const).
#pragma once

#include <chrono>

namespace dorm::runtime {

// What the engine knows of one live object when it sweeps.
struct ObjectActivity {
  std::chrono::steady_clock::duration idle_for{};  // since its last event or output
  bool has_web_sockets = false;                    // any socket, hibernatable or not
  bool web_sockets_pin = false;                    // a standard or not yet accepted socket
  bool alarm_due_soon = false;                     // see ObjectAlarm::DueSoon
  bool work_in_progress = false;  // events, outputs, flushes, gate, transactions, waiters
};

// What the engine knows of one open database connection.
struct ConnectionActivity {
  std::chrono::steady_clock::duration unused_for{};  // since the object last used its storage
  bool busy = false;                                 // a transaction or SQL cursor is open on it
  bool alarm_due_soon = false;
  // The object's storage was opened again after an earlier connection of it closed: it is used
  // repeatedly, not once (see CanCloseConnection).
  bool reopened = false;
};

class EvictionPolicy {
 public:
  enum class Verdict {
    kEvict,
    kRecentlyActive,  // not idle for long enough
    kPinnedBySocket,  // a standard WebSocket lives in its JavaScript
    kAlarmDueSoon,
    kBusy,  // work in progress
  };

  EvictionPolicy(std::chrono::steady_clock::duration idle_evict,
                 std::chrono::steady_clock::duration hibernate_after,
                 std::chrono::steady_clock::duration database_idle_close)
      : idle_evict_(idle_evict),
        hibernate_after_(hibernate_after),
        database_idle_close_(database_idle_close) {}

  Verdict Judge(const ObjectActivity& object) const;
  bool CanEvict(const ObjectActivity& object) const { return Judge(object) == Verdict::kEvict; }

  // Whether an idle connection may be closed (the object stays; its next storage use reopens):
  // after `database_idle_close` unused, or kReopenedKeepFactor times that for a reopened one. An
  // object used once (a new one, or a burst of them) gives its memory back soon; one whose
  // connection was closed and that came back for it is used every few seconds, and reopening its
  // database each time costs more (about 290,000 instructions) than keeping the connection (about
  // 75 KiB, parked without descriptors past the thread's share) a few seconds longer.
  bool CanCloseConnection(const ConnectionActivity& connection) const;
  static constexpr int kReopenedKeepFactor = 5;
  // Whether a connection may be closed to stay under the open-connection limit, whatever its age.
  static bool CanCloseUnderPressure(const ConnectionActivity& connection) {
    return !connection.busy;
  }

  // How often the engine should sweep: often enough that idle connections close near their
  // deadline, and at least twice per eviction period.
  std::chrono::steady_clock::duration SweepPeriod() const;

 private:
  std::chrono::steady_clock::duration idle_evict_;
  std::chrono::steady_clock::duration hibernate_after_;
  std::chrono::steady_clock::duration database_idle_close_;
};

}  // namespace dorm::runtime
