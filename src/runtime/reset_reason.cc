#include "runtime/reset_reason.h"

namespace dorm::runtime {

const char kCpuLimitMessage[] = "Durable Object exceeded its CPU time limit and was reset.";
const char kMemoryLimitMessage[] =
    "Durable Object's isolate exceeded its memory limit and was reset.";
const char kCodeUpdatedMessage[] = "Durable Object reset because its code was updated.";
const char kEventTimeoutMessage[] = "Actor exceeded event execution time and was disconnected.";
const char kStorageFailureMessage[] =
    "Internal error in Durable Object storage write caused object to be reset.";
const char kShutdownMessage[] = "The server is shutting down.";
const char kOwnershipLostMessage[] =
    "Durable Object reset because this node no longer owns it; retry the request.";
const char kClusterWriteFailedMessage[] =
    "Durable Object reset because its writes could not be made durable in the cluster; retry the "
    "request.";
const char kOwnedElsewhereMessage[] =
    "Durable Object is owned by another node of the cluster; retry the request there.";
const char kClusterUnavailableMessage[] =
    "Durable Object is not available on this node right now; retry the request.";

const ResetRule& RuleOf(ResetReason reason) {
  // 1011: internal error; 1012: service restart (new code); 1001: going away.
  static const ResetRule kEvicted{"evicted", 0, false, true};
  static const ResetRule kShutdown{kShutdownMessage, 1001, false, true};
  static const ResetRule kCodeUpdated{kCodeUpdatedMessage, 1012, false, true};
  static const ResetRule kCpuLimit{kCpuLimitMessage, 1011, true};
  static const ResetRule kMemoryLimit{kMemoryLimitMessage, 1011, true, false, true};
  static const ResetRule kEventTimeout{kEventTimeoutMessage, 1011, true};
  static const ResetRule kStorageFailure{kStorageFailureMessage, 1011, true};
  static const ResetRule kStorageError{"Durable Object storage failed.", 1011, true};
  static const ResetRule kConstructorFailed{"Durable Object constructor failed.", 1011, true};
  static const ResetRule kAborted{"abort()", 1011, true};
  static const ResetRule kBlockConcurrencyThrew{"blockConcurrencyWhile() callback threw.", 1011,
                                                true};
  // 1001: going away (the object lives on, elsewhere or after a retry).
  static const ResetRule kOwnershipLost{kOwnershipLostMessage, 1001, false, true};
  static const ResetRule kClusterWriteFailed{kClusterWriteFailedMessage, 1001, false, true};
  switch (reason) {
    case ResetReason::kOwnershipLost:
      return kOwnershipLost;
    case ResetReason::kClusterWriteFailed:
      return kClusterWriteFailed;
    case ResetReason::kEvicted:
      return kEvicted;
    case ResetReason::kShutdown:
      return kShutdown;
    case ResetReason::kCodeUpdated:
      return kCodeUpdated;
    case ResetReason::kCpuLimit:
      return kCpuLimit;
    case ResetReason::kMemoryLimit:
      return kMemoryLimit;
    case ResetReason::kEventTimeout:
      return kEventTimeout;
    case ResetReason::kStorageFailure:
      return kStorageFailure;
    case ResetReason::kStorageError:
      return kStorageError;
    case ResetReason::kConstructorFailed:
      return kConstructorFailed;
    case ResetReason::kAborted:
      return kAborted;
    case ResetReason::kBlockConcurrencyThrew:
      return kBlockConcurrencyThrew;
  }
  return kStorageFailure;
}

std::string ResetMessage(ResetReason reason, const std::string& detail) {
  return detail.empty() ? std::string(RuleOf(reason).message) : detail;
}

const char* ResetReasonName(ResetReason reason) {
  switch (reason) {
    case ResetReason::kEvicted:
      return "evicted";
    case ResetReason::kShutdown:
      return "shutdown";
    case ResetReason::kCodeUpdated:
      return "code-updated";
    case ResetReason::kCpuLimit:
      return "cpu-limit";
    case ResetReason::kMemoryLimit:
      return "memory-limit";
    case ResetReason::kEventTimeout:
      return "event-timeout";
    case ResetReason::kStorageFailure:
      return "storage-failure";
    case ResetReason::kStorageError:
      return "storage-error";
    case ResetReason::kConstructorFailed:
      return "constructor-failed";
    case ResetReason::kAborted:
      return "aborted";
    case ResetReason::kBlockConcurrencyThrew:
      return "block-concurrency-threw";
    case ResetReason::kOwnershipLost:
      return "ownership-lost";
    case ResetReason::kClusterWriteFailed:
      return "cluster-write-failed";
  }
  return "unknown";
}

}  // namespace dorm::runtime
