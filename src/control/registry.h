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
  // Removes a class and, in the same transaction, records its deletion as pending: a crash before
  // its storage is gone leaves the record, and the next start finishes the deletion
  // (PendingDeletions) before serving. Returns false if there was no such class.
  bool Remove(const std::string& app, const std::string& name);
  // Deletions recorded by Remove and not yet finished, as (app, class name).
  std::vector<std::pair<std::string, std::string>> PendingDeletions();
  // Forgets a deletion once the class's storage is gone.
  void FinishDeletion(const std::string& app, const std::string& name);

  // The app's classes as the runtime needs them.
  std::vector<runtime::DeployedClass> CatalogEntries(const std::string& app);

  // The last uncaught error of a class since the server started (kept in memory only).
  void SetLastError(const std::string& app, const std::string& name, const std::string& error);
  std::string LastError(const std::string& app, const std::string& name);

 private:
  std::vector<ClassRecord> Query(const std::string& where, const std::vector<std::string>& args);
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::map<std::pair<std::string, std::string>, std::string> last_errors_;
};

}  // namespace dorm::control
