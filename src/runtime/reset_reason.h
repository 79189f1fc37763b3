// Why an object instance was reset, and what each reason means for its callers: the message
// their requests fail with (Cloudflare's words where Cloudflare has them), the close code its
// WebSockets get, and whether a reset before any event was delivered counts as a failed
// construction (see ConstructionBackoff).
//
// Pure. Thread-safe.
#pragma once

#include <string>

namespace dorm::runtime {

enum class ResetReason {
  kEvicted,                // idle (or hibernating): not an error; sockets stay open
  kShutdown,               // the server is stopping
  kCodeUpdated,            // a new version of the app's code was deployed (or it was deleted)
  kCpuLimit,               // a turn or the object's timers ran past the CPU limit
  kMemoryLimit,            // the app's isolate ran past its heap limit
  kEventTimeout,           // a hibernatable socket event outlived the object's event timeout
  kStorageFailure,         // a commit, flush or alarm index write failed
  kStorageError,           // a storage call failed inside the object's code (message given)
  kConstructorFailed,      // the class's constructor threw (message given)
  kAborted,                // ctx.abort() (message given)
  kBlockConcurrencyThrew,  // a blockConcurrencyWhile() callback threw (message given)
  kOwnershipLost,          // cluster: another node took the object, or this node's lease ran out
  kClusterWriteFailed,     // cluster: a commit could not be made durable in PostgreSQL
};

struct ResetRule {
  // The message requests fail with when the caller gives none.
  const char* message;
  // The close code of the object's WebSockets; 0: they stay open (hibernation).
  int web_socket_close_code;
  // Whether a reset before the first delivered event is a failed construction: the events
  // waiting for the object then fail instead of constructing it again at once.
  bool fails_construction;
  // What an RPC caller's error says of it besides `durableObjectReset` (Cloudflare's flags):
  // `retryable` (trying again with a fresh stub should work) and `overloaded` (do not retry).
  bool retryable = false;
  bool overloaded = false;
};

const ResetRule& RuleOf(ResetReason reason);
// The message for `reason`: `detail` when given, else the rule's.
std::string ResetMessage(ResetReason reason, const std::string& detail);
// For logs: "cpu-limit", "evicted", ...
const char* ResetReasonName(ResetReason reason);

// The messages Cloudflare gives when it resets objects.
extern const char kCpuLimitMessage[];
extern const char kEventTimeoutMessage[];
extern const char kMemoryLimitMessage[];
extern const char kCodeUpdatedMessage[];
extern const char kStorageFailureMessage[];
extern const char kShutdownMessage[];
// Cluster mode's own (Cloudflare has no such case to name): both are retryable.
extern const char kOwnershipLostMessage[];
extern const char kClusterWriteFailedMessage[];
extern const char kOwnedElsewhereMessage[];
extern const char kClusterUnavailableMessage[];

}  // namespace dorm::runtime
