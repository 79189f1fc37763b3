// The natives behind js/runtime/storage.js and js/runtime/sync_kv.js: ctx.storage's key-value API
// (async and sync), transactions, sync(), and alarms (stored in the object's database, so
// transactional like any write). The first argument of each is the object's handle (its slot).
// Contracts: docs/contracts.md.
#include <algorithm>
#include <chrono>

#include "js/serializer.h"
#include "js/strings.h"
#include "runtime/native_module.h"
#include "storage/list_range.h"
#include "util/log.h"
#include "util/wall_clock.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

class StorageCallbacks {
 public:
  // --- Storage (first argument: the object's slot) ---
  static ObjectInstance* Instance(const FunctionCallbackInfo<Value>& info) {
    return HostOf(info)->ResolveObjectHandle(AppOf(info), info[0]);
  }

  // The string argument `i` (the JS callers convert keys with String()); false with a TypeError
  // thrown for anything else.
  static bool StringArg(const FunctionCallbackInfo<Value>& info, int i, std::string* out) {
    if (js::StringToUtf8(info.GetIsolate(), info[i], out)) return true;
    js::ThrowTypeError(info.GetIsolate(), "Durable Object storage: a key must be a string.");
    return false;
  }

  // Runs a storage operation; a StorageError becomes a JS Error and resets the object, since its
  // transaction can no longer be trusted.
  template <typename Op>
  static void WithDatabase(const FunctionCallbackInfo<Value>& info, bool write, Op&& op) {
    ObjectInstance* instance = InstanceArg(info);
    if (!instance) return;
    ObjectHost* host = HostOf(info);
    try {
      storage::ObjectDatabase* db = host->Database(instance, write);
      if (write) host->MarkWritten(instance);
      op(instance, db);
    } catch (const storage::StorageError& e) {
      js::ThrowError(info.GetIsolate(), e.what());
      if (e.critical()) {
        Log(LogLevel::kError,
            CurrentObjectTag(host) + "storage failure, resetting the object: " + e.what());
        host->Reset(instance, ResetReason::kStorageError,
                    std::string("Durable Object storage failed: ") + e.what());
      }
    }
  }

  static Local<Value> Decode(v8::Isolate* isolate, std::string_view bytes) {
    Local<Value> value;
    if (!js::Deserialize(isolate, bytes.data(), bytes.size(),
                         AppIsolate::Of(isolate)->clone_hooks())
             .ToLocal(&value))
      return {};
    return value;
  }

  // The elements of `value`, which must be an array of strings; false with a TypeError thrown
  // (or the exception of a getter user code installed) otherwise. The array comes from the JS
  // runtime, but user code can influence it (a replaced Array.prototype.map, index getters on
  // Array.prototype), so nothing about it is assumed.
  static bool StringList(v8::Isolate* isolate, Local<Value> value, std::vector<std::string>* out) {
    if (value.IsEmpty() || !value->IsArray()) {
      js::ThrowTypeError(isolate, "Durable Object storage: keys must be an array of strings.");
      return false;
    }
    Local<v8::Context> context = isolate->GetCurrentContext();
    Local<v8::Array> list = value.As<v8::Array>();
    const uint32_t length = list->Length();
    out->clear();
    out->reserve(std::min<uint32_t>(length, 1u << 16));
    // The copies are native memory: they count against the heap limit, as the strings would in
    // the heap (a list can name one large string thousands of times).
    auto* app = AppIsolate::Of(isolate);
    size_t total_bytes = 0;
    for (uint32_t i = 0; i < length; ++i) {
      Local<Value> element;
      if (!list->Get(context, i).ToLocal(&element)) return false;
      std::string name;
      if (!js::StringToUtf8(isolate, element, &name)) {
        js::ThrowTypeError(isolate, "Durable Object storage: keys must be an array of strings.");
        return false;
      }
      total_bytes += name.size();
      if (app && total_bytes > app->heap_limit_bytes()) {
        app->ExceedMemoryLimit();
        return false;
      }
      out->push_back(std::move(name));
    }
    return true;
  }

  // The UTF-8 keys of a JS array of strings, sorted bytewise, each once.
  static bool SortedUniqueKeys(v8::Isolate* isolate, Local<Value> value,
                               std::vector<std::string>* names) {
    if (!StringList(isolate, value, names)) return false;
    std::sort(names->begin(), names->end());
    names->erase(std::unique(names->begin(), names->end()), names->end());
    return true;
  }

  static void KvGet(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string key;
    if (!StringArg(info, 1, &key)) return;
    WithDatabase(info, false, [&](ObjectInstance*, storage::ObjectDatabase* db) {
      if (!db) return;
      auto bytes = db->Get(key);
      if (!bytes) return;
      Local<Value> value = Decode(isolate, *bytes);
      if (!value.IsEmpty()) info.GetReturnValue().Set(value);
    });
  }

  static void KvGetMany(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    // Results come back in UTF-8 byte order, without duplicates.
    std::vector<std::string> names;
    if (!SortedUniqueKeys(isolate, info[1], &names)) return;
    Local<v8::Map> map = v8::Map::New(isolate);
    WithDatabase(info, false, [&](ObjectInstance*, storage::ObjectDatabase* db) {
      if (db) {
        for (const auto& name : names) {
          auto bytes = db->Get(name);
          if (!bytes) continue;
          Local<Value> value = Decode(isolate, *bytes);
          if (value.IsEmpty()) return;
          if (map->Set(context, js::FromUtf8(isolate, name), value).IsEmpty()) return;
        }
      }
      info.GetReturnValue().Set(map);
    });
  }

  static void KvPut(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string key;
    if (!StringArg(info, 1, &key)) return;
    auto bytes = js::Serialize(isolate, info[2], AppOf(info)->clone_hooks());
    if (!bytes) return;
    WithDatabase(info, true,
                 [&](ObjectInstance*, storage::ObjectDatabase* db) { db->Put(key, *bytes); });
  }

  static void KvPutMany(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    std::vector<std::string> keys;
    if (!StringList(isolate, info[1], &keys)) return;
    if (!info[2]->IsArray()) {
      js::ThrowTypeError(isolate, "Durable Object storage: values must be an array.");
      return;
    }
    Local<v8::Array> values = info[2].As<v8::Array>();
    // Every value is serialized before anything is written: one that cannot be cloned stores
    // nothing of the batch. The serialized batch is native memory and counts against the heap
    // limit: `put()` of an object naming one 3 MB string 1,000 times held 3 GB here.
    std::vector<std::pair<std::string, std::string>> entries;
    size_t batch_bytes = 0;
    for (uint32_t i = 0; i < keys.size(); ++i) {
      Local<Value> value;
      if (!values->Get(context, i).ToLocal(&value)) return;
      auto bytes = js::Serialize(isolate, value, AppOf(info)->clone_hooks());
      if (!bytes) return;
      batch_bytes += keys[i].size() + bytes->size();
      if (batch_bytes > AppOf(info)->heap_limit_bytes()) {
        AppOf(info)->ExceedMemoryLimit();
        return;
      }
      entries.emplace_back(std::move(keys[i]), std::move(*bytes));
    }
    WithDatabase(info, true, [&](ObjectInstance*, storage::ObjectDatabase* db) {
      for (const auto& [key, value] : entries) db->Put(key, value);
    });
  }

  static void KvDelete(const FunctionCallbackInfo<Value>& info) {
    std::string key;
    if (!StringArg(info, 1, &key)) return;
    WithDatabase(info, true, [&](ObjectInstance*, storage::ObjectDatabase* db) {
      info.GetReturnValue().Set(db->Delete(key));
    });
  }

  static void KvDeleteMany(const FunctionCallbackInfo<Value>& info) {
    std::vector<std::string> names;
    if (!SortedUniqueKeys(info.GetIsolate(), info[1], &names)) return;
    WithDatabase(info, true, [&](ObjectInstance*, storage::ObjectDatabase* db) {
      int count = 0;
      for (const auto& name : names) count += db->Delete(name) ? 1 : 0;
      info.GetReturnValue().Set(count);
    });
  }

  static void KvList(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    storage::ListOptions options;
    bool bad_argument = false;
    auto text = [&](int i) -> std::optional<std::string> {
      if (info[i]->IsUndefined() || info[i]->IsNull()) return std::nullopt;
      std::string out;
      if (!js::StringToUtf8(isolate, info[i], &out)) bad_argument = true;
      return out;
    };
    options.start = text(1);
    options.start_after = text(2);
    options.end = text(3);
    options.prefix = text(4);
    options.reverse = info[5]->BooleanValue(isolate);
    if (!info[6]->IsUndefined() && !info[6]->IsNull()) {
      if (!info[6]->IsNumber()) bad_argument = true;
      double limit = info[6]->IsNumber() ? info[6].As<v8::Number>()->Value() : 0;
      // Clamped before the cast: a double outside long long's range is undefined behaviour.
      options.limit = static_cast<long long>(std::clamp(limit, -1e15, 1e15));
    }
    if (bad_argument) {
      js::ThrowTypeError(isolate, "Durable Object storage: bad list() options.");
      return;
    }
    std::string error;
    auto range = storage::CompileListRange(options, &error);
    if (!range) {
      js::ThrowTypeError(isolate, error);
      return;
    }
    Local<v8::Map> map = v8::Map::New(isolate);
    WithDatabase(info, false, [&](ObjectInstance*, storage::ObjectDatabase* db) {
      bool failed = false;
      if (db) {
        db->List(*range, [&](std::string_view key, std::string_view bytes) {
          if (failed) return;
          Local<Value> value = Decode(isolate, bytes);
          if (value.IsEmpty() || map->Set(context, js::FromUtf8(isolate, key), value).IsEmpty()) {
            failed = true;
          }
        });
      }
      if (!failed) info.GetReturnValue().Set(map);
    });
  }

  static void KvDeleteAll(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = InstanceArg(info);
    if (!instance) return;
    // Nothing to delete when no database exists yet; do not create one.
    ObjectHost* host = HostOf(info);
    bool exists = host->Database(instance, false) != nullptr;
    if (!exists) return;
    WithDatabase(info, true, [&](ObjectInstance* inst, storage::ObjectDatabase* db) {
      db->DeleteAll();
      host->NoteAlarmChanged(inst);
    });
  }

  static void TxnBegin(const FunctionCallbackInfo<Value>& info) {
    WithDatabase(info, true, [&](ObjectInstance* instance, storage::ObjectDatabase* db) {
      int depth = ++instance->txn_depth;
      db->BeginSavepoint(depth);
      info.GetReturnValue().Set(depth);
    });
  }

  static void TxnEnd(const FunctionCallbackInfo<Value>& info, bool commit) {
    int depth = info[1]->IsInt32() ? info[1].As<v8::Int32>()->Value() : 0;
    WithDatabase(info, true, [&](ObjectInstance* instance, storage::ObjectDatabase* db) {
      if (depth != instance->txn_depth) return;
      --instance->txn_depth;
      if (commit) {
        db->ReleaseSavepoint(depth);
      } else {
        db->RollbackToSavepoint(depth);
      }
    });
  }
  static void TxnCommit(const FunctionCallbackInfo<Value>& info) { TxnEnd(info, true); }
  static void TxnRollback(const FunctionCallbackInfo<Value>& info) { TxnEnd(info, false); }

  static void Sync(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    ObjectInstance* instance = InstanceArg(info);
    if (!instance) return;
    Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return;
    const uint64_t waiter = instance->output.AddSyncWaiter(instance->uncommitted_writes());
    if (waiter == 0) {
      if (resolver->Resolve(context, v8::Undefined(isolate)).IsNothing()) return;
    } else {
      instance->sync_resolvers.emplace(waiter,
                                       v8::Global<v8::Promise::Resolver>(isolate, resolver));
    }
    info.GetReturnValue().Set(resolver->GetPromise());
  }

  static void DatabaseSize(const FunctionCallbackInfo<Value>& info) {
    WithDatabase(info, false, [&](ObjectInstance*, storage::ObjectDatabase* db) {
      info.GetReturnValue().Set(static_cast<double>(db ? db->SizeBytes() : 0));
    });
  }

  // --- Alarms (stored in the object's database, so transactional like any write) ---
  static void AlarmGet(const FunctionCallbackInfo<Value>& info) {
    WithDatabase(info, false, [&](ObjectInstance* instance, storage::ObjectDatabase* db) {
      // Inside the alarm handler its own alarm reads as gone, unless something set a new one.
      std::optional<long long> alarm = instance->alarm.Visible(db ? db->GetAlarm() : std::nullopt);
      if (alarm) {
        info.GetReturnValue().Set(static_cast<double>(*alarm));
      } else {
        info.GetReturnValue().SetNull();
      }
    });
  }

  static void AlarmSet(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    ObjectInstance* instance = InstanceArg(info);
    if (!instance) return;
    if (instance->constructed) {
      Local<Value> handler;
      if (!instance->js_object.Get(isolate)
               ->Get(context, js::FromUtf8(isolate, "alarm"))
               .ToLocal(&handler))
        return;
      if (!handler->IsFunction()) {
        js::ThrowTypeError(
            isolate,
            "Your Durable Object class must have an alarm() handler in order to call setAlarm()");
        return;
      }
    }
    if (!info[1]->IsNumber()) {
      js::ThrowTypeError(isolate, "setAlarm() requires a number or a Date.");
      return;
    }
    // Clamped before the cast: a double outside long long's range is undefined behaviour.
    double requested = std::clamp(info[1].As<v8::Number>()->Value(), 0.0, 8.64e15);
    const long long now = WallClockMs();
    // A time in the past means "as soon as possible".
    long long time = std::max<long long>(static_cast<long long>(requested), now);
    WithDatabase(info, true, [&](ObjectInstance* inst, storage::ObjectDatabase* db) {
      db->SetAlarm(time);
      HostOf(info)->NoteAlarmChanged(inst);
    });
  }

  static void AlarmDelete(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = InstanceArg(info);
    if (!instance) return;
    if (!HostOf(info)->Database(instance, false)) return;  // no database, no alarm
    WithDatabase(info, true, [&](ObjectInstance* inst, storage::ObjectDatabase* db) {
      db->SetAlarm(std::nullopt);
      HostOf(info)->NoteAlarmChanged(inst);
    });
  }
};

}  // namespace

std::span<const NativeFunction> StorageNatives() {
  static const NativeFunction kFunctions[] = {
      {"kvGet", &StorageCallbacks::KvGet},
      {"kvGetMany", &StorageCallbacks::KvGetMany},
      {"kvPut", &StorageCallbacks::KvPut},
      {"kvPutMany", &StorageCallbacks::KvPutMany},
      {"kvDelete", &StorageCallbacks::KvDelete},
      {"kvDeleteMany", &StorageCallbacks::KvDeleteMany},
      {"kvList", &StorageCallbacks::KvList},
      {"kvDeleteAll", &StorageCallbacks::KvDeleteAll},
      {"txnBegin", &StorageCallbacks::TxnBegin},
      {"txnCommit", &StorageCallbacks::TxnCommit},
      {"txnRollback", &StorageCallbacks::TxnRollback},
      {"sync", &StorageCallbacks::Sync},
      {"databaseSize", &StorageCallbacks::DatabaseSize},
      {"alarmGet", &StorageCallbacks::AlarmGet},
      {"alarmSet", &StorageCallbacks::AlarmSet},
      {"alarmDelete", &StorageCallbacks::AlarmDelete},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
