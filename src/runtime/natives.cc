// The native functions behind the prelude's Web APIs and the Durable Object runtime's storage.
// Their contracts are listed in docs/contracts.md; arguments are validated by the JS callers, so
// a type mismatch here is a defect and throws a plain TypeError.
#include "runtime/natives.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "js/serializer.h"
#include "js/strings.h"
#include "runtime/sql_natives.h"
#include "runtime/thread_engine.h"
#include "runtime/web_socket_natives.h"
#include "storage/list_range.h"
#include "util/crypto.h"
#include "util/log.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {
// Ids of the timers a scratch isolate starts (see SetTimer): distinct, as setTimeout's are.
std::atomic<uint64_t> g_unscheduled_timer_ids{0};
// As ThreadEngine::ResolveObjectHandle answers for a slot that names no object.
const char kNoObjectMessage[] = "Durable Object storage is no longer accessible.";
}  // namespace

class Natives {
 public:
  // Null for a scratch isolate (see MakeNatives).
  static ThreadEngine* Engine(const FunctionCallbackInfo<Value>& info) {
    return static_cast<ThreadEngine*>(info.Data().As<v8::External>()->Value());
  }
  static AppIsolate* App(const FunctionCallbackInfo<Value>& info) {
    return static_cast<AppIsolate*>(info.GetIsolate()->GetData(0));
  }

  // --- Text ---
  static void Utf8Encode(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string bytes = js::ToUtf8(isolate, info[0]);
    Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes.size());
    if (!bytes.empty()) std::memcpy(buffer->GetBackingStore()->Data(), bytes.data(), bytes.size());
    info.GetReturnValue().Set(v8::Uint8Array::New(buffer, 0, bytes.size()));
  }

  static void Utf8EncodeInto(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsString() || !info[1]->IsUint8Array()) {
      js::ThrowTypeError(isolate, "utf8EncodeInto(string, Uint8Array)");
      return;
    }
    Local<v8::String> str = info[0].As<v8::String>();
    Local<v8::Uint8Array> view = info[1].As<v8::Uint8Array>();
    char* dest = static_cast<char*>(view->Buffer()->GetBackingStore()->Data()) + view->ByteOffset();
    int nchars = 0;
    int written = str->WriteUtf8(
        isolate, dest, static_cast<int>(std::min<size_t>(view->ByteLength(), INT32_MAX)), &nchars,
        v8::String::NO_NULL_TERMINATION | v8::String::REPLACE_INVALID_UTF8);
    // `nchars` counts UTF-16 code units read, which is what encodeInto reports.
    Local<Value> pair[] = {v8::Integer::New(isolate, nchars), v8::Integer::New(isolate, written)};
    info.GetReturnValue().Set(v8::Array::New(isolate, pair, 2));
  }

  static void Utf8Decode(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsArrayBufferView()) {
      js::ThrowTypeError(isolate, "utf8Decode(view, fatal)");
      return;
    }
    Local<v8::ArrayBufferView> view = info[0].As<v8::ArrayBufferView>();
    std::string bytes(view->ByteLength(), '\0');
    view->CopyContents(bytes.data(), bytes.size());
    if (info[1]->BooleanValue(isolate)) {
      // ICU reports the first ill-formed sequence when no substitute is allowed.
      UErrorCode status = U_ZERO_ERROR;
      int32_t needed = 0;
      u_strFromUTF8WithSub(nullptr, 0, &needed, bytes.data(), static_cast<int32_t>(bytes.size()),
                           U_SENTINEL, nullptr, &status);
      if (status == U_INVALID_CHAR_FOUND || status == U_ILLEGAL_CHAR_FOUND) {
        js::ThrowTypeError(isolate, "The encoded data was not valid.");
        return;
      }
    }
    info.GetReturnValue().Set(js::FromUtf8(isolate, bytes));
  }

  // --- Crypto ---
  static void GetRandomValues(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsArrayBufferView()) {
      js::ThrowTypeError(info.GetIsolate(), "getRandomValues(view)");
      return;
    }
    Local<v8::ArrayBufferView> view = info[0].As<v8::ArrayBufferView>();
    auto* data =
        static_cast<unsigned char*>(view->Buffer()->GetBackingStore()->Data()) + view->ByteOffset();
    if (view->ByteLength() > 0) RAND_bytes(data, static_cast<int>(view->ByteLength()));
    info.GetReturnValue().Set(info[0]);
  }

  static void RandomUuid(const FunctionCallbackInfo<Value>& info) {
    std::string b = RandomBytes(16);
    b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
    std::string hex = ToHex(b);
    std::string uuid = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
                       hex.substr(16, 4) + "-" + hex.substr(20);
    info.GetReturnValue().Set(js::FromUtf8(info.GetIsolate(), uuid));
  }

  static void Digest(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string name;
    js::StringToUtf8(isolate, info[0], &name);
    const EVP_MD* md = name == "SHA-1"     ? EVP_sha1()
                       : name == "SHA-256" ? EVP_sha256()
                       : name == "SHA-384" ? EVP_sha384()
                       : name == "SHA-512" ? EVP_sha512()
                       : name == "MD5"     ? EVP_md5()
                                           : nullptr;
    if (!md || !info[1]->IsArrayBufferView()) {
      js::ThrowTypeError(isolate, "Unrecognized name.");
      return;
    }
    Local<v8::ArrayBufferView> view = info[1].As<v8::ArrayBufferView>();
    std::string bytes(view->ByteLength(), '\0');
    view->CopyContents(bytes.data(), bytes.size());
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), out, &length, md, nullptr);
    Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, length);
    std::memcpy(buffer->GetBackingStore()->Data(), out, length);
    info.GetReturnValue().Set(buffer);
  }

  // --- Structured clone ---
  static void Serialize(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    auto bytes = js::Serialize(isolate, info[0], App(info)->data_clone_error_factory());
    if (!bytes) return;
    Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, bytes->size());
    if (!bytes->empty())
      std::memcpy(buffer->GetBackingStore()->Data(), bytes->data(), bytes->size());
    info.GetReturnValue().Set(buffer);
  }

  static void Deserialize(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsArrayBuffer()) {
      js::ThrowTypeError(isolate, "deserialize(ArrayBuffer)");
      return;
    }
    auto store = info[0].As<v8::ArrayBuffer>()->GetBackingStore();
    Local<Value> value;
    if (js::Deserialize(isolate, static_cast<const char*>(store->Data()), store->ByteLength())
            .ToLocal(&value)) {
      info.GetReturnValue().Set(value);
    }
  }

  // detachArrayBuffer(buffer) → true if `buffer` was an attached, detachable ArrayBuffer, which
  // it no longer is (structuredClone's transfer).
  static void DetachArrayBuffer(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsArrayBuffer()) {
      info.GetReturnValue().Set(false);
      return;
    }
    Local<v8::ArrayBuffer> buffer = info[0].As<v8::ArrayBuffer>();
    if (!buffer->IsDetachable() || buffer->WasDetached()) {
      info.GetReturnValue().Set(false);
      return;
    }
    buffer->Detach();
    info.GetReturnValue().Set(true);
  }

  // --- Timers, logging, microtasks ---
  static void SetTimer(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    if (!info[0]->IsFunction()) {
      js::ThrowTypeError(isolate, "setTimer(fn, delay, repeat)");
      return;
    }
    ThreadEngine* engine = Engine(info);
    if (!engine) {
      // A scratch isolate is disposed as soon as its module is checked, before any timer could
      // fire: the timer is accepted, as on an engine, and dropped.
      info.GetReturnValue().Set(
          v8::Number::New(isolate, static_cast<double>(++g_unscheduled_timer_ids)));
      return;
    }
    double delay = info[1]->IsNumber() ? info[1].As<v8::Number>()->Value() : 0;
    uint64_t id = engine->AddTimer(App(info), info[0].As<v8::Function>(), delay,
                                   info[2]->BooleanValue(isolate));
    info.GetReturnValue().Set(v8::Number::New(isolate, static_cast<double>(id)));
  }

  // Timer ids are guessable numbers: only the caller's own app's timers can be cleared.
  static void ClearTimer(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsNumber()) return;
    double id = info[0].As<v8::Number>()->Value();
    ThreadEngine* engine = Engine(info);
    if (engine && id >= 1 && id < 9.0e15) engine->ClearTimer(App(info), static_cast<uint64_t>(id));
  }

  static std::string Where(ThreadEngine* engine) {
    if (!engine) return "";
    if (ObjectInstance* instance = engine->FindBySlot(engine->current_slot_)) {
      return "[" + instance->address.app + "/" + instance->address.class_name + "/" +
             instance->address.instance_name + "] ";
    }
    return "";
  }

  static void LogMessage(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    std::string level;
    if (!js::StringToUtf8(isolate, info[0], &level)) level = "log";
    LogLevel l = level == "error"   ? LogLevel::kError
                 : level == "warn"  ? LogLevel::kWarn
                 : level == "debug" ? LogLevel::kDebug
                                    : LogLevel::kInfo;
    Log(l, Where(Engine(info)) + "console." + level + ": " + js::ToUtf8(isolate, info[1]));
  }

  static void EnqueueMicrotask(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsFunction()) {
      js::ThrowTypeError(info.GetIsolate(), "enqueueMicrotask(fn)");
      return;
    }
    info.GetIsolate()->EnqueueMicrotask(info[0].As<v8::Function>());
  }

  static void ReportError(const FunctionCallbackInfo<Value>& info) {
    Log(LogLevel::kError,
        Where(Engine(info)) + "Uncaught " + js::ExceptionStack(info.GetIsolate(), info[0]));
  }

  // --- Storage (first argument: the object's slot) ---
  static ObjectInstance* Instance(const FunctionCallbackInfo<Value>& info) {
    return ResolveObjectHandle(Engine(info), App(info), info[0]);
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
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    ThreadEngine* engine = Engine(info);
    try {
      storage::ObjectDatabase* db = engine->Database(instance, write);
      if (write) engine->MarkWritten(instance);
      op(instance, db);
    } catch (const storage::StorageError& e) {
      js::ThrowError(info.GetIsolate(), e.what());
      if (e.critical()) {
        Log(LogLevel::kError, Where(engine) + "storage failure, resetting the object: " + e.what());
        engine->BreakInstance(instance, std::string("Durable Object storage failed: ") + e.what());
      }
    }
  }

  static Local<Value> Decode(v8::Isolate* isolate, std::string_view bytes) {
    Local<Value> value;
    if (!js::Deserialize(isolate, bytes.data(), bytes.size()).ToLocal(&value)) return {};
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
    auto* app = static_cast<AppIsolate*>(isolate->GetData(0));
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
    auto bytes = js::Serialize(isolate, info[2], App(info)->data_clone_error_factory());
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
      auto bytes = js::Serialize(isolate, value, App(info)->data_clone_error_factory());
      if (!bytes) return;
      batch_bytes += keys[i].size() + bytes->size();
      if (batch_bytes > App(info)->heap_limit_bytes()) {
        App(info)->ExceedMemoryLimit();
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
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    // Nothing to delete when no database exists yet; do not create one.
    ThreadEngine* engine = Engine(info);
    bool exists = engine->Database(instance, false) != nullptr;
    if (!exists) return;
    WithDatabase(info, true, [&](ObjectInstance* inst, storage::ObjectDatabase* db) {
      db->DeleteAll();
      engine->TouchAlarm(inst);
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
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    Local<v8::Promise::Resolver> resolver;
    if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return;
    uint64_t required = Engine(info)->RequiredSeq(instance);
    if (instance->durable_seq >= required) {
      if (resolver->Resolve(context, v8::Undefined(isolate)).IsNothing()) return;
    } else {
      instance->sync_waiters.emplace_back(required,
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
      std::optional<long long> alarm = db ? db->GetAlarm() : std::nullopt;
      // Inside the alarm handler its own alarm reads as gone, unless something set a new one.
      if (alarm && instance->running_alarm && *alarm == *instance->running_alarm &&
          !instance->alarm_set_during_run) {
        alarm.reset();
      }
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
    ObjectInstance* instance = Instance(info);
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
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    // A time in the past means "as soon as possible".
    long long time = std::max<long long>(static_cast<long long>(requested), now);
    WithDatabase(info, true, [&](ObjectInstance* inst, storage::ObjectDatabase* db) {
      db->SetAlarm(time);
      Engine(info)->TouchAlarm(inst);
    });
  }

  static void AlarmDelete(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    if (!Engine(info)->Database(instance, false)) return;  // no database, no alarm
    WithDatabase(info, true, [&](ObjectInstance* inst, storage::ObjectDatabase* db) {
      db->SetAlarm(std::nullopt);
      Engine(info)->TouchAlarm(inst);
    });
  }

  // abort(slot, message): resets the object now; its pending writes are discarded and its
  // callers get `message`.
  static void Abort(const FunctionCallbackInfo<Value>& info) {
    std::string message;
    if (!js::StringToUtf8(info.GetIsolate(), info[1], &message)) message = "abort()";
    ObjectInstance* instance = Instance(info);
    if (instance) Engine(info)->BreakInstance(instance, message);
  }

  // --- Events ---
  // eventSettled(slot, eventId, fulfilled, value): the handler's promise for an event settled.
  // Only the runtime's own closures call it (it is not reachable from user code), possibly from
  // another object's turn: the slot is checked against the caller's app, not the running turn.
  static void EventSettled(const FunctionCallbackInfo<Value>& info) {
    if (!info[0]->IsNumber() || !info[1]->IsNumber()) return;
    const double slot = info[0].As<v8::Number>()->Value();
    const double id = info[1].As<v8::Number>()->Value();
    if (!(slot >= 1 && slot < 9.0e15) || !(id >= 1 && id < 9.0e15)) return;
    ThreadEngine* engine = Engine(info);
    if (!engine) return;
    ObjectInstance* instance = engine->FindBySlot(static_cast<uint64_t>(slot));
    if (!instance || instance->app != App(info)) return;
    engine->OnEventSettled(static_cast<uint64_t>(slot), static_cast<uint64_t>(id),
                           info[2]->BooleanValue(info.GetIsolate()), info[3]);
  }

  // --- Input gate (blockConcurrencyWhile) ---
  static void GateLock(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    if (instance->gate_depth >= 64) {
      js::ThrowError(info.GetIsolate(), "blockConcurrencyWhile() calls are nested too deeply.");
      return;
    }
    ++instance->gate_depth;
  }

  static void GateUnlock(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = Instance(info);
    if (!instance || instance->gate_depth == 0) return;
    if (--instance->gate_depth == 0) Engine(info)->SchedulePump(instance->slot);
  }

  static void GateBreak(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ThreadEngine* engine = Engine(info);
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    std::string message = js::ExceptionMessage(isolate, info[1]);
    Log(LogLevel::kError, Where(engine) + "blockConcurrencyWhile() callback threw; resetting: " +
                              js::ExceptionStack(isolate, info[1]));
    engine->BreakInstance(instance, message);
  }
};

ObjectInstance* ResolveObjectHandle(ThreadEngine* engine, AppIsolate* caller,
                                    v8::Local<v8::Value> handle) {
  if (!engine) {
    js::ThrowError(caller->isolate(), kNoObjectMessage);
    return nullptr;
  }
  return engine->ResolveObjectHandle(caller, handle);
}

WebSocketRecord* ResolveSocketHandle(ThreadEngine* engine, AppIsolate* caller,
                                     v8::Local<v8::Value> handle) {
  return engine ? engine->ResolveSocketHandle(caller, handle) : nullptr;
}

v8::Local<v8::Object> MakeNatives(ThreadEngine* engine, AppIsolate* app) {
  v8::Isolate* isolate = app->isolate();
  v8::Local<v8::Context> context = app->context();
  v8::Local<v8::Object> natives = v8::Object::New(isolate);
  v8::Local<v8::External> self = v8::External::New(isolate, engine);
  struct Entry {
    const char* name;
    v8::FunctionCallback fn;
  };
  static const Entry kEntries[] = {
      {"utf8Encode", &Natives::Utf8Encode},
      {"utf8EncodeInto", &Natives::Utf8EncodeInto},
      {"utf8Decode", &Natives::Utf8Decode},
      {"getRandomValues", &Natives::GetRandomValues},
      {"randomUUID", &Natives::RandomUuid},
      {"digest", &Natives::Digest},
      {"serialize", &Natives::Serialize},
      {"deserialize", &Natives::Deserialize},
      {"detachArrayBuffer", &Natives::DetachArrayBuffer},
      {"setTimer", &Natives::SetTimer},
      {"clearTimer", &Natives::ClearTimer},
      {"log", &Natives::LogMessage},
      {"enqueueMicrotask", &Natives::EnqueueMicrotask},
      {"reportError", &Natives::ReportError},
      {"kvGet", &Natives::KvGet},
      {"kvGetMany", &Natives::KvGetMany},
      {"kvPut", &Natives::KvPut},
      {"kvPutMany", &Natives::KvPutMany},
      {"kvDelete", &Natives::KvDelete},
      {"kvDeleteMany", &Natives::KvDeleteMany},
      {"kvList", &Natives::KvList},
      {"kvDeleteAll", &Natives::KvDeleteAll},
      {"txnBegin", &Natives::TxnBegin},
      {"txnCommit", &Natives::TxnCommit},
      {"txnRollback", &Natives::TxnRollback},
      {"sync", &Natives::Sync},
      {"databaseSize", &Natives::DatabaseSize},
      {"eventSettled", &Natives::EventSettled},
      {"abort", &Natives::Abort},
      {"alarmGet", &Natives::AlarmGet},
      {"alarmSet", &Natives::AlarmSet},
      {"alarmDelete", &Natives::AlarmDelete},
      {"gateLock", &Natives::GateLock},
      {"gateUnlock", &Natives::GateUnlock},
      {"gateBreak", &Natives::GateBreak},
  };
  for (const Entry& e : kEntries) {
    v8::Local<v8::Function> fn =
        v8::FunctionTemplate::New(isolate, e.fn, self)->GetFunction(context).ToLocalChecked();
    natives->Set(context, js::FromUtf8(isolate, e.name), fn).Check();
  }
  AddSqlNatives(engine, isolate, context, natives);
  AddWebSocketNatives(engine, isolate, context, natives);
  return natives;
}

}  // namespace dorm::runtime
