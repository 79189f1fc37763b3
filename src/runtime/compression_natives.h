// The parts of the compression natives (compression_natives.cc) that others need.
#pragma once

#include <v8.h>

namespace dorm::runtime {

// Frees the zlib streams still held by `isolate`'s handles. Call on the isolate's thread before
// disposing the isolate.
void ReleaseCompressionStreams(v8::Isolate* isolate);

}  // namespace dorm::runtime
