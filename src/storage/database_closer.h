// Closes object databases off the event loops, after checkpointing their write-ahead log.
//
// Why: an object's connection is closed when it has been unused for a while or when too many are
// open, and opened again on its next use. Opening reads the whole write-ahead log back (SQLite
// rebuilds its index of the log and checks every frame's checksum), so an object whose log holds
// a few hundred commits costs several times more to open than one whose log is empty. Writes
// spread over many objects keep reopening them, and that was most of their cost. Checkpointing on
// the way out empties the log; but a checkpoint flushes the log and the database file, which must
// not block the thread that runs JavaScript. So the connection is handed to this closer's thread,
// which checkpoints with full syncs (the log is flushed before its pages are copied, the database
// file after, and only then is the log truncated: no commit can be lost, acknowledged or not) and
// closes it.
//
// Until that is done the closing connection still owns the file (its log's index is in that
// connection's memory, and object databases take no file locks that would refuse a second
// connection): whoever opens the same database again, on any thread, must first call
// AwaitClosed() with its path.
//
// Thread-safe. Close() never blocks on I/O; the destructor finishes every queued close.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "storage/object_database.h"

namespace dorm::storage {

class DatabaseCloser {
 public:
  // How many connections wait at most by default (each holds its two files open).
  static constexpr size_t kMaxPending = 64;

  explicit DatabaseCloser(size_t max_pending = kMaxPending);
  ~DatabaseCloser();
  DatabaseCloser(const DatabaseCloser&) = delete;
  DatabaseCloser& operator=(const DatabaseCloser&) = delete;

  // Takes `db` (no transaction open, no client holding statements: see
  // ObjectDatabase::CheckpointAndTruncate) and closes it on the closer's thread, unless
  // `max_pending` connections already wait: then returns false and leaves `db` to the caller
  // (each waiting connection holds its files open, and checkpoints wait for the disk, so the
  // queue is bounded). A failed checkpoint is logged, not thrown: the log is then left as it is,
  // and read back at the next open as before.
  bool Close(std::unique_ptr<ObjectDatabase>& db);

  // Returns once no connection to the database at `path` waits to be closed here: at once when
  // none does (one lock, no system call). Blocks the caller only while such a close is under way.
  void AwaitClosed(const std::string& path);

  // For whoever needs the database at `path` again: a connection to it still queued here is
  // taken back, untouched, and returned (no reopening, and no waiting behind other closes);
  // otherwise waits as AwaitClosed() and returns null.
  std::unique_ptr<ObjectDatabase> Reclaim(const std::string& path);

  // For whoever removes or moves a folder of databases (a class's storage): every connection to a
  // database whose path starts with `prefix` is closed before this returns, those still queued
  // here at once on the caller's thread (with their WAL as it is), those being closed by waiting.
  // Needed because closing a connection deletes its WAL by name: a close that finished after the
  // folder was moved or replaced would delete a file that belongs to someone else by then.
  void CloseNowUnder(const std::string& prefix);

  // How many connections wait to be closed.
  size_t pending() const;

 private:
  void Work();

  mutable std::mutex mu_;
  std::condition_variable work_cv_;    // a job was queued, or stopping_ was set
  std::condition_variable closed_cv_;  // a job was done
  std::deque<std::unique_ptr<ObjectDatabase>> jobs_;
  // Paths queued or being closed, with how many connections to each (a database closed, opened
  // and closed again may be queued twice).
  std::unordered_map<std::string, int> closing_;
  const size_t max_pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dorm::storage
