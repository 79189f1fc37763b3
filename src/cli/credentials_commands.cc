#include "cli/credentials_commands.h"

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/flag_value.h"
#include "cli/json_text.h"
#include "util/base64.h"

namespace dorm::cli {

namespace {

const char kCredentialsUsage[] =
    "  dorm auth set [--app APP] [--hs256-secret-file F] [--public-key-file F.pem]\n"
    "                [--jwks-file F.json] [--issuer I] [--audience A]\n"
    "  dorm auth show [--app APP]\n"
    "  dorm auth clear [--app APP]\n"
    "  dorm keys create [--app APP] [--name LABEL]   (prints the key once, on stdout)\n"
    "  dorm keys list [--app APP]\n"
    "  dorm keys revoke KEY_ID [--app APP]\n";

namespace json = boost::json;

// A command-line mistake or a failed call; its message is printed after "dorm: ".
struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Flags = std::map<std::string, std::string>;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Sends one admin request and returns the JSON answer; throws CommandError with the server's
// message for an error status.
json::object Call(const Flags& flags, const std::string& method, const std::string& target,
                  const std::string& body = "") {
  std::string error;
  auto endpoint = ResolveAdminEndpoint(FlagValue(flags, "server"), FlagValue(flags, "token"),
                                       FlagValue(flags, "data"), &error);
  if (!endpoint) throw CommandError(error);
  AdminResponse r = AdminRequest(endpoint->server, endpoint->token, method, target, body);
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (r.status >= 400) {
    if (!ec && v.is_object() && v.as_object().contains("error") &&
        v.as_object().at("error").is_string()) {
      throw CommandError(std::string(v.as_object().at("error").as_string()));
    }
    throw CommandError("server answered " + std::to_string(r.status) + ": " + r.body);
  }
  if (ec || !v.is_object()) throw CommandError("unexpected answer from server: " + r.body);
  return v.as_object();
}

int64_t Number(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : v && v->is_uint64() ? v->as_uint64() : 0;
}

void PrintAuth(const json::object& o) {
  bool configured =
      o.contains("configured") && o.at("configured").is_bool() && o.at("configured").as_bool();
  std::cout << "app:          " << JsonText(o, "app") << "\n";
  if (!configured) {
    std::cout << "JWT verification: not configured (authenticated classes accept only service "
                 "keys)\n";
    return;
  }
  bool hs256 = o.contains("hs256") && o.at("hs256").is_bool() && o.at("hs256").as_bool();
  std::cout << "HS256 secret: " << (hs256 ? "set" : "none") << "\n"
            << "PEM keys:     " << Number(o, "public_keys") << "\n"
            << "JWKS keys:    " << Number(o, "jwks_keys") << "\n"
            << "issuer:       " << JsonText(o, "issuer", "(not checked)") << "\n"
            << "audience:     " << JsonText(o, "audience", "(not checked)") << "\n"
            << "clock skew:   " << Number(o, "clock_skew_seconds") << " s\n"
            << "updated at:   " << JsonText(o, "updated_at") << "\n";
}

int AuthCommand(const std::vector<std::string>& positional, const Flags& flags) {
  const std::string sub = positional.empty() ? "" : positional[0];
  std::string app = FlagValue(flags, "app");
  if (app.empty()) app = "default";
  const std::string target = "/_admin/v1/apps/" + app + "/auth";
  if (positional.size() != 1) throw CommandError("usage:\n" + std::string(kCredentialsUsage));
  if (sub == "show") {
    PrintAuth(Call(flags, "GET", target));
    return 0;
  }
  if (sub == "clear") {
    Call(flags, "DELETE", target);
    std::cout << "cleared the JWT configuration of app " << app << "\n";
    return 0;
  }
  if (sub != "set") throw CommandError("usage:\n" + std::string(kCredentialsUsage));
  json::object body;
  if (std::string file = FlagValue(flags, "hs256-secret-file"); !file.empty()) {
    std::string secret = ReadWholeFile(file);
    // Files written by `echo` or `openssl rand -hex` end with a newline that is not the secret's.
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    body["hs256_secret_base64"] = Base64Encode(secret);
  }
  if (std::string file = FlagValue(flags, "public-key-file"); !file.empty()) {
    body["public_keys_pem"] = ReadWholeFile(file);
  }
  if (std::string file = FlagValue(flags, "jwks-file"); !file.empty()) {
    body["jwks"] = ReadWholeFile(file);
  }
  if (body.empty()) {
    throw CommandError(
        "dorm auth set needs --hs256-secret-file, --public-key-file and/or --jwks-file");
  }
  if (flags.count("issuer")) body["issuer"] = FlagValue(flags, "issuer");
  if (flags.count("audience")) body["audience"] = FlagValue(flags, "audience");
  PrintAuth(Call(flags, "PUT", target, json::serialize(body)));
  return 0;
}

int KeysCommand(const std::vector<std::string>& positional, const Flags& flags) {
  const std::string sub = positional.empty() ? "" : positional[0];
  std::string app = FlagValue(flags, "app");
  if (app.empty()) app = "default";
  const std::string target = "/_admin/v1/apps/" + app + "/keys";
  if (sub == "create" && positional.size() == 1) {
    json::object body;
    if (flags.count("name")) body["name"] = FlagValue(flags, "name");
    json::object o = Call(flags, "POST", target, json::serialize(body));
    // The key alone on stdout, so that `KEY=$(dorm keys create)` works; the rest on stderr.
    std::cout << JsonText(o, "key") << "\n";
    std::cerr << "created service key " << JsonText(o, "id") << " for app " << app
              << ": store it now, it is not shown again\n";
    return 0;
  }
  if (sub == "list" && positional.size() == 1) {
    json::object o = Call(flags, "GET", target);
    const json::value* keys = o.if_contains("keys");
    if (!keys || !keys->is_array() || keys->as_array().empty()) {
      std::cout << "no service keys in app '" << app << "'\n";
      return 0;
    }
    std::printf("%-20s %-18s %-22s %s\n", "ID", "PREFIX", "CREATED", "NAME");
    for (const json::value& item : keys->as_array()) {
      if (!item.is_object()) continue;
      const json::object& k = item.as_object();
      std::printf("%-20s %-18s %-22s %s\n", JsonText(k, "id").c_str(),
                  JsonText(k, "prefix").c_str(), JsonText(k, "created_at").c_str(),
                  JsonText(k, "name").c_str());
    }
    return 0;
  }
  if (sub == "revoke" && positional.size() == 2) {
    Call(flags, "DELETE", target + "/" + positional[1]);
    std::cout << "revoked service key " << positional[1] << " of app " << app << "\n";
    return 0;
  }
  throw CommandError("usage:\n" + std::string(kCredentialsUsage));
}

}  // namespace

int CredentialsCommand(const std::string& command, const std::vector<std::string>& positional,
                       const Flags& flags) {
  try {
    return command == "auth" ? AuthCommand(positional, flags) : KeysCommand(positional, flags);
  } catch (const std::exception& e) {
    std::cerr << "dorm: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace dorm::cli
