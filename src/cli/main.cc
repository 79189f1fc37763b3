// The `dorm` command: the server (`serve`), the clients of its admin API (deploy, list, get,
// delete, env) and the MCP server (`mcp`).
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/archive_commands.h"
#include "cli/cluster_command.h"
#include "cli/credentials_commands.h"
#include "cli/dev_command.h"
#include "cli/env_types.h"
#include "cli/mcp_command.h"
#include "cli/object_commands.h"
#include "cli/project_deploy.h"
#include "cli/tail_command.h"
#include "cli/usage_command.h"
#include "control/serve.h"
#include "util/names.h"

namespace {

namespace json = boost::json;

const char kUsage[] =
    "usage:\n"
    "  dorm serve [--listen 127.0.0.1:8787] [--data ./.dorm] [--threads N]\n"
    "             [--max-classes-per-app 5] [--cpu-limit-ms 30000] [--heap-limit-mb 128]\n"
    "             [--idle-evict-seconds 70] [--max-body-bytes 104857600]\n"
    "             [--alarm-retry-base-ms 2000] [--hibernate-after-ms 10000]\n"
    "             [--ws-max-buffered-bytes 16777216] [--max-connections N]\n"
    "             [--max-buffered-body-bytes 268435456] [--header-timeout-seconds 60]\n"
    "             [--body-timeout-seconds 60] [--keep-alive-timeout-seconds 75]\n"
    "             [--max-object-storage-mb 10240] [--max-app-storage-mb 10240] [--max-apps 500]\n"
    "             [--cluster postgres://... --node NAME --advertise http://HOST:PORT]\n"
    "             [--peer-timeout-seconds 30] [--control-snapshot-every 256]\n"
    "             [--var KEY:VALUE]...\n"
    "             [--max-sql-temp-mb 1024] [--long-turn-threads N]\n"
    "             [--max-parked-databases 4096]\n"
    "             [--outbound-allow CIDR|IP|HOST]... [--outbound-deny CIDR|IP|HOST]...\n"
    "             [--outbound-ca FILE.pem] [--no-outbound] [--max-outbound-per-app 64]\n"
    "             [--max-outbound-mb-per-app 256] [--cache-mb-per-app 32] [--cache-mb 256]\n"
    "             [--usage-minute-rows-hours 48] [--usage-hour-rows-days 60]\n"
    "             [--tail-lines 1000] [--tail-kb 256] [--log-kb-per-second-per-app 128]\n"
    "  dorm deploy FILE.ts|FILE.js [--name kebab-name] [--app APP]\n"
    "              [--access public|authenticated|service_key]   (default: authenticated)\n"
    "  dorm list [--app APP]\n"
    "  dorm get NAME [--app APP]\n"
    "  dorm delete NAME [--app APP] [--yes]\n"
    "  dorm env set KEY [VALUE] [--app APP]   (VALUE read from stdin when omitted)\n"
    "  dorm env list [--app APP]\n"
    "  dorm env unset KEY [--app APP]\n"
    "  dorm service-callers list|allow CALLER|revoke CALLER [--app APP]\n"
    "                                        (apps whose service bindings may call APP's Worker)\n"
    "  dorm transfers list|allow CLASS --to TARGET|revoke CLASS [--app APP]\n"
    "                                        (classes of APP that TARGET may take with a\n"
    "                                         transferred_classes migration)\n"
    "  dorm usage [NAME] [--since ISO8601|30m|1h|24h|7d] [--app APP]   (usage meters)\n"
    "  dorm tail [APP] [--class C] [--object ID] [--level L] [--status S] [--sampling R]\n"
    "            [--since 5m] [--format pretty|json]   (live logs)\n"
    "  dorm objects list NAME [--prefix P] [--limit N] [--cursor C] [--app APP]\n"
    "  dorm storage list NAME ID [--prefix P] [--limit N] [--cursor C] [--app APP]\n"
    "  dorm storage get|delete NAME ID KEY [--app APP]\n"
    "  dorm storage put NAME ID KEY VALUE-JSON [--app APP]\n"
    "  dorm storage sql NAME ID \"SQL\" [--write] [--limit N] [--app APP]\n"
    "  dorm export NAME [ID] -o FILE [--app APP]\n"
    "  dorm import FILE [--as NAME] [--app APP] [--force]\n"
    "  dorm backup DIR [--incremental-from PREV]\n"
    "  dorm restore DIR --data NEWDIR\n"
    "  dorm mcp [--archive-root DIR]           (MCP server on stdio for the running server)\n"
    "  dorm cluster status                     (nodes, leases, objects, flush lag)\n"
    "  dorm cluster drain NODE                 (NODE hands its objects over, then forwards)\n"
    "  dorm auth set [--app APP] [--hs256-secret-file F] [--public-key-file F.pem]\n"
    "                [--jwks-file F.json] [--issuer I] [--audience A]\n"
    "  dorm auth show|clear [--app APP]\n"
    "  dorm keys create [--app APP] [--name LABEL]   (prints the new key once)\n"
    "  dorm keys list [--app APP]\n"
    "  dorm keys revoke KEY_ID [--app APP]\n"
    "client options: --server http://HOST:PORT --token TOKEN (or DORM_SERVER, DORM_TOKEN),\n"
    "                or --data DIR to use a local server's data folder\n";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;                  // the last value of each flag
  std::map<std::string, std::vector<std::string>> repeated;  // every value, for repeatable flags
  bool yes = false;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "dorm: " << message << "\n";
  std::exit(1);
}

Args Parse(int argc, char** argv, int start) {
  Args args;
  for (int i = start; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--yes" || a == "-y") {
      args.yes = true;
    } else if (a == "--strict" || a == "--no-outbound" || a == "--write" || a == "--force") {
      args.flags[a.substr(2)] = "true";
    } else if (a.rfind("--", 0) == 0) {
      std::string key = a.substr(2), value;
      if (size_t eq = key.find('='); eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else {
        if (i + 1 >= argc) Fail("option --" + key + " needs a value");
        value = argv[++i];
      }
      args.flags[key] = value;
      args.repeated[key].push_back(value);
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

// The options each command accepts; nullptr for an unknown command. Every flag a command reads
// must be listed here: anything else (a typo such as `--clustr`) is refused with the usage, so that
// a misspelt limit never silently runs with its default.
const std::set<std::string>* KnownFlags(const std::string& command) {
  static const std::map<std::string, std::set<std::string>> kByCommand = [] {
    std::map<std::string, std::set<std::string>> all = {
        {"serve",
         {"listen",
          "data",
          "threads",
          "long-turn-threads",
          "max-classes-per-app",
          "cpu-limit-ms",
          "heap-limit-mb",
          "idle-evict-seconds",
          "max-body-bytes",
          "alarm-retry-base-ms",
          "hibernate-after-ms",
          "ws-max-buffered-bytes",
          "header-timeout-seconds",
          "body-timeout-seconds",
          "keep-alive-timeout-seconds",
          "max-connections",
          "max-buffered-body-bytes",
          "max-object-storage-mb",
          "max-sql-temp-mb",
          "max-parked-databases",
          "max-app-storage-mb",
          "max-apps",
          "outbound-allow",
          "outbound-deny",
          "outbound-ca",
          "no-outbound",
          "max-outbound-per-app",
          "max-outbound-mb-per-app",
          "cache-mb-per-app",
          "cache-mb",
          "usage-minute-rows-hours",
          "usage-hour-rows-days",
          "cluster",
          "node",
          "advertise",
          "peer-timeout-seconds",
          "control-snapshot-every",
          "var",
          "tail-lines",
          "tail-kb",
          "log-kb-per-second-per-app"}},
        {"deploy", {"name", "app", "access", "strict"}},
        {"dev", {"app", "access", "listen"}},
        {"types", {"out"}},
        {"list", {"app"}},
        {"get", {"app"}},
        {"delete", {"app"}},
        {"env", {"app"}},
        {"service-callers", {"app"}},
        {"transfers", {"app", "to"}},
        {"usage", {"app", "since"}},
        {"tail", {"app", "class", "object", "level", "status", "sampling", "since", "format"}},
        {"objects", {"app", "prefix", "limit", "cursor"}},
        {"storage", {"app", "prefix", "limit", "cursor", "write"}},
        {"export", {"app", "output"}},
        {"import", {"app", "as", "force"}},
        {"backup", {"incremental-from"}},
        {"restore", {}},
        {"mcp", {"archive-root"}},
        {"cluster", {}},
        {"auth",
         {"app", "hs256-secret-file", "public-key-file", "jwks-file", "issuer", "audience"}},
        {"keys", {"app", "name"}},
    };
    // Every client command also takes the admin endpoint's options.
    for (auto& [name, flags] : all) {
      if (name != "serve") flags.insert({"server", "token", "data"});
    }
    return all;
  }();
  auto it = kByCommand.find(command);
  return it == kByCommand.end() ? nullptr : &it->second;
}

// Exits with status 2 and the usage when `args` holds an option that `command` does not take.
void RefuseUnknownFlags(const std::string& command, const Args& args) {
  const std::set<std::string>* known = KnownFlags(command);
  if (!known) return;  // an unknown command is reported as such
  std::string unknown;
  for (const auto& [key, value] : args.flags) {
    if (!known->count(key)) {
      unknown = key;
      break;
    }
  }
  if (unknown.empty() && args.yes && command != "delete") unknown = "yes";
  if (unknown.empty()) return;
  std::cerr << "dorm: unknown option --" << unknown << " for 'dorm " << command << "'\n" << kUsage;
  std::exit(2);
}

std::string Flag(const Args& args, const std::string& key, const std::string& fallback = "") {
  auto it = args.flags.find(key);
  return it == args.flags.end() ? fallback : it->second;
}

long long NumberFlag(const Args& args, const std::string& key, long long fallback) {
  std::string v = Flag(args, key);
  if (v.empty()) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (*end != '\0' || n < 0) Fail("--" + key + " must be a non-negative integer");
  return n;
}

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Connection {
  std::string server;
  std::string token;
};

Connection Connect(const Args& args) {
  std::string error;
  auto endpoint = dorm::cli::ResolveAdminEndpoint(Flag(args, "server"), Flag(args, "token"),
                                                  Flag(args, "data"), &error);
  if (!endpoint) Fail(error);
  return Connection{endpoint->server, endpoint->token};
}

json::value Call(const Connection& c, const std::string& method, const std::string& target,
                 const std::string& body = "") {
  dorm::cli::AdminResponse r;
  try {
    r = dorm::cli::AdminRequest(c.server, c.token, method, target, body);
  } catch (const std::exception& e) {
    Fail(e.what());
  }
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (r.status >= 400) {
    if (!ec && v.is_object() && v.as_object().contains("error") &&
        v.as_object().at("error").is_string()) {
      Fail(std::string(v.as_object().at("error").as_string()));
    }
    Fail("server answered " + std::to_string(r.status) + ": " + r.body);
  }
  if (ec) Fail("unexpected answer from server: " + r.body);
  return v;
}

std::string Str(const json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

// fetch() to other hosts: the address rules and the extra CA of `dorm serve`'s flags (each rule
// flag may repeat, and may hold several rules separated by commas); null with --no-outbound.
std::shared_ptr<const dorm::outbound::ClientOptions> OutboundOptions(const Args& args) {
  const bool disabled = args.flags.count("no-outbound") != 0;
  auto options = std::make_shared<dorm::outbound::ClientOptions>();
  for (const char* flag : {"outbound-allow", "outbound-deny"}) {
    auto it = args.repeated.find(flag);
    if (it == args.repeated.end()) continue;
    if (disabled) Fail(std::string("--") + flag + " and --no-outbound exclude each other");
    for (const std::string& value : it->second) {
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        std::string error;
        std::optional<dorm::outbound::AddressRule> rule =
            dorm::outbound::AddressRule::Parse(item, &error);
        if (!rule) Fail(std::string("--") + flag + ": " + error);
        if (std::string(flag) == "outbound-allow") {
          options->policy.Allow(std::move(*rule));
        } else {
          options->policy.Deny(std::move(*rule));
        }
      }
    }
  }
  options->extra_ca_file = Flag(args, "outbound-ca");
  if (!options->extra_ca_file.empty() && access(options->extra_ca_file.c_str(), R_OK) != 0) {
    Fail("--outbound-ca: cannot read " + options->extra_ca_file);
  }
  if (disabled) return nullptr;
  return options;
}

int ServeCommand(const Args& args, const char* argv0) {
  dorm::control::ServeOptions o;
  std::string listen = Flag(args, "listen", "127.0.0.1:8787");
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) Fail("--listen must be HOST:PORT");
  o.http.host = listen.substr(0, colon);
  o.http.port = static_cast<unsigned short>(std::atoi(listen.c_str() + colon + 1));
  o.threads = static_cast<int>(NumberFlag(args, "threads", 0));
  o.http.max_body_bytes = static_cast<size_t>(NumberFlag(args, "max-body-bytes", 100ll << 20));
  o.runtime.data_dir = Flag(args, "data", ".dorm");
  o.runtime.cpu_limit = std::chrono::milliseconds(NumberFlag(args, "cpu-limit-ms", 30000));
  o.runtime.heap_limit_bytes = static_cast<size_t>(NumberFlag(args, "heap-limit-mb", 128)) << 20;
  o.runtime.idle_evict = std::chrono::seconds(NumberFlag(args, "idle-evict-seconds", 70));
  o.runtime.hibernate_after =
      std::chrono::milliseconds(NumberFlag(args, "hibernate-after-ms", 10000));
  o.http.max_buffered_body_bytes =
      static_cast<size_t>(NumberFlag(args, "max-buffered-body-bytes", 256ll << 20));
  o.http.max_connections = static_cast<size_t>(NumberFlag(args, "max-connections", 0));
  o.http.header_timeout = std::chrono::seconds(NumberFlag(args, "header-timeout-seconds", 60));
  o.http.body_timeout = std::chrono::seconds(NumberFlag(args, "body-timeout-seconds", 60));
  o.http.keep_alive_timeout =
      std::chrono::seconds(NumberFlag(args, "keep-alive-timeout-seconds", 75));
  if (o.http.header_timeout.count() == 0 || o.http.body_timeout.count() == 0 ||
      o.http.keep_alive_timeout.count() == 0 || o.http.max_buffered_body_bytes == 0) {
    Fail("the timeouts and --max-buffered-body-bytes must be positive");
  }
  o.http.web_socket.max_buffered_bytes =
      static_cast<size_t>(NumberFlag(args, "ws-max-buffered-bytes", 16u << 20));
  // WebSocket messages still arriving are bounded like request bodies: a budget of the same size
  // (their own), and the same timeout for progress.
  o.http.web_socket.max_incoming_bytes = o.http.max_buffered_body_bytes;
  o.http.web_socket.message_timeout = o.http.body_timeout;
  o.max_classes_per_app = static_cast<size_t>(NumberFlag(args, "max-classes-per-app", 5));
  // Storage quotas in MiB (0: none); see README, "Storage quotas".
  o.runtime.max_object_storage_bytes = NumberFlag(args, "max-object-storage-mb", 10240) << 20;
  o.runtime.max_sql_temp_bytes = NumberFlag(args, "max-sql-temp-mb", 1024) << 20;
  // Per thread; see README, "Storage and durability" (connections kept without their descriptors).
  o.runtime.max_parked_databases_per_thread =
      static_cast<size_t>(NumberFlag(args, "max-parked-databases", 4096));
  o.runtime.max_app_storage_bytes = NumberFlag(args, "max-app-storage-mb", 10240) << 20;
  o.max_apps = static_cast<size_t>(NumberFlag(args, "max-apps", 500));
  // 0 (the default): half the threads; see README, "CPU-heavy tenants".
  o.runtime.long_turn_threads = static_cast<size_t>(NumberFlag(args, "long-turn-threads", 0));
  o.runtime.alarm_retry_base =
      std::chrono::milliseconds(NumberFlag(args, "alarm-retry-base-ms", 2000));
  if (o.runtime.cpu_limit.count() == 0 || o.runtime.heap_limit_bytes == 0) {
    Fail("--cpu-limit-ms and --heap-limit-mb must be positive");
  }
  o.runtime.outbound = OutboundOptions(args);
  o.runtime.max_outbound_per_app =
      static_cast<size_t>(NumberFlag(args, "max-outbound-per-app", 64));
  if (o.runtime.max_outbound_per_app == 0) Fail("--max-outbound-per-app must be positive");
  o.runtime.cache_bytes_per_app = static_cast<size_t>(NumberFlag(args, "cache-mb-per-app", 32))
                                  << 20;
  o.runtime.cache_bytes_total = static_cast<size_t>(NumberFlag(args, "cache-mb", 256)) << 20;
  o.runtime.tail_lines = static_cast<size_t>(NumberFlag(args, "tail-lines", 1000));
  o.runtime.tail_bytes = static_cast<size_t>(NumberFlag(args, "tail-kb", 256)) << 10;
  const long long log_kb = NumberFlag(args, "log-kb-per-second-per-app", 128);
  if (log_kb > (1ll << 30)) Fail("--log-kb-per-second-per-app must be at most 1073741824");
  o.runtime.log_bytes_per_second_per_app = static_cast<size_t>(log_kb) << 10;
  o.runtime.max_outbound_bytes_per_app =
      static_cast<size_t>(NumberFlag(args, "max-outbound-mb-per-app", 256)) << 20;
  if (o.runtime.max_outbound_bytes_per_app == 0) {
    Fail("--max-outbound-mb-per-app must be positive");
  }
  o.usage_retention.minute_rows_minutes = NumberFlag(args, "usage-minute-rows-hours", 48) * 60;
  o.usage_retention.hour_rows_minutes = NumberFlag(args, "usage-hour-rows-days", 60) * 24 * 60;
  if (o.usage_retention.minute_rows_minutes == 0 ||
      o.usage_retention.hour_rows_minutes <= o.usage_retention.minute_rows_minutes) {
    Fail("--usage-minute-rows-hours must be positive and shorter than --usage-hour-rows-days");
  }
  // A node's own vars (as `wrangler dev --var KEY:VALUE`): every app on this server reads them
  // in `env`, over its env vars of the same keys. They are not the control plane's: in a cluster
  // each node has its own (a region, a node name).
  if (auto vars = args.repeated.find("var"); vars != args.repeated.end()) {
    for (const std::string& var : vars->second) {
      size_t colon = var.find(':');
      if (colon == 0 || colon == std::string::npos || !dorm::IsValidEnvKey(var.substr(0, colon))) {
        Fail("--var takes KEY:VALUE, KEY an env var name (got '" + var + "')");
      }
      o.node_vars.emplace_back(var.substr(0, colon), var.substr(colon + 1));
    }
  }
  o.cluster = Flag(args, "cluster", "");
  o.node = Flag(args, "node", "");
  o.advertise = Flag(args, "advertise", "");
  if (!o.cluster.empty() && (o.node.empty() || o.advertise.empty())) {
    Fail("--cluster needs --node NAME and --advertise http://HOST:PORT");
  }
  if (o.cluster.empty() && (!o.node.empty() || !o.advertise.empty())) {
    Fail("--node and --advertise are for --cluster");
  }
  // Cluster mode: how long a call to an object on another node waits for a sign of life from
  // that node; the node answering sends one every third of its own value.
  const long long peer_timeout = NumberFlag(args, "peer-timeout-seconds", 30);
  if (peer_timeout <= 0 || peer_timeout > 86400) {
    Fail("--peer-timeout-seconds must be between 1 and 86400");
  }
  o.peer_timeout = std::chrono::seconds(peer_timeout);
  o.http.peer_progress_every = o.peer_timeout / 3;
  // Cluster mode: how many control changes between two snapshots of the control state (the log's
  // compaction; README "Cluster").
  o.control_snapshot_every = NumberFlag(args, "control-snapshot-every", 256);
  if (o.control_snapshot_every < 1 || o.control_snapshot_every > 1000000) {
    Fail("--control-snapshot-every must be between 1 and 1000000");
  }
  return dorm::control::Serve(o, argv0);
}

// `dorm deploy` of a Wrangler project: the configuration read as Wrangler reads it, `main`
// bundled with esbuild, the Worker and its classes deployed as one app.
int DeployProjectCommand(const Args& args, const std::string& config_path) {
  if (args.flags.count("name"))
    Fail("--name is for a single class; a project's classes keep theirs");
  Connection c = Connect(args);
  dorm::cli::ProjectDeployOptions options;
  options.app = Flag(args, "app");
  options.access = Flag(args, "access");
  options.strict = args.flags.count("strict") != 0;
  dorm::cli::ProjectDeployOutcome outcome =
      dorm::cli::DeployProject(config_path, options, c.server, c.token);
  for (const std::string& warning : outcome.warnings) {
    std::cerr << "dorm: warning: " << warning << "\n";
  }
  if (!outcome.ok) Fail(outcome.error);
  for (const std::string& line : outcome.lines) std::cout << line << "\n";
  return 0;
}

bool IsProjectTarget(const std::string& target) {
  struct stat st;
  if (stat(target.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
  for (const char* suffix : {".json", ".jsonc", ".toml"}) {
    std::string s(suffix);
    if (target.size() >= s.size() && target.compare(target.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  return false;
}

int DeployCommand(const Args& args) {
  if (args.positional.size() == 1 && IsProjectTarget(args.positional[0])) {
    std::string config_path = dorm::cli::FindWranglerConfig(args.positional[0]);
    if (config_path.empty()) {
      struct stat st;
      if (stat(args.positional[0].c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        // No Wrangler configuration: a Cloudwerk app/objects/ folder.
        Connection c = Connect(args);
        dorm::cli::ProjectDeployOptions options;
        options.app = Flag(args, "app");
        options.access = Flag(args, "access");
        dorm::cli::ProjectDeployOutcome outcome =
            dorm::cli::DeployCloudwerkObjects(args.positional[0], options, c.server, c.token);
        if (!outcome.ok) {
          Fail(outcome.error +
               " (a project folder needs wrangler.json, wrangler.jsonc or "
               "wrangler.toml; a Cloudwerk objects folder, kebab-case object files)");
        }
        for (const std::string& line : outcome.lines) std::cout << line << "\n";
        return 0;
      }
      Fail("no wrangler.json, wrangler.jsonc or wrangler.toml in " + args.positional[0]);
    }
    return DeployProjectCommand(args, config_path);
  }
  if (args.flags.count("strict")) Fail("--strict is for a Wrangler project");
  if (args.positional.size() != 1)
    Fail(
        "usage: dorm deploy FILE.ts|FILE.js [--name NAME] "
        "[--access public|authenticated|service_key] [--app APP]");
  const std::string& file = args.positional[0];
  std::ifstream probe(file, std::ios::binary);
  if (!probe) Fail("cannot read " + file);
  std::string source = ReadFileText(file);
  // The server checks the mode; as there, a class is authenticated unless told otherwise.
  std::string access = Flag(args, "access", "authenticated");
  std::string app = Flag(args, "app", "default");
  json::object body{{"source", source},
                    {"filename", file.substr(file.find_last_of('/') + 1)},
                    {"access_mode", access}};
  if (args.flags.count("name")) body["name"] = Flag(args, "name");
  Connection c = Connect(args);
  json::value v = Call(c, "POST", "/_admin/v1/apps/" + app + "/classes", json::serialize(body));
  const json::object& o = v.as_object();
  std::cout << "deployed " << Str(o, "name") << " (class " << Str(o, "class_name") << ", app "
            << app << ", access " << Str(o, "access_mode") << ")\n";
  std::cout << "  " << c.server << "/_do/" << Str(o, "name") << "/<instance-id>\n";
  return 0;
}

int ListCommand(const Args& args) {
  std::string app = Flag(args, "app", "default");
  Connection c = Connect(args);
  json::value v = Call(c, "GET", "/_admin/v1/apps/" + app + "/classes");
  const json::array& list = v.as_object().at("classes").as_array();
  if (list.empty()) {
    std::cout << "no classes deployed in app '" << app << "'\n";
    return 0;
  }
  std::printf("%-24s %-24s %-8s %-14s %s\n", "NAME", "CLASS", "STATUS", "ACCESS", "DEPLOYED");
  for (const auto& item : list) {
    const json::object& o = item.as_object();
    std::printf("%-24s %-24s %-8s %-14s %s\n", Str(o, "name").c_str(), Str(o, "class_name").c_str(),
                Str(o, "status").c_str(), Str(o, "access_mode").c_str(),
                Str(o, "last_deployed_at").c_str());
  }
  return 0;
}

int GetCommand(const Args& args) {
  if (args.positional.size() != 1) Fail("usage: dorm get NAME [--app APP]");
  std::string app = Flag(args, "app", "default");
  Connection c = Connect(args);
  json::value v = Call(c, "GET", "/_admin/v1/apps/" + app + "/classes/" + args.positional[0]);
  const json::object& o = v.as_object();
  std::cout << "name:        " << Str(o, "name") << "\n"
            << "class:       " << Str(o, "class_name") << "\n"
            << "app:         " << app << "\n"
            << "status:      " << Str(o, "status") << "\n"
            << "access mode: " << Str(o, "access_mode") << "\n"
            << "deployed at: " << Str(o, "last_deployed_at") << "\n"
            << "last error:  " << (Str(o, "last_error").empty() ? "none" : Str(o, "last_error"))
            << "\n"
            << "source (" << Str(o, "filename") << "):\n"
            << Str(o, "source") << "\n";
  return 0;
}

int DeleteCommand(const Args& args) {
  if (args.positional.size() != 1) Fail("usage: dorm delete NAME [--app APP] [--yes]");
  const std::string& name = args.positional[0];
  std::string app = Flag(args, "app", "default");
  if (!args.yes && !isatty(STDIN_FILENO)) {
    Fail("refusing to delete '" + name +
         "' and all of its storage without a terminal to confirm on: pass --yes");
  }
  if (!args.yes) {
    std::cerr << "Delete class '" << name << "' of app '" << app
              << "' and ALL of its objects' storage? This cannot be undone. Type 'yes': ";
    std::string answer;
    if (!std::getline(std::cin, answer) || answer != "yes")
      Fail("not deleted (confirm with 'yes' or pass --yes)");
  }
  Connection c = Connect(args);
  Call(c, "DELETE", "/_admin/v1/apps/" + app + "/classes/" + name);
  std::cout << "deleted " << name << " and all of its storage\n";
  return 0;
}

int EnvCommand(const Args& args) {
  const char* usage =
      "usage: dorm env set KEY [VALUE] | dorm env list | dorm env unset KEY  [--app APP]";
  const std::vector<std::string>& p = args.positional;
  if (p.empty()) Fail(usage);
  std::string app = Flag(args, "app", "default");
  std::string path = "/_admin/v1/apps/" + dorm::PercentEncodeSegment(app) + "/env";
  if (p[0] == "list" && p.size() == 1) {
    Connection c = Connect(args);
    json::value v = Call(c, "GET", path);
    const json::array& keys = v.as_object().at("keys").as_array();
    if (keys.empty()) std::cout << "no env vars in app '" << app << "'\n";
    for (const auto& key : keys) std::cout << key.as_string().c_str() << "\n";
    return 0;
  }
  if (p[0] == "set" && (p.size() == 2 || p.size() == 3)) {
    std::string value;
    if (p.size() == 3) {
      value = p[2];
    } else {
      // Keeps the value out of the shell history and the process list.
      std::ostringstream in;
      in << std::cin.rdbuf();
      value = in.str();
      if (!value.empty() && value.back() == '\n') value.pop_back();
      if (!value.empty() && value.back() == '\r') value.pop_back();
    }
    Connection c = Connect(args);
    Call(c, "PUT", path + "/" + dorm::PercentEncodeSegment(p[1]),
         json::serialize(json::object{{"value", value}}));
    std::cout << "set " << p[1] << " in app '" << app
              << "' (its live objects restart to read it)\n";
    return 0;
  }
  if (p[0] == "unset" && p.size() == 2) {
    Connection c = Connect(args);
    Call(c, "DELETE", path + "/" + dorm::PercentEncodeSegment(p[1]));
    std::cout << "unset " << p[1] << " in app '" << app << "'\n";
    return 0;
  }
  Fail(usage);
}

// Which other apps' service bindings may call the app's Worker (its fetch() and RPC).
int ServiceCallersCommand(const Args& args) {
  const char* usage =
      "usage: dorm service-callers list | allow CALLER | revoke CALLER  [--app APP]";
  const std::vector<std::string>& p = args.positional;
  if (p.empty()) Fail(usage);
  std::string app = Flag(args, "app", "default");
  std::string path = "/_admin/v1/apps/" + dorm::PercentEncodeSegment(app) + "/service-callers";
  if (p[0] == "list" && p.size() == 1) {
    Connection c = Connect(args);
    json::value v = Call(c, "GET", path);
    const json::array& callers = v.as_object().at("callers").as_array();
    if (callers.empty()) std::cout << "no other app may call app '" << app << "'\n";
    for (const auto& caller : callers) std::cout << caller.as_string().c_str() << "\n";
    return 0;
  }
  if ((p[0] == "allow" || p[0] == "revoke") && p.size() == 2) {
    Connection c = Connect(args);
    Call(c, p[0] == "allow" ? "PUT" : "DELETE", path + "/" + dorm::PercentEncodeSegment(p[1]));
    std::cout << (p[0] == "allow" ? "allowed app '" : "revoked app '") << p[1]
              << (p[0] == "allow" ? "' to call app '" : "' from calling app '") << app
              << "' (its live objects restart)\n";
    return 0;
  }
  Fail(usage);
}

// Which classes of the app other apps may take with a `transferred_classes` migration.
int TransfersCommand(const Args& args) {
  const char* usage =
      "usage: dorm transfers list | allow CLASS --to TARGET | revoke CLASS  [--app APP]";
  const std::vector<std::string>& p = args.positional;
  if (p.empty()) Fail(usage);
  std::string app = Flag(args, "app", "default");
  std::string path = "/_admin/v1/apps/" + dorm::PercentEncodeSegment(app) + "/transfers";
  if (p[0] == "list" && p.size() == 1) {
    Connection c = Connect(args);
    json::value v = Call(c, "GET", path);
    const json::array& transfers = v.as_object().at("transfers").as_array();
    if (transfers.empty()) std::cout << "no class of app '" << app << "' may be transferred\n";
    for (const auto& t : transfers) {
      std::cout << t.at("class").as_string().c_str() << " -> " << t.at("to").as_string().c_str()
                << "\n";
    }
    return 0;
  }
  if (p[0] == "allow" && p.size() == 2) {
    std::string target = Flag(args, "to", "");
    if (target.empty()) Fail(usage);
    Connection c = Connect(args);
    Call(c, "PUT", path + "/" + dorm::PercentEncodeSegment(p[1]),
         json::serialize(json::object{{"to", target}}));
    std::cout << "app '" << target << "' may take class " << p[1] << " of app '" << app
              << "' (and its objects) with a transferred_classes migration\n";
    return 0;
  }
  if (p[0] == "revoke" && p.size() == 2) {
    Connection c = Connect(args);
    Call(c, "DELETE", path + "/" + dorm::PercentEncodeSegment(p[1]));
    std::cout << "class " << p[1] << " of app '" << app << "' may no longer be transferred\n";
    return 0;
  }
  Fail(usage);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    std::cout << kUsage;
    return argc < 2 ? 1 : 0;
  }
  std::string command = argv[1];
  Args args = Parse(argc, argv, 2);
  RefuseUnknownFlags(command, args);
  if (command == "serve") return ServeCommand(args, argv[0]);
  if (command == "deploy") return DeployCommand(args);
  if (command == "types") {
    if (args.positional.size() > 1) Fail("usage: dorm types [DIR] [--out FILE]");
    std::string target = args.positional.empty() ? "." : args.positional[0];
    std::string config_path = dorm::cli::FindWranglerConfig(target);
    if (config_path.empty()) Fail("no wrangler.json, wrangler.jsonc or wrangler.toml in " + target);
    dorm::cli::WranglerConfig config;
    try {
      config = dorm::cli::ReadWranglerConfig(config_path);
    } catch (const dorm::cli::WranglerConfigError& e) {
      Fail(e.what());
    }
    size_t slash = config_path.find_last_of('/');
    std::string folder = slash == std::string::npos ? "." : config_path.substr(0, slash);
    std::string out = Flag(args, "out", folder + "/worker-configuration.d.ts");
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    file << dorm::cli::EnvTypes(config);
    if (!file.flush()) Fail("cannot write " + out);
    std::cout << "wrote " << out << "\n";
    return 0;
  }
  if (command == "dev") {
    if (args.positional.size() > 1) Fail("usage: dorm dev [DIR] [--listen HOST:PORT] [--data DIR]");
    dorm::cli::DevOptions dev;
    if (!args.positional.empty()) dev.target = args.positional[0];
    dev.server = Flag(args, "server");
    dev.token = Flag(args, "token");
    dev.data = Flag(args, "data");
    dev.listen = Flag(args, "listen", dev.listen);
    dev.app = Flag(args, "app");
    dev.access = Flag(args, "access");
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    dev.self = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv[0]);
    return dorm::cli::RunDev(dev);
  }
  if (command == "list") return ListCommand(args);
  if (command == "get") return GetCommand(args);
  if (command == "delete") return DeleteCommand(args);
  if (command == "env") return EnvCommand(args);
  if (command == "service-callers") return ServiceCallersCommand(args);
  if (command == "transfers") return TransfersCommand(args);
  if (command == "auth" || command == "keys") {
    return dorm::cli::CredentialsCommand(command, args.positional, args.flags);
  }
  if (command == "usage") return dorm::cli::UsageCommand(args.positional, args.flags);
  if (command == "cluster") return dorm::cli::ClusterCommand(args.positional, args.flags);
  if (command == "tail") return dorm::cli::TailCommand(args.positional, args.flags);
  if (command == "objects") return dorm::cli::ObjectsCommand(args.positional, args.flags);
  if (command == "storage") return dorm::cli::StorageCommand(args.positional, args.flags);
  if (command == "export") return dorm::cli::ExportCommand(args.positional, args.flags);
  if (command == "import") return dorm::cli::ImportCommand(args.positional, args.flags);
  if (command == "backup") return dorm::cli::BackupCommand(args.positional, args.flags);
  if (command == "restore") return dorm::cli::RestoreCommand(args.positional, args.flags);
  if (command == "mcp") {
    if (!args.positional.empty()) {
      Fail("usage: dorm mcp [--server URL --token TOKEN | --data DIR] [--archive-root DIR]");
    }
    return dorm::cli::RunMcpCommand(Flag(args, "server"), Flag(args, "token"), Flag(args, "data"),
                                    Flag(args, "archive-root"));
  }
  std::cerr << "dorm: unknown command '" << command << "'\n" << kUsage;
  return 1;
}
