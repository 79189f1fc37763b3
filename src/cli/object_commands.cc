#include "cli/object_commands.h"

#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/admin_json_request.h"
#include "cli/flag_value.h"
#include "cli/json_text.h"
#include "util/names.h"

namespace dorm::cli {

namespace {

namespace json = boost::json;

const char kObjectsUsage[] =
    "usage: dorm objects list NAME [--prefix P] [--limit N] [--cursor C] [--app APP]";
const char kStorageUsage[] =
    "usage: dorm storage list NAME ID [--prefix P] [--limit N] [--cursor C] [--app APP]\n"
    "       dorm storage get NAME ID KEY [--app APP]\n"
    "       dorm storage put NAME ID KEY VALUE-JSON [--app APP]\n"
    "       dorm storage delete NAME ID KEY [--app APP]\n"
    "       dorm storage sql NAME ID \"SQL\" [--write] [--limit N] [--app APP]";

int BadUsage(const char* usage) {
  std::cerr << usage << "\n";
  return 2;
}

std::string AppOf(const std::map<std::string, std::string>& flags) {
  std::string app = FlagValue(flags, "app");
  return app.empty() ? "default" : app;
}

std::string ClassPath(const std::map<std::string, std::string>& flags, const std::string& name) {
  return "/_admin/v1/apps/" + PercentEncodeSegment(AppOf(flags)) + "/classes/" +
         PercentEncodeSegment(name) + "/objects";
}

// `?prefix=&limit=&cursor=` from the flags that were given.
std::string PageQuery(const std::map<std::string, std::string>& flags) {
  std::string query;
  for (const char* key : {"prefix", "limit", "cursor"}) {
    if (!flags.count(key)) continue;
    query += query.empty() ? "?" : "&";
    query += std::string(key) + "=" + PercentEncodeSegment(FlagValue(flags, key));
  }
  return query;
}

std::string Text(const json::object& o, const char* key, const char* absent = "-") {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return absent;
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

}  // namespace

int ObjectsCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags) {
  if (positional.size() != 2 || positional[0] != "list") return BadUsage(kObjectsUsage);
  auto answer = AdminJsonRequest(flags, "GET", ClassPath(flags, positional[1]) + PageQuery(flags));
  if (!answer) return 1;
  std::printf("%-64s  %-24s %12s  %-20s  %-10s %4s  %s\n", "ID", "NAME", "STORAGE_BYTES",
              "LAST_ACTIVE", "STATE", "WS", "ALARM");
  const json::value* objects = answer->if_contains("objects");
  if (objects && objects->is_array()) {
    for (const auto& item : objects->as_array()) {
      if (!item.is_object()) continue;
      const json::object& o = item.as_object();
      std::printf("%-64s  %-24s %12s  %-20s  %-10s %4s  %s\n", Text(o, "id").c_str(),
                  Text(o, "name").c_str(), Text(o, "storage_bytes").c_str(),
                  Text(o, "last_active").c_str(), Text(o, "state").c_str(),
                  Text(o, "websockets").c_str(), Text(o, "alarm").c_str());
    }
  }
  std::string cursor = JsonText(*answer, "cursor");
  if (!cursor.empty()) std::printf("next page: --cursor %s\n", cursor.c_str());
  return 0;
}

int StorageCommand(const std::vector<std::string>& positional,
                   const std::map<std::string, std::string>& flags) {
  if (positional.size() < 3) return BadUsage(kStorageUsage);
  const std::string& action = positional[0];
  const std::string object_path =
      ClassPath(flags, positional[1]) + "/" + PercentEncodeSegment(positional[2]);
  if (flags.count("write") && action != "sql") return BadUsage(kStorageUsage);
  if (action == "list") {
    if (positional.size() != 3) return BadUsage(kStorageUsage);
    auto answer = AdminJsonRequest(flags, "GET", object_path + "/storage" + PageQuery(flags));
    if (!answer) return 1;
    const json::value* entries = answer->if_contains("entries");
    if (entries && entries->is_array()) {
      for (const auto& item : entries->as_array()) {
        if (!item.is_object()) continue;
        const json::object& o = item.as_object();
        const json::value* value = o.if_contains("value");
        std::cout << JsonText(o, "key") << "\t" << (value ? json::serialize(*value) : "") << "\n";
      }
    }
    std::string cursor = JsonText(*answer, "cursor");
    if (!cursor.empty())
      std::cout << "next page: --cursor " << json::serialize(json::value(cursor)) << "\n";
    return 0;
  }
  if (flags.count("prefix") || flags.count("cursor") || (flags.count("limit") && action != "sql")) {
    return BadUsage(kStorageUsage);
  }
  if (action == "get" || action == "delete") {
    if (positional.size() != 4) return BadUsage(kStorageUsage);
    auto answer = AdminJsonRequest(flags, action == "get" ? "GET" : "DELETE",
                                   object_path + "/storage/" + PercentEncodeSegment(positional[3]));
    if (!answer) return 1;
    if (action == "get") {
      const json::value* value = answer->if_contains("value");
      std::cout << (value ? json::serialize(*value) : "null") << "\n";
    } else {
      const json::value* deleted = answer->if_contains("deleted");
      std::cout << (deleted && deleted->is_bool() && deleted->as_bool() ? "deleted" : "not found")
                << "\n";
    }
    return 0;
  }
  if (action == "put") {
    if (positional.size() != 5) return BadUsage(kStorageUsage);
    auto answer = AdminJsonRequest(flags, "PUT",
                                   object_path + "/storage/" + PercentEncodeSegment(positional[3]),
                                   positional[4]);
    if (!answer) return 1;
    std::cout << "stored\n";
    return 0;
  }
  if (action == "sql") {
    if (positional.size() != 4) return BadUsage(kStorageUsage);
    json::object body{{"sql", positional[3]}, {"write", flags.count("write") > 0}};
    if (flags.count("limit")) {
      char* end = nullptr;
      const std::string limit = FlagValue(flags, "limit");
      long long n = std::strtoll(limit.c_str(), &end, 10);
      if (limit.empty() || *end != '\0') return BadUsage(kStorageUsage);
      body["limit"] = n;
    }
    auto answer = AdminJsonRequest(flags, "POST", object_path + "/sql", json::serialize(body));
    if (!answer) return 1;
    const json::value* columns = answer->if_contains("columns");
    if (columns && columns->is_array() && !columns->as_array().empty()) {
      std::string line;
      for (const auto& c : columns->as_array()) {
        if (!line.empty()) line += "\t";
        line += c.is_string() ? std::string(c.as_string()) : json::serialize(c);
      }
      std::cout << line << "\n";
    }
    const json::value* rows = answer->if_contains("rows");
    if (rows && rows->is_array()) {
      for (const auto& row : rows->as_array()) {
        if (!row.is_array()) continue;
        std::string line;
        bool first = true;
        for (const auto& v : row.as_array()) {
          if (!first) line += "\t";
          first = false;
          line += json::serialize(v);
        }
        std::cout << line << "\n";
      }
    }
    const json::value* truncated = answer->if_contains("truncated");
    if (truncated && truncated->is_bool() && truncated->as_bool()) {
      std::cout << "(more rows than shown)\n";
    }
    const json::value* written = answer->if_contains("rows_written");
    if (flags.count("write") && written) {
      std::cout << "rows written: " << json::serialize(*written) << "\n";
    }
    return 0;
  }
  return BadUsage(kStorageUsage);
}

}  // namespace dorm::cli
