// Where each object of the cluster is served: its owner from the `owners` table when that owner's
// lease is live, else the node rendezvous hashing (cluster/rendezvous.h) picks among the live
// nodes, which then takes the object when the request reaches it. The network front asks before
// serving an object's request, and forwards it when the answer names another node.
//
// Lookups run on one thread of their own with their own PostgreSQL connection, so that no
// event-loop thread waits for PostgreSQL: Locate() queues (at most kMaxQueued lookups wait; past
// that the answer is kUnavailable at once) and the lookups queued together go in one statement.
// The live nodes are re-read at most every kNodesEvery (at once for Resolve()). Owners found live
// are cached for kCacheFor (at most kMaxCached objects), and only while their node's lease is live
// as last read; a stale entry only costs a "not owner" answer from the named node and one retry,
// since `owners` stays the authority.
//
// Lifetime: Start() before use; Stop() before the callbacks' targets go (queued lookups then
// answer kUnavailable). Threading: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster/pg_session.h"

namespace dorm::cluster {

struct Placement {
  enum class Kind {
    kLocal,        // serve it here (this node owns it, or should take it)
    kRemote,       // forward it to `node` at `addr`
    kUnavailable,  // nobody can say now (PostgreSQL unreachable, no live node): retry later
  };
  Kind kind = Kind::kUnavailable;
  std::string node;
  std::string addr;  // http://host:port
};

class ClusterDirectory {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxQueued = 10000;
  static constexpr size_t kMaxCached = 100000;
  static constexpr std::chrono::milliseconds kCacheFor{2000};
  static constexpr std::chrono::milliseconds kNodesEvery{500};

  ClusterDirectory(std::string conninfo, std::string self);
  ~ClusterDirectory();  // Stop()
  ClusterDirectory(const ClusterDirectory&) = delete;
  ClusterDirectory& operator=(const ClusterDirectory&) = delete;

  void Start();
  void Stop();

  // The placement of `object` if the cache knows it.
  std::optional<Placement> Cached(const std::string& object);
  // Looks `object` up; `done` runs once, on the directory's thread (or at once when the queue is
  // full or the directory stopped), and must not block.
  void Locate(std::string object, std::function<void(Placement)> done);
  // Drops what the cache says of `object` (its node answered "not owner", or could not be
  // reached).
  void Forget(const std::string& object);
  // Drops the whole cache (this node released every object it held: a drain).
  void ForgetAll();
  // The address of a node that was live at the last refresh.
  std::optional<std::string> AddressOf(const std::string& node);
  // The address of `node` as PostgreSQL says now: the live nodes are read again at once (one
  // statement for every Resolve() queued together), then `done` runs once, on the directory's
  // thread (or at once when the queue is full or the directory stopped), with the address, or
  // nullopt if `node` holds no live lease (or PostgreSQL could not be asked). For an answer that
  // names an owner AddressOf() does not know: a node that registered since the last refresh
  // (kNodesEvery), which took the object while this node placed it elsewhere. `done` must not
  // block.
  void Resolve(std::string node, std::function<void(std::optional<std::string>)> done);
  const std::string& self() const { return self_; }

 private:
  struct Job {
    std::string object;
    std::function<void(Placement)> done;
  };
  struct NodeJob {
    std::string node;
    std::function<void(std::optional<std::string>)> done;
  };
  struct CacheEntry {
    Placement placement;
    Clock::time_point until;
  };
  void Run();
  void RefreshNodes(PgConnection& connection);
  std::vector<Placement> LookUp(PgConnection& connection, const std::vector<Job>& jobs);

  std::string self_;
  PgSession session_;  // the thread's
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::deque<NodeJob> resolves_;
  std::unordered_map<std::string, CacheEntry> cache_;
  std::vector<std::string> live_nodes_;                     // names, guarded by mutex_
  std::unordered_map<std::string, std::string> addresses_;  // node -> addr, guarded by mutex_
  Clock::time_point nodes_read_{};                          // the thread's
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dorm::cluster
