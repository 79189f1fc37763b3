// The parts of the digest stream natives (digest_stream_natives.cc) that others need.
#pragma once

#include <v8.h>

namespace dorm::runtime {

// Frees the hash states still held by `isolate`'s digest handles. Call on the isolate's thread
// before disposing the isolate.
void ReleaseDigestStreams(v8::Isolate* isolate);

}  // namespace dorm::runtime
