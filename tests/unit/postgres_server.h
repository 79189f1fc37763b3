// A throwaway PostgreSQL server for the cluster's unit tests: one per test process, started on
// first use, stopped and removed when the process ends, however it ends.
//
// initdb writes a new cluster into a fresh folder under /tmp; the server listens only on a unix
// socket inside that folder (no TCP port to collide with others' servers or tests). PostgreSQL
// refuses to run as root, so as root it runs as the `postgres` system user (the Debian package
// creates it) through runuser, and the folder is that user's. fsync is off: the cluster is
// thrown away with the process, durability against power loss is not under test, and commit
// visibility and row locking (what the tests check) are the same with it off.
//
// A watchdog process, forked once the server runs, waits on a pipe that only this process
// holds: when the process exits (normally, on a crash or on SIGKILL) the pipe closes and the
// watchdog stops the server (pg_ctl stop -m immediate) and removes the folder.
//
// Nothing is skipped: without PostgreSQL the tests fail with what to install.
#pragma once

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "cluster/pg_connection.h"

namespace dorm::testing {

class PostgresServer {
 public:
  // The process's server. Throws std::runtime_error (every time) if it could not start.
  static PostgresServer& Shared() {
    static std::unique_ptr<PostgresServer> server;
    static std::string failure;
    static std::once_flag once;
    std::call_once(once, [] {
      try {
        server.reset(new PostgresServer());
      } catch (const std::exception& e) {
        failure = e.what();
      }
    });
    if (!server) throw std::runtime_error(failure);
    return *server;
  }

  ~PostgresServer() {
    // Closing the pipe's last writer wakes the watchdog, which stops the server.
    if (watchdog_pipe_ >= 0) ::close(watchdog_pipe_);
    if (watchdog_ > 0) ::waitpid(watchdog_, nullptr, 0);
  }

  // A new, empty schema of its own, as the libpq connection string of a session whose tables go
  // there (search_path). A schema takes milliseconds to create; a database, half a second.
  std::string NewDatabase() {
    static std::atomic<int> counter{0};
    std::string name = "test_" + std::to_string(++counter);
    auto admin = cluster::PgConnection::Connect(Conninfo(), std::chrono::seconds(10));
    admin->Exec("CREATE SCHEMA " + name);
    return Conninfo() + " options=-csearch_path=" + name;
  }

  std::string Conninfo() const { return "host=" + dir_ + " port=5432 user=dorm dbname=postgres"; }
  // The server's unix socket.
  std::string socket_path() const { return dir_ + "/.s.PGSQL.5432"; }

 private:
  PostgresServer() {
    std::string bin = FindBinaries();
    char tmpl[] = "/tmp/dorm-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("cannot create a folder for PostgreSQL");
    dir_ = tmpl;
    std::string as_user;
    if (::geteuid() == 0) {
      struct passwd* user = ::getpwnam("postgres");
      if (!user) {
        Remove();
        throw std::runtime_error(
            "PostgreSQL refuses to run as root and there is no `postgres` user to run it as: "
            "install PostgreSQL (scripts/install-deps.sh)");
      }
      if (::chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
        Remove();
        throw std::runtime_error("cannot give " + dir_ + " to the postgres user");
      }
      as_user = "runuser -u postgres -- ";
    }
    std::string initdb = as_user + bin + "/initdb -D " + dir_ +
                         "/data -A trust -U dorm -E UTF8 --no-sync --no-instructions > " + dir_ +
                         "/initdb.log 2>&1";
    if (std::system(initdb.c_str()) != 0) Fail("initdb failed", dir_ + "/initdb.log");
    std::string options = "-k " + dir_ +
                          " -p 5432 -c listen_addresses='' -c fsync=off -c full_page_writes=off"
                          " -c max_connections=100";
    std::string start = as_user + bin + "/pg_ctl -D " + dir_ + "/data -w -t 60 -s -l " + dir_ +
                        "/postgres.log -o \"" + options + "\" start > /dev/null 2>&1";
    if (std::system(start.c_str()) != 0) Fail("PostgreSQL did not start", dir_ + "/postgres.log");
    StartWatchdog(as_user + bin + "/pg_ctl -D " + dir_ + "/data -m immediate -s stop; rm -rf " +
                  dir_);
  }

  static std::string FindBinaries() {
    if (const char* dir = std::getenv("DORM_PG_BINDIR")) return dir;
    namespace fs = std::filesystem;
    std::string best;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      std::string bin = entry.path().string() + "/bin";
      if (fs::exists(bin + "/initdb") && fs::exists(bin + "/pg_ctl") && bin > best) best = bin;
    }
    if (best.empty()) {
      throw std::runtime_error(
          "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run "
          "scripts/install-deps.sh, or set DORM_PG_BINDIR");
    }
    return best;
  }

  [[noreturn]] void Fail(const std::string& what, const std::string& log) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    Remove();
    throw std::runtime_error(what + ": " + text.str());
  }

  void Remove() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void StartWatchdog(const std::string& cleanup) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    // Built before fork(): the child of a threaded process may only make async-signal-safe
    // calls.
    const char* argv[] = {"/bin/sh", "-c", cleanup.c_str(), nullptr};
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::setsid();  // a Ctrl-C to the test's process group must not kill the watchdog too
      ::close(fds[1]);
      char byte;
      for (;;) {
        ssize_t n = ::read(fds[0], &byte, 1);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
      }
      ::execv("/bin/sh", const_cast<char* const*>(argv));
      ::_exit(127);
    }
    ::close(fds[0]);
    watchdog_ = pid;
    watchdog_pipe_ = fds[1];
  }

  std::string dir_;
  pid_t watchdog_ = -1;
  int watchdog_pipe_ = -1;
};

}  // namespace dorm::testing
