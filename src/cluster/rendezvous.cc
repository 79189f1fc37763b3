#include "cluster/rendezvous.h"

namespace dorm::cluster {
namespace {

// FNV-1a over the bytes, a strong finalizer after: FNV alone mixes its last bytes poorly.
uint64_t HashBytes(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

uint64_t Finalize(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t RendezvousScore(std::string_view node, std::string_view object) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  // The node's length first, so that ("ab", "c") and ("a", "bc") hash differently.
  const uint64_t length = node.size();
  for (int i = 0; i < 8; ++i) {
    hash ^= (length >> (8 * i)) & 0xff;
    hash *= 0x100000001b3ULL;
  }
  hash = HashBytes(hash, node);
  hash = HashBytes(hash, object);
  return Finalize(hash);
}

std::optional<size_t> RendezvousPick(const std::vector<std::string>& nodes,
                                     std::string_view object) {
  std::optional<size_t> best;
  uint64_t best_score = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const uint64_t score = RendezvousScore(nodes[i], object);
    if (!best || score > best_score || (score == best_score && nodes[i] < nodes[*best])) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

}  // namespace dorm::cluster
