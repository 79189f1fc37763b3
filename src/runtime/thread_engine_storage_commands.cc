// ThreadEngine's storage browser: an operator's storage command (`dorm storage ...`) delivered
// to an object like a request. It runs in a turn of the object's app (under the CPU watchdog,
// which also interrupts a SQL statement that runs too long) but in a context of its own, so that
// no tenant code or prototype takes part in reading or writing values; its writes are committed
// with the turn and its answer waits for them to be durable, like a response.
#include "js/strings.h"
#include "runtime/storage_command_runner.h"
#include "runtime/thread_engine.h"
#include "util/log.h"

namespace dorm::runtime {

void ThreadEngine::DeliverStorageCommand(ObjectInstance* instance, StorageCommandEvent event) {
  if (instance->txn_depth > 0) {
    // The writes of a storage.transaction() still open belong to it: a command now would join
    // them, and be rolled back with them.
    event.done(HttpResponseData::JsonError(
        409, "The object is inside a storage transaction; try again once it has ended."));
    return;
  }
  AppIsolate* app = instance->app;
  const uint64_t slot = instance->slot;
  instance->last_active = std::chrono::steady_clock::now();
  HttpResponseData response;
  bool critical = false;
  std::string failure;
  const bool alive = RunTurn(app, [&] {
    current_slot_ = slot;
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> scratch = v8::Context::New(isolate);
    if (scratch.IsEmpty()) {
      response = HttpResponseData::JsonError(500, "internal error: cannot create a context");
      return;
    }
    v8::Context::Scope scope(scratch);
    v8::TryCatch try_catch(isolate);
    bool wrote = false;
    try {
      storage::ObjectDatabase* db = Database(instance, event.command.writes());
      response = RunStorageCommand(isolate, scratch, db, event.command, &wrote);
    } catch (const storage::StorageError& e) {
      response = HttpResponseData::JsonError(e.critical() ? 500 : 400, e.what());
      critical = e.critical();
      failure = e.what();
    }
    if (wrote) MarkWritten(instance);
  });
  ObjectInstance* still = alive ? FindBySlot(slot) : nullptr;
  if (!still) {
    event.done(
        HttpResponseData::JsonError(500, "The object was reset while the storage command ran."));
    return;
  }
  if (critical) {
    Log(LogLevel::kError,
        LogTag(still->address) + " storage failure in a storage command, resetting: " + failure);
    BreakInstance(still, ResetReason::kStorageError,
                  std::string("Durable Object storage failed: ") + failure);
    event.done(std::move(response));
    return;
  }
  Emit(still, std::move(response), std::move(event.done));
}

}  // namespace dorm::runtime
