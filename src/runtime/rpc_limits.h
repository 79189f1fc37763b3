// The size limit of one RPC message (the serialized arguments of a call, or its result), as
// workerd's MAX_JS_RPC_MESSAGE_SIZE, and Cloudflare's message for a value over it. Pure.
#pragma once

#include <cstddef>
#include <string>

namespace dorm::runtime {

inline constexpr size_t kMaxRpcMessageBytes = size_t{1} << 25;  // 32 MiB

// For an RPC message between two apps (a service binding to another app's Worker) that carries
// functions, RpcTargets or stubs: they only resolve within the app that made them.
inline constexpr char kForeignReferencesMessage[] =
    "Functions, RpcTargets and Durable Object stubs cannot be passed to or from another app's "
    "Worker.";

inline std::string RpcTooLargeMessage(size_t bytes) {
  return "Serialized RPC arguments or return values are limited to 32MiB, but the size of this "
         "value was: " +
         std::to_string(bytes) + " bytes.";
}

}  // namespace dorm::runtime
