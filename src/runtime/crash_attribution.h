// Which app's code each thread of the runtime process is running, kept in memory that the
// supervising process (control/supervisor.h) can still read after the runtime process died.
//
// Some failures inside V8 end the process rather than the isolate (for example a built-in asked
// for an array longer than V8's maximum: "Fatal javascript OOM in invalid array length"). No
// embedder hook can turn those into an exception, so the server contains them one level up: the
// supervisor restarts the runtime process and quarantines the app whose code was running on the
// thread that crashed, so that one tenant cannot crash the server for the others in a loop.
//
// How the app is known: every thread that runs tenant code marks it with a Scope for as long as
// it does; a handler for the fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP)
// records the crashing thread's mark, then lets the signal take its previous course (ASan's
// report, V8's handlers, or the default action).
//
// The mapping is shared anonymous memory made before the runtime process is forked, so the
// supervisor reads what the runtime wrote without any I/O in the dying process.
//
// Thread-safety: each thread writes only its own slot; the signal handler writes the crash record
// once; the supervisor reads only while no runtime process is running.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dorm::runtime {

class CrashAttribution {
 public:
  // App names longer than this are recorded cut (names are at most 63 characters).
  static constexpr size_t kMaxAppName = 96;

  // Maps a shared page for `threads` slots. Call in the supervisor, before forking. Throws
  // std::runtime_error if the memory cannot be mapped. Never unmapped (it lives as long as the
  // process).
  static CrashAttribution* CreateShared(size_t threads);

  // The instance the calling process records into (null: nothing is recorded). Set once in the
  // runtime process, before its threads start.
  static void SetCurrent(CrashAttribution* attribution);
  static CrashAttribution* Current();

  // Installs the fatal-signal handlers that record the crashing thread's app. Call in the runtime
  // process before V8 installs its own handlers (V8's chain to the previous handler).
  static void InstallSignalHandlers();

  // Marks the calling thread as running `app`'s code for the Scope's life. Nests (the outermost
  // app stays). Cheap: a few atomic stores; does nothing when no instance is current.
  class Scope {
   public:
    explicit Scope(std::string_view app);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    int slot_ = -1;
  };

  // Supervisor side, once the runtime process is gone: the app whose code the crashing thread ran
  // ("" when the crash came from no app's code, or no crash was recorded).
  std::string CrashedApp() const;
  // Forgets every mark and the crash record, before the next runtime process starts.
  void Clear();

  // Records the calling thread's app as the crash's, if it runs one and no crash was recorded
  // yet. Async-signal-safe; called by the fatal-signal handler (public for it only).
  static void OnFatalSignal(int signal_number);

 private:
  struct Slot {
    // 1 while the thread runs the app in `app`.
    std::atomic<uint32_t> active{0};
    std::atomic<uint32_t> length{0};
    char app[kMaxAppName];
  };

  CrashAttribution() = default;
  // The calling thread's slot, registered on first use; -1 when every slot is taken.
  int SlotOfThisThread();

  size_t capacity_ = 0;
  std::atomic<int> registered_{0};
  // The slot of the thread that received a fatal signal while active; -1: none.
  std::atomic<int> crashed_slot_{-1};
  // The crashed slot's app, copied by the signal handler (the slot may be reused afterwards).
  std::atomic<uint32_t> crashed_length_{0};
  char crashed_app_[kMaxAppName];
  Slot* slots_ = nullptr;
};

}  // namespace dorm::runtime
