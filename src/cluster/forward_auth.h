// Proof that a request was forwarded by a node of the cluster, not sent by a client.
//
// A node that forwards a request to the object's owner adds two headers: kForwardedHeader,
// "<hops> <unix seconds> <node> <client address>", and kForwardSignatureHeader, the hex
// HMAC-SHA256 under the cluster's secret of the method, the target and that value. The owner
// accepts the forwarded facts (how many hops the request made, the client's address) only with a
// valid signature made within kForwardMaxSkew of its own clock; anything else carrying either
// header is refused, so a client can never pass as a forwarding node. The secret is made once per
// cluster and kept in PostgreSQL (`cluster_secret`), which every node can read: whoever reads
// that database can forge forwards, as they can already rewrite every object.
//
// Pure. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dorm::cluster {

inline constexpr char kForwardedHeader[] = "x-dorm-forwarded";
inline constexpr char kForwardSignatureHeader[] = "x-dorm-forward-signature";
// The owner's answer to a forwarded request for an object it does not own: status kNotOwnerStatus
// (421 Misdirected Request) with the owner's name, when known, in kOwnerHeader.
inline constexpr char kOwnerHeader[] = "x-dorm-owner";
inline constexpr int kNotOwnerStatus = 421;
// A request is forwarded at most this many times (once, and once more after a "not owner").
inline constexpr int kMaxForwardHops = 2;
inline constexpr std::chrono::seconds kForwardMaxSkew{60};
// How long a forwarding node waits for any answer from the owner before its final answer head:
// the lease's TTL (2 s) and a margin, so that an owner paused for longer has lost its objects by
// then; past it the client is told that the outcome is unknown (net/forward_tunnel.h), never
// sent elsewhere. The owner answers "102 Processing" as it begins with a forwarded request and
// then every kForwardProgressEvery, so that a slow object is never taken for a paused node.
inline constexpr std::chrono::milliseconds kForwardAnswerWait{3000};
inline constexpr std::chrono::milliseconds kForwardProgressEvery{1000};

struct ForwardFacts {
  int hops = 1;
  int64_t unix_seconds = 0;
  std::string node;    // the forwarding node
  std::string client;  // the client's address as the first node saw it
};

// The value of kForwardedHeader for `facts`. Names and addresses must not hold spaces or
// control characters (node names and IP addresses never do).
std::string FormatForwarded(const ForwardFacts& facts);
// The signature header's value.
std::string SignForward(std::string_view secret, std::string_view method, std::string_view target,
                        std::string_view forwarded);
// The facts of a forwarded request whose signature checks out and whose time is within
// kForwardMaxSkew of `now_unix_seconds`; nothing otherwise.
std::optional<ForwardFacts> VerifyForward(std::string_view secret, std::string_view method,
                                          std::string_view target, std::string_view forwarded,
                                          std::string_view signature, int64_t now_unix_seconds);

}  // namespace dorm::cluster
