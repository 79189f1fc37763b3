#include "cluster/node_lease.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "util/crypto.h"

namespace dorm::cluster {
namespace {

using std::chrono::milliseconds;

// Takes the name when free, when its lease ran out, or when this process holds it already.
constexpr const char* kRegister = R"sql(
INSERT INTO nodes (node, addr, lease_until, incarnation)
VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond', $4)
ON CONFLICT (node) DO UPDATE
  SET addr = EXCLUDED.addr, lease_until = EXCLUDED.lease_until,
      incarnation = EXCLUDED.incarnation
  WHERE nodes.lease_until <= now() OR nodes.incarnation = EXCLUDED.incarnation
RETURNING 1)sql";

// Extends a lease that is still live on PostgreSQL's clock; a lease that ran out is not revived
// (another node may already have taken its objects).
constexpr const char* kRenew = R"sql(
UPDATE nodes SET lease_until = now() + $3::bigint * interval '1 millisecond',
  pending_commits = $4::bigint, pending_bytes = $5::bigint, oldest_pending_ms = $6::bigint,
  reported_at = now()
WHERE node = $1 AND incarnation = $2 AND lease_until > now()
RETURNING 1)sql";

// Before the node registers: it holds no object (each must be taken again under the new
// registration, with a new epoch), yet once its lease is live, `owners` would name it the live
// owner of every object it had. A node that was asked for one of them while this one was out
// (placed there by rendezvous hashing among the nodes then live) could then not take it, and
// could only send the request on to a node it may not know yet. Released, such an object is
// taken by whichever node is asked for it. Never while another process holds the name's lease.
constexpr const char* kReleaseBeforeRegister = R"sql(
UPDATE owners SET node = NULL
WHERE node = $1 AND NOT EXISTS (
  SELECT 1 FROM nodes WHERE node = $1 AND lease_until > now() AND incarnation <> $2))sql";

constexpr const char* kReleaseNode = R"sql(
WITH me AS (
  UPDATE nodes SET lease_until = now() WHERE node = $1 AND incarnation = $2 RETURNING node)
UPDATE owners SET node = NULL WHERE node IN (SELECT node FROM me))sql";

}  // namespace

NodeLease::NodeLease(NodeLeaseOptions options)
    : options_(std::move(options)),
      session_(PgSessionOptions{.conninfo = options_.conninfo,
                                .connect_timeout = options_.ttl,
                                .statement_timeout = options_.ttl,
                                .retry_delay = std::min(options_.renew_every, milliseconds(100)),
                                .max_retry_delay = options_.renew_every}),
      incarnation_(ToHex(RandomBytes(16))) {
  if (options_.margin >= options_.ttl || options_.renew_every >= options_.ttl) {
    throw std::invalid_argument("lease: renew_every and margin must be shorter than the ttl");
  }
}

NodeLease::~NodeLease() { Stop(false); }

void NodeLease::SetDeadline(Clock::time_point started) {
  deadline_.store((started + options_.ttl - options_.margin).time_since_epoch().count(),
                  std::memory_order_release);
}

bool NodeLease::TryRegister(PgSession& session, Clock::time_point started) {
  const int generation = next_generation_.load(std::memory_order_acquire);
  if (released_for_ != generation) {
    // Once per registration: a release that fails (or times out, on a very large `owners`) is
    // not tried again, and the node registers all the same (its objects are then taken again
    // as requests reach it).
    released_for_ = generation;
    try {
      session.Exec(kReleaseBeforeRegister,
                   {PgParam::Text(options_.node), PgParam::Text(incarnation_)}, options_.ttl);
    } catch (const PgError&) {
    }
  }
  std::string ttl = std::to_string(options_.ttl.count());
  PgResult result = session.Exec(kRegister,
                                 {PgParam::Text(options_.node), PgParam::Text(options_.addr),
                                  PgParam::Text(ttl), PgParam::Text(incarnation_)},
                                 options_.renew_every);
  if (result.rows() != 1) return false;
  // The generation first: whoever sees the lease valid sees its generation.
  generation_.store(generation, std::memory_order_release);
  SetDeadline(started);
  return true;
}

bool NodeLease::TryRenew(PgSession& session, Clock::time_point started) {
  std::string ttl = std::to_string(options_.ttl.count());
  // The statement may take until the deadline, no longer: past it the lease is lost anyway.
  auto left = std::chrono::duration_cast<milliseconds>(deadline() - Clock::now());
  NodeLoad load = options_.load ? options_.load() : NodeLoad{};
  std::string commits = std::to_string(load.pending_commits);
  std::string bytes = std::to_string(load.pending_bytes);
  std::string oldest = std::to_string(load.oldest_pending_ms);
  PgResult result =
      session.Exec(kRenew,
                   {PgParam::Text(options_.node), PgParam::Text(incarnation_), PgParam::Text(ttl),
                    PgParam::Text(commits), PgParam::Text(bytes), PgParam::Text(oldest)},
                   std::max(left, milliseconds(10)));
  if (result.rows() != 1) return false;
  SetDeadline(started);
  return true;
}

void NodeLease::Start() {
  if (thread_.joinable()) throw std::logic_error("lease already started");
  next_generation_.store(1, std::memory_order_release);
  Clock::time_point give_up = Clock::now() + options_.register_wait;
  std::string last_error = "the name is held by another process's live lease";
  for (;;) {
    Clock::time_point started = Clock::now();
    try {
      if (TryRegister(session_, started)) break;
      last_error = "the name is held by another process's live lease";
    } catch (const PgError& e) {
      last_error = e.what();
    }
    if (Clock::now() >= give_up) {
      throw std::runtime_error("cannot register node " + options_.node + ": " + last_error);
    }
    std::this_thread::sleep_until(
        std::min(give_up, started + std::min(options_.renew_every, milliseconds(100))));
  }
  holding_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void NodeLease::Lost() {
  holding_ = false;
  deadline_.store(0, std::memory_order_release);
  next_generation_.store(generation_.load(std::memory_order_acquire) + 1,
                         std::memory_order_release);
  if (options_.on_lost) options_.on_lost();
}

void NodeLease::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void NodeLease::Run() {
  Clock::time_point next = Clock::now() + options_.renew_every;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      Clock::time_point wake = holding_ ? std::min(next, deadline()) : next;
      wake_.wait_until(lock, wake, [&] { return stopping_ || woken_; });
      if (stopping_) return;
      // A registration that waited for may_register goes at once.
      if (std::exchange(woken_, false) && !holding_) next = Clock::now();
    }
    Clock::time_point now = Clock::now();
    if (holding_ && now >= deadline()) {
      Lost();
      continue;
    }
    if (now < next) continue;
    Clock::time_point started = now;
    next = started + options_.renew_every;
    try {
      if (holding_) {
        if (!TryRenew(session_, started)) Lost();
      } else if ((!options_.may_register ||
                  options_.may_register(next_generation_.load(std::memory_order_acquire))) &&
                 TryRegister(session_, started)) {
        holding_ = true;
      }
    } catch (const PgError&) {
      // Unreachable or slow: keep trying until the deadline; the wait above notices it.
    }
  }
}

void NodeLease::Stop(bool release) {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  holding_ = false;
  deadline_.store(0, std::memory_order_release);
  if (!release) return;
  try {
    session_.Exec(kReleaseNode, {PgParam::Text(options_.node), PgParam::Text(incarnation_)});
  } catch (const PgError&) {
  }
}

}  // namespace dorm::cluster
