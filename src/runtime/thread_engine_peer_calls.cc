// ThreadEngine's calls between objects in cluster mode: a call to an object that another node of
// the cluster serves goes to that node (RuntimeShared::peer_call, net/peer_call.h) instead of to a
// loop of this one. The caller's gates are the same as for a local call: the call leaves only
// once the caller's earlier writes are durable (CallObject), and its answer settles the caller's
// promise in a turn of its own (CompleteCall), whichever node answered. The callee's node answers
// through its own output gate, so an answer never reflects writes that are not durable.
#include <boost/asio/post.hpp>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cluster/cluster_node.h"
#include "runtime/engine_pool.h"
#include "runtime/object_id.h"
#include "runtime/reset_reason.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {
namespace {

// A call waiting for its callee's placement.
using PlacedCall = std::function<void(const cluster::Placement&)>;
// Per loop thread: the calls waiting for the directory, by callee, in the order they were made.
thread_local std::unordered_map<std::string, std::vector<PlacedCall>> placements_awaited;

// Sends `call` to node `node` at `addr`. Functions, RpcTargets and stubs go as they are: a call on
// one is a call to the object (or Worker instance, WorkerInstanceOnNode) that holds it, routed
// like any other; streams go beside the call (net/peer_streams.h). On loop `home`'s thread.
void SendToPeer(EnginePool* pool, size_t home, OutgoingCall call, const std::string& node,
                const std::string& addr, ResponseCallback answered) {
  pool->shared().peer_call(home, std::move(call), node, addr, std::move(answered));
}

}  // namespace

void ThreadEngine::RouteWorkerCall(EnginePool* pool, size_t home, uint64_t call_id,
                                   OutgoingCall call, const std::string& node) {
  ResponseCallback answered = Answerer(pool, home, home, call_id);
  // A Worker is owned by no node: its instance is where its name says, if that node is live.
  std::optional<std::string> addr = pool->shared().cluster->directory().AddressOf(node);
  if (!addr) {
    // Dropping the call ends its streams, so that their senders stop.
    answered(HttpResponseData::RetryableError(503, kClusterUnavailableMessage));
    return;
  }
  SendToPeer(pool, home, std::move(call), node, *addr, std::move(answered));
}

void ThreadEngine::RouteClusterCall(EnginePool* pool, size_t home, uint64_t call_id,
                                    OutgoingCall call) {
  cluster::ClusterDirectory& directory = pool->shared().cluster->directory();
  CompleteAddress(call.address);
  const std::string key = ObjectKey(call.address);
  auto placed = [pool, home, call_id, key,
                 call = std::move(call)](const cluster::Placement& placement) mutable {
    ResponseCallback answered = Answerer(pool, home, home, call_id);
    switch (placement.kind) {
      case cluster::Placement::Kind::kUnavailable:
        answered(HttpResponseData::RetryableError(503, kClusterUnavailableMessage));
        return;
      case cluster::Placement::Kind::kRemote:
        SendToPeer(pool, home, std::move(call), placement.node, placement.addr,
                   std::move(answered));
        return;
      case cluster::Placement::Kind::kLocal:
        break;
    }
    // Served here, unless another node took the callee meanwhile: the activation then names the
    // owner, and a call the caller's code does not stream is sent there once.
    std::optional<OutgoingCall> again;
    if (!call.request.body_stream && !call.streams) again = call;
    auto on_local = [pool, home, key, again = std::move(again),
                     answered = std::move(answered)](HttpResponseData answer) mutable {
      if (!answer.owned_elsewhere || !again || answer.owner_node.empty()) {
        answered(std::move(answer));
        return;
      }
      cluster::ClusterDirectory& directory = pool->shared().cluster->directory();
      directory.Forget(key);
      if (answer.owner_node == directory.self()) {
        answered(std::move(answer));
        return;
      }
      std::optional<std::string> addr = directory.AddressOf(answer.owner_node);
      if (!addr) {
        // An owner this node has not seen live yet (it registered since the directory's last
        // refresh): its address as PostgreSQL says now; the call leaves from the caller's loop.
        auto moved = std::make_shared<HttpResponseData>(std::move(answer));
        auto call = std::make_shared<OutgoingCall>(std::move(*again));
        directory.Resolve(
            moved->owner_node, [pool, home, moved, call,
                                answered = std::move(answered)](std::optional<std::string> found) {
              boost::asio::post(pool->io(home), [pool, home, moved, call, answered, found] {
                if (!found) return answered(std::move(*moved));
                SendToPeer(pool, home, std::move(*call), moved->owner_node, *found, answered);
              });
            });
        return;
      }
      // On the callee's loop now: the call leaves from the caller's.
      boost::asio::post(pool->io(home),
                        [pool, home, node = answer.owner_node, addr = *addr,
                         call = std::move(*again), answered = std::move(answered)]() mutable {
                          SendToPeer(pool, home, std::move(call), node, addr, std::move(answered));
                        });
    };
    SendLocalCall(pool, home, call_id, /*foreign=*/false, std::move(call), std::move(on_local));
  };
  // Calls to one callee leave this loop in the order they were made: while a lookup for it is
  // under way, later calls wait behind it even if the cache has learnt the answer meanwhile.
  auto waiting = placements_awaited.find(key);
  if (waiting != placements_awaited.end()) {
    waiting->second.push_back(std::move(placed));
    return;
  }
  if (std::optional<cluster::Placement> known = directory.Cached(key)) {
    placed(*known);
    return;
  }
  placements_awaited[key].push_back(std::move(placed));
  // The directory's thread answers: the calls go on on the caller's loop.
  directory.Locate(key, [pool, home, key](cluster::Placement placement) {
    boost::asio::post(pool->io(home), [key, placement = std::move(placement)] {
      auto it = placements_awaited.find(key);
      if (it == placements_awaited.end()) return;
      std::vector<PlacedCall> calls = std::move(it->second);
      placements_awaited.erase(it);
      for (PlacedCall& call : calls) call(placement);
    });
  });
}

}  // namespace dorm::runtime
