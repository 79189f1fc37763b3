// The `env` object a Durable Object class receives as its constructor's second argument (and, for
// classes extending DurableObject, as `this.env`): the app's env vars as string properties, and a
// DurableObjectNamespace (js/runtime/namespace.js) for each class of the app under its binding
// name, the UPPER_SNAKE of the class's name (`chat-room` → `CHAT_ROOM`), as Butterbase gives
// "the DO namespace bindings" in env. The control plane refuses an env var named like a binding.
#pragma once

#include <v8.h>

namespace dorm::runtime {

class AppIsolate;

// A new plain object, as above. Each instance gets its own object (and namespaces), so that one
// instance changing its `env` cannot affect another. Must be called on the isolate's thread with
// its context entered; if the isolate is terminating, properties may be missing (the caller's
// turn is abandoned then anyway).
v8::Local<v8::Object> NewEnvObject(AppIsolate* app);

// `ctx.exports`, as on Cloudflare: for a project's instance (a class or the Worker of a shared
// module `module_name`), a loopback binding for each top-level export of the module: a
// DurableObjectNamespace for each of its Durable Object classes, a service binding (fetch() and
// RPC) for the default export and every other exported function (entrypoints). An empty object
// for a single-file class. The same conditions as NewEnvObject.
v8::Local<v8::Object> NewExportsObject(AppIsolate* app, const std::string& module_name);

}  // namespace dorm::runtime
