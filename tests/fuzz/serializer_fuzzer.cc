// Fuzzes the structured-clone reader used for stored values (js/serializer.h): the input is the
// bytes of a stored value, as ctx.storage.get() hands them to Deserialize. The isolate is made
// as an app's isolate is: a heap limit with a near-limit callback that terminates, and an
// ArrayBuffer allocator with the same budget.
//
// Every input must deserialize or fail with a JS exception; a value that deserializes is then
// serialized again, and that must be stable: reading and writing it once more gives the same
// bytes.
//
// With DORM_FUZZ_WRITE_SEEDS=<folder>, LLVMFuzzerInitialize writes the serialized forms of
// sample values (the seed corpus) into the folder and exits.
#include <libplatform/libplatform.h>
#include <v8.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "js/array_buffer_allocator.h"
#include "js/platform.h"
#include "js/serializer.h"

namespace {

constexpr size_t kHeapLimitBytes = 64u << 20;
constexpr size_t kHeapHeadroom = 16u << 20;

struct World {
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator;
  v8::Isolate* isolate = nullptr;
  v8::Global<v8::Context> context;
  bool out_of_memory = false;
};
World* g;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "serializer_fuzzer: %s\n", what.c_str());
  std::abort();
}

size_t NearHeapLimit(void*, size_t current_limit, size_t) {
  g->out_of_memory = true;
  g->isolate->TerminateExecution();
  return current_limit + kHeapHeadroom;
}

// Sample values, one per seed file.
const char* const kSeedValues[][2] = {
    {"number", "42.5"},
    {"negative_zero", "-0"},
    {"string_latin1", "'hello'"},
    {"string_two_byte", "'Zo\\u00eb \\ud83d\\ude00 \\u2603'"},
    {"object_nested", "({a: 1, b: [true, null, undefined], c: {d: 'e', 1: 2}})"},
    {"array_sparse", "(() => { const a = [1, , 3]; a[100] = 4; a.x = 'y'; return a; })()"},
    {"date_regexp", "[new Date(1700000000000), /ab+c/gi, new Date(NaN)]"},
    {"map_set", "new Map([[1, new Set(['a', 'b'])], ['k', new Map()]])"},
    {"bigint", "[123n, -(2n ** 200n), 0n]"},
    {"typed_arrays",
     "(() => { const b = new ArrayBuffer(16); return [new Uint8Array(b, 2, 4), new "
     "Float64Array(1), new DataView(b), b]; })()"},
    {"cycle", "(() => { const o = {}; o.self = o; o.list = [o]; return o; })()"},
    {"boxed", "[new Number(3), new String('s'), new Boolean(false), Object(5n)]"},
    {"errors", "[new RangeError('r'), new TypeError('t'), new Error('e', {cause: 1})]"},
    {"shared_strings", "(() => { const s = 'repeated string'; return [s, s, {s}]; })()"},
};

void WriteSeeds(const char* folder) {
  v8::Isolate* isolate = g->isolate;
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = g->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  for (const auto& [name, source] : kSeedValues) {
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> value;
    if (!v8::Script::Compile(context, v8::String::NewFromUtf8(isolate, source).ToLocalChecked())
             .ToLocal(&script) ||
        !script->Run(context).ToLocal(&value)) {
      Fail(std::string("seed ") + name + " does not evaluate");
    }
    std::optional<std::string> bytes = dorm::js::Serialize(isolate, value, {});
    if (!bytes) Fail(std::string("seed ") + name + " does not serialize");
    std::ofstream(std::string(folder) + "/" + name, std::ios::binary) << *bytes;
  }
  std::exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  dorm::js::InitializeV8((*argv)[0]);
  g = new World;
  g->allocator =
      dorm::js::NewBudgetedAllocator(std::make_shared<dorm::js::ByteBudget>(kHeapLimitBytes, [] {
        g->out_of_memory = true;
        if (g->isolate) g->isolate->TerminateExecution();
      }));
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = g->allocator.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, kHeapLimitBytes);
  g->isolate = v8::Isolate::New(params);
  g->isolate->SetAllowAtomicsWait(false);
  g->isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  g->isolate->AddNearHeapLimitCallback(&NearHeapLimit, nullptr);
  // V8 ends the process on a fatal error or an OOM it cannot recover from; abort() instead, so
  // that libFuzzer saves the input (the server would die the same way).
  g->isolate->SetOOMErrorHandler([](const char* location, bool is_heap_oom) {
    std::fprintf(stderr, "serializer_fuzzer: V8 out of memory (%s) in %s\n",
                 is_heap_oom ? "heap" : "process", location);
    std::abort();
  });
  g->isolate->SetFatalErrorHandler([](const char* location, const char* message) {
    std::fprintf(stderr, "serializer_fuzzer: V8 fatal error in %s: %s\n", location, message);
    std::abort();
  });
  g->isolate->Enter();
  {
    v8::HandleScope scope(g->isolate);
    v8::Local<v8::Context> context = v8::Context::New(g->isolate);
    context->AllowCodeGenerationFromStrings(false);
    g->context.Reset(g->isolate, context);
  }
  if (const char* folder = std::getenv("DORM_FUZZ_WRITE_SEEDS")) WriteSeeds(folder);
  (void)argc;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v8::Isolate* isolate = g->isolate;
  {
    v8::HandleScope scope(isolate);
    v8::Local<v8::Context> context = g->context.Get(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Value> value;
    if (dorm::js::Deserialize(isolate, reinterpret_cast<const char*>(data), size, {})
            .ToLocal(&value)) {
      std::optional<std::string> once = dorm::js::Serialize(isolate, value, {});
      if (once) {
        v8::Local<v8::Value> again;
        if (!dorm::js::Deserialize(isolate, once->data(), once->size(), {}).ToLocal(&again)) {
          if (!isolate->IsExecutionTerminating()) {
            Fail("a value read from storage and written again cannot be read back");
          }
        } else if (std::optional<std::string> twice = dorm::js::Serialize(isolate, again, {})) {
          if (*twice != *once) Fail("writing a value read back gives different bytes");
        }
      }
    } else if (!try_catch.HasCaught() && !isolate->IsExecutionTerminating()) {
      Fail("Deserialize failed without an exception");
    }
  }
  // Garbage left by one input must not decide whether the next one fits under the heap limit:
  // then a crash reproduces from its input alone.
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  if (stats.used_heap_size() > kHeapLimitBytes / 4) isolate->LowMemoryNotification();
  if (isolate->IsExecutionTerminating() || g->out_of_memory) {
    // As the runtime does after a termination: the isolate is usable again, its limit restored.
    isolate->CancelTerminateExecution();
    isolate->LowMemoryNotification();
    isolate->RemoveNearHeapLimitCallback(&NearHeapLimit, kHeapLimitBytes);
    isolate->AddNearHeapLimitCallback(&NearHeapLimit, nullptr);
    g->out_of_memory = false;
  }
  return 0;
}
