// A Wrangler project's configuration (wrangler.json, wrangler.jsonc or wrangler.toml), read the
// way Wrangler reads it, reduced to what Dorm deploys: the Worker's `main`, its vars, its Durable
// Object bindings and migrations. Keys of bindings Dorm does not provide (KV, D1, R2, Queues...)
// are collected so that the deploy can name each one.
//
// Pure apart from FindWranglerConfig/ReadWranglerConfig, which read files. Thread-compatible.
#pragma once

#include <boost/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dorm::cli {

// A refused configuration: the file, the key and the reason ("wrangler.jsonc:
// durable_objects.bindings[0].class_name: expected a string").
class WranglerConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DurableObjectBinding {
  std::string name;         // the env binding, e.g. "COUNTER"
  std::string class_name;   // the exported class, e.g. "Counter"
  std::string script_name;  // another Worker's class when set (not bound by Dorm)
};

struct Migration {
  std::string tag;
  std::vector<std::string> new_classes;
  std::vector<std::string> new_sqlite_classes;
  std::vector<std::pair<std::string, std::string>> renamed_classes;  // (from, to)
  std::vector<std::string> deleted_classes;
  struct Transfer {
    std::string from, from_script, to;
  };
  std::vector<Transfer> transferred_classes;
};

struct ServiceBinding {
  std::string binding, service, entrypoint;
};

struct WranglerConfig {
  std::string path;  // the file read
  std::string name;
  std::string main;  // relative to the file's folder
  std::string compatibility_date;
  std::vector<std::string> compatibility_flags;
  boost::json::object vars;
  std::vector<DurableObjectBinding> durable_objects;
  std::vector<Migration> migrations;
  std::vector<ServiceBinding> services;
  // Top-level keys of bindings and features Dorm does not provide, in file order
  // ("kv_namespaces", "triggers", ...), and keys it does not know at all.
  std::vector<std::string> unsupported;
  std::vector<std::string> unknown;
};

enum class ConfigFormat { kJson, kToml };

// Parses a configuration's text; `path` only names it in errors. JSON allows comments and
// trailing commas (JSONC) in either format. Throws WranglerConfigError.
WranglerConfig ParseWranglerConfig(std::string_view text, ConfigFormat format,
                                   const std::string& path);

// The configuration file a `dorm deploy` target names: the file itself, or in a folder
// wrangler.json, wrangler.jsonc, then wrangler.toml (Wrangler's order). Empty if none.
std::string FindWranglerConfig(const std::string& target);

// Reads and parses FindWranglerConfig's file. Throws WranglerConfigError.
WranglerConfig ReadWranglerConfig(const std::string& path);

// The classes that the migrations leave existing at the end (created, renamed to, transferred
// to, and not deleted later), in the order they appear.
std::vector<std::string> ClassesAfterMigrations(const std::vector<Migration>& migrations);

}  // namespace dorm::cli
