// Process-wide V8 start-up. Call InitializeV8() once, before any isolate is created, from the main
// thread; ShutdownV8() once at exit after every isolate has been disposed.
#pragma once

namespace v8 {
class Isolate;
}

namespace dorm::js {

void InitializeV8(const char* argv0);
void ShutdownV8();

// Runs at most `max_tasks` of the tasks V8 posted to `isolate`'s foreground queue (the cleanup of
// FinalizationRegistry callbacks among them, which run JavaScript; GC steps), without waiting.
// V8 runs them only when the embedder pumps that queue. Call with the isolate entered and a
// context and HandleScope current, as for any other JavaScript of the isolate; what a task's
// JavaScript throws stays pending for the caller's TryCatch.
void RunForegroundTasks(v8::Isolate* isolate, int max_tasks);

}  // namespace dorm::js
