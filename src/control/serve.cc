#include "control/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cluster/cluster_housekeeping.h"
#include "cluster/cluster_node.h"
#include "control/admin_service.h"
#include "control/admin_ui.h"
#include "control/class_storage.h"
#include "control/cluster_usage.h"
#include "control/control_sync.h"
#include "control/credential_authorizer.h"
#include "control/credentials_store.h"
#include "control/env_store.h"
#include "control/object_index.h"
#include "control/registry.h"
#include "control/secrets_key.h"
#include "control/supervisor.h"
#include "control/usage_recorder.h"
#include "control/usage_store.h"
#include "js/platform.h"
#include "net/peer_call.h"
#include "runtime/alarm_scheduler.h"
#include "runtime/app_quarantine.h"
#include "runtime/crash_attribution.h"
#include "runtime/engine_pool.h"
#include "runtime/object_id.h"
#include "runtime/runtime_shared.h"
#include "runtime/thread_engine.h"
#include "storage/alarm_index.h"
#include "storage/database_closer.h"
#include "storage/parkable_vfs.h"
#include "storage/sqlite_setup.h"
#include "storage/storage_quota.h"
#include "storage/temp_file_limit.h"
#include "util/crypto.h"
#include "util/cycle_clock.h"
#include "util/log.h"
#include "util/names.h"

namespace dorm::control {

std::string LoadOrCreateAdminToken(const std::string& data_dir) {
  std::string path = data_dir + "/admin-token";
  std::ifstream in(path);
  std::string token;
  if (in && std::getline(in, token) && !token.empty()) return token;
  token = "dorm_admin_" + ToHex(RandomBytes(24));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path);
  std::string line = token + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(fd) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot write " + path);
  }
  ::fchmod(fd, 0600);
  ::close(fd);
  return token;
}

namespace {

// The descriptors this process has open.
size_t CountOpenDescriptors() {
  std::error_code ec;
  size_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++count;
  }
  return count;
}

// Takes an exclusive lock on DATA/lock for the life of the process, so that a second server on
// the same data folder refuses to start instead of sharing its databases. Returns the locked
// descriptor (deliberately never closed: the lock goes with the process, and with the runtime
// processes it forks), or -1 with `error` set.
//
// The file names the supervisor's pid. When that process is gone, the lock is held by its runtime
// process, which the kernel is killing (PR_SET_PDEATHSIG): the lock is then waited for, for at
// most 10 s, and `*waited` set.
int LockDataFolder(const std::string& data_dir, std::string* error, bool* waited) {
  std::string path = data_dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return -1;
  }
  auto holder_pid = [fd] {
    char pid[32] = {0};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return holder;
  };
  for (int attempt = 0; ::flock(fd, LOCK_EX | LOCK_NB) != 0; ++attempt) {
    int err = errno;
    std::string holder = holder_pid();
    long pid = std::atol(holder.c_str());
    if (err == EWOULDBLOCK && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 &&
        errno == ESRCH && attempt < 200) {
      *waited = true;
      ::usleep(50 * 1000);
      continue;
    }
    ::close(fd);
    *error = err == EWOULDBLOCK
                 ? "the data folder " + data_dir + " is in use by another dorm server" +
                       (holder.empty() ? "" : " (pid " + holder + ")")
                 : "cannot lock " + path + ": " + std::strerror(err);
    return -1;
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only a hint for the message above; the lock is what counts.
  }
  return fd;
}

}  // namespace

namespace {

// Why files cannot be created in `folder` ("" if they can, or if it does not exist yet).
std::string WritableFolderProblem(const std::string& folder) {
  std::error_code ec;
  if (!std::filesystem::exists(folder, ec)) return "";
  std::string probe = folder + "/.dorm-write-check";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::strerror(errno);
  bool written = ::write(fd, "x", 1) == 1;
  int saved = errno;
  ::close(fd);
  ::unlink(probe.c_str());
  return written ? "" : std::strerror(saved);
}

// Finishes the class transfers a crash interrupted (see Registry::ApplyProject): the source app's
// class is gone from the registry, so its storage goes to the app that took it.
void FinishPendingMoves(const std::string& data_dir, Registry& registry,
                        storage::AlarmIndex& alarm_index, ObjectIndex& object_index) {
  for (const ClassMove& move : registry.PendingMoves()) {
    Log(LogLevel::kInfo, "finishing the interrupted transfer of " + move.from_app + "/" +
                             move.from_storage + " to " + move.to_app);
    MoveClassStorage(data_dir, move.from_app, move.from_storage, move.to_app, move.to_storage);
    alarm_index.MoveClass(move.from_app, move.from_storage, move.to_app, move.to_storage);
    object_index.MoveClass(move.from_app, move.from_storage, move.to_app, move.to_storage);
    registry.FinishMove(move.from_app, move.from_storage);
  }
}

// Finishes the class deletions a crash interrupted (see Registry::Remove), before anything can
// open the deleted classes' objects or deploy their names again.
void FinishPendingDeletions(const std::string& data_dir, Registry& registry,
                            storage::AlarmIndex& alarm_index, UsageStore& usage_store,
                            ObjectIndex& object_index) {
  for (const auto& [app, name] : registry.PendingDeletions()) {
    Log(LogLevel::kInfo, "finishing the interrupted deletion of " + app + "/" + name);
    alarm_index.RemoveClass(app, name);
    usage_store.ForgetStorage(app, name);
    object_index.ForgetClass(app, name);
    RemoveClassStorage(data_dir, app, name);
    registry.FinishDeletion(app, name);
  }
  EmptyStorageTrash(data_dir);
}

// How many event-loop threads the server runs: --threads, or one per core.
size_t EventLoopThreads(const ServeOptions& options) {
  return static_cast<size_t>(
      options.threads > 0 ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
}

// Stops accepting, lets in-flight requests and flushes finish (at most `grace`), closes every
// object, lets the WebSockets' Close frames leave, and stops the event loops.
// In cluster mode, the node's commits are settled before it releases its objects (they are then
// taken by other nodes at once instead of after its lease), and both before the loops stop: the
// cluster's threads post completions to them.
void StopServing(net::HttpServer& server, runtime::EnginePool& pool,
                 std::chrono::milliseconds grace, cluster::ClusterNode* cluster) {
  server.StopAccepting();
  // Tail clients' streams never end by themselves.
  pool.shared().app_logs.CloseClients();
  pool.Drain(std::chrono::steady_clock::now() + grace);
  pool.CloseAll();
  server.WaitForWebSocketsToClose(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  if (cluster) cluster->Stop(/*release=*/true);
  pool.Stop();
}

// `dorm cluster drain NODE` on this node: hands every object over while the process keeps running
// as a forwarder. No new event is admitted for any object (callers get the retryable 503 and
// retry), the events under way and their commits finish (at most 10 s), the objects are closed
// (WebSockets with 1012), and then released in `owners`, so that other nodes take them at once.
// From then on the node owns nothing and takes nothing (activations fail; placement leaves a
// draining node out), and its directory names the owners, to which it forwards every request.
void HandOverObjects(runtime::EnginePool& pool, cluster::ClusterNode& cluster) {
  Log(LogLevel::kInfo, "draining: handing this node's objects over; it goes on forwarding");
  cluster.BeginDrain();
  pool.Drain(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  pool.RunOnEveryEngine([](runtime::ThreadEngine& engine) { engine.HandOverClusterObjects(); });
  // Commits of instances closed before they settled: fenced once released, never acknowledged.
  for (int i = 0; i < 100 && cluster.flusher_backlog().rows > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int attempt = 1;; ++attempt) {
    try {
      long long released = cluster.ReleaseAllObjects();
      cluster.directory().ForgetAll();
      Log(LogLevel::kInfo, "drained: released " + std::to_string(released) +
                               " objects; forwarding requests to their owners");
      return;
    } catch (const cluster::PgError& e) {
      // Until released, the objects wait for this node's lease, which it keeps renewing: they
      // stay unavailable, so keep trying.
      Log(LogLevel::kError, std::string("drain: cannot release this node's objects: ") + e.what());
      if (attempt == 10) return;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

// The runtime process's part of `dorm serve`: everything but the data folder's lock and the
// listening socket (options.http.listen_fd), which the supervisor holds.
int RunRuntime(const ServeOptions& options, const char* argv0,
               const runtime::AppQuarantine& quarantine);

}  // namespace

int Serve(const ServeOptions& options, const char* argv0) {
  const std::string& data_dir = options.runtime.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    std::cerr << "dorm: cannot create data folder " << data_dir << ": " << ec.message() << "\n";
    return 1;
  }
  ::chmod(data_dir.c_str(), 0700);
  // A data folder the server cannot write would otherwise fail later, on whichever store opens
  // first, with SQLite's bare "disk I/O error".
  for (const std::string& folder : {data_dir, data_dir + "/objects"}) {
    std::string problem = WritableFolderProblem(folder);
    if (!problem.empty()) {
      std::cerr << "dorm: the data folder " << folder << " is not writable: " << problem << "\n";
      return 1;
    }
  }
  std::string lock_error;
  bool waited_for_lock = false;
  if (LockDataFolder(data_dir, &lock_error, &waited_for_lock) < 0) {
    std::cerr << "dorm: " << lock_error << "\n";
    return 1;
  }
  // The port is bound here, once: it stays bound while runtime processes come and go. After
  // waiting for the lock of a killed server's runtime process, its socket may still be closing.
  int listen_fd = -1;
  for (int attempt = 0;; ++attempt) {
    try {
      listen_fd = net::HttpServer::BindListener(options.http.host, options.http.port);
      break;
    } catch (const std::exception& e) {
      if (waited_for_lock && attempt < 100) {
        ::usleep(50 * 1000);
        continue;
      }
      std::cerr << "dorm: cannot listen on " << options.http.host << ":" << options.http.port
                << ": " << e.what() << "\n";
      return 1;
    }
  }
  ServeOptions runtime_options = options;
  runtime_options.http.listen_fd = listen_fd;
  const size_t threads = EventLoopThreads(options);
  runtime::CrashAttribution* attribution;
  try {
    // The event loops, the admin service's thread and the threads V8 or SQLite may run code on.
    attribution = runtime::CrashAttribution::CreateShared(threads + 16);
  } catch (const std::exception& e) {
    std::cerr << "dorm: " << e.what() << "\n";
    return 1;
  }
  return Supervise(attribution, [&](const runtime::AppQuarantine& quarantine) {
    return RunRuntime(runtime_options, argv0, quarantine);
  });
}

namespace {

int RunRuntime(const ServeOptions& options, const char* argv0,
               const runtime::AppQuarantine& quarantine) {
  const std::string& data_dir = options.runtime.data_dir;
  std::error_code ec;
  // Each open object database holds a few descriptors; take what the system allows.
  rlimit limit;
  ServeOptions effective = options;
  size_t descriptor_limit = 0;  // 0: unlimited
  size_t databases_descriptors = 0;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    if (limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      setrlimit(RLIMIT_NOFILE, &limit);
      getrlimit(RLIMIT_NOFILE, &limit);
    }
    // An open object database holds two descriptors (database and log), and so does each
    // connection waiting for the database closer. A flush, a checkpoint and the check before an
    // open each hold one more for a moment, one at a time on each thread that does them (within
    // the margin left below). Object databases get five eighths of the descriptors; another
    // eighth is left for what objects open besides (outbound sockets, SQLite's temporary files),
    // and the connection limit (set below) leaves both shares alone. Counting three per database,
    // as before, kept a third of the databases' share unused: 2,500 connections per thread
    // instead of 3,093 with 20,000 descriptors and two threads.
    int threads = static_cast<int>(EventLoopThreads(options));
    if (limit.rlim_cur != RLIM_INFINITY) {
      size_t descriptors = static_cast<size_t>(limit.rlim_cur);
      constexpr size_t kPerDatabase = 2;
      size_t share = descriptors * 5 / 8;
      size_t closing = storage::DatabaseCloser::kMaxPending * kPerDatabase;
      size_t budget =
          share > closing ? (share - closing) / kPerDatabase / static_cast<size_t>(threads) : 0;
      effective.runtime.max_open_databases_per_thread =
          std::max<size_t>(16, std::min(options.runtime.max_open_databases_per_thread, budget));
      databases_descriptors =
          std::max(descriptors * 3 / 4,
                   (effective.runtime.max_open_databases_per_thread * static_cast<size_t>(threads) +
                    storage::DatabaseCloser::kMaxPending) *
                       kPerDatabase);
      descriptor_limit = descriptors;
    }
  }
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  // A cluster node's drain request (ClusterHousekeeping's on_drain), run on this thread.
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Past a file-size limit, writes must fail with an error (which resets the object), not kill
  // the server.
  signal(SIGXFSZ, SIG_IGN);

  storage::ConfigureSqliteForManyDatabases();
  try {
    storage::InstallTempFileLimit(effective.runtime.max_sql_temp_bytes > 0
                                      ? effective.runtime.max_sql_temp_bytes
                                      : INT64_MAX);
    // Over the unlocked wrapper just installed: object databases' connections can then give
    // their descriptors back while kept (runtime max_parked_databases_per_thread).
    storage::InstallParkableVfs();
  } catch (const std::exception& e) {
    std::cerr << "dorm: " << e.what() << "\n";
    return 1;
  }
  if (const char* level = std::getenv("DORM_LOG_LEVEL")) {
    std::string l = level;
    SetLogLevel(l == "debug"   ? LogLevel::kDebug
                : l == "warn"  ? LogLevel::kWarn
                : l == "error" ? LogLevel::kError
                               : LogLevel::kInfo);
  }
  std::string token;
  try {
    token = LoadOrCreateAdminToken(data_dir);
  } catch (const std::exception& e) {
    std::cerr << "dorm: " << e.what() << "\n";
    return 1;
  }
  js::InitializeV8(argv0);
  int status = 0;
  {
    std::unique_ptr<storage::AlarmIndex> alarm_index;
    try {
      alarm_index = std::make_unique<storage::AlarmIndex>(data_dir);
    } catch (const std::exception& e) {
      std::cerr << "dorm: " << e.what() << "\n";
      return 1;
    }
    runtime::RuntimeShared shared;
    shared.quarantine = quarantine;
    shared.alarm_index = alarm_index.get();
    shared.options = effective.runtime;
    runtime::AppLogLimits log_limits;
    log_limits.max_lines = effective.runtime.tail_lines;
    log_limits.max_bytes = effective.runtime.tail_bytes;
    log_limits.server_log.bytes_per_second = effective.runtime.log_bytes_per_second_per_app;
    log_limits.server_log.burst_bytes = 16 * effective.runtime.log_bytes_per_second_per_app;
    shared.app_logs.set_limits(log_limits);
    // Only to measure what metering costs (see README, "Usage meters").
    if (const char* meters = std::getenv("DORM_USAGE_METERS")) {
      shared.options.usage_meters = std::string(meters) != "off";
    }
    // Two flush threads: while one flushes a group, the next group gathers for the other.
    shared.sync_pool = std::make_unique<storage::SyncPool>(2);
    // Idle connections are closed on a thread of their own, after their WAL is emptied, so that
    // objects used again are cheap to reopen (see storage/database_closer.h).
    shared.database_closer = std::make_unique<storage::DatabaseCloser>();
    shared.watchdog = std::make_unique<js::Watchdog>(options.runtime.cpu_limit);
    {
      size_t threads = EventLoopThreads(options);
      size_t held = options.runtime.long_turn_threads > 0
                        ? options.runtime.long_turn_threads
                        : runtime::LongTurnLimit::DefaultMaxThreads(threads);
      // A slot per event loop.
      shared.long_turns = std::make_unique<runtime::LongTurnLimit>(threads, held);
    }
    // Objects not in memory are placed away from a thread busy with a long turn.
    shared.placement = std::make_unique<runtime::ObjectPlacement>();
    std::unique_ptr<Registry> registry_holder;
    std::unique_ptr<EnvStore> env_store;
    std::unique_ptr<UsageStore> usage_store;
    std::unique_ptr<ObjectIndex> object_index;
    try {
      registry_holder = std::make_unique<Registry>(data_dir);
      env_store = std::make_unique<EnvStore>(data_dir);
      usage_store = std::make_unique<UsageStore>(data_dir, options.usage_retention);
      object_index = std::make_unique<ObjectIndex>(data_dir);
      FinishPendingMoves(data_dir, *registry_holder, *alarm_index, *object_index);
      FinishPendingDeletions(data_dir, *registry_holder, *alarm_index, *usage_store, *object_index);
      // Objects stored before the index existed (once; objects moved by the pending moves above
      // are found under their new names).
      object_index->ScanExistingOnce(data_dir, *registry_holder, usage_store.get());
      // Always, so that a run with the usage meters off (which cannot see changes) ends the
      // change epoch: it never finishes tracking.
      object_index->StartTracking();
      for (const auto& app : registry_holder->Apps()) {
        shared.catalog.Set(app, registry_holder->CatalogEntries(app),
                           WithNodeVars(env_store->Values(app), options.node_vars),
                           registry_holder->ServiceCallers(app));
      }
    } catch (const std::exception& e) {
      std::cerr << "dorm: " << e.what() << "\n";
      js::ShutdownV8();
      return 1;
    }
    Registry& registry = *registry_holder;
    storage::StorageQuota storage_quota(data_dir + "/objects",
                                        effective.runtime.max_object_storage_bytes,
                                        effective.runtime.max_app_storage_bytes);
    shared.storage_quota = &storage_quota;
    // Calibrates the usage meters' clock now rather than on a runtime thread's first reading.
    CycleClock::NanosPerTick();
    std::unique_ptr<CredentialsStore> credentials;
    try {
      credentials = std::make_unique<CredentialsStore>(data_dir);
    } catch (const std::exception& e) {
      std::cerr << "dorm: " << e.what() << "\n";
      return 1;
    }
    CredentialAuthorizer authorizer(*credentials);
    shared.response_cache = std::make_unique<runtime::ResponseCache>(
        effective.runtime.cache_bytes_per_app, effective.runtime.cache_bytes_total);
    shared.on_uncaught_error = [&registry](const runtime::ObjectAddress& address,
                                           const std::string& message) {
      registry.SetLastError(address.app, address.class_name, message);
    };
    // Declared before the admin service, which may still read them while finishing its queue.
    std::unique_ptr<ClusterUsage> cluster_usage;
    if (!options.cluster.empty()) {
      cluster_usage = std::make_unique<ClusterUsage>(options.cluster, options.node,
                                                     options.usage_retention.minute_rows_minutes);
    }
    std::unique_ptr<UsageRecorder> usage;
    AdminOptions admin_options{token, data_dir, options.max_classes_per_app};
    admin_options.max_apps = options.max_apps;
    admin_options.node_vars = options.node_vars;
    // The event loops and their engines; they start once everything they call into is set up.
    // Declared before what reaches objects through it (the admin service finishes its queue when
    // destroyed).
    runtime::EnginePool pool(shared, EventLoopThreads(options));
    // Cluster mode: declared after the pool, so that it stops (and posts nothing more to the
    // loops) before they go.
    std::unique_ptr<cluster::ClusterNode> cluster_node;
    if (!options.cluster.empty()) {
      cluster::ClusterNodeOptions cluster_options;
      cluster_options.conninfo = options.cluster;
      cluster_options.node = options.node;
      cluster_options.advertise = options.advertise;
      cluster_options.max_object_bytes = effective.runtime.max_object_storage_bytes > 0
                                             ? effective.runtime.max_object_storage_bytes
                                             : 10240LL << 20;
      // The lease's thread waits while every loop drops its objects: nothing may be served
      // under a lease that ran out.
      cluster_options.on_lost = [&pool] {
        Log(LogLevel::kError, "cluster lease lost: dropping every object of this node");
        pool.RunOnEveryEngine([](runtime::ThreadEngine& engine) { engine.DropClusterObjects(); });
      };
      cluster_node = std::make_unique<cluster::ClusterNode>(std::move(cluster_options));
      try {
        cluster_node->Start();
      } catch (const std::exception& e) {
        std::cerr << "dorm: cannot join the cluster: " << e.what() << "\n";
        cluster_node.reset();
        js::ShutdownV8();
        return 1;
      }
      shared.cluster = cluster_node.get();
    }
    // Cluster mode: the control plane is the cluster's (control_sync.h); declared before the
    // admin service, which applies its changes.
    std::unique_ptr<ControlSync> control_sync;
    if (cluster_node) {
      try {
        control_sync = std::make_unique<ControlSync>(options.cluster, options.node, data_dir,
                                                     LoadOrCreateSecretsKey(data_dir),
                                                     options.control_snapshot_every);
      } catch (const std::exception& e) {
        std::cerr << "dorm: " << e.what() << "\n";
        cluster_node->Stop(/*release=*/true);
        js::ShutdownV8();
        return 1;
      }
    }
    AdminService admin(admin_options, registry, pool);
    // The polling thread calls into the admin service: it stops first.
    struct StopPolling {
      ControlSync* sync;
      ~StopPolling() {
        if (sync) sync->Stop();
      }
    } stop_polling{control_sync.get()};
    if (control_sync) {
      admin.set_control_sync(control_sync.get());
      cluster_node->EnableControlGate();
    }
    // The connection limit leaves object databases their descriptors, plus the ones the server
    // holds now (registry, indexes, V8) and a margin for what it opens later (listening socket,
    // event loops, deploys), so that objects keep opening their databases while clients hold
    // every connection they may.
    if (descriptor_limit > 0) {
      size_t open_now = CountOpenDescriptors();
      size_t threads = EventLoopThreads(options);
      size_t reserve = databases_descriptors + open_now + 32 + 8 * threads;
      size_t for_connections = descriptor_limit > reserve + 8 ? descriptor_limit - reserve : 8;
      if (options.http.max_connections > for_connections) {
        std::cerr << "dorm: --max-connections lowered to " << for_connections
                  << " to keep descriptors for object databases (descriptor limit "
                  << descriptor_limit << ")\n";
      }
      if (options.http.max_connections == 0 || options.http.max_connections > for_connections) {
        effective.http.max_connections = for_connections;
      }
    }
    net::HttpServer server(effective.http, pool,
                           [&admin](const std::string& path, runtime::HttpRequestData request,
                                    std::function<void(runtime::HttpResponseData)> respond) {
                             admin.Handle(path, std::move(request), std::move(respond));
                           });
    // Admin requests are refused on their head when the token is wrong, before any body is read
    // (the admin service checks the token again). The dashboard's assets hold no data and are
    // served without the token (the page asks for it).
    server.set_admin_gate(
        [&token,
         &admin](const runtime::HttpRequestData& head) -> std::optional<runtime::HttpResponseData> {
          if (auto dashboard = ServeDashboard(head)) return dashboard;
          std::string auth;
          for (const auto& [name, value] : head.headers) {
            if (strcasecmp(name.c_str(), "authorization") == 0) {
              auth = value;
              break;
            }
          }
          if (auth.size() > 7 && strncasecmp(auth.c_str(), "bearer ", 7) == 0 &&
              ConstantTimeEquals(std::string_view(auth).substr(7), token)) {
            return std::nullopt;
          }
          // A service key may reach its own app's objects, storage and archives (the service
          // decides which app).
          if (admin.ServiceKeyMayPass(head.url, auth)) return std::nullopt;
          // The admin service's own answer.
          runtime::HttpResponseData refused = runtime::HttpResponseData::JsonError(
              401, auth.empty() ? "Missing admin token." : "Invalid admin token.");
          refused.headers.emplace_back("www-authenticate", "Bearer realm=\"dorm-admin\"");
          return refused;
        });
    admin.set_env_store(env_store.get());
    admin.set_credentials_store(credentials.get());
    usage = std::make_unique<UsageRecorder>(
        *usage_store,
        [&pool] {
          std::mutex mu;
          std::vector<runtime::ThreadUsageReport> reports;
          pool.RunOnEveryEngine([&](runtime::ThreadEngine& engine) {
            runtime::ThreadUsageReport report = engine.ReadUsage();
            std::lock_guard<std::mutex> lock(mu);
            reports.push_back(std::move(report));
          });
          return reports;
        },
        std::chrono::seconds(10));
    shared.on_final_usage = [&usage](runtime::ThreadUsageReport report) {
      usage->AddFinalReading(std::move(report));
    };
    admin.set_usage(usage.get(), usage_store.get());
    // Cluster mode: this node's meters also go to PostgreSQL, where every node's usage API reads
    // the cluster's.
    if (cluster_usage) {
      usage->set_sink([cluster = cluster_usage.get()](
                          long long minute, const std::vector<runtime::ObjectUsageDelta>& deltas) {
        cluster->Push(minute, deltas);
      });
      admin.set_cluster_usage(cluster_usage.get());
    }
    if (shared.options.usage_meters) {
      usage->set_object_index(object_index.get());
      admin.set_object_index(object_index.get());
    }
    server.set_authorizer(&authorizer);
    server.set_cluster(cluster_node.get());
    // Objects' fetch() of their own app's /_do/ URLs is served without a socket. Set before the
    // engines start, which read it from their threads.
    shared.local_fetch = [&server](const std::string& app, runtime::HttpRequestData& request,
                                   std::function<void(runtime::HttpResponseData)>& respond) {
      return server.ServeLocalFetch(app, request, respond);
    };
    if (cluster_node) {
      // Calls between objects whose callee another node owns go to that node.
      // Idle connections to peers are closed well before the peers' keep-alive timeout (the
      // nodes of a cluster are meant to run with the same flags).
      net::PeerCallOptions peer_options;
      peer_options.head_timeout = options.peer_timeout;
      peer_options.idle_timeout = std::min<std::chrono::milliseconds>(
          std::chrono::seconds(15), options.http.keep_alive_timeout / 2);
      shared.peer_call = [&pool, node = cluster_node.get(), peer_options](
                             size_t loop, runtime::OutgoingCall call, std::string owner,
                             std::string addr, runtime::ResponseCallback done) {
        net::StartPeerCall(pool.io(loop), *node, std::move(call), std::move(owner), std::move(addr),
                           peer_options, std::move(done));
      };
    }
    runtime::AlarmScheduler scheduler(
        *alarm_index,
        [&pool, &shared](const runtime::ObjectAddress& address, long long scheduled_ms,
                         int retry_count) {
          // A suspended app's alarms fire when its suspension ends, as if they had been late.
          if (int64_t until =
                  shared.quarantine.Until(address.app, runtime::AppQuarantine::NowMs())) {
            shared.alarm_scheduler->Retry(address, until, retry_count);
            return;
          }
          pool.FireAlarm(address, scheduled_ms, retry_count);
        },
        [&pool, &shared](const runtime::ObjectAddress& address) {
          // A suspended app's isolate is not started early either.
          if (shared.quarantine.Until(address.app, runtime::AppQuarantine::NowMs())) return;
          pool.WarmAlarm(address);
        });
    shared.alarm_scheduler = &scheduler;
    admin.set_alarm_scheduler(&scheduler, alarm_index.get());
    // Cluster mode: alarms of objects whose node is gone, the drain request, and the status the
    // admin API shows. Declared after the scheduler, which its thread calls into.
    std::unique_ptr<cluster::ClusterHousekeeping> housekeeping;
    if (cluster_node) {
      cluster::ClusterHousekeepingOptions housekeeping_options;
      housekeeping_options.conninfo = options.cluster;
      housekeeping_options.node = options.node;
      housekeeping_options.on_alarms = [&scheduler](
                                           const std::vector<cluster::OrphanedAlarm>& due) {
        for (const cluster::OrphanedAlarm& alarm : due) {
          std::optional<runtime::ObjectAddress> address = runtime::ParseObjectKey(alarm.object);
          // Keys come from PostgreSQL: only well-formed ones name a database path.
          if (!address || !IsValidKebabName(address->app) ||
              !IsValidKebabName(address->class_name) ||
              !runtime::IsObjectIdSyntax(address->object_id)) {
            continue;
          }
          // The name is the one the object was reached by, if it is that id's name.
          if (!alarm.name.empty() && runtime::ObjectIdForName(address->app, address->class_name,
                                                              alarm.name) == address->object_id) {
            address->instance_name = alarm.name;
          }
          scheduler.Offer(*address, alarm.at_ms, std::clamp(alarm.retries, 0, 1000));
        }
      };
      // The main thread's sigwait below runs the handover (HandOverObjects), then goes on
      // waiting: the node keeps running as a forwarder until it is stopped.
      housekeeping_options.on_drain = [] { ::kill(::getpid(), SIGUSR1); };
      housekeeping =
          std::make_unique<cluster::ClusterHousekeeping>(std::move(housekeeping_options));
      admin.set_cluster(cluster_node.get(), housekeeping.get());
      // Read by the engines' threads, which start below.
      shared.cluster_alarm_retry = [keeper = housekeeping.get()](const std::string& key,
                                                                 long long alarm_ms, int retry) {
        keeper->NoteAlarmRetry(key, alarm_ms, retry);
      };
    }
    pool.Start();
    // A node serves nothing before it runs the cluster's code: every change of the control plane
    // it has not applied yet (a new node: all of them) is applied first.
    if (control_sync) {
      try {
        // A new lease generation (after the node was cut from PostgreSQL) closes the gate until
        // the log is applied again, even when it holds nothing new.
        control_sync->Start([&admin] { admin.CatchUp(); },
                            [node = cluster_node.get()] { return !node->control_current(); });
      } catch (const std::exception& e) {
        std::cerr << "dorm: cannot join the cluster's control plane: " << e.what() << "\n";
        cluster_node->Stop(/*release=*/true);
        pool.Stop();
        js::ShutdownV8();
        return 1;
      }
    }
    if (control_sync && !admin.CatchUpNow()) {
      std::cerr << "dorm: cannot apply the cluster's control plane (see the log above)\n";
      control_sync->Stop();
      if (cluster_node) cluster_node->Stop(/*release=*/true);
      pool.Stop();
      js::ShutdownV8();
      return 1;
    }
    unsigned short port;
    try {
      port = server.Start();
    } catch (const std::exception& e) {
      std::cerr << "dorm: cannot serve on " << options.http.host << ":" << options.http.port << ": "
                << e.what() << "\n";
      if (cluster_node) cluster_node->Stop(/*release=*/true);
      pool.Stop();  // before V8 goes
      js::ShutdownV8();
      return 1;
    }
    // Cluster mode: the node becomes live (other nodes place objects on it) only now that it
    // runs the cluster's code and accepts connections, as after a lost lease; before, it would
    // have been placed objects that it answered with a retryable 503.
    if (cluster_node) {
      try {
        cluster_node->Register();
      } catch (const std::exception& e) {
        std::cerr << "dorm: cannot join the cluster: " << e.what() << "\n";
        server.StopAccepting();
        if (control_sync) control_sync->Stop();
        cluster_node->Stop(/*release=*/true);
        pool.Stop();
        js::ShutdownV8();
        return 1;
      }
    }
    std::string address = "http://" + options.http.host + ":" + std::to_string(port);
    {
      std::ofstream out(data_dir + "/server-address", std::ios::trunc);
      out << address << "\n";
    }
    scheduler.Start();
    if (housekeeping) housekeeping->Start();
    usage->Start();
    std::cout << "dorm: listening on " << address << " (data in " << data_dir << ", " << pool.size()
              << " threads)" << std::endl;
    int received = 0;
    for (;;) {
      sigwait(&signals, &received);
      if (received != SIGUSR1) break;
      if (cluster_node) HandOverObjects(pool, *cluster_node);
    }
    Log(LogLevel::kInfo, std::string("received ") + (received == SIGINT ? "SIGINT" : "SIGTERM") +
                             ": finishing in-flight requests");
    if (housekeeping) {
      // Others place nothing new here from now on; what this node owns is released once its
      // requests and flushes are done (StopServing).
      housekeeping->MarkDraining();
      housekeeping->Stop();
    }
    scheduler.Stop();
    // No reading may wait for runtime threads that are stopping; their last readings come
    // through on_final_usage.
    usage->Stop();
    StopServing(server, pool, std::chrono::seconds(30), cluster_node.get());
    try {
      usage->Refresh();
      // Every commit was read: the next start may keep the change epoch.
      if (shared.options.usage_meters) object_index->FinishTracking();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, std::string("cannot record usage: ") + e.what());
    }
    std::filesystem::remove(data_dir + "/server-address", ec);
  }
  js::ShutdownV8();
  Log(LogLevel::kInfo, "stopped");
  return status;
}

}  // namespace

}  // namespace dorm::control
