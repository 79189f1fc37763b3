#include "cli/durable_objects_tool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include "util/names.h"

namespace dorm::cli {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 13> kActions = {
    "deploy",     "list", "get",          "delete",      "usage",  "list_env", "set_env",
    "delete_env", "tail", "list_objects", "get_storage", "export", "backup"};
constexpr std::array<std::string_view, 16> kArguments = {
    "action", "app_id", "name",   "code",   "access_mode", "key",  "value",  "since",
    "object", "level",  "prefix", "cursor", "limit",       "file", "folder", "incremental_from"};
// What deploy answers in the seed documents, and what list and get show of each class.
constexpr std::array<std::string_view, 6> kClassFields = {
    "id", "name", "class_name", "status", "access_mode", "last_deployed_at"};

template <size_t N>
std::string JoinNames(const std::array<std::string_view, N>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

McpToolResult Failure(std::string text) { return McpToolResult{true, std::move(text), {}}; }

McpToolResult Success(json::object result) {
  std::string text = json::serialize(result);
  return McpToolResult{false, std::move(text), std::move(result)};
}

json::object PickClassFields(const json::object& from) {
  json::object out;
  for (std::string_view field : kClassFields) {
    if (const json::value* v = from.if_contains(field)) out[field] = *v;
  }
  return out;
}

json::object InputSchema() {
  json::array actions;
  for (std::string_view a : kActions) actions.emplace_back(a);
  auto text = [](const char* description) {
    return json::object{{"type", "string"}, {"description", description}};
  };
  json::object key = text("Env var key (set_env, delete_env): UPPER_SNAKE, ^[A-Z_][A-Z0-9_]*$.");
  key["pattern"] = "^[A-Z_][A-Z0-9_]*$";
  json::object access_mode =
      text("Access mode for deploy; when omitted the server's default applies.");
  access_mode["enum"] = json::array{"public", "authenticated", "service_key"};
  json::object action = text(
      "deploy: create or update a class from `code`. list: the app's classes. get: one class "
      "with its full source, status and error_message. delete: remove a class and ALL of its "
      "objects' storage (irreversible). usage: request and CPU meters. list_env: env var keys "
      "(never values). set_env: set `key` to `value`. delete_env: remove `key`. tail: the app's "
      "most recent log lines (console output, uncaught exceptions, one line per request, RPC "
      "call, alarm and WebSocket event), at most 100, narrowed by `name`, `object`, `level` and "
      "`since`. list_objects: the objects of class `name` (id, name, storage size, last "
      "activity, live/hibernated/evicted, WebSockets, pending alarm), a page at a time. "
      "get_storage: the value of `key` in the storage of `object` of class `name`, or without "
      "`key` its keys and values a page at a time; values are JSON, with tagged forms "
      "({\"$type\": ...}) for what JSON cannot hold. export: the objects of class `name` (or "
      "only `object`) as an archive `file` (name.dorm) in the MCP server's archive folder, for "
      "dorm import. backup: the whole server (every app's objects, classes, env, alarms, usage) "
      "into the new `folder` of the archive folder, as dorm backup does, for dorm restore; with "
      "`incremental_from` (an earlier backup's folder there) only the objects changed since it "
      "are copied, the others linked from it. Both need the archive folder (dorm mcp "
      "--archive-root DIR), and never overwrite.");
  action["enum"] = std::move(actions);
  return json::object{
      {"type", "object"},
      {"properties",
       json::object{
           {"action", std::move(action)},
           {"app_id", text("The app (kebab-case); \"default\" when omitted.")},
           {"name", text("Kebab-case URL name of the class, as in /_do/<name>/<instance-id>. "
                         "Required by get and delete; for deploy it defaults to the kebab-case "
                         "of the class name; for usage it narrows the meters to one class.")},
           {"code", text("deploy: the whole single TypeScript or JavaScript file, exporting "
                         "exactly one class; only `cloudflare:*` imports.")},
           {"access_mode", std::move(access_mode)},
           {"key", std::move(key)},
           {"value", text("set_env: the value; readable by every class of the app as env.KEY.")},
           {"since", text("usage: ISO 8601 start of the period (e.g. 2025-01-31T00:00:00Z). "
                          "tail: how far back, as a duration (30s, 5m, 1h; default 1h).")},
           {"object", text("tail: only lines of this object (its id or instance name). "
                           "get_storage: the object, by its name or 64-hex id.")},
           {"level", text("tail: only console lines of these levels (log, info, warn, error, "
                          "debug; comma-separated), and exceptions with error.")},
           {"prefix", text("list_objects: only objects whose name starts with it; get_storage: "
                           "only keys that start with it.")},
           {"cursor", text("list_objects, get_storage: the `cursor` of the previous page.")},
           {"limit", text("list_objects, get_storage: page size, 1 to 1000 (default 100).")},
           {"file", text("export: the archive's file name in the archive folder, ending in "
                         ".dorm (letters, digits, '.', '_', '-'; no folders).")},
           {"folder", text("backup: the name of a new folder in the archive folder (letters, "
                           "digits, '.', '_', '-'; no '/').")},
           {"incremental_from",
            text("backup: the folder, in the archive folder, of an earlier backup to build on: "
                 "only objects changed since it are copied.")}}},
      {"required", json::array{"action"}},
      {"additionalProperties", false}};
}

// Whether `name` may name a file or folder directly inside the archive folder: 1 to 100 letters,
// digits, '.', '_' and '-', starting with a letter or digit (so never "..", a hidden file, an
// absolute path or one with a folder in it).
bool IsArchiveEntryName(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

class Invocation {
 public:
  Invocation(const AdminCall& admin, const ArchiveDestination& archives,
             const json::object& arguments)
      : admin_(admin), archives_(archives), arguments_(arguments) {}

  McpToolResult Run() {
    for (const auto& entry : arguments_) {
      bool known = false;
      for (std::string_view a : kArguments) known |= entry.key() == a;
      if (!known) {
        return Failure("Unknown argument '" + std::string(entry.key()) +
                       "'. The arguments are: " + JoinNames(kArguments) + ".");
      }
      if (!entry.value().is_string() && !entry.value().is_null()) {
        return Failure("Argument '" + std::string(entry.key()) + "' must be a string.");
      }
    }
    std::string action = Text("action").value_or("");
    if (action.empty()) {
      return Failure("Missing argument 'action': one of " + JoinNames(kActions) + ".");
    }
    app_ = Text("app_id").value_or("default");
    if (!IsValidKebabName(app_)) {
      return Failure("Invalid app name '" + app_ +
                     "': app names are kebab-case (lowercase letters, digits and single hyphens, "
                     "starting with a letter, at most 63 characters).");
    }
    app_path_ = "/_admin/v1/apps/" + PercentEncodeSegment(app_);
    if (action == "deploy") return Deploy();
    if (action == "list") return List();
    if (action == "get") return Get();
    if (action == "delete") return Delete();
    if (action == "usage") return Usage();
    if (action == "list_env") return Forward("GET", app_path_ + "/env", "");
    if (action == "set_env") return SetEnv();
    if (action == "delete_env") return DeleteEnv();
    if (action == "tail") return Tail();
    if (action == "list_objects") return ListObjects();
    if (action == "get_storage") return GetStorage();
    if (action == "export") return Export();
    if (action == "backup") return Backup();
    return Failure("Unknown action '" + action + "': use one of " + JoinNames(kActions) + ".");
  }

 private:
  std::optional<std::string> Text(std::string_view name) const {
    const json::value* v = arguments_.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  }

  std::optional<McpToolResult> Require(std::string_view name, std::string_view action) const {
    if (Text(name).value_or("").empty()) {
      return Failure("Action '" + std::string(action) + "' needs the argument '" +
                     std::string(name) + "'.");
    }
    return std::nullopt;
  }

  // Sends the request; on success stores the answer's JSON object in `*answer`, otherwise
  // returns the failure to report.
  std::optional<McpToolResult> Send(const std::string& method, const std::string& target,
                                    const std::string& body, json::object* answer) const {
    AdminResponse response;
    try {
      response = admin_(method, target, body);
    } catch (const std::exception& e) {
      return Failure(e.what());
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    std::string where = " (HTTP " + std::to_string(response.status) + " from " + method + " " +
                        target.substr(0, target.find('?')) + ")";
    if (response.status < 200 || response.status >= 300) {
      const json::value* error =
          !ec && parsed.is_object() ? parsed.as_object().if_contains("error") : nullptr;
      if (error && error->is_string()) return Failure(std::string(error->as_string()) + where);
      return Failure("The server answered: " + response.body + where);
    }
    if (ec || !parsed.is_object()) return Failure("Unexpected answer: " + response.body + where);
    *answer = std::move(parsed.as_object());
    return std::nullopt;
  }

  McpToolResult Forward(const std::string& method, const std::string& target,
                        const std::string& body) const {
    json::object answer;
    if (auto failure = Send(method, target, body, &answer)) return *failure;
    return Success(std::move(answer));
  }

  McpToolResult Deploy() const {
    if (auto missing = Require("code", "deploy")) return *missing;
    std::optional<std::string> name = Text("name");
    json::object body{{"source", *Text("code")},
                      {"filename", name.value_or("durable-object") + ".ts"}};
    if (name) body["name"] = *name;
    if (auto access_mode = Text("access_mode")) body["access_mode"] = *access_mode;
    json::object answer;
    if (auto failure = Send("POST", app_path_ + "/classes", json::serialize(body), &answer)) {
      return *failure;
    }
    return Success(PickClassFields(answer));
  }

  McpToolResult List() const {
    json::object answer;
    if (auto failure = Send("GET", app_path_ + "/classes", "", &answer)) return *failure;
    json::array classes;
    if (const json::value* list = answer.if_contains("classes"); list && list->is_array()) {
      for (const auto& item : list->as_array()) {
        if (item.is_object()) classes.push_back(PickClassFields(item.as_object()));
      }
    }
    return Success(json::object{{"classes", std::move(classes)}});
  }

  McpToolResult Get() const {
    if (auto missing = Require("name", "get")) return *missing;
    json::object answer;
    if (auto failure = Send("GET", ClassPath(), "", &answer)) return *failure;
    json::object result = PickClassFields(answer);
    const json::value* source = answer.if_contains("source");
    result["source"] = source ? *source : json::value("");
    const json::value* last_error = answer.if_contains("last_error");
    result["error_message"] = last_error ? *last_error : json::value(nullptr);
    return Success(std::move(result));
  }

  McpToolResult Delete() const {
    if (auto missing = Require("name", "delete")) return *missing;
    return Forward("DELETE", ClassPath(), "");
  }

  // The usage meters' endpoint: GET /_admin/v1/usage?app=APP[&name=NAME][&since=ISO].
  McpToolResult Usage() const {
    std::string target = "/_admin/v1/usage?app=" + PercentEncodeSegment(app_);
    if (auto name = Text("name")) target += "&name=" + PercentEncodeSegment(*name);
    if (auto since = Text("since")) target += "&since=" + PercentEncodeSegment(*since);
    return Forward("GET", target, "");
  }

  // The live log's kept lines: GET /_admin/v1/apps/APP/tail?follow=false&since=..&limit=100.
  McpToolResult Tail() const {
    std::string target = app_path_ + "/tail?follow=false&limit=100&since=" +
                         PercentEncodeSegment(Text("since").value_or("1h"));
    if (auto name = Text("name")) target += "&class=" + PercentEncodeSegment(*name);
    if (auto object = Text("object")) target += "&object=" + PercentEncodeSegment(*object);
    if (auto level = Text("level")) target += "&level=" + PercentEncodeSegment(*level);
    return Forward("GET", target, "");
  }

  McpToolResult SetEnv() const {
    if (auto missing = Require("key", "set_env")) return *missing;
    if (!Text("value")) return Failure("Action 'set_env' needs the argument 'value'.");
    return Forward("PUT", EnvPath(), json::serialize(json::object{{"value", *Text("value")}}));
  }

  McpToolResult DeleteEnv() const {
    if (auto missing = Require("key", "delete_env")) return *missing;
    return Forward("DELETE", EnvPath(), "");
  }

  // `?prefix=&cursor=&limit=` from the arguments given.
  std::string PageQuery() const {
    std::string query;
    for (const char* key : {"prefix", "cursor", "limit"}) {
      auto value = Text(key);
      if (!value) continue;
      query += (query.empty() ? "?" : "&") + std::string(key) + "=" + PercentEncodeSegment(*value);
    }
    return query;
  }
  McpToolResult ListObjects() const {
    if (auto missing = Require("name", "list_objects")) return *missing;
    return Forward("GET", ClassPath() + "/objects" + PageQuery(), "");
  }
  McpToolResult GetStorage() const {
    if (auto missing = Require("name", "get_storage")) return *missing;
    if (auto missing = Require("object", "get_storage")) return *missing;
    const std::string object = ClassPath() + "/objects/" + PercentEncodeSegment(*Text("object"));
    if (auto key = Text("key")) {
      return Forward("GET", object + "/storage/" + PercentEncodeSegment(*key), "");
    }
    return Forward("GET", object + "/storage" + PageQuery(), "");
  }
  // The archive folder's `argument` entry for `action` (checked), or the failure to report.
  std::optional<McpToolResult> ArchivePath(const char* action, const char* argument,
                                           std::string* path) const {
    if (archives_.root.empty() || !archives_.save || !archives_.save_backup) {
      return Failure("Action '" + std::string(action) +
                     "' needs an archive folder: start the MCP server with dorm mcp "
                     "--archive-root DIR.");
    }
    if (auto missing = Require(argument, action)) return missing;
    const std::string name = *Text(argument);
    const bool is_file = std::string_view(argument) == "file";
    if (!IsArchiveEntryName(name) ||
        (is_file && (name.size() <= 5 || name.compare(name.size() - 5, 5, ".dorm") != 0))) {
      return Failure("Invalid " + std::string(argument) + " '" + name.substr(0, 200) +
                     "': one name of letters, digits, '.', '_' and '-' inside the archive "
                     "folder, starting with a letter or digit" +
                     (is_file ? ", ending in .dorm." : "."));
    }
    *path = archives_.root + "/" + name;
    struct stat st;
    // lstat: a symbolic link planted there counts as taken, never followed. The archive is
    // written to NAME.partial first (then renamed), so a link there would be followed: refused
    // too. (The folder is the operator's: one that others may write to could still race this.)
    if (::lstat(path->c_str(), &st) == 0 || errno != ENOENT) {
      return Failure("The archive folder already has '" + name +
                     "': archives are never overwritten; choose another name.");
    }
    if (::lstat((*path + ".partial").c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return Failure("The archive folder has '" + name +
                     ".partial', which is not a file: remove it or choose another name.");
    }
    return std::nullopt;
  }

  McpToolResult Export() const {
    if (auto missing = Require("name", "export")) return *missing;
    std::string path;
    if (auto failure = ArchivePath("export", "file", &path)) return *failure;
    std::string target = ClassPath() + "/export";
    if (auto object = Text("object")) target += "?object=" + PercentEncodeSegment(*object);
    size_t files = 0;
    const std::string error = archives_.save(target, path, &files);
    if (!error.empty()) return Failure(error);
    return Success(json::object{{"path", path}, {"objects", files}});
  }

  McpToolResult Backup() const {
    std::string folder;
    if (auto failure = ArchivePath("backup", "folder", &folder)) return *failure;
    // mkdir, not create_directories: the root must exist, and only this one level is made.
    if (::mkdir(folder.c_str(), 0700) != 0) {
      return Failure("Cannot create " + folder + ": " + std::strerror(errno));
    }
    std::string prev;
    if (auto from = Text("incremental_from")) {
      if (!IsArchiveEntryName(*from)) {
        ::rmdir(folder.c_str());
        return Failure("`incremental_from` must name a folder directly inside the archive folder.");
      }
      prev = archives_.root + "/" + *from;
    }
    const std::string path = folder + "/backup.dorm";
    BackupSummary summary;
    const std::string error = archives_.save_backup(folder, prev, &summary);
    if (!error.empty()) {
      ::rmdir(folder.c_str());
      return Failure(error);
    }
    json::object result{{"path", path},
                        {"files", summary.files},
                        {"incremental", summary.incremental},
                        {"objects_copied", summary.copied},
                        {"objects_unchanged", summary.unchanged}};
    if (!summary.full_reason.empty()) result["full_reason"] = summary.full_reason;
    return Success(result);
  }

  std::string ClassPath() const {
    return app_path_ + "/classes/" + PercentEncodeSegment(*Text("name"));
  }
  std::string EnvPath() const { return app_path_ + "/env/" + PercentEncodeSegment(*Text("key")); }

  const AdminCall& admin_;
  const ArchiveDestination& archives_;
  const json::object& arguments_;
  std::string app_;
  std::string app_path_;
};

}  // namespace

McpTool ManageDurableObjectsTool(AdminCall admin, ArchiveDestination archives) {
  McpTool tool;
  tool.name = "manage_durable_objects";
  tool.title = "Manage Durable Objects";
  tool.description =
      "Deploy, inspect and delete the Durable Object classes of a Dorm app, read their usage, "
      "logs, objects and storage, manage the app's env vars, and export or back up data. Each "
      "instance of a class named NAME is served at "
      "/_do/NAME/<instance-id>. Pick the operation with `action`.";
  tool.input_schema = InputSchema();
  tool.annotations = json::object{{"destructiveHint", true},
                                  {"idempotentHint", false},
                                  {"readOnlyHint", false},
                                  {"openWorldHint", false}};
  tool.call = [admin = std::move(admin),
               archives = std::move(archives)](const json::object& arguments) {
    return Invocation(admin, archives, arguments).Run();
  };
  return tool;
}

}  // namespace dorm::cli
