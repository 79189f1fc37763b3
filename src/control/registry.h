// The deployed classes of every app, kept durably in DATA/registry.sqlite, and the deletions of
// classes whose storage may not be gone yet.
//
// Thread-safe. Writes are durable (synchronous=FULL) before they return. Methods throw
// std::runtime_error on a storage failure.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "control/project_migrations.h"
#include "runtime/class_catalog.h"

struct sqlite3;

namespace dorm::control {

struct ClassRecord {
  std::string app;
  std::string name;        // kebab-case URL name
  std::string class_name;  // exported JS class
  std::string filename;
  std::string source;     // as deployed
  std::string module_js;  // after type stripping
  std::string access_mode;
  std::string deployed_at;  // ISO 8601, UTC
  // Set for the classes (and the Worker, runtime::kWorkerClassName) of a project deploy, which
  // share one bundled module: runtime::DeployedClass::module_name. Empty for a single-file class.
  std::string module_name;
  // The `env` binding name from the project's configuration; empty: the UPPER_SNAKE form of
  // `name`.
  std::string binding;
  // Where the class's objects live (see project_migrations.h): the name it was created with,
  // when a migration renamed it since; empty: `name`.
  std::string storage_name;

  // For a project's Worker record: its service bindings, as JSON
  // ([{"binding", "entrypoint", "service"}], service empty for the project's own Worker, else
  // another app's name); empty otherwise.
  std::string services;
  // "kv" for a class created by a `new_classes` migration (key-value storage only, no SQL API);
  // empty for SQLite-backed classes (every other).
  std::string storage_backend;

  const std::string& StorageName() const { return storage_name.empty() ? name : storage_name; }
};

// A transferred class's storage going from one app (and storage name) to another.
struct ClassMove {
  std::string from_app, from_storage, to_app, to_storage;
};

class Registry {
 public:
  explicit Registry(const std::string& data_dir);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  std::vector<std::string> Apps();
  std::vector<ClassRecord> List(const std::string& app);
  std::optional<ClassRecord> Get(const std::string& app, const std::string& name);
  void Upsert(const ClassRecord& record);
  // Upserts every record in one transaction (a project deploy: all its classes or none).
  void UpsertAll(const std::vector<ClassRecord>& records);
  // Removes a class and, in the same transaction, records the deletion of its storage as pending:
  // a crash before its storage is gone leaves the record, and the next start finishes the
  // deletion (PendingDeletions) before serving. Returns the class's storage name, or nullopt if
  // there was no such class.
  std::optional<std::string> Remove(const std::string& app, const std::string& name);
  // A project deploy, in one transaction: upserts `records`; removes the classes named in
  // `renamed_away` (their storage now belongs to another record) and in `deleted` (their storage
  // deletions recorded as by Remove); for each of `transfers`, removes the source app's class,
  // uses up the source app's permission (AllowTransfer) and records the move of its storage as
  // pending (PendingMoves); records `new_tags` as applied migrations. Returns the storage names of
  // the deleted classes.
  std::vector<std::string> ApplyProject(const std::string& app,
                                        const std::vector<ClassRecord>& records,
                                        const std::vector<std::string>& renamed_away,
                                        const std::vector<std::string>& deleted,
                                        const std::vector<std::string>& new_tags,
                                        const std::vector<PlannedTransfer>& transfers = {});
  // The project migration tags applied to `app`, in order.
  std::vector<std::string> MigrationTags(const std::string& app);

  // The apps whose service bindings may call `app`'s Worker (its fetch() and RPC), sorted. An
  // app's own bindings to itself need no entry.
  std::vector<std::string> ServiceCallers(const std::string& app);
  // Allows `caller`, or stops allowing it. Returns whether anything changed.
  bool SetServiceCaller(const std::string& app, const std::string& caller, bool allowed);
  // Which app `app` lets take its class `class_name` with a `transferred_classes` migration, if
  // any. Apps on one server may belong to different tenants: a class and its objects move only
  // with the permission of the app that has them.
  std::optional<std::string> TransferTarget(const std::string& app, const std::string& class_name);
  // The app's permissions as (class name, target app), sorted by class name.
  std::vector<std::pair<std::string, std::string>> Transfers(const std::string& app);
  // Lets `target` take the class (replacing an earlier permission for it), or with nullopt takes
  // the permission back. Returns whether anything changed.
  bool AllowTransfer(const std::string& app, const std::string& class_name,
                     const std::optional<std::string>& target);
  // The moves of class storage recorded by ApplyProject and not yet finished.
  std::vector<ClassMove> PendingMoves();
  // Forgets a move once the storage is in its new place.
  void FinishMove(const std::string& from_app, const std::string& from_storage);

  // Deletions recorded by Remove and not yet finished, as (app, storage name).
  std::vector<std::pair<std::string, std::string>> PendingDeletions();
  // Forgets a deletion once the class's storage is gone.
  void FinishDeletion(const std::string& app, const std::string& name);

  // The app's classes as the runtime needs them.
  std::vector<runtime::DeployedClass> CatalogEntries(const std::string& app);

  // The last uncaught error of a class since the server started (kept in memory only), cut to
  // kMaxLastErrorBytes (and an ellipsis) at a UTF-8 boundary.
  static constexpr size_t kMaxLastErrorBytes = 16u << 10;
  void SetLastError(const std::string& app, const std::string& name, const std::string& error);
  std::string LastError(const std::string& app, const std::string& name);

 private:
  std::vector<ClassRecord> Query(const std::string& where, const std::vector<std::string>& args);
  // Remove()'s work inside a transaction the caller holds.
  std::optional<std::string> RemoveLocked(const std::string& app, const std::string& name);
  void UpsertLocked(const std::vector<ClassRecord>& records);
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::map<std::pair<std::string, std::string>, std::string> last_errors_;
};

}  // namespace dorm::control
