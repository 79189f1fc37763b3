#include "cli/dev_command.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "cli/admin_client.h"
#include "cli/admin_endpoint.h"
#include "cli/project_deploy.h"
#include "cli/wrangler_config.h"

extern char** environ;

namespace dorm::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop = true; }

// Every file of the project that a deploy reads, with its modification time and size.
using Snapshot = std::map<std::string, std::pair<fs::file_time_type, uintmax_t>>;

Snapshot TakeSnapshot(const fs::path& root, const fs::path& data_dir) {
  Snapshot snapshot;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (it->is_directory(ec)) {
      std::error_code same_ec;
      if (name == "node_modules" || name == ".git" || name == ".wrangler" ||
          fs::equivalent(p, data_dir, same_ec)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    std::error_code stat_ec;
    auto time = fs::last_write_time(p, stat_ec);
    auto size = fs::file_size(p, stat_ec);
    if (!stat_ec) snapshot[p.string()] = {time, size};
  }
  return snapshot;
}

bool Healthy(const std::string& server, const std::string& token) {
  try {
    return AdminRequest(server, token, "GET", "/_admin/v1/health", "").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

std::string Timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm;
  localtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

bool Deploy(const std::string& config_path, const DevOptions& options, const std::string& server,
            const std::string& token) {
  ProjectDeployOptions deploy_options;
  deploy_options.app = options.app;
  deploy_options.access = options.access;
  ProjectDeployOutcome outcome = DeployProject(config_path, deploy_options, server, token);
  for (const std::string& warning : outcome.warnings) {
    std::cerr << "dorm dev: warning: " << warning << "\n";
  }
  if (!outcome.ok) {
    std::cerr << "dorm dev: [" << Timestamp() << "] deploy failed: " << outcome.error
              << "\n  (still serving the code deployed before; fix and save to try again)\n";
    return false;
  }
  std::cout << "dorm dev: [" << Timestamp() << "] ";
  for (const std::string& line : outcome.lines) std::cout << line << "\n";
  std::cout.flush();
  return true;
}

}  // namespace

int RunDev(const DevOptions& options) {
  std::string config_path = FindWranglerConfig(options.target);
  if (config_path.empty()) {
    std::cerr << "dorm dev: no wrangler.json, wrangler.jsonc or wrangler.toml in " << options.target
              << "\n";
    return 1;
  }
  fs::path config_file = fs::absolute(config_path);
  fs::path root = config_file.parent_path();
  std::string data = options.data.empty() ? (root / ".dorm").string() : options.data;

  struct sigaction action {};
  action.sa_handler = &OnStopSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  // The server: the one named, a live one on the data folder, or one started here.
  pid_t child = -1;
  std::string error;
  std::optional<AdminEndpoint> endpoint;
  if (!options.server.empty()) {
    endpoint = ResolveAdminEndpoint(options.server, options.token, "", &error);
  } else {
    endpoint = ResolveAdminEndpoint("", "", data, &error);
    if (endpoint && !Healthy(endpoint->server, endpoint->token)) endpoint.reset();
  }
  if (!endpoint && !options.server.empty()) {
    std::cerr << "dorm dev: " << error << "\n";
    return 1;
  }
  if (endpoint) {
    std::cout << "dorm dev: using the server at " << endpoint->server
              << " (its log is not streamed here)\n";
  } else {
    std::error_code ec;
    fs::create_directories(data, ec);
    fs::remove(fs::path(data) / "server-address", ec);
    std::vector<std::string> argv = {options.self,   "serve",  "--listen",
                                     options.listen, "--data", data};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (int rc = posix_spawn(&child, options.self.c_str(), nullptr, nullptr, args.data(), environ);
        rc != 0) {
      std::cerr << "dorm dev: cannot start dorm serve: " << std::strerror(rc) << "\n";
      return 1;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!g_stop) {
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) {
        std::cerr << "dorm dev: dorm serve exited before it was ready\n";
        return 1;
      }
      endpoint = ResolveAdminEndpoint("", "", data, &error);
      if (endpoint && Healthy(endpoint->server, endpoint->token)) break;
      endpoint.reset();
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "dorm dev: dorm serve did not start within 30 s\n";
        kill(child, SIGTERM);
        waitpid(child, nullptr, 0);
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  int exit_status = 0;
  if (endpoint) {
    Deploy(config_path, options, endpoint->server, endpoint->token);
    std::cout << "dorm dev: watching " << root.string() << " for changes (Ctrl-C stops)\n";
    std::cout.flush();
    Snapshot last = TakeSnapshot(root, data);
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (child > 0) {
        int status = 0;
        if (waitpid(child, &status, WNOHANG) == child) {
          std::cerr << "dorm dev: dorm serve stopped unexpectedly\n";
          child = -1;
          exit_status = 1;
          break;
        }
      }
      Snapshot now = TakeSnapshot(root, data);
      if (now == last) continue;
      // Editors write a file in several steps: wait until it settles.
      do {
        last = now;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        now = TakeSnapshot(root, data);
      } while (now != last && !g_stop);
      if (g_stop) break;
      std::cout << "dorm dev: [" << Timestamp() << "] change detected, deploying again\n";
      std::cout.flush();
      Deploy(config_path, options, endpoint->server, endpoint->token);
    }
  }
  if (child > 0) {
    kill(child, SIGTERM);
    int status = 0;
    waitpid(child, &status, 0);
  }
  std::cout << "dorm dev: stopped\n";
  return exit_status;
}

}  // namespace dorm::cli
