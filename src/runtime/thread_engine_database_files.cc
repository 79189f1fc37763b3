// ThreadEngine's whole-database commands (StorageCommand::kSnapshot and kReplace), for export,
// import and backup. They run on the object's thread between its turns, like the storage
// browser's commands, so that nothing of the object runs while its file is read or swapped:
//
// - A snapshot copies the object's database through its own connection (which holds the file's
//   exclusive lock, so no other connection could read it) with SQLite's backup API in one step:
//   every turn's writes are one transaction, committed when the turn ends, so the copy holds
//   whole turns only. An object inside storage.transaction() has writes spanning turns; the
//   command is refused (409) rather than copying half of them.
// - A replacement closes the object's connection (also one waiting in the database closer),
//   resets the object if it is live (its requests in flight fail as for a code update; those
//   still queued go to the fresh instance, which reads the new file), and swaps the file
//   (storage::ReplaceDatabaseFile).
//
// Neither constructs the object nor runs any of its code. The copy holds the thread for as long
// as it takes (a page copy, typically well under a second for an object's database).
//
// After a replacement the alarm the new file stores is indexed and scheduled
// (AdoptReplacedAlarm, thread_engine_alarms.cc).
#include <boost/json.hpp>
#include <filesystem>

#include "runtime/thread_engine.h"
#include "storage/database_file.h"
#include "util/log.h"

namespace dorm::runtime {

namespace {

HttpResponseData DatabaseFileAnswer(const boost::json::object& body) {
  HttpResponseData r;
  r.status = 200;
  r.headers.emplace_back("content-type", "application/json");
  r.body = boost::json::serialize(body);
  return r;
}

}  // namespace

void ThreadEngine::DeliverDatabaseFileCommand(ObjectInstance* instance, StorageCommandEvent event) {
  const StorageCommand& command = event.command;
  if (instance->txn_depth > 0 || (instance->db && instance->db->in_transaction())) {
    event.done(HttpResponseData::JsonError(
        409, "The object is inside a storage transaction; try again once it has ended."));
    return;
  }
  if (shared_.cluster && command.op == StorageCommand::Op::kReplace) {
    event.done(HttpResponseData::JsonError(
        409, "Objects cannot be imported in cluster mode (their writes live in PostgreSQL)."));
    return;
  }
  if (command.op == StorageCommand::Op::kSnapshot) {
    try {
      storage::ObjectDatabase* db = Database(instance, false);
      if (!db) {
        event.done(HttpResponseData::JsonError(404, "The object has no storage."));
        return;
      }
      storage::CopyDatabase(db->handle(), command.file_path);
      std::error_code ec;
      const auto bytes = std::filesystem::file_size(command.file_path, ec);
      event.done(DatabaseFileAnswer({{"bytes", ec ? 0 : static_cast<uint64_t>(bytes)}}));
    } catch (const storage::StorageError& e) {
      event.done(HttpResponseData::JsonError(500, e.what()));
    }
    return;
  }
  // kReplace.
  const std::string key = ObjectKey(instance->address);
  const std::string db_path = instance->db_path;
  const ObjectAddress address = instance->address;
  // The reset closes the connection and drops the instance; events still queued are handed to a
  // fresh instance, which opens the new file once it has been swapped in (they are delivered
  // through the loop's queue, after this returns).
  if (instance->db) instance->db->Rollback();
  CloseDatabase(instance);
  // A connection retired to the closer still has the old file and its WAL open, and would delete
  // the WAL by name when it closes: after the swap, that would be the new file's. It is taken back
  // and closed here, before the swap (or, if its close is under way, waited for).
  if (shared_.database_closer) shared_.database_closer->Reclaim(db_path).reset();
  BreakInstance(instance, ResetReason::kCodeUpdated,
                "Durable Object reset because its storage was replaced by an import.");
  if (placement_thread_ >= 0) ReleasePlacementIfGone(key);
  std::optional<long long> alarm;
  try {
    alarm = storage::StoredAlarm(command.file_path);
    storage::ReplaceDatabaseFile(command.file_path, db_path);
  } catch (const storage::StorageError& e) {
    Log(LogLevel::kError, "import of " + key + " failed: " + e.what());
    event.done(HttpResponseData::JsonError(500, e.what()));
    return;
  }
  // A flush of the old file that failed must not make the new one count as unconfirmed.
  unconfirmed_paths_.erase(db_path);
  const std::string alarm_error = AdoptReplacedAlarm(address, alarm);
  if (!alarm_error.empty()) {
    Log(LogLevel::kError, "import of " + key + ": " + alarm_error);
    event.done(HttpResponseData::JsonError(500,
                                           "The object was imported but its alarm could not "
                                           "be scheduled: " +
                                               alarm_error));
    return;
  }
  event.done(DatabaseFileAnswer({{"replaced", true}}));
}

}  // namespace dorm::runtime
