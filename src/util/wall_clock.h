// The clocks the server reads, in one place: wall-clock milliseconds (what alarms, timestamps and
// usage periods are in) and the calling thread's CPU time (what CPU limits and meters charge).
//
// Thread-safe.
#pragma once

namespace dorm {

// Milliseconds since the Unix epoch (system clock: may jump when the clock is set).
long long WallClockMs();
// Seconds since the Unix epoch.
long long WallClockSeconds();
// CPU time the calling thread has used, in nanoseconds (0 if the system cannot tell).
long long ThreadCpuNanos();

}  // namespace dorm
