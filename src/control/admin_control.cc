// Cluster mode: the admin changes go through the control plane's log in PostgreSQL
// (cluster/control_log.h, control_sync.h) and every node applies them in version order.
//
// A change is the admin request itself (method, path, headers other than the admin token, body),
// with what its first node drew for it (the time, and random bytes from which a service key is
// made), sealed with the cluster's secrets key. Applying it means serving that request here with
// that time and those bytes, on the admin worker, after every change before it: every node then
// runs the same handlers on the same state with the same inputs, so a deploy applied on another
// node has exactly the effect of a local deploy there (its validation, the reset of live
// instances, storage deletions and moves), and a request that is refused is refused everywhere
// (a no-op). Each node's own state that is not the control plane's (quarantine) does not refuse a
// change that was accepted where it was made.
#include <strings.h>

#include <cstring>
#include <future>
#include <set>
#include <stdexcept>

#include "cluster/cluster_node.h"
#include "cluster/control_log.h"
#include "cluster/pg_connection.h"
#include "control/admin_json.h"
#include "control/admin_path.h"
#include "control/admin_service.h"
#include "control/control_snapshot.h"
#include "control/control_sync.h"
#include "control/credentials_store.h"
#include "control/registry.h"
#include "control/registry_database.h"
#include "runtime/object_address.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/names.h"

namespace dorm::control {

using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

// A change's bytes: fields, each as its length (8 bytes, little-endian) and its bytes.
struct Change {
  std::string method, path, url, body, entropy, now;
  runtime::HeaderList headers;
};

void Put(std::string& out, std::string_view field) {
  uint64_t size = field.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  out.append(field);
}

std::string Encode(const Change& change) {
  std::string out;
  for (const std::string* field :
       {&change.method, &change.path, &change.url, &change.body, &change.entropy, &change.now}) {
    Put(out, *field);
  }
  Put(out, std::to_string(change.headers.size()));
  for (const auto& [name, value] : change.headers) {
    Put(out, name);
    Put(out, value);
  }
  return out;
}

// Throws std::runtime_error when `bytes` is not what Encode makes (it was sealed by a node of
// the cluster, but a newer Dorm could write more).
Change Decode(std::string_view bytes) {
  auto next = [&bytes]() {
    if (bytes.size() < 8) throw std::runtime_error("a control change is cut short");
    uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
    bytes.remove_prefix(8);
    if (size > bytes.size()) throw std::runtime_error("a control change is cut short");
    std::string field(bytes.substr(0, size));
    bytes.remove_prefix(size);
    return field;
  };
  Change change;
  for (std::string* field :
       {&change.method, &change.path, &change.url, &change.body, &change.entropy, &change.now}) {
    *field = next();
  }
  size_t count = std::stoul(next());
  for (size_t i = 0; i < count; ++i) {
    std::string name = next();
    change.headers.emplace_back(std::move(name), next());
  }
  if (!bytes.empty()) throw std::runtime_error("a control change holds more than this Dorm knows");
  return change;
}

// The client's Idempotency-Key, as sent (empty: none).
std::string IdempotencyKeyOf(const HttpRequestData& request) {
  for (const auto& [name, value] : request.headers) {
    if (strcasecmp(name.c_str(), "idempotency-key") == 0) return value;
  }
  return "";
}

// 1 to 255 visible ASCII characters (what Stripe and the IETF draft allow, a UUID among them).
bool ValidIdempotencyKey(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// An answer's bytes, to keep it with its idempotency key: status, headers, body.
std::string EncodeAnswer(const HttpResponseData& answer) {
  std::string out;
  Put(out, std::to_string(answer.status));
  Put(out, std::to_string(answer.headers.size()));
  for (const auto& [name, value] : answer.headers) {
    Put(out, name);
    Put(out, value);
  }
  Put(out, answer.body);
  return out;
}

// nullopt when `bytes` is not what EncodeAnswer makes.
std::optional<HttpResponseData> DecodeAnswer(std::string_view bytes) {
  try {
    auto next = [&bytes]() {
      if (bytes.size() < 8) throw std::runtime_error("cut short");
      uint64_t size = 0;
      for (int i = 0; i < 8; ++i) size |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
      bytes.remove_prefix(8);
      if (size > bytes.size()) throw std::runtime_error("cut short");
      std::string field(bytes.substr(0, size));
      bytes.remove_prefix(size);
      return field;
    };
    HttpResponseData answer;
    answer.status = std::stoi(next());
    size_t count = std::stoul(next());
    if (count > bytes.size()) return std::nullopt;
    for (size_t i = 0; i < count; ++i) {
      std::string name = next();
      answer.headers.emplace_back(std::move(name), next());
    }
    answer.body = next();
    if (!bytes.empty()) return std::nullopt;
    return answer;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

bool AdminService::ChangesControlPlane(const std::vector<std::string>& parts,
                                       const std::string& method) {
  if (method == "GET" || method == "HEAD") return false;
  if (parts.size() < 4 || parts[0] != "v1" || parts[1] != "apps") return false;
  const std::string& what = parts[3];
  // A class's deploy and deletion; its objects' storage (longer paths) is not the control plane.
  if (what == "classes") return parts.size() <= 5;
  return what == "project" || what == "env" || what == "auth" || what == "keys" ||
         what == "service-callers" || what == "transfers";
}

bool AdminService::RoutedThroughLog(const std::string& path, const HttpRequestData& request,
                                    HttpResponseData* response) {
  if (!control_) return false;
  if (ChangesControlPlane(AdminPathParts(path), request.method)) {
    *response = ServeChange(path, request);
    return true;
  }
  // Any other request sees every change committed before it (one query when there is none).
  try {
    ApplyPending(0);
  } catch (const std::exception& e) {
    Log(LogLevel::kWarn,
        std::string("control plane: answering from this node's copy, which may be behind: ") +
            e.what());
  }
  return false;
}

HttpResponseData AdminService::ServeChange(const std::string& path,
                                           const HttpRequestData& request) {
  std::vector<std::string> parts = AdminPathParts(path);
  const std::string& app = parts[2];
  // Deploying runs the module's top-level code: a suspended app waits like its requests. Checked
  // here, before the change is in the log, since every node applies what is there.
  if (request.method == "POST" && (parts[3] == "project" || parts[3] == "classes")) {
    if (auto suspended = Suspended(app)) return std::move(*suspended);
  }
  // A client's own key for this change: a request sent again under it (after an answer that
  // left the outcome open) gets the first one's answer instead of being made again.
  const std::string idempotency_key = IdempotencyKeyOf(request);
  std::string fingerprint;
  if (!idempotency_key.empty()) {
    if (!ValidIdempotencyKey(idempotency_key)) {
      return ErrorResponse(400,
                           "The Idempotency-Key header must be 1 to 255 visible ASCII characters.");
    }
    std::string described;
    Put(described, request.method);
    Put(described, request.url);
    Put(described, request.body);
    fingerprint = control_->Fingerprint(described);
  }
  Change change{request.method,
                path,
                request.url,
                request.body,
                RandomBytes(CredentialsStore::kKeyEntropyBytes),
                NowIso8601(),
                {}};
  for (const auto& [name, value] : request.headers) {
    // Each node has its own admin token; the change was authorized where it was made.
    if (strcasecmp(name.c_str(), "authorization") != 0) change.headers.emplace_back(name, value);
  }
  const std::string sealed = control_->Seal(Encode(change));
  // The change's id, unique in the log: after a COMMIT whose outcome is unknown, whether the log
  // holds this id says whether the change was made.
  const std::string id = RandomBytes(16);
  cluster::ControlLog& log = control_->log();
  long long version = 0;
  bool committing = false;
  auto refuse = [](const std::string& message) {
    HttpResponseData refused = ErrorResponse(503, message);
    refused.headers.emplace_back("retry-after", "1");
    return refused;
  };
  try {
    log.Begin();
    try {
      // Under the lock: this node's copy is the log's end, so the change is checked against the
      // state every node will apply it to.
      ApplyPending(0);
      if (!idempotency_key.empty()) {
        if (std::optional<cluster::IdempotentChange> earlier =
                log.FindIdempotencyKey(app, idempotency_key)) {
          log.Rollback();
          return RepeatedAnswer(app, idempotency_key, fingerprint, *earlier);
        }
      }
      // The objects the change deletes or moves go in PostgreSQL with the change, in its
      // transaction: once for the cluster, and never the one without the other (each node
      // removes or moves its local files when it applies the change).
      for (const ClusterObjects& objects : PlanClusterObjects(parts, request)) {
        if (objects.to_prefix) {
          log.MoveObjects(objects.prefix, *objects.to_prefix);
        } else {
          log.DeleteObjects(objects.prefix);
          log.ForgetUsageStorage(objects.app, objects.storage);
        }
      }
      version = log.Append(control_->node(), id, sealed);
      if (!idempotency_key.empty()) {
        log.RecordIdempotencyKey(app, idempotency_key, fingerprint, version);
      }
    } catch (...) {
      log.Rollback();
      throw;
    }
    committing = true;
    log.Commit();
  } catch (const cluster::PgError& e) {
    if (!committing || !e.connection_lost()) {
      // No COMMIT was sent, or PostgreSQL answered it with an error: the transaction is gone.
      Log(LogLevel::kWarn, std::string("control plane: a change was not recorded: ") + e.what());
      return refuse(std::string("The cluster's database did not record this change, so it was "
                                "not made: ") +
                    e.what() + ". Retry the request.");
    }
    // The COMMIT's outcome is unknown: read it back.
    try {
      std::optional<long long> found = log.Find(id, log.backend_pid());
      if (!found) {
        Log(LogLevel::kWarn, std::string("control plane: a change's commit was lost: ") + e.what());
        return refuse(std::string("The cluster's database lost its connection before this "
                                  "change committed, so it was not made: ") +
                      e.what() + ". Retry the request.");
      }
      version = *found;
      Log(LogLevel::kInfo, "control plane: a change whose commit lost its connection is version " +
                               std::to_string(version));
    } catch (const cluster::PgError& unknown) {
      Log(LogLevel::kWarn,
          std::string("control plane: a change's outcome is unknown: ") + unknown.what());
      return refuse(std::string("The cluster's database did not confirm this change, and whether "
                                "it was made could not be read back (") +
                    unknown.what() +
                    "): it may have been made. Check before retrying the request.");
    }
  }
  std::optional<HttpResponseData> answer = ApplyPending(version);
  // The node that appends a multiple of snapshot_every compacts the log, once this request is
  // answered (every version is appended by one node: one of them compacts).
  if (control_->snapshot_every() > 0 && version % control_->snapshot_every() == 0) {
    QueueCompaction();
  }
  if (!answer) {
    return ErrorResponse(500, "The change was recorded as version " + std::to_string(version) +
                                  " but this node had applied it already.");
  }
  if (!idempotency_key.empty()) {
    // For a node that did not apply the change while running (it loaded a snapshot, or started
    // later): best effort, since every node that applies the change remembers its answer too.
    try {
      log.StoreIdempotentAnswer(app, idempotency_key, version,
                                control_->SealAnswer(EncodeAnswer(*answer)));
    } catch (const cluster::PgError& e) {
      Log(LogLevel::kWarn,
          std::string("control plane: the answer to an idempotent change was not stored: ") +
              e.what());
    }
  }
  return std::move(*answer);
}

HttpResponseData AdminService::RepeatedAnswer(const std::string& app, const std::string& key,
                                              const std::string& fingerprint,
                                              const cluster::IdempotentChange& earlier) {
  if (earlier.request != fingerprint) {
    return ErrorResponse(422, "The Idempotency-Key '" + key + "' of app '" + app +
                                  "' was used in the last 24 hours for another request: send a "
                                  "new key with a new request.");
  }
  std::optional<HttpResponseData> answer;
  auto remembered = idempotent_answers_.find(app + '\n' + key);
  if (remembered != idempotent_answers_.end() && remembered->second.first == earlier.version) {
    answer = remembered->second.second;
  } else if (earlier.answer) {
    if (std::optional<std::string> opened = control_->OpenAnswer(*earlier.answer)) {
      answer = DecodeAnswer(*opened);
    }
  }
  if (!answer) {
    HttpResponseData unknown = ErrorResponse(
        409, "The request with this Idempotency-Key was made (version " +
                 std::to_string(earlier.version) +
                 " of the cluster's control log), but its answer is not known on this node yet. "
                 "Retry the request with the same key.");
    unknown.headers.emplace_back("retry-after", "1");
    return unknown;
  }
  answer->headers.emplace_back("idempotent-replayed", "true");
  return std::move(*answer);
}

void AdminService::RememberAnswer(const std::string& path, const HttpRequestData& request,
                                  long long version, const HttpResponseData& response) {
  const std::string key = IdempotencyKeyOf(request);
  if (key.empty()) return;
  std::vector<std::string> parts = AdminPathParts(path);
  if (parts.size() < 3) return;
  const std::string slot = parts[2] + '\n' + key;
  if (idempotent_answers_.insert_or_assign(slot, std::make_pair(version, response)).second) {
    idempotent_order_.push_back(slot);
  }
  // The newest answers only: a key is meant for the retries of one request, seconds apart.
  while (idempotent_order_.size() > kRememberedAnswers) {
    idempotent_answers_.erase(idempotent_order_.front());
    idempotent_order_.pop_front();
  }
}

std::vector<AdminService::ClusterObjects> AdminService::PlanClusterObjects(
    const std::vector<std::string>& parts, const HttpRequestData& request) {
  std::vector<ClusterObjects> plan;
  const std::string& app = parts[2];
  if (request.method == "DELETE" && parts[3] == "classes" && parts.size() == 5) {
    if (auto record = registry_.Get(app, parts[4])) {
      plan.push_back({app, record->StorageName(),
                      runtime::ClassKeyPrefix(app, record->StorageName()), std::nullopt});
    }
  } else if (request.method == "POST" && parts[3] == "project" && parts.size() == 4 &&
             IsValidKebabName(app)) {
    // The deploy itself, up to its first effect: it fills `plan` with what it would delete or
    // move if it is valid, and changes nothing.
    cluster_plan_ = &plan;
    try {
      DeployProject(app, request.body);
    } catch (...) {
      cluster_plan_ = nullptr;
      throw;
    }
    cluster_plan_ = nullptr;
  }
  return plan;
}

std::optional<HttpResponseData> AdminService::ApplyPending(long long want) {
  std::optional<HttpResponseData> answer;
  // Read before the log: the end found below is at least the end as of this generation's start
  // (or, while the lease is lost, as of its loss: the next generation registers once it is
  // applied).
  const int generation = cluster_node_ ? cluster_node_->serving_generation() : 0;
  cluster::ControlLog& log = control_->log();
  for (;;) {
    std::vector<cluster::ControlChange> changes = log.Since(control_->applied(), 32);
    // The changes must follow the applied version without a gap: a compaction (read after the
    // changes, so that a compaction that committed in between is seen) deleted the missing ones,
    // and its snapshot holds them.
    bool compacted = changes.empty() || changes.front().version != control_->applied() + 1;
    if (compacted) {
      if (log.SnapshotVersion() > control_->applied()) {
        std::optional<cluster::ControlSnapshot> snapshot = log.LatestSnapshot();
        if (snapshot && snapshot->version > control_->applied()) {
          LoadSnapshot(*snapshot);
          continue;
        }
      }
      if (!changes.empty()) {
        throw std::runtime_error("the control log has no version " +
                                 std::to_string(control_->applied() + 1) +
                                 " and no snapshot holds it");
      }
      if (cluster_node_) cluster_node_->ControlCaughtUp(generation);
      return answer;
    }
    for (const cluster::ControlChange& change : changes) {
      // Versions are written without a gap, and a compaction deletes a prefix: a gap here is a
      // compaction that came between two pages of Since (the next round sees its snapshot).
      if (change.version != control_->applied() + 1) break;
      HttpResponseData response = ApplyChange(change, change.version == want);
      if (change.version == want) answer = std::move(response);
    }
  }
}

void AdminService::LoadSnapshot(const cluster::ControlSnapshot& sealed) {
  std::optional<std::string> opened = control_->OpenSnapshot(sealed.snapshot);
  if (!opened) {
    throw std::runtime_error("the control snapshot at version " + std::to_string(sealed.version) +
                             " of node " + sealed.node +
                             " cannot be opened with this node's secrets key (DATA/secrets.key)");
  }
  // The classes' storage before and after: a class the snapshot does not have was deleted (or
  // transferred) by a change this node never applied, and its local files go. Its objects' rows
  // in PostgreSQL went with that change; a transferred class's objects are restored from the log
  // under their new keys.
  auto storages = [this] {
    std::set<std::pair<std::string, std::string>> out;
    for (const std::string& app : registry_.Apps()) {
      for (const ClassRecord& record : registry_.List(app)) out.emplace(app, record.StorageName());
    }
    return out;
  };
  const std::set<std::pair<std::string, std::string>> before = storages();
  sqlite3* db = OpenRegistryDatabase(options_.data_dir, "control snapshot");
  try {
    LoadControlSnapshot(db, *opened);
  } catch (...) {
    sqlite3_close_v2(db);
    throw;
  }
  sqlite3_close_v2(db);
  if (credentials_) credentials_->Reload();
  const std::set<std::pair<std::string, std::string>> after = storages();
  std::set<std::string> apps;
  for (const auto& [app, storage] : before) apps.insert(app);
  for (const auto& [app, storage] : after) apps.insert(app);
  for (const std::string& app : apps) PublishApp(app);
  for (const auto& [app, storage] : before) {
    if (!after.count({app, storage})) DeleteClassStorage(app, storage);
  }
  control_->SetApplied(sealed.version);
  Log(LogLevel::kInfo, "control plane: loaded the snapshot at version " +
                           std::to_string(sealed.version) + " of node " + sealed.node);
}

void AdminService::QueueCompaction() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  jobs_.push_back([this] { Compact(); });
  cv_.notify_one();
}

void AdminService::Compact() {
  cluster::ControlLog& log = control_->log();
  try {
    long long version = 0;
    log.Begin();
    try {
      // Under the lock, with every change applied: this node's copy is the state at the log's end.
      ApplyPending(0);
      version = control_->applied();
      if (version <= log.SnapshotVersion()) {
        log.Rollback();
        return;
      }
      sqlite3* db = OpenRegistryDatabase(options_.data_dir, "control snapshot");
      std::string snapshot;
      try {
        snapshot = EncodeControlSnapshot(db);
      } catch (...) {
        sqlite3_close_v2(db);
        throw;
      }
      sqlite3_close_v2(db);
      log.WriteSnapshot(control_->node(), version, control_->SealSnapshot(snapshot));
    } catch (...) {
      log.Rollback();
      throw;
    }
    // A COMMIT whose outcome is unknown needs no reading back: the log is whole either way, and
    // the next compaction covers what this one would have.
    log.Commit();
    Log(LogLevel::kInfo, "control plane: wrote the snapshot at version " + std::to_string(version) +
                             " and deleted the changes it holds");
  } catch (const std::exception& e) {
    Log(LogLevel::kWarn, std::string("control plane: a snapshot was not written: ") + e.what());
  }
}

HttpResponseData AdminService::ApplyChange(const cluster::ControlChange& sealed, bool origin) {
  std::optional<std::string> opened = control_->Open(sealed.change);
  if (!opened) {
    throw std::runtime_error("control change " + std::to_string(sealed.version) + " of node " +
                             sealed.node +
                             " cannot be opened with this node's secrets key (DATA/secrets.key)");
  }
  Change change = Decode(*opened);
  HttpRequestData request;
  request.method = change.method;
  request.url = change.url;
  request.headers = std::move(change.headers);
  request.body = std::move(change.body);
  HttpResponseData response;
  {
    FixedNow now(change.now);
    replaying_ = true;
    replay_entropy_ = change.entropy;
    try {
      response = Serve(change.path, request);
    } catch (const std::exception& e) {
      Log(LogLevel::kError,
          "control change " + std::to_string(sealed.version) + " failed here: " + e.what());
      response = ErrorResponse(500, e.what());
    }
    replaying_ = false;
    replay_entropy_.clear();
  }
  RememberAnswer(change.path, request, sealed.version, response);
  control_->SetApplied(sealed.version);
  if (!origin && response.status < 400) {
    Log(LogLevel::kInfo, "control change " + std::to_string(sealed.version) + " of node " +
                             sealed.node + " applied: " + change.method + " " + change.path);
  }
  return response;
}

void AdminService::CatchUp() {
  if (!control_ || catch_up_queued_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    jobs_.push_back([this] {
      catch_up_queued_ = false;
      try {
        ApplyPending(0);
      } catch (const std::exception& e) {
        Log(LogLevel::kWarn, std::string("control plane: catching up failed: ") + e.what());
      }
    });
  }
  cv_.notify_one();
}

bool AdminService::CatchUpNow() {
  if (!control_) return true;
  auto done = std::make_shared<std::promise<bool>>();
  std::future<bool> result = done->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back([this, done] {
      try {
        ApplyPending(0);
        done->set_value(true);
      } catch (const std::exception& e) {
        Log(LogLevel::kError, std::string("control plane: catching up failed: ") + e.what());
        done->set_value(false);
      }
    });
  }
  cv_.notify_one();
  return result.get();
}

}  // namespace dorm::control
