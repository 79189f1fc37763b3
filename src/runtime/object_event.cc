#include "runtime/object_event.h"

#include <utility>

namespace dorm::runtime {

void FailEvent(ObjectEvent& event, HttpResponseData response) {
  ResponseCallback* done = nullptr;
  if (auto* http = std::get_if<HttpEvent>(&event)) done = &http->done;
  if (auto* alarm = std::get_if<AlarmEvent>(&event)) done = &alarm->done;
  if (auto* rpc = std::get_if<RpcEvent>(&event)) done = &rpc->done;
  if (auto* command = std::get_if<StorageCommandEvent>(&event)) done = &command->done;
  if (!done || !*done) return;
  ResponseCallback callback = std::move(*done);
  *done = nullptr;
  callback(std::move(response));
}

uint64_t SocketIdOf(const ObjectEvent& event) {
  const auto* socket = std::get_if<SocketEvent>(&event);
  return socket ? socket->socket_id : 0;
}

}  // namespace dorm::runtime
