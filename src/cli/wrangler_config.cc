#include "cli/wrangler_config.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace dorm::cli {

namespace json = boost::json;

namespace {

// Top-level keys of bindings and features that Dorm does not provide: a deploy names each one
// and leaves it unbound (or refuses with --strict).
constexpr std::string_view kUnsupportedKeys[] = {"kv_namespaces",
                                                 "d1_databases",
                                                 "r2_buckets",
                                                 "queues",
                                                 "workflows",
                                                 "ai",
                                                 "vectorize",
                                                 "hyperdrive",
                                                 "analytics_engine_datasets",
                                                 "browser",
                                                 "send_email",
                                                 "dispatch_namespaces",
                                                 "mtls_certificates",
                                                 "images",
                                                 "version_metadata",
                                                 "secrets_store_secrets",
                                                 "pipelines",
                                                 "unsafe",
                                                 "assets",
                                                 "site",
                                                 "triggers",
                                                 "tail_consumers",
                                                 "containers",
                                                 "wasm_modules",
                                                 "text_blobs",
                                                 "data_blobs",
                                                 "env",
                                                 "logfwdr",
                                                 "unsafe_hello_world",
                                                 "ratelimits",
                                                 "vpc_services",
                                                 "migrations_dir"};

// Keys about how Cloudflare deploys or Wrangler builds and runs a Worker, with nothing to bind:
// accepted and ignored.
constexpr std::string_view kIgnoredKeys[] = {"$schema",
                                             "account_id",
                                             "workers_dev",
                                             "preview_urls",
                                             "route",
                                             "routes",
                                             "observability",
                                             "placement",
                                             "limits",
                                             "minify",
                                             "keep_vars",
                                             "upload_source_maps",
                                             "logpush",
                                             "build",
                                             "no_bundle",
                                             "find_additional_modules",
                                             "base_dir",
                                             "rules",
                                             "tsconfig",
                                             "dev",
                                             "send_metrics",
                                             "keep_names",
                                             "node_compat",
                                             "usage_model",
                                             "alias",
                                             "define",
                                             "jsx_factory",
                                             "jsx_fragment",
                                             "first_party_worker",
                                             "legacy_env",
                                             "preserve_file_names",
                                             "python_modules",
                                             "compliance_region",
                                             "keep_assets",
                                             "topLevelName"};

constexpr std::string_view kHandledKeys[] = {
    "name",       "main",    "compatibility_date", "compatibility_flags", "vars", "durable_objects",
    "migrations", "services"};

template <size_t N>
bool In(const std::string_view (&list)[N], std::string_view key) {
  return std::find(std::begin(list), std::end(list), key) != std::end(list);
}

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const std::string& key, const std::string& reason) const {
    throw WranglerConfigError(path_ + ": " + key + ": " + reason);
  }

  std::string String(const json::value& v, const std::string& key) const {
    if (!v.is_string()) Fail(key, "expected a string");
    return std::string(v.as_string());
  }

  std::string OptionalString(const json::object& o, const char* field,
                             const std::string& key) const {
    const json::value* v = o.if_contains(field);
    if (!v) return {};
    return String(*v, key + "." + field);
  }

  std::string RequiredString(const json::object& o, const char* field,
                             const std::string& key) const {
    const json::value* v = o.if_contains(field);
    if (!v) Fail(key + "." + field, "missing");
    std::string text = String(*v, key + "." + field);
    if (text.empty()) Fail(key + "." + field, "must not be empty");
    return text;
  }

  const json::object& Object(const json::value& v, const std::string& key) const {
    if (!v.is_object()) Fail(key, "expected an object");
    return v.as_object();
  }

  const json::array& Array(const json::value& v, const std::string& key) const {
    if (!v.is_array()) Fail(key, "expected an array");
    return v.as_array();
  }

  std::vector<std::string> Strings(const json::object& o, const char* field,
                                   const std::string& key) const {
    std::vector<std::string> out;
    const json::value* v = o.if_contains(field);
    if (!v) return out;
    const json::array& list = Array(*v, key + "." + field);
    for (size_t i = 0; i < list.size(); ++i) {
      out.push_back(String(list[i], key + "." + field + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

 private:
  std::string path_;
};

json::value FromToml(const toml::node& node) {
  if (const toml::table* table = node.as_table()) {
    json::object o;
    for (const auto& [key, value] : *table) o[std::string(key.str())] = FromToml(value);
    return o;
  }
  if (const toml::array* array = node.as_array()) {
    json::array a;
    for (const toml::node& element : *array) a.push_back(FromToml(element));
    return a;
  }
  if (const auto* s = node.as_string()) return json::string(s->get());
  if (const auto* i = node.as_integer()) return json::value(i->get());
  if (const auto* f = node.as_floating_point()) return json::value(f->get());
  if (const auto* b = node.as_boolean()) return json::value(b->get());
  // Dates and times: as their TOML text, as Wrangler's parser would give strings.
  std::ostringstream text;
  if (const auto* d = node.as_date()) text << d->get();
  if (const auto* t = node.as_time()) text << t->get();
  if (const auto* dt = node.as_date_time()) text << dt->get();
  return json::string(text.str());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WranglerConfigError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

WranglerConfig ParseWranglerConfig(std::string_view text, ConfigFormat format,
                                   const std::string& path) {
  Reader reader(path);
  json::value root;
  if (format == ConfigFormat::kToml) {
    try {
      toml::table table = toml::parse(text, path);
      root = FromToml(table);
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      throw WranglerConfigError(path + ":" + std::to_string(where.line) + ":" +
                                std::to_string(where.column) + ": " + std::string(e.description()));
    }
  } else {
    json::parse_options options;
    options.allow_comments = true;
    options.allow_trailing_commas = true;
    boost::system::error_code ec;
    root = json::parse(text, ec, {}, options);
    if (ec) throw WranglerConfigError(path + ": not valid JSON: " + ec.message());
  }
  const json::object& o = reader.Object(root, "(top level)");
  WranglerConfig config;
  config.path = path;
  for (const auto& [key, value] : o) {
    std::string_view name(key.data(), key.size());
    if (In(kUnsupportedKeys, name)) {
      config.unsupported.emplace_back(name);
    } else if (!In(kIgnoredKeys, name) && !In(kHandledKeys, name)) {
      config.unknown.emplace_back(name);
    }
  }
  config.name = reader.OptionalString(o, "name", "(top level)");
  if (const json::value* main = o.if_contains("main")) config.main = reader.String(*main, "main");
  config.compatibility_date = reader.OptionalString(o, "compatibility_date", "(top level)");
  config.compatibility_flags = reader.Strings(o, "compatibility_flags", "(top level)");
  if (const json::value* vars = o.if_contains("vars")) {
    config.vars = reader.Object(*vars, "vars");
  }
  if (const json::value* dos = o.if_contains("durable_objects")) {
    const json::object& d = reader.Object(*dos, "durable_objects");
    if (const json::value* bindings = d.if_contains("bindings")) {
      const json::array& list = reader.Array(*bindings, "durable_objects.bindings");
      for (size_t i = 0; i < list.size(); ++i) {
        std::string key = "durable_objects.bindings[" + std::to_string(i) + "]";
        const json::object& b = reader.Object(list[i], key);
        DurableObjectBinding binding;
        binding.name = reader.RequiredString(b, "name", key);
        binding.class_name = reader.RequiredString(b, "class_name", key);
        binding.script_name = reader.OptionalString(b, "script_name", key);
        config.durable_objects.push_back(std::move(binding));
      }
    }
  }
  if (const json::value* migrations = o.if_contains("migrations")) {
    const json::array& list = reader.Array(*migrations, "migrations");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string key = "migrations[" + std::to_string(i) + "]";
      const json::object& m = reader.Object(list[i], key);
      Migration migration;
      migration.tag = reader.RequiredString(m, "tag", key);
      migration.new_classes = reader.Strings(m, "new_classes", key);
      migration.new_sqlite_classes = reader.Strings(m, "new_sqlite_classes", key);
      migration.deleted_classes = reader.Strings(m, "deleted_classes", key);
      if (const json::value* renamed = m.if_contains("renamed_classes")) {
        const json::array& pairs = reader.Array(*renamed, key + ".renamed_classes");
        for (size_t j = 0; j < pairs.size(); ++j) {
          std::string pair_key = key + ".renamed_classes[" + std::to_string(j) + "]";
          const json::object& p = reader.Object(pairs[j], pair_key);
          migration.renamed_classes.emplace_back(reader.RequiredString(p, "from", pair_key),
                                                 reader.RequiredString(p, "to", pair_key));
        }
      }
      if (const json::value* transferred = m.if_contains("transferred_classes")) {
        const json::array& items = reader.Array(*transferred, key + ".transferred_classes");
        for (size_t j = 0; j < items.size(); ++j) {
          std::string item_key = key + ".transferred_classes[" + std::to_string(j) + "]";
          const json::object& t = reader.Object(items[j], item_key);
          migration.transferred_classes.push_back(
              {reader.RequiredString(t, "from", item_key),
               reader.RequiredString(t, "from_script", item_key),
               reader.RequiredString(t, "to", item_key)});
        }
      }
      for (const Migration& earlier : config.migrations) {
        if (earlier.tag == migration.tag)
          reader.Fail(key + ".tag", "duplicate tag '" + migration.tag + "'");
      }
      config.migrations.push_back(std::move(migration));
    }
  }
  if (const json::value* services = o.if_contains("services")) {
    const json::array& list = reader.Array(*services, "services");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string key = "services[" + std::to_string(i) + "]";
      const json::object& s = reader.Object(list[i], key);
      config.services.push_back({reader.RequiredString(s, "binding", key),
                                 reader.RequiredString(s, "service", key),
                                 reader.OptionalString(s, "entrypoint", key)});
    }
  }
  return config;
}

std::string FindWranglerConfig(const std::string& target) {
  if (IsFile(target)) return target;
  if (!IsDirectory(target)) return {};
  std::string folder = EndsWith(target, "/") ? target : target + "/";
  for (const char* name : {"wrangler.json", "wrangler.jsonc", "wrangler.toml"}) {
    if (IsFile(folder + name)) return folder + name;
  }
  return {};
}

WranglerConfig ReadWranglerConfig(const std::string& path) {
  ConfigFormat format = EndsWith(path, ".toml") ? ConfigFormat::kToml : ConfigFormat::kJson;
  return ParseWranglerConfig(ReadFile(path), format, path);
}

std::vector<std::string> ClassesAfterMigrations(const std::vector<Migration>& migrations) {
  std::vector<std::string> classes;
  auto add = [&](const std::string& name) {
    if (std::find(classes.begin(), classes.end(), name) == classes.end()) classes.push_back(name);
  };
  auto remove = [&](const std::string& name) {
    classes.erase(std::remove(classes.begin(), classes.end(), name), classes.end());
  };
  for (const Migration& m : migrations) {
    for (const auto& c : m.new_classes) add(c);
    for (const auto& c : m.new_sqlite_classes) add(c);
    for (const auto& [from, to] : m.renamed_classes) {
      remove(from);
      add(to);
    }
    for (const auto& t : m.transferred_classes) add(t.to);
    for (const auto& c : m.deleted_classes) remove(c);
  }
  return classes;
}

}  // namespace dorm::cli
