// Where a new object starts: rendezvous (highest-random-weight) hashing over the live nodes.
//
// Every node scores every (node, object) pair with the same hash and the object goes to the node
// with the highest score, so all nodes that see the same list of live nodes agree without talking
// to each other. When a node joins, only the objects it now wins move to it (about 1/n of them);
// when one leaves, only its own objects move, each to the node that scored second. This only
// proposes a place for an object nobody owns: the `owners` table stays the authority.
//
// Pure. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dorm::cluster {

// The score of `node` for `object`: a 64-bit hash of both, well mixed (every input bit affects
// every output bit), the same on every platform.
uint64_t RendezvousScore(std::string_view node, std::string_view object);

// The index in `nodes` of the node with the highest score for `object` (ties, which need equal
// 64-bit hashes, go to the smaller name), or nothing when `nodes` is empty. The order of `nodes`
// does not matter.
std::optional<size_t> RendezvousPick(const std::vector<std::string>& nodes,
                                     std::string_view object);

}  // namespace dorm::cluster
