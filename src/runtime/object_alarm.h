// The rules of one object's alarm, as Cloudflare applies them: what getAlarm() shows inside the
// handler, when a handler's alarm is deleted, and how a failed handler is retried.
//
// The alarm itself is stored in the object's database (so setAlarm() is transactional like any
// write); this class holds what the runtime knows beside it:
//  - `stored`: the alarm as of the object's last commit (what the scheduler and eviction see);
//  - while the handler runs, the alarm it runs for, and whether anything set or deleted the alarm
//    since it started (then its end deletes nothing);
//  - whether the open transaction may have changed the alarm (its commit must then update the
//    alarm index, and the index must be flushed with that commit).
//
// Handler lifecycle: Begin() when the handler is called; Succeeded() tells whether its end must
// delete the alarm in the handler's last transaction; Finish() when the outcome is known (the
// fire is over, success or failure); then Decide() gives the retry, if any.
//
// Pure bookkeeping: no V8, no I/O. Threading: owned by one ObjectInstance, used on its thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace dorm::runtime {

class ObjectAlarm {
 public:
  // A failed handler is retried this many times (with exponential back-off), then dropped.
  static constexpr int kMaxRetries = 6;
  // An object whose alarm is due within this long (or was due no longer ago) keeps its instance
  // and database connection.
  static constexpr long long kKeepWarmMs = 10000;
  // A fire this early (clocks differ by a little between threads) still runs the handler.
  static constexpr long long kEarlyFireToleranceMs = 5;

  // What to do after a fire: retry at `delay` as retry number `retry_count`, or stop (`gave_up`:
  // the last retry failed too).
  struct Decision {
    bool retry = false;
    std::chrono::milliseconds delay{0};
    int retry_count = 0;
    bool gave_up = false;
  };
  // The outcome of fire number `retry_count` (0: the first). `base` is the first retry's delay.
  static Decision Decide(bool ok, int retry_count, std::chrono::milliseconds base);

  // Whether a fire for the stored alarm `stored` should run the handler now (false: the alarm was
  // deleted or moved later since it was scheduled).
  static bool ShouldRun(std::optional<long long> stored, long long now_ms);

  // --- The handler ---
  // The handler starts for the alarm stored at `scheduled_ms`, as event `event_id`.
  void Begin(long long scheduled_ms, uint64_t event_id);
  bool running() const { return running_.has_value(); }
  std::optional<long long> running_alarm() const { return running_; }
  uint64_t event_id() const { return event_id_; }
  // What getAlarm() returns when the database holds `stored`: inside the handler, its own alarm
  // reads as gone, unless something set a new one.
  std::optional<long long> Visible(std::optional<long long> stored) const;
  // Whether a handler is running and nothing set or deleted the alarm since it began (so the
  // database still holds running_alarm()).
  bool UnchangedSinceBegin() const { return running_.has_value() && !changed_during_run_; }
  // The handler succeeded and the database holds `stored`: whether the handler's alarm must be
  // deleted now, in the same transaction as the handler's last writes.
  bool DeleteOnSuccess(std::optional<long long> stored) const;
  // The fire is over. Returns the alarm it ran for (or `fallback`, when the handler never
  // started) and whether the alarm was set or deleted meanwhile (then nothing is to be deleted).
  struct Finished {
    long long alarm_ms = 0;
    bool changed = false;
  };
  Finished Finish(long long fallback_ms);

  // --- Changes and commits ---
  // setAlarm(), deleteAlarm() or deleteAll() ran in the open transaction.
  void NoteChanged();
  // The handler's end deleted its own alarm in the open transaction (DeleteOnSuccess): the commit
  // updates the index, but that is no change made during the run.
  void NoteDeletedByHandler() { changed_in_transaction_ = true; }
  // The transaction committed: returns true (once) if it may have changed the alarm, in which
  // case the caller reads the alarm and calls Committed().
  bool TakeChanged();
  // Whether TakeChanged() would return true, without taking it.
  bool change_pending() const { return changed_in_transaction_; }
  // The alarm after the commit; the alarm index must be flushed with this commit.
  void Committed(std::optional<long long> alarm);
  // The alarm as read from a database opened with no transaction open (so, as of the last
  // commit); nothing to flush.
  void Loaded(std::optional<long long> alarm) {
    stored_ = alarm;
    stored_known_ = true;
  }
  // Whether the next flush must include the alarm index (once).
  bool TakeIndexFlush();
  std::optional<long long> stored() const { return stored_; }
  // Whether stored() was read from the database (by a commit or Loaded()) in this instance's
  // life; until then it is empty whatever the database holds. While the database is closed no
  // transaction is open, so a known stored() is what the database holds.
  bool stored_known() const { return stored_known_; }
  // Whether the stored alarm is due within kKeepWarmMs of `now_ms` (an alarm long past due, being
  // retried, pins nothing: the retry can load the object).
  bool DueSoon(long long now_ms) const;

 private:
  std::optional<long long> stored_;
  bool stored_known_ = false;
  std::optional<long long> running_;
  uint64_t event_id_ = 0;
  bool changed_during_run_ = false;
  bool changed_in_transaction_ = false;
  bool index_flush_due_ = false;
};

}  // namespace dorm::runtime
