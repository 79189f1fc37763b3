// The native functions behind the prelude's Web APIs and the Durable Object runtime (timers,
// logging, storage, SQL, WebSockets, gates), given to an app isolate's bundles while they load.
// Contracts: docs/contracts.md.
//
// Threading: on the isolate's thread, with the isolate and its context entered.
#pragma once

#include <v8.h>

namespace dorm::runtime {

class AppIsolate;
struct ObjectInstance;
class ThreadEngine;
struct WebSocketRecord;

// The natives object for `app`, bound to `engine`. `engine` may be null (a scratch isolate that
// checks a deploy, see ModuleValidator): there are then no objects, storage or sockets, so the
// natives that act on one throw as for an object that is gone, and timers are accepted but never
// fire.
v8::Local<v8::Object> MakeNatives(ThreadEngine* engine, AppIsolate* app);

// ThreadEngine::ResolveObjectHandle and ResolveSocketHandle for a native bound to `engine`, which
// may be null (nothing to resolve: the object's Error is thrown, no socket is found).
ObjectInstance* ResolveObjectHandle(ThreadEngine* engine, AppIsolate* caller,
                                    v8::Local<v8::Value> handle);
WebSocketRecord* ResolveSocketHandle(ThreadEngine* engine, AppIsolate* caller,
                                     v8::Local<v8::Value> handle);

}  // namespace dorm::runtime
