// Installs the WebSocket natives (wsCreate, wsSend, ...) on the natives object of an app's
// context. `engine` may be null (see MakeNatives in runtime/natives.h). Contracts:
// docs/contracts.md.
#pragma once

#include <v8.h>

namespace dorm::runtime {

class ThreadEngine;

void AddWebSocketNatives(ThreadEngine* engine, v8::Isolate* isolate, v8::Local<v8::Context> context,
                         v8::Local<v8::Object> natives);

}  // namespace dorm::runtime
