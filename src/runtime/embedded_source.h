// The JavaScript sources embedded in the binary (the prelude, the runtime and the bundles compiled
// on first use), as V8 strings that do not copy them.
//
// Threading: call on the isolate's thread, with a HandleScope.
#pragma once

#include <v8.h>

#include <cstddef>

namespace dorm::runtime {

// `data[0, size)`, UTF-8 that must live as long as the program (static storage), as a V8 string
// that each isolate does not copy into its heap: ASCII text (esbuild's output) is an external
// string over those bytes; other text is decoded once per process and shared the same way.
// Never empty: an allocation V8 refuses ends the process, as for any string the runtime needs.
v8::Local<v8::String> EmbeddedSource(v8::Isolate* isolate, const char* data, std::size_t size);

}  // namespace dorm::runtime
