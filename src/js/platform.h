// Process-wide V8 start-up. Call InitializeV8() once, before any isolate is created, from the main
// thread; ShutdownV8() once at exit after every isolate has been disposed.
#pragma once

namespace dorm::js {

void InitializeV8(const char* argv0);
void ShutdownV8();

}  // namespace dorm::js
