// This node's lease in the cluster: the row in `nodes` that says it is alive.
//
// The lease is renewed every `renew_every` to `now() + ttl` on PostgreSQL's clock; no other
// clock is ever compared with it. Locally the node keeps a deadline on its own monotonic clock:
// the start of the last successful renewal + ttl − margin. The renewal's statement started
// after that local instant, so PostgreSQL's lease_until is later in real time than the local
// deadline by at least `margin` (clock rates drift far less than that over a ttl): the node
// stops considering itself an owner before any other node may take its objects. Writes never
// depend on this (the commit statement checks the owner's epoch); the deadline keeps a node that
// cannot reach PostgreSQL from serving reads it no longer owns.
//
// A renewal that PostgreSQL refuses (the lease had already run out there) or a deadline that
// passes without a renewal loses the lease: `on_lost` runs once, on the lease's thread, and
// valid() is false. The node then registers again (a new generation): every object it owned
// before must be acquired again, with a new epoch. It registers only once `may_register` allows
// the new generation (the node has caught up with what changed while it was out), so that no
// other node places objects on it before it can serve them.
//
// Registration waits while another process holds a live lease under the same name: two
// processes writing as one node would share epochs. A process tells itself from another by a
// random incarnation token stored with the lease (nodes.incarnation).
//
// Before it registers, the node releases the objects `owners` still names it for (it holds none
// of them: each must be taken again, with a new epoch), unless another process holds the name's
// live lease; the node that is asked for one of them first takes it.
//
// Threading: the lease runs its own thread with its own connection. valid(), deadline() and
// generation() may be called from any thread. Start() throws PgError or std::runtime_error.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/pg_session.h"

namespace dorm::cluster {

// What a node reports of its flush lag with each renewal (CommitFlusher::Backlog).
struct NodeLoad {
  long long pending_commits = 0;
  long long pending_bytes = 0;
  long long oldest_pending_ms = 0;
};

struct NodeLeaseOptions {
  std::string conninfo;
  std::string node;  // this node's name
  std::string addr;  // where other nodes reach it (http://host:port)
  std::chrono::milliseconds ttl{2000};
  std::chrono::milliseconds renew_every{500};
  std::chrono::milliseconds margin{250};
  // How long Start() waits for a previous holder of the name to let its lease run out.
  std::chrono::milliseconds register_wait{5000};
  // Runs on the lease's thread when the lease is lost; must not block for long.
  std::function<void()> on_lost;
  // Runs on the lease's thread before each renewal, which writes what it returns to the node's
  // row (`dorm cluster status`); must not block. Unset: zeros.
  std::function<NodeLoad()> load;
  // Runs on the lease's thread before each attempt to register again after the lease was lost,
  // with the generation it would register under (next_generation()); false: not yet (it asks
  // again at the next attempt, every renew_every, or at once after Wake()). Must not block.
  // Unset: always. Start()'s first registration does not ask.
  std::function<bool(int generation)> may_register;
};

class NodeLease {
 public:
  using Clock = std::chrono::steady_clock;

  explicit NodeLease(NodeLeaseOptions options);
  // Stops the thread (Stop(false)) if still running.
  ~NodeLease();
  NodeLease(const NodeLease&) = delete;
  NodeLease& operator=(const NodeLease&) = delete;

  // Registers the node (waiting up to register_wait for a live lease under the same name to run
  // out), then renews on its own thread. Throws if the node could not register.
  void Start();
  // Stops renewing. With `release`, ends the lease in PostgreSQL now and releases the node's
  // objects (owners.node = NULL), so that others take them at once instead of after the ttl;
  // errors doing so are ignored (the lease then simply runs out).
  void Stop(bool release);

  // True until the local deadline.
  bool valid() const { return Clock::now() < deadline(); }
  Clock::time_point deadline() const {
    return Clock::time_point(Clock::duration(deadline_.load(std::memory_order_acquire)));
  }
  // Incremented each time the node registers anew after losing its lease (1 after Start()); set
  // before valid() becomes true under it.
  int generation() const { return generation_.load(std::memory_order_acquire); }
  // The generation the node serves under next: generation() while the lease is held, the one it
  // registers under before Start() (1) and once it was lost.
  int next_generation() const { return next_generation_.load(std::memory_order_acquire); }
  // A lease waiting to register again (may_register said no) asks again at once.
  void Wake();
  const std::string& node() const { return options_.node; }

 private:
  // One attempt; true once this process holds the lease.
  bool TryRegister(PgSession& session, Clock::time_point started);
  bool TryRenew(PgSession& session, Clock::time_point started);
  void Run();
  void SetDeadline(Clock::time_point started);
  void Lost();

  NodeLeaseOptions options_;
  PgSession session_;
  std::string incarnation_;
  std::atomic<Clock::rep> deadline_{0};
  std::atomic<int> generation_{0};
  std::atomic<int> next_generation_{1};
  bool holding_ = false;  // lease thread only, after Start()
  int released_for_ = 0;  // the generation whose registration released the node's objects
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;  // Wake() was called; mutex_
  std::thread thread_;
};

}  // namespace dorm::cluster
