// The `env` object a Durable Object class receives as its constructor's second argument (and, for
// classes extending DurableObject, as `this.env`): the app's env vars as string properties.
#pragma once

#include <v8.h>

#include "runtime/class_catalog.h"

namespace dorm::runtime {

// A new plain object with one enumerable string property per env var. Each instance gets its own
// object, so that one instance changing its `env` cannot affect another. Must be called on the
// isolate's thread with `context` entered; if the isolate is terminating, properties may be
// missing (the caller's turn is abandoned then anyway).
v8::Local<v8::Object> NewEnvObject(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                   const EnvVars& env);

}  // namespace dorm::runtime
