// The HTTP request an object receives, as the JavaScript Request its fetch() handler is given.
//
// Threading: on the app's runtime thread, inside a turn of `app` (isolate and context entered).
#pragma once

#include <v8.h>

#include "runtime/app_isolate.h"
#include "runtime/http_message.h"

namespace dorm::runtime {

// A new Request for `request` (its body is moved into the Request without a copy, and counts
// against the app's memory budget until V8 frees it; copied through the isolate's allocator when
// the budget cannot take it at once). Empty, with the exception pending, if constructing it threw
// (user code may have replaced parts of the Request class's prototype chain) or the budget
// refused the body (a RangeError; the app's owner settles the refusal, see AppIsolate).
// `stream_body`, when not empty, is the body instead (a ReadableStream the runtime made for a
// body that is still arriving: HttpRequestData::body_stream).
v8::MaybeLocal<v8::Value> NewJsRequest(AppIsolate* app, HttpRequestData request,
                                       v8::Local<v8::Value> stream_body = {});

}  // namespace dorm::runtime
