// Export, import and backup (README "Export, import, backup and restore"):
//   GET  /_admin/v1/apps/<app>/classes/<class>/export[?object=NAME-OR-ID]  → an export archive
//   POST /_admin/v1/apps/<app>/classes/<class>/import[?force=true]         ← an export archive
//   GET  /_admin/v1/backup                                                 → a backup archive
// (archive_format.h). Exports and backups stream from a thread of their own (ArchiveJobs); every
// object's file is a snapshot taken on the object's thread between its turns, through its own
// connection (StorageCommand::kSnapshot): the object's connection holds its file's exclusive lock,
// so SQLite's snapshot isolation from a second connection is not available, and between turns the
// file holds whole turns only. The registry and the usage database, shared-lock WAL databases,
// are copied through a connection of their own inside one read transaction; the alarms index
// through its own connection.
//
// An import is checked whole before anything changes: the archive's framing, paths, sizes and
// SHA-256s, each database's `PRAGMA integrity_check`, that every object belongs to the target
// class, and (without force) that none of them has storage already. Each object's file is then
// swapped on its own thread (StorageCommand::kReplace), the object reset if it is live.
#include <sqlite3.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "control/admin_json.h"
#include "control/admin_path.h"
#include "control/admin_service.h"
#include "control/archive_format.h"
#include "control/archive_jobs.h"
#include "control/credentials_store.h"
#include "control/object_index.h"
#include "control/registry.h"
#include "control/usage_recorder.h"
#include "runtime/class_catalog.h"
#include "runtime/engine_pool.h"
#include "runtime/object_id.h"
#include "runtime/response_stream.h"
#include "runtime/runtime_shared.h"
#include "storage/alarm_index.h"
#include "storage/database_file.h"
#include "storage/object_database.h"
#include "storage/storage_quota.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/names.h"
#include "util/wall_clock.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

// How long one object's snapshot or replacement may take before the archive fails.
constexpr auto kFileCommandTimeout = std::chrono::minutes(5);
// Largest database file an archive may carry.
constexpr uint64_t kMaxArchivedFileBytes = 10ull << 30;

bool IsIdFileName(const std::string& name, std::string* id) {
  if (name.size() != 64 + 7 || name.compare(64, 7, ".sqlite") != 0) return false;
  for (size_t i = 0; i < 64; ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  *id = name.substr(0, 64);
  return true;
}

// The ids of the objects stored in a class's folder, sorted.
std::vector<std::string> StoredObjectIds(const std::string& class_folder) {
  std::vector<std::string> ids;
  std::error_code ec;
  for (std::filesystem::directory_iterator fan(class_folder, ec), end; !ec && fan != end;
       fan.increment(ec)) {
    if (!fan->is_directory(ec)) continue;
    for (std::filesystem::directory_iterator it(fan->path(), ec); !ec && it != end;
         it.increment(ec)) {
      std::string id;
      if (it->is_regular_file(ec) && IsIdFileName(it->path().filename().string(), &id) &&
          id.compare(0, 2, fan->path().filename().string()) == 0) {
        ids.push_back(id);
      }
    }
    ec.clear();
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string TempPath(const std::string& data_dir, const char* what) {
  const std::string folder = data_dir + "/tmp";
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  return folder + "/" + what + "-" + ToHex(RandomBytes(8)) + ".sqlite";
}

// Runs a whole-database command on the object's thread and waits for its answer (500 when it
// takes longer than kFileCommandTimeout, or the service stops).
HttpResponseData RunFileCommand(runtime::EnginePool& pool, const runtime::ObjectAddress& address,
                                runtime::StorageCommand::Op op, const std::string& file_path,
                                const std::atomic<bool>* stopping) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<HttpResponseData> answer;
  };
  auto waiter = std::make_shared<Waiter>();
  runtime::StorageCommand command;
  command.op = op;
  command.file_path = file_path;
  pool.RunStorageCommand(address, std::move(command), [waiter](HttpResponseData r) {
    std::lock_guard<std::mutex> lock(waiter->mu);
    waiter->answer = std::move(r);
    waiter->cv.notify_all();
  });
  const auto deadline = std::chrono::steady_clock::now() + kFileCommandTimeout;
  std::unique_lock<std::mutex> lock(waiter->mu);
  while (!waiter->answer) {
    if ((stopping && *stopping) || std::chrono::steady_clock::now() > deadline) {
      return HttpResponseData::JsonError(500, "The object did not answer in time.");
    }
    waiter->cv.wait_for(lock, std::chrono::milliseconds(200));
  }
  return std::move(*waiter->answer);
}

std::string ErrorText(const HttpResponseData& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (const json::value* e = v.as_object().if_contains("error"); e && e->is_string()) {
      return std::string(e->as_string());
    }
  }
  return "status " + std::to_string(r.status);
}

// Writes an archive into a response stream from a job thread, waiting while the client has not
// read what was sent (ResponseStream's high-water mark).
class ArchiveSender {
 public:
  ArchiveSender(std::shared_ptr<runtime::ResponseStream> stream, const std::atomic<bool>& stopping)
      : stream_(std::move(stream)), stopping_(stopping), wake_(std::make_shared<Wake>()) {
    stream_->SetProducerWake([wake = wake_] {
      std::lock_guard<std::mutex> lock(wake->mu);
      wake->woken = true;
      wake->cv.notify_all();
    });
  }

  // False once the client is gone or the service stops.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const size_t n = std::min<size_t>(bytes.size(), 64u << 10);
      {
        std::lock_guard<std::mutex> lock(wake_->mu);
        wake_->woken = false;
      }
      const bool more = stream_->Reserve(n);
      if (stream_->cancelled() || stopping_) return false;
      stream_->Push(std::string(bytes.substr(0, n)));
      bytes.remove_prefix(n);
      if (!more) {
        std::unique_lock<std::mutex> lock(wake_->mu);
        while (!wake_->woken) {
          if (stream_->cancelled() || stopping_) return false;
          wake_->cv.wait_for(lock, std::chrono::milliseconds(200));
        }
      }
    }
    return true;
  }

  // The file's frame and bytes. False (with `*error` set) if the file cannot be read or the
  // client is gone.
  bool SendFile(json::object header, const std::string& file, std::string* error) {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(file, ec);
    std::optional<std::string> sha = ec ? std::nullopt : FileSha256(file);
    if (!sha) {
      *error = "cannot read " + file;
      return false;
    }
    header["type"] = "file";
    header["size"] = size;
    header["sha256"] = *sha;
    if (!Send(ArchiveFrame(header))) return false;
    std::ifstream in(file, std::ios::binary);
    std::vector<char> buffer(64u << 10);
    uint64_t left = size;
    while (left > 0 && in) {
      in.read(buffer.data(), static_cast<std::streamsize>(std::min<uint64_t>(left, buffer.size())));
      const size_t got = static_cast<size_t>(in.gcount());
      if (got == 0) break;
      if (!Send(std::string_view(buffer.data(), got))) return false;
      left -= got;
    }
    if (left != 0) {
      *error = "cannot read " + file;
      return false;
    }
    ++files_;
    return true;
  }

  // A backup's frame for an object that did not change since the backup it builds on.
  bool SendUnchanged(const std::string& path) {
    ++refs_;
    return Send(ArchiveFrame(json::object{{"type", "unchanged"}, {"path", path}}));
  }

  bool End() {
    json::object end{{"type", "end"}, {"files", files_}};
    if (refs_ > 0) end["refs"] = refs_;
    return Send(ArchiveFrame(end));
  }
  void Finish(bool ok) {
    if (ok) {
      stream_->Finish(true);
    } else {
      stream_->Finish(false, runtime::ResponseStream::ConnectionLost());
    }
  }

 private:
  struct Wake {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
  };
  std::shared_ptr<runtime::ResponseStream> stream_;
  const std::atomic<bool>& stopping_;
  std::shared_ptr<Wake> wake_;
  uint64_t files_ = 0;
  uint64_t refs_ = 0;
};

// Copies a shared-lock WAL database (the registry, the usage database) through a connection of
// its own, inside one read transaction. Throws storage::StorageError.
void CopySharedDatabase(const std::string& path, const std::string& target) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    throw storage::StorageError("cannot open " + path + ": " + message, rc);
  }
  sqlite3_busy_timeout(db, 10000);
  try {
    storage::CopyDatabase(db, target);
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  sqlite3_close_v2(db);
}

HttpResponseData StreamResponse(std::shared_ptr<runtime::ResponseStream> stream,
                                const std::string& filename) {
  HttpResponseData response;
  response.status = 200;
  response.headers.emplace_back("content-type", "application/octet-stream");
  response.headers.emplace_back("content-disposition", "attachment; filename=\"" + filename + "\"");
  response.headers.emplace_back("cache-control", "no-store");
  response.body_stream = std::move(stream);
  return response;
}

}  // namespace

std::optional<std::string> AdminService::ArchiveApp(const std::string& path) {
  std::vector<std::string> parts = AdminPathParts(path);
  if (parts.size() == 6 && parts[0] == "v1" && parts[1] == "apps" && parts[3] == "classes" &&
      (parts[5] == "export" || parts[5] == "import")) {
    return parts[2];
  }
  return std::nullopt;
}

std::optional<std::string> AdminService::ServiceKeyApp(const std::string& path) {
  if (auto app = ArchiveApp(path)) return app;
  std::vector<std::string> parts = AdminPathParts(path);
  if (parts.size() >= 6 && parts[0] == "v1" && parts[1] == "apps" && parts[3] == "classes" &&
      parts[5] == "objects") {
    return parts[2];
  }
  return std::nullopt;
}

bool AdminService::ServiceKeyMayPass(const std::string& url,
                                     const std::string& authorization) const {
  constexpr std::string_view kPrefix = "/_admin/";
  if (!credentials_ || url.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  if (authorization.size() <= 7 || strncasecmp(authorization.c_str(), "bearer ", 7) != 0) {
    return false;
  }
  if (!ServiceKeyApp(url.substr(kPrefix.size() - 1))) return false;
  return credentials_->FindKey(std::string_view(authorization).substr(7)).has_value();
}

std::optional<HttpResponseData> AdminService::ServeArchive(const std::string& path,
                                                           const HttpRequestData& request) {
  std::vector<std::string> parts = AdminPathParts(path);
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "backup") {
    if (request.method != "GET") return ErrorResponse(405, "Method not allowed.");
    return Backup(request);
  }
  if (!ArchiveApp(path)) return std::nullopt;
  const std::string& app = parts[2];
  if (!IsValidKebabName(app)) return ErrorResponse(400, "Invalid app name '" + app + "'.");
  auto record = registry_.Get(app, parts[4]);
  if (!record || record->name == runtime::kWorkerClassName) {
    return ErrorResponse(404,
                         "No Durable Object class named '" + parts[4] + "' in app '" + app + "'.");
  }
  if (parts[5] == "export") {
    if (request.method != "GET") return ErrorResponse(405, "Method not allowed.");
    return Export(*record, request);
  }
  if (request.method != "POST") return ErrorResponse(405, "Method not allowed.");
  return Import(*record, request);
}

HttpResponseData AdminService::Export(const ClassRecord& record, const HttpRequestData& request) {
  std::string error;
  auto params = QueryParameters(request.url, &error, /*plus_is_space=*/true);
  if (!params) return ErrorResponse(400, error);
  for (const auto& [key, value] : *params) {
    if (key != "object") return ErrorResponse(400, "Unknown parameter '" + key + "': use object.");
  }
  const std::string app = record.app;
  const std::string storage = record.storage_name.empty() ? record.name : record.storage_name;
  // Brings the index's names up to date with the latest events.
  if (usage_) usage_->Refresh();
  struct Item {
    std::string id;
    std::string name;
  };
  std::vector<Item> items;
  if (auto it = params->find("object"); it != params->end()) {
    const std::string& spec = it->second;
    if (spec.empty() || spec.size() > 1024) {
      return ErrorResponse(400, "An object is named by 1 to 1024 bytes or its 64-hex id.");
    }
    runtime::ObjectAddress address{app, storage, "", ""};
    std::string lower = spec;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (runtime::IsObjectIdSyntax(spec) &&
        runtime::ObjectIdBelongsTo(runtime::NamespaceKey(app, storage), lower)) {
      address.object_id = lower;
    } else {
      address.instance_name = spec;
    }
    runtime::CompleteAddress(address);
    std::error_code ec;
    if (!std::filesystem::exists(runtime::ObjectDatabasePath(options_.data_dir, address), ec)) {
      return ErrorResponse(
          404, "The object '" + spec + "' of class '" + record.name + "' has no storage.");
    }
    items.push_back({address.object_id, address.instance_name});
  } else {
    for (std::string& id :
         StoredObjectIds(runtime::ClassStoragePath(options_.data_dir, app, storage))) {
      items.push_back({std::move(id), ""});
    }
  }
  if (object_index_) {
    for (Item& item : items) {
      if (!item.name.empty()) continue;
      if (auto known = object_index_->Find(app, storage, item.id)) item.name = known->name;
    }
  }
  auto stream = std::make_shared<runtime::ResponseStream>();
  json::object manifest{
      {"type", "manifest"},   {"kind", "export"},        {"app", app},
      {"class", record.name}, {"created", NowIso8601()}, {"objects", items.size()}};
  const std::string data_dir = options_.data_dir;
  runtime::EnginePool& pool = pool_;
  bool started = archive_jobs_->Start([stream, manifest = std::move(manifest), items, app, storage,
                                       data_dir, &pool](const std::atomic<bool>& stopping) {
    ArchiveSender sender(stream, stopping);
    bool ok = sender.Send(std::string_view(kArchiveMagic, kArchiveMagicBytes)) &&
              sender.Send(ArchiveFrame(manifest));
    for (size_t i = 0; ok && i < items.size(); ++i) {
      const std::string temp = TempPath(data_dir, "export");
      runtime::ObjectAddress address{app, storage, items[i].name, items[i].id};
      HttpResponseData r =
          RunFileCommand(pool, address, runtime::StorageCommand::Op::kSnapshot, temp, &stopping);
      if (r.status == 404) continue;  // deleted since it was listed
      if (r.status != 200) {
        Log(LogLevel::kError,
            "export of " + app + "/" + storage + "/" + items[i].id + " failed: " + ErrorText(r));
        ok = false;
      } else {
        std::string error;
        json::object header{
            {"path", "objects/" + items[i].id + ".sqlite"},
            {"id", items[i].id},
            {"name", items[i].name.empty() ? json::value(nullptr) : json::value(items[i].name)}};
        ok = sender.SendFile(std::move(header), temp, &error);
        if (!error.empty()) Log(LogLevel::kError, "export failed: " + error);
      }
      std::remove(temp.c_str());
    }
    ok = ok && sender.End();
    sender.Finish(ok);
  });
  if (!started) return ErrorResponse(429, "Too many exports and backups are running; retry later.");
  return StreamResponse(stream, app + "-" + record.name + ".dorm");
}

HttpResponseData AdminService::Backup(const HttpRequestData& request) {
  std::string error;
  auto params = QueryParameters(request.url, &error);
  if (!params) return ErrorResponse(400, error);
  std::optional<std::string> since;
  for (const auto& [key, value] : *params) {
    if (key != "since") return ErrorResponse(400, "Unknown parameter '" + key + "': use since.");
    since = value;
  }
  // An incremental backup builds on the backup whose "changes" value `since` is:
  // "<epoch>.<sequence>" (object_index.h).
  std::string since_epoch;
  long long since_seq = -1;
  if (since) {
    const size_t dot = since->find('.');
    bool valid = dot == 16 && since->size() > 17 && since->size() <= 17 + 18;
    for (size_t i = 0; valid && i < since->size(); ++i) {
      const char c = (*since)[i];
      valid = i == dot || (c >= '0' && c <= '9') || (i < dot && c >= 'a' && c <= 'f');
    }
    if (!valid) {
      return ErrorResponse(400,
                           "Invalid since '" + since->substr(0, 100) +
                               "': use the \"changes\" value of an earlier backup's manifest.");
    }
    since_epoch = since->substr(0, dot);
    since_seq = std::atoll(since->c_str() + dot + 1);
  }
  // Every commit acknowledged before now is read into the index, then the sequence is noted: an
  // object whose change_seq is at most the noted value did not change since the earlier backup
  // with that value was taken, since that backup noted it before copying.
  std::optional<ObjectIndex::ChangeState> changes;
  std::map<std::string, long long> change_seqs;
  std::string full_reason;
  if (usage_ && object_index_) {
    try {
      usage_->Refresh();
      changes = object_index_->CurrentChanges();
      if (since) change_seqs = object_index_->ChangeSeqs();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, std::string("backup: cannot read which objects changed: ") + e.what());
      changes.reset();
      object_index_->ChangesLost();
    }
  }
  bool incremental = false;
  if (since) {
    if (!changes) {
      full_reason =
          "the server does not know which objects changed (usage meters off, or the "
          "objects index failed)";
    } else if (changes->epoch != since_epoch || since_seq > changes->seq) {
      full_reason =
          "the earlier backup is from before a restart that did not stop cleanly, a "
          "restore, or another data folder";
    } else {
      incremental = true;
    }
  }
  // Every object of every deployed class, from the data folder (the index may not have seen the
  // newest objects yet).
  struct Item {
    std::string app;
    std::string storage;
    std::string id;
    bool changed = true;
  };
  std::vector<Item> items;
  for (const std::string& app : registry_.Apps()) {
    for (const auto& record : registry_.List(app)) {
      if (record.name == runtime::kWorkerClassName) continue;
      const std::string storage = record.storage_name.empty() ? record.name : record.storage_name;
      for (std::string& id :
           StoredObjectIds(runtime::ClassStoragePath(options_.data_dir, app, storage))) {
        bool changed = true;
        if (incremental) {
          // Not indexed, or indexed without a change_seq: changed at an unknown time.
          auto seq = change_seqs.find(app + "/" + storage + "/" + id);
          changed = seq == change_seqs.end() || seq->second > since_seq;
        }
        items.push_back({app, storage, std::move(id), changed});
      }
    }
  }
  auto stream = std::make_shared<runtime::ResponseStream>();
  json::object manifest{{"type", "manifest"},
                        {"kind", "backup"},
                        {"created", NowIso8601()},
                        {"objects", items.size()},
                        {"backup_id", ToHex(RandomBytes(8))},
                        {"incremental", incremental}};
  if (changes) manifest["changes"] = changes->epoch + "." + std::to_string(changes->seq);
  if (incremental) manifest["since"] = *since;
  if (!full_reason.empty()) manifest["full_reason"] = full_reason;
  const std::string data_dir = options_.data_dir;
  runtime::EnginePool& pool = pool_;
  storage::AlarmIndex* alarms = alarm_index_;
  bool started = archive_jobs_->Start([stream, manifest = std::move(manifest), items, data_dir,
                                       &pool, alarms](const std::atomic<bool>& stopping) {
    ArchiveSender sender(stream, stopping);
    bool ok = sender.Send(std::string_view(kArchiveMagic, kArchiveMagicBytes)) &&
              sender.Send(ArchiveFrame(manifest));
    std::string error;
    // The server's own databases and keys first.
    for (const char* name : {"registry.sqlite", "usage.sqlite", "alarms.sqlite"}) {
      if (!ok) break;
      const std::string source = data_dir + "/" + name;
      std::error_code ec;
      if (!std::filesystem::exists(source, ec)) continue;
      const std::string temp = TempPath(data_dir, "backup");
      try {
        if (std::string(name) == "alarms.sqlite") {
          if (!alarms) continue;
          alarms->CopyTo(temp);
        } else {
          CopySharedDatabase(source, temp);
        }
        ok = sender.SendFile(json::object{{"path", name}}, temp, &error);
      } catch (const std::exception& e) {
        error = e.what();
        ok = false;
      }
      std::remove(temp.c_str());
    }
    for (const char* name : {"secrets.key", "admin-token"}) {
      if (!ok) break;
      const std::string source = data_dir + "/" + name;
      std::error_code ec;
      if (!std::filesystem::exists(source, ec)) continue;
      ok = sender.SendFile(json::object{{"path", name}}, source, &error);
    }
    for (size_t i = 0; ok && i < items.size(); ++i) {
      const Item& item = items[i];
      if (!item.changed) {
        ok = sender.SendUnchanged("objects/" + item.app + "/" + item.storage + "/" +
                                  item.id.substr(0, 2) + "/" + item.id + ".sqlite");
        continue;
      }
      const std::string temp = TempPath(data_dir, "backup");
      runtime::ObjectAddress address{item.app, item.storage, "", item.id};
      HttpResponseData r =
          RunFileCommand(pool, address, runtime::StorageCommand::Op::kSnapshot, temp, &stopping);
      if (r.status == 404) continue;
      if (r.status != 200) {
        error = item.app + "/" + item.storage + "/" + item.id + ": " + ErrorText(r);
        ok = false;
      } else {
        const std::string path = "objects/" + item.app + "/" + item.storage + "/" +
                                 item.id.substr(0, 2) + "/" + item.id + ".sqlite";
        ok = sender.SendFile(json::object{{"path", path}}, temp, &error);
      }
      std::remove(temp.c_str());
    }
    if (!error.empty()) Log(LogLevel::kError, "backup failed: " + error);
    ok = ok && sender.End();
    sender.Finish(ok);
  });
  if (!started) return ErrorResponse(429, "Too many exports and backups are running; retry later.");
  return StreamResponse(stream, "backup.dorm");
}

HttpResponseData AdminService::Import(const ClassRecord& record, const HttpRequestData& request) {
  std::string error;
  auto params = QueryParameters(request.url, &error);
  if (!params) return ErrorResponse(400, error);
  bool force = false;
  for (const auto& [key, value] : *params) {
    if (key != "force") return ErrorResponse(400, "Unknown parameter '" + key + "': use force.");
    if (value != "true" && value != "false") {
      return ErrorResponse(400, "Invalid force '" + value + "': use true or false.");
    }
    force = value == "true";
  }
  const std::string app = record.app;
  if (auto suspended = Suspended(app)) return std::move(*suspended);
  const std::string storage = record.storage_name.empty() ? record.name : record.storage_name;
  const std::string ns = runtime::NamespaceKey(app, storage);

  // 1. The archive, checked whole: framing, paths, sizes, checksums.
  const std::string& body = request.body;
  size_t position = 0;
  ArchiveLimits limits;
  limits.max_file_bytes = kMaxArchivedFileBytes;
  ArchiveReader reader(
      [&](char* out, size_t n) {
        n = std::min(n, body.size() - position);
        std::memcpy(out, body.data() + position, n);
        position += n;
        return n;
      },
      limits);
  auto manifest = reader.ReadManifest(&error);
  if (!manifest) return ErrorResponse(400, error);
  if (const json::value* kind = manifest->if_contains("kind");
      !kind || !kind->is_string() || kind->as_string() != "export") {
    return ErrorResponse(400,
                         "The archive is not an export (a backup is restored with dorm "
                         "restore).");
  }
  struct Item {
    std::string id;    // in the target class
    std::string name;  // may be empty
    size_t offset = 0;
    size_t size = 0;
  };
  std::vector<Item> items;
  std::set<std::string> seen;
  for (;;) {
    ArchiveReader::File file;
    ArchiveReader::Next next = reader.ReadNext(&file, &error);
    if (next == ArchiveReader::Next::kError) return ErrorResponse(400, error);
    if (next == ArchiveReader::Next::kEnd) break;
    Item item;
    item.offset = position;
    item.size = static_cast<size_t>(file.size);
    if (!reader.ReadFileBytes(
            file, [](std::string_view) { return true; }, &error)) {
      return ErrorResponse(400, error);
    }
    const std::string archived_id = file.path.substr(8, 64);
    if (const json::value* n = file.header.if_contains("name"); n && n->is_string()) {
      item.name = std::string(n->as_string());
      if (item.name.empty() || item.name.size() > 1024) {
        return ErrorResponse(400, "Invalid object name in the archive (1 to 1024 bytes).");
      }
    }
    // A named object is the object of that name in the target class (its id is derived from the
    // class); one known by id alone keeps its id, which must then belong to the target class.
    if (!item.name.empty()) {
      runtime::ObjectAddress address{app, storage, item.name, ""};
      runtime::CompleteAddress(address);
      item.id = address.object_id;
    } else if (runtime::ObjectIdBelongsTo(ns, archived_id)) {
      item.id = archived_id;
    } else {
      return ErrorResponse(400, "The object " + archived_id +
                                    " has no name and its id belongs to another class: it can "
                                    "only be imported into the class it was exported from.");
    }
    if (!seen.insert(item.id).second) {
      return ErrorResponse(400, "The archive holds the object " + item.id + " twice.");
    }
    items.push_back(std::move(item));
  }

  // 2. Nothing is overwritten without force.
  size_t existing = 0;
  for (const Item& item : items) {
    std::error_code ec;
    runtime::ObjectAddress address{app, storage, item.name, item.id};
    if (std::filesystem::exists(runtime::ObjectDatabasePath(options_.data_dir, address), ec)) {
      ++existing;
      if (!force) {
        return ErrorResponse(409, "The object " + (item.name.empty() ? item.id : item.name) +
                                      " of class '" + record.name +
                                      "' already has storage: import with force to replace it.");
      }
    }
  }

  // 3. Each database written to a temporary file, flushed and checked.
  std::vector<std::string> temps;
  auto remove_temps = [&temps] {
    for (const std::string& t : temps) std::remove(t.c_str());
  };
  for (const Item& item : items) {
    const std::string temp = TempPath(options_.data_dir, "import");
    temps.push_back(temp);
    FILE* out = std::fopen(temp.c_str(), "wb");
    bool written = out && std::fwrite(body.data() + item.offset, 1, item.size, out) == item.size;
    written = out && std::fflush(out) == 0 && ::fsync(fileno(out)) == 0 && written;
    if (out) std::fclose(out);
    if (!written) {
      remove_temps();
      return ErrorResponse(500, "cannot write " + temp);
    }
    std::string problem = storage::DatabaseFileProblem(temp);
    if (!problem.empty()) {
      remove_temps();
      return ErrorResponse(400, "The database of object " +
                                    (item.name.empty() ? item.id : item.name) + " is " + problem +
                                    ".");
    }
  }

  // 4. The swaps, each on the object's thread.
  json::array imported;
  for (size_t i = 0; i < items.size(); ++i) {
    const Item& item = items[i];
    runtime::ObjectAddress address{app, storage, item.name, item.id};
    HttpResponseData r =
        RunFileCommand(pool_, address, runtime::StorageCommand::Op::kReplace, temps[i], nullptr);
    if (r.status != 200) {
      remove_temps();
      return ErrorResponse(r.status == 409 ? 409 : 500,
                           "The import stopped after " + std::to_string(i) + " of " +
                               std::to_string(items.size()) + " objects: " + ErrorText(r));
    }
    if (object_index_) {
      object_index_->Imported(app, storage, item.id, item.name, static_cast<long long>(item.size),
                              WallClockMs());
    }
    imported.push_back(
        json::object{{"id", item.id},
                     {"name", item.name.empty() ? json::value(nullptr) : json::value(item.name)}});
  }
  remove_temps();
  if (runtime_.storage_quota) runtime_.storage_quota->Forget(app);
  Log(LogLevel::kInfo,
      "imported " + std::to_string(items.size()) + " objects into " + app + "/" + record.name);
  return JsonResponse(200, json::object{{"app", app},
                                        {"class", record.name},
                                        {"imported", items.size()},
                                        {"replaced", existing},
                                        {"objects", std::move(imported)}});
}

}  // namespace dorm::control
