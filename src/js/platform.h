// Process-wide V8 start-up. Call InitializeV8() once, before any isolate is created, from the main
// thread; ShutdownV8() once at exit after every isolate has been disposed.
//
// V8 also gives each isolate a queue of foreground tasks (FinalizationRegistry callbacks, parts of
// garbage collection, the memory reducer), posted from any thread; the embedder must run them on
// the isolate's own thread, which RunForegroundTasks does.
#pragma once

#include <v8.h>

namespace dorm::js {

void InitializeV8(const char* argv0);
void ShutdownV8();

// Runs up to `max_tasks` of `isolate`'s foreground tasks that are due, without waiting for more.
// Call on the isolate's thread with the isolate entered and a HandleScope open, outside any
// microtask checkpoint. Tasks may run JavaScript (FinalizationRegistry callbacks, whose exceptions
// V8 reports to the message listeners); the caller's watchdog applies to them. Returns the number
// of tasks run.
int RunForegroundTasks(v8::Isolate* isolate, int max_tasks);

// Drops `isolate`'s queued tasks and its task queue. Call once, on the isolate's thread, right
// before Isolate::Dispose(): the queue is keyed by the isolate's address, which a later isolate
// may reuse, and must not hand that one a dead isolate's tasks.
void ForgetIsolate(v8::Isolate* isolate);

}  // namespace dorm::js
