// The objects list and the storage browser of the admin API:
//   GET    /_admin/v1/apps/<app>/classes/<class>/objects?prefix=&limit=&cursor=
//          → {"app", "class", "objects": [{"id", "name", "storage_bytes", "last_active", "state",
//             "websockets", "alarm"}], "cursor"}: from the object index (object_index.h), ordered
//             by id; `cursor` is the last id of a full page (null at the end)
//   GET    .../objects/<object>/storage?prefix=&limit=&cursor=  → {"entries": [{"key","value"}],
//          "count", "cursor"}
//   GET    .../objects/<object>/storage/<key>  → {"key", "value"}; 404 if missing
//   PUT    .../objects/<object>/storage/<key>  with the value as JSON → {"key", "stored": true}
//   DELETE .../objects/<object>/storage/<key>  → {"key", "deleted"}
//   POST   .../objects/<object>/sql  with {"sql", "params"?, "write"?, "limit"?}
//          → {"columns", "rows", "truncated", "rows_written"}
// <object> is a name or the object's 64-hex id; <key> is percent-encoded. The storage commands
// run on the object's own thread as its events (runtime/storage_command.h) and answer from there,
// so a slow object never holds up the admin service's worker. Everything is scoped by the app in
// the path: an object is only ever looked up among that app's classes.
#include <boost/json.hpp>
#include <map>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/object_index.h"
#include "control/registry.h"
#include "control/usage_recorder.h"
#include "runtime/engine_pool.h"
#include "runtime/object_id.h"
#include "storage/alarm_index.h"
#include "util/iso8601.h"
#include "util/names.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

// Largest value (as JSON) a storage put accepts, and largest SQL text.
constexpr size_t kMaxPutJsonBytes = 4u << 20;
constexpr size_t kMaxSqlBytes = 100000;
constexpr size_t kMaxKeyBytes = 2048;

// `limit` from the query (default 100, 1 to 1000); nullopt when out of range or not a number.
std::optional<int> PageLimit(const std::map<std::string, std::string>& params) {
  auto it = params.find("limit");
  if (it == params.end()) return 100;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 4) return std::nullopt;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > runtime::StorageCommand::kMaxLimit) return std::nullopt;
  return n;
}

const char kLimitMessage[] = "limit must be a number from 1 to 1000.";

// The page size of a listing whose only parameters are prefix, limit and cursor; nullopt with
// `error` set to the 400 answer's message for any other parameter or a bad limit.
std::optional<int> PagedListLimit(const std::map<std::string, std::string>& params,
                                  std::string* error) {
  for (const auto& [key, value] : params) {
    if (key != "prefix" && key != "limit" && key != "cursor") {
      *error = "Unknown parameter '" + key + "': use prefix, limit and cursor.";
      return std::nullopt;
    }
  }
  auto limit = PageLimit(params);
  if (!limit) *error = kLimitMessage;
  return limit;
}

std::string LowerHex(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

json::value IsoOrNull(long long ms) {
  if (ms <= 0) return nullptr;
  return json::value(FormatIso8601(ms));
}

}  // namespace

bool AdminService::ServeObjects(const std::string& path, const HttpRequestData& request,
                                const std::function<void(HttpResponseData)>& respond) {
  // /v1/apps/<app>/classes/<class>/objects[/<object>/(storage[/<key>]|sql)]
  std::vector<std::string> parts;
  {
    size_t i = 0;
    std::string route = path.substr(0, path.find('?'));
    while (i < route.size()) {
      size_t j = route.find('/', i);
      if (j == std::string::npos) j = route.size();
      if (j > i) parts.push_back(route.substr(i, j - i));
      i = j + 1;
    }
  }
  if (parts.size() < 6 || parts[0] != "v1" || parts[1] != "apps" || parts[3] != "classes" ||
      parts[5] != "objects") {
    return false;
  }
  auto answer = [&](HttpResponseData r) {
    respond(std::move(r));
    return true;
  };
  std::string app;
  if (auto refusal = DecodeAppName(parts[2], &app)) return answer(std::move(*refusal));
  const std::string name = PercentDecode(parts[4]).value_or("");
  auto record = registry_.Get(app, name);
  if (!record || record->name == runtime::kWorkerClassName) {
    return answer(
        ErrorResponse(404, "No Durable Object class named '" + name + "' in app '" + app + "'."));
  }
  const std::string storage = record->storage_name.empty() ? record->name : record->storage_name;
  std::string query_error;
  auto params = QueryParameters(request.url, &query_error, /*plus_is_space=*/true);
  if (!params) return answer(ErrorResponse(400, query_error));
  const std::string& method = request.method;

  if (parts.size() == 6) {
    if (method != "GET") return answer(ErrorResponse(405, "Method not allowed."));
    std::string page_error;
    auto limit = PagedListLimit(*params, &page_error);
    if (!limit) return answer(ErrorResponse(400, page_error));
    if (!usage_ || !object_index_) {
      return answer(
          ErrorResponse(404, "The objects list needs the usage meters, which are not enabled."));
    }
    // The reading brings the index up to date and tells which objects are in memory.
    UsageRecorder::Snapshot snapshot = usage_->RefreshAndRead();
    struct Liveness {
      bool in_memory = false;
      uint64_t websockets = 0;
    };
    std::map<std::string, Liveness> live;
    for (const auto& thread : snapshot.threads) {
      for (const auto& o : thread.live) {
        if (o.app != app || o.class_name != storage) continue;
        Liveness& l = live[o.object_id];
        l.in_memory |= o.in_memory;
        l.websockets += o.websockets;
      }
    }
    const std::string prefix = (*params)["prefix"];
    const std::string cursor = LowerHex((*params)["cursor"]);
    std::vector<ObjectIndex::Entry> page =
        object_index_->List(app, storage, prefix, cursor, *limit);
    json::array objects;
    for (const auto& e : page) {
      auto it = live.find(e.id);
      const char* state = "evicted";
      uint64_t websockets = 0;
      if (it != live.end()) {
        state = it->second.in_memory ? "live" : "hibernated";
        websockets = it->second.websockets;
      }
      std::optional<long long> alarm =
          alarm_index_ ? alarm_index_->Find(app, storage, e.id, e.name) : std::nullopt;
      objects.push_back(
          json::object{{"id", e.id},
                       {"name", e.name.empty() ? json::value(nullptr) : json::value(e.name)},
                       {"storage_bytes", e.storage_bytes},
                       {"last_active", IsoOrNull(e.last_active_ms)},
                       {"state", state},
                       {"websockets", websockets},
                       {"alarm", alarm ? IsoOrNull(*alarm) : json::value(nullptr)}});
    }
    json::value next = nullptr;
    if (static_cast<int>(page.size()) == *limit) next = json::value(page.back().id);
    return answer(JsonResponse(200, json::object{{"app", app},
                                                 {"class", name},
                                                 {"objects", std::move(objects)},
                                                 {"cursor", std::move(next)}}));
  }

  // A storage command for one object.
  if (parts.size() < 7) return answer(ErrorResponse(404, "Unknown admin endpoint."));
  const std::string spec = PercentDecode(parts[6]).value_or("");
  if (spec.empty() || spec.size() > 1024) {
    return answer(ErrorResponse(400, "An object is named by 1 to 1024 bytes or its 64-hex id."));
  }
  runtime::ObjectAddress address;
  address.app = app;
  address.class_name = storage;
  const std::string as_id = LowerHex(spec);
  if (runtime::IsObjectIdSyntax(spec) &&
      runtime::ObjectIdBelongsTo(runtime::NamespaceKey(app, storage), as_id)) {
    address.object_id = as_id;
    // Constructed by this command, the object should still see its name (ctx.id.name).
    if (object_index_) {
      if (auto known = object_index_->Find(app, storage, as_id))
        address.instance_name = known->name;
    }
  } else {
    address.instance_name = spec;
  }
  runtime::CompleteAddress(address);

  runtime::StorageCommand command;
  using Op = runtime::StorageCommand::Op;
  if (parts.size() == 8 && parts[7] == "storage") {
    if (method != "GET") return answer(ErrorResponse(405, "Method not allowed."));
    std::string page_error;
    auto limit = PagedListLimit(*params, &page_error);
    if (!limit) return answer(ErrorResponse(400, page_error));
    command.op = Op::kList;
    command.limit = *limit;
    command.prefix = (*params)["prefix"];
    command.start_after = (*params)["cursor"];
  } else if (parts.size() == 9 && parts[7] == "storage") {
    auto key = PercentDecode(parts[8]);
    if (!key || key->empty() || key->size() > kMaxKeyBytes) {
      return answer(ErrorResponse(400, "A key is 1 to 2048 bytes, percent-encoded in the path."));
    }
    command.key = *key;
    if (method == "GET") {
      command.op = Op::kGet;
    } else if (method == "PUT") {
      if (request.body.size() > kMaxPutJsonBytes) {
        return answer(ErrorResponse(413, "The value is too large (the limit is 4 MiB of JSON)."));
      }
      command.op = Op::kPut;
      command.value_json = request.body;
    } else if (method == "DELETE") {
      command.op = Op::kDelete;
    } else {
      return answer(ErrorResponse(405, "Method not allowed."));
    }
  } else if (parts.size() == 8 && parts[7] == "sql") {
    if (method != "POST") return answer(ErrorResponse(405, "Method not allowed."));
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) {
      return answer(ErrorResponse(400, "The request body must be a JSON object."));
    }
    const json::object& o = body.as_object();
    const json::value* sql = o.if_contains("sql");
    if (!sql || !sql->is_string() || sql->as_string().empty()) {
      return answer(ErrorResponse(400, "Missing \"sql\": the statement to run."));
    }
    if (sql->as_string().size() > kMaxSqlBytes) {
      return answer(ErrorResponse(413, "The SQL is too long (the limit is 100000 bytes)."));
    }
    command.op = Op::kSql;
    command.sql = std::string(sql->as_string());
    if (const json::value* p = o.if_contains("params"); p && !p->is_null()) {
      if (!p->is_array()) return answer(ErrorResponse(400, "\"params\" must be a JSON array."));
      if (p->as_array().size() > 100) {
        return answer(ErrorResponse(400, "At most 100 SQL parameters."));
      }
      command.params_json = json::serialize(*p);
    }
    if (const json::value* w = o.if_contains("write"); w && !w->is_null()) {
      if (!w->is_bool()) return answer(ErrorResponse(400, "\"write\" must be true or false."));
      command.write = w->as_bool();
    }
    if (const json::value* l = o.if_contains("limit"); l && !l->is_null()) {
      if (!l->is_int64() || l->as_int64() < 1 || l->as_int64() > 1000) {
        return answer(ErrorResponse(400, kLimitMessage));
      }
      command.limit = static_cast<int>(l->as_int64());
    }
  } else {
    return answer(ErrorResponse(404, "Unknown admin endpoint."));
  }
  if (auto suspended = Suspended(app)) return answer(std::move(*suspended));
  // Answered from the object's thread.
  pool_.RunStorageCommand(address, std::move(command), respond);
  return true;
}

}  // namespace dorm::control
