#include "control/transpiler.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/app_isolate.h"

extern char** environ;

namespace dorm::control {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Runs `argv` with `input` on stdin; collects stdout and stderr. Returns the exit status, or -1.
// Runs in `cwd` when it is not empty.
int Run(const std::vector<std::string>& argv, const std::string& input, std::string* out,
        std::string* err, const std::string& cwd = {}) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC))
    return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    *err = std::string("cannot run esbuild: ") + std::strerror(rc);
    return -1;
  }
  // Feed stdin and drain both outputs together, so that no pipe fills up and stalls esbuild.
  size_t written = 0;
  fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  bool in_open = true, out_open = true, err_open = true;
  if (input.empty()) {
    close(in_pipe[1]);
    in_open = false;
  }
  char buf[65536];
  while (out_open || err_open) {
    pollfd fds[3];
    int n = 0;
    int in_idx = -1, out_idx = -1, err_idx = -1;
    if (in_open) {
      fds[n] = {in_pipe[1], POLLOUT, 0};
      in_idx = n++;
    }
    if (out_open) {
      fds[n] = {out_pipe[0], POLLIN, 0};
      out_idx = n++;
    }
    if (err_open) {
      fds[n] = {err_pipe[0], POLLIN, 0};
      err_idx = n++;
    }
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in_idx >= 0 && fds[in_idx].revents) {
      ssize_t w = write(in_pipe[1], input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN) written = input.size();
      if (written >= input.size()) {
        close(in_pipe[1]);
        in_open = false;
      }
    }
    auto drain = [&](int idx, int fd, std::string* sink, bool* open) {
      if (idx < 0 || !fds[idx].revents) return;
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        sink->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EAGAIN) {
        close(fd);
        *open = false;
      }
    };
    drain(out_idx, out_pipe[0], out, &out_open);
    drain(err_idx, err_pipe[0], err, &err_open);
  }
  if (in_open) close(in_pipe[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// esbuild prints "✘ [ERROR] <message>\n\n    <file>:<line>:<col>:\n ...": keep message and place.
std::string DescribeEsbuildError(const std::string& stderr_text) {
  std::string message, place;
  size_t tag = stderr_text.find("[ERROR] ");
  if (tag != std::string::npos) {
    size_t start = tag + 8;
    size_t end = stderr_text.find('\n', start);
    message = stderr_text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (end != std::string::npos) {
      size_t line_start = stderr_text.find_first_not_of(" \n", end);
      if (line_start != std::string::npos) {
        size_t line_end = stderr_text.find('\n', line_start);
        place = stderr_text.substr(line_start, line_end - line_start);
        if (!place.empty() && place.back() == ':') place.pop_back();
      }
    }
  }
  if (message.empty()) return "esbuild failed: " + stderr_text;
  if (place.empty()) return "Syntax error: " + message;
  return "Syntax error at " + place + ": " + message;
}

// The esbuild that deploys run: $DORM_ESBUILD when set; else the one pinned in js/package.json,
// which the build's `npm ci` in js/ installed at a path fixed when the build was configured
// (DORM_BUNDLED_ESBUILD); else `esbuild` from PATH (a binary moved away from its checkout). The
// pinned one matters: V8 10.2 cannot parse `using` declarations and older esbuild releases
// (Debian 12's 0.17) refuse them instead of lowering them to try/finally as Wrangler's does.
std::string EsbuildPath() {
  if (const char* from_env = getenv("DORM_ESBUILD")) return from_env;
#ifdef DORM_BUNDLED_ESBUILD
  if (access(DORM_BUNDLED_ESBUILD, X_OK) == 0) return DORM_BUNDLED_ESBUILD;
#endif
  return "esbuild";
}

// The Node.js modules a bundle require()s (CommonJS packages: esbuild leaves `__require("events")`
// calls to the externals, which throw "Dynamic require ... is not supported" unless a `require`
// is in scope), by the specifier used, each once.
std::vector<std::string> RequiredNodeModules(const std::string& bundle) {
  std::vector<std::string> found;
  const std::string call = "__require";
  for (size_t at = bundle.find(call); at != std::string::npos; at = bundle.find(call, at + 1)) {
    size_t i = at + call.size();
    while (i < bundle.size() && bundle[i] >= '0' && bundle[i] <= '9') ++i;  // __require2...
    if (bundle.compare(i, 2, "(\"") != 0) continue;
    size_t end = bundle.find('"', i + 2);
    if (end == std::string::npos) break;
    std::string specifier = bundle.substr(i + 2, end - i - 2);
    if (runtime::AppIsolate::NodeModuleName(specifier).empty()) continue;
    if (std::find(found.begin(), found.end(), specifier) == found.end()) found.push_back(specifier);
  }
  return found;
}

// What goes before a bundle that require()s Node.js modules: an import of each and a module-level
// `require` that returns its default export (as Node's require() gives the module itself), which
// esbuild's __require uses, as Wrangler rewrites those calls for workerd. One line, put in front
// of the bundle's first, so that line numbers in errors stay those of the bundle.
std::string RequireShim(const std::vector<std::string>& specifiers) {
  std::string imports;
  std::string table;
  for (size_t i = 0; i < specifiers.size(); ++i) {
    const std::string name = "__dormNodeModule" + std::to_string(i);
    imports += "import " + name + " from \"" + specifiers[i] + "\";";
    table += (i ? "," : "") + std::string("\"") + specifiers[i] + "\":" + name;
  }
  return imports +
         "const require=((modules)=>function require(name){if(Object.prototype.hasOwnProperty."
         "call(modules,name))return modules[name];throw new Error('Dynamic require of \"'+name+'\""
         " is not supported');})({" +
         table + "});";
}

}  // namespace

TranspileResult Transpile(const std::string& source, const std::string& filename) {
  TranspileResult result;
  bool typescript =
      EndsWith(filename, ".ts") || EndsWith(filename, ".mts") || EndsWith(filename, ".tsx");
  std::vector<std::string> argv = {
      EsbuildPath(),
      std::string("--loader=") + (typescript ? "ts" : "js"),
      "--format=esm",
      "--target=es2022",
      "--color=false",
      "--log-level=error",
      "--sourcefile=" + (filename.empty() ? std::string("source.ts") : filename),
  };
  std::string out, err;
  int status = Run(argv, source, &out, &err);
  if (status != 0) {
    result.error = status < 0 && err.find("cannot run") == 0 ? err : DescribeEsbuildError(err);
    return result;
  }
  result.ok = true;
  result.module_js = std::move(out);
  return result;
}

TranspileResult BundleProject(const std::string& main, const std::string& project_dir,
                              const std::string& entry_source, bool nodejs_compat) {
  TranspileResult result;
  std::vector<std::string> argv = {
      EsbuildPath(),
      entry_source.empty() ? main : "--sourcefile=" + main,
      "--bundle",
      "--format=esm",
      "--target=es2022",
      // As Wrangler bundles for workerd: packages' worker and browser builds first.
      "--platform=neutral",
      "--main-fields=module,main",
      "--conditions=workerd,worker,browser",
      "--external:cloudflare:*",
      "--external:node:*",
      // The modules the runtime provides for Cloudwerk's objects.
      "--external:@cloudwerk/durable-object",
      "--external:@cloudwerk/core/bindings",
      "--color=false",
      "--log-level=error",
  };
  if (!entry_source.empty()) argv.push_back("--loader=ts");
  if (nodejs_compat) {
    for (const std::string& name : runtime::AppIsolate::NodeModuleNames()) {
      argv.push_back("--external:" + name);
    }
  }
  std::string out, err;
  int status = Run(argv, entry_source, &out, &err, project_dir);
  if (status != 0) {
    if (status < 0 && err.find("cannot run") == 0) {
      result.error = err;
    } else {
      std::string described = DescribeEsbuildError(err);
      // A bundling failure is not always a syntax error (a missing package, say).
      const std::string syntax = "Syntax error";
      if (described.rfind(syntax, 0) == 0 && err.find("Could not resolve") != std::string::npos) {
        described = "Cannot bundle" + described.substr(syntax.size());
      }
      result.error = described;
    }
    return result;
  }
  result.ok = true;
  if (nodejs_compat) {
    std::vector<std::string> required = RequiredNodeModules(out);
    if (!required.empty()) out = RequireShim(required) + out;
  }
  result.module_js = std::move(out);
  return result;
}

}  // namespace dorm::control
