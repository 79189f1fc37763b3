#include "runtime/sql_natives.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "js/array_buffers.h"
#include "js/strings.h"
#include "runtime/native_module.h"
#include "storage/sql_cursor.h"
#include "util/log.h"

namespace dorm::runtime {

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

class SqlCallbacks {
 public:
  // A cursor owned by its JavaScript handle: freed (and its statement finalized) when the handle
  // is garbage-collected.
  struct Holder {
    v8::Global<v8::Object> handle;
    std::unique_ptr<storage::SqlCursor> cursor;
    uint64_t slot;  // the object whose database the cursor reads
    v8::Isolate* isolate;
  };
  // The holders not yet freed, by isolate, so that disposing an isolate frees the rest. Each
  // isolate lives on one thread, so each thread keeps its own.
  static std::unordered_map<v8::Isolate*, std::unordered_set<Holder*>>& LiveHolders() {
    thread_local std::unordered_map<v8::Isolate*, std::unordered_set<Holder*>> live;
    return live;
  }
  static void FreeHolder(Holder* holder) {
    auto& live = LiveHolders();
    auto it = live.find(holder->isolate);
    if (it != live.end()) {
      it->second.erase(holder);
      if (it->second.empty()) live.erase(it);
    }
    delete holder;
  }

 public:
  static void ReleaseAll(v8::Isolate* isolate) {
    auto& live = LiveHolders();
    auto it = live.find(isolate);
    if (it == live.end()) return;
    std::unordered_set<Holder*> holders = std::move(it->second);
    live.erase(it);
    for (Holder* holder : holders) delete holder;
  }

  // Cursor handles carry this tag in their second internal field, so that no other host object
  // with internal fields can be taken for one.
  static constexpr int kHandleFields = 2;
  // Row makers (sqlRowMaker) are compiled from at most this much source (SQLite allows 100
  // columns, but a name may be long); larger rows take the generic path.
  static constexpr size_t kMaxRowMakerSource = 16 * 1024;
  alignas(8) static inline const char kHandleTag[8] = "cursor";

  // The SQL natives' data is not the host itself (see SqlNativesData).
  static ObjectHost* Engine(const FunctionCallbackInfo<Value>& info) {
    return static_cast<ObjectHost*>(
        info.Data().As<v8::Object>()->GetAlignedPointerFromInternalField(0));
  }
  static AppIsolate* App(const FunctionCallbackInfo<Value>& info) { return AppOf(info); }

  static ObjectInstance* Instance(const FunctionCallbackInfo<Value>& info) {
    return Engine(info)->ResolveObjectHandle(App(info), info[0]);
  }

  // The cursor of handle `info[index]`; nullptr for anything that is not a cursor handle, or
  // (when `instance` is given) a cursor of another object.
  static storage::SqlCursor* CursorOf(const FunctionCallbackInfo<Value>& info, int index,
                                      const ObjectInstance* instance = nullptr) {
    if (!info[index]->IsObject()) return nullptr;
    Local<v8::Object> handle = info[index].As<v8::Object>();
    if (handle->InternalFieldCount() != kHandleFields ||
        handle->GetAlignedPointerFromInternalField(1) != kHandleTag) {
      return nullptr;
    }
    auto* holder = static_cast<Holder*>(handle->GetAlignedPointerFromInternalField(0));
    if (!holder || (instance && holder->slot != instance->slot)) return nullptr;
    return holder->cursor.get();
  }

  // Runs `op`, turning errors into JS exceptions; a critical storage failure resets the object.
  // A write left the database in its implicit transaction, which the end of the turn commits.
  template <typename Op>
  static void Run(const FunctionCallbackInfo<Value>& info, ObjectInstance* instance, Op&& op) {
    ObjectHost* engine = Engine(info);
    try {
      op();
    } catch (const storage::SqlError& e) {
      js::ThrowError(info.GetIsolate(), e.what());
    } catch (const storage::StorageError& e) {
      js::ThrowError(info.GetIsolate(), e.what());
      if (e.critical()) {
        Log(LogLevel::kError,
            LogTag(instance->address) + " storage failure, resetting the object: " + e.what());
        engine->Reset(instance, ResetReason::kStorageError,
                      std::string("Durable Object storage failed: ") + e.what());
        return;
      }
    }
    if (instance->db && instance->db->in_transaction()) engine->MarkWritten(instance);
  }

  static Local<Value> CellToJs(v8::Isolate* isolate, const storage::SqlRowView& row, int column) {
    using Type = storage::SqlRowView::Type;
    switch (row.type(column)) {
      case Type::kInteger: {
        // A Number either way; one that fits in 32 bits V8 makes without testing a double.
        const int64_t value = row.integer(column);
        if (value >= INT32_MIN && value <= INT32_MAX) {
          return v8::Integer::New(isolate, static_cast<int32_t>(value));
        }
        return v8::Number::New(isolate, static_cast<double>(value));
      }
      case Type::kReal:
        return v8::Number::New(isolate, row.real(column));
      case Type::kText:
        return js::FromUtf8(isolate, row.text(column));
      case Type::kBlob: {
        const std::string_view bytes = row.blob(column);
        // Without room for it, null stands in: the exception pending ends the call.
        Local<v8::ArrayBuffer> buffer;
        if (!js::NewArrayBufferCopy(isolate, bytes).ToLocal(&buffer)) return v8::Null(isolate);
        return buffer;
      }
      case Type::kNull:
        break;
    }
    return v8::Null(isolate);
  }

  // The row's values as an array; `values` is scratch space, reused from row to row.
  static Local<v8::Array> RowToJs(v8::Isolate* isolate, const storage::SqlRowView& row,
                                  std::vector<Local<Value>>* values) {
    values->clear();
    for (int i = 0; i < row.size(); ++i) values->push_back(CellToJs(isolate, row, i));
    return v8::Array::New(isolate, values->data(), values->size());
  }

  static storage::SqlValue FromJs(v8::Isolate* isolate, Local<Value> v) {
    if (v->IsNumber()) return v.As<v8::Number>()->Value();
    if (v->IsString()) return js::ToUtf8(isolate, v);
    if (v->IsArrayBufferView()) {
      Local<v8::ArrayBufferView> view = v.As<v8::ArrayBufferView>();
      storage::SqlBlob blob{std::string(view->ByteLength(), '\0')};
      view->CopyContents(blob.bytes.data(), blob.bytes.size());
      return blob;
    }
    if (v->IsArrayBuffer()) {
      auto store = v.As<v8::ArrayBuffer>()->GetBackingStore();
      return storage::SqlBlob{
          std::string(static_cast<const char*>(store->Data()), store->ByteLength())};
    }
    return std::monostate{};
  }

  static void Exec(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    std::string query;
    if (!js::StringToUtf8(isolate, info[1], &query)) {
      js::ThrowTypeError(isolate, "sql.exec(): the query must be a string.");
      return;
    }
    std::vector<storage::SqlValue> bindings;
    if (info[2]->IsArray()) {
      Local<v8::Array> list = info[2].As<v8::Array>();
      for (uint32_t i = 0; i < list->Length(); ++i) {
        Local<Value> value;
        if (!list->Get(context, i).ToLocal(&value)) return;
        bindings.push_back(FromJs(isolate, value));
      }
    }
    Local<Value> make_value;
    if (!info.Data().As<v8::Object>()->GetInternalField(1).As<Value>()->IsFunction()) return;
    make_value = info.Data().As<v8::Object>()->GetInternalField(1).As<Value>();
    Local<v8::Function> make = make_value.As<v8::Function>();
    ObjectHost* engine = Engine(info);
    Run(info, instance, [&] {
      storage::ObjectDatabase* db = engine->Database(instance, true);
      auto cursor = storage::SqlCursor::Execute(db, query, bindings);
      Local<v8::Object> handle;
      if (!make->NewInstance(context).ToLocal(&handle)) return;
      auto* holder = new Holder{v8::Global<v8::Object>(isolate, handle), std::move(cursor),
                                instance->slot, isolate};
      LiveHolders()[isolate].insert(holder);
      handle->SetAlignedPointerInInternalField(0, holder);
      handle->SetAlignedPointerInInternalField(1, const_cast<char*>(kHandleTag));
      holder->handle.SetWeak(
          holder, [](const v8::WeakCallbackInfo<Holder>& data) { FreeHolder(data.GetParameter()); },
          v8::WeakCallbackType::kParameter);
      info.GetReturnValue().Set(handle);
    });
  }

  // Prepares `cursor` for reading on behalf of `instance`: its connection counts as in use.
  static void Touch(ObjectHost* engine, ObjectInstance* instance) {
    if (instance->db) engine->Database(instance, false);
  }

  static void Next(const FunctionCallbackInfo<Value>& info) {
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    storage::SqlCursor* cursor = CursorOf(info, 1, instance);
    if (!cursor) return;
    Run(info, instance, [&] {
      Touch(Engine(info), instance);
      std::vector<storage::SqlValue> row;
      std::vector<Local<Value>> values;
      if (cursor->Next(&row)) {
        info.GetReturnValue().Set(
            RowToJs(info.GetIsolate(), storage::SqlStoredRowView(row), &values));
      }
    });
  }

  static void Rest(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    storage::SqlCursor* cursor = CursorOf(info, 1, instance);
    if (!cursor) return;
    Run(info, instance, [&] {
      Touch(Engine(info), instance);
      // Rows still in SQLite are converted where they are, without a copy in between.
      std::vector<Local<Value>> rows;
      std::vector<Local<Value>> values;
      cursor->TakeRest(
          [&](const storage::SqlRowView& row) { rows.push_back(RowToJs(isolate, row, &values)); });
      info.GetReturnValue().Set(v8::Array::New(isolate, rows.data(), rows.size()));
    });
  }

  // The remaining rows' values in one array, row after row (each row has as many values as the
  // cursor has columns): what toArray() makes its row objects from. One array instead of one per
  // row: making a 1,000-row result's arrays through the API cost a third as much as the values.
  static void RestFlat(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    ObjectInstance* instance = Instance(info);
    if (!instance) return;
    storage::SqlCursor* cursor = CursorOf(info, 1, instance);
    if (!cursor) return;
    Run(info, instance, [&] {
      Touch(Engine(info), instance);
      std::vector<Local<Value>> values;
      cursor->TakeRest([&](const storage::SqlRowView& row) {
        for (int i = 0; i < row.size(); ++i) values.push_back(CellToJs(isolate, row, i));
      });
      info.GetReturnValue().Set(v8::Array::New(isolate, values.data(), values.size()));
    });
  }

  // sqlRowMaker(names): a function (v, o) => ({"<names[0]>": v[o], ...}), compiled from the names
  // written as escaped string literals; undefined for names a literal key cannot take
  // (__proto__ would set the prototype), or too long to be worth compiling. The
  // caller caches it per set of names.
  static void RowMaker(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    Local<v8::Context> context = isolate->GetCurrentContext();
    if (!info[0]->IsArray()) return;
    Local<v8::Array> names = info[0].As<v8::Array>();
    const uint32_t count = names->Length();
    if (count == 0) return;
    std::string source = "(function(v,o){return {";
    std::vector<uint16_t> units;
    for (uint32_t i = 0; i < count; ++i) {
      Local<Value> value;
      if (!names->Get(context, i).ToLocal(&value) || !value->IsString()) return;
      Local<v8::String> name = value.As<v8::String>();
      const int length = name->Length();
      if (source.size() + 6 * static_cast<size_t>(length) > kMaxRowMakerSource) return;
      units.resize(static_cast<size_t>(length));
      name->Write(isolate, units.data(), 0, length, v8::String::NO_NULL_TERMINATION);
      static constexpr std::u16string_view kProto = u"__proto__";
      if (std::u16string_view(reinterpret_cast<const char16_t*>(units.data()), units.size()) ==
          kProto) {
        return;
      }
      source += '"';
      for (uint16_t unit : units) {
        if ((unit >= 'a' && unit <= 'z') || (unit >= 'A' && unit <= 'Z') ||
            (unit >= '0' && unit <= '9') || unit == '_' || unit == ' ') {
          source += static_cast<char>(unit);
        } else {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", unit);
          source += escaped;
        }
      }
      source += "\":v[o+" + std::to_string(i) + "],";
    }
    source += "}})";
    v8::TryCatch try_catch(isolate);
    Local<v8::Script> script;
    Local<Value> maker;
    if (!v8::Script::Compile(context, js::FromUtf8(isolate, source)).ToLocal(&script) ||
        !script->Run(context).ToLocal(&maker) || !maker->IsFunction()) {
      return;  // the generic path is used; nothing is thrown
    }
    info.GetReturnValue().Set(maker);
  }

  static void Columns(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    storage::SqlCursor* cursor = CursorOf(info, 0);
    if (!cursor) return;
    std::vector<Local<Value>> names;
    for (const auto& name : cursor->column_names()) names.push_back(js::FromUtf8(isolate, name));
    info.GetReturnValue().Set(v8::Array::New(isolate, names.data(), names.size()));
  }

  static void Counts(const FunctionCallbackInfo<Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    storage::SqlCursor* cursor = CursorOf(info, 0);
    if (!cursor) return;
    Local<Value> counts[] = {v8::Number::New(isolate, static_cast<double>(cursor->rows_read())),
                             v8::Number::New(isolate, static_cast<double>(cursor->rows_written()))};
    info.GetReturnValue().Set(v8::Array::New(isolate, counts, 2));
  }
};

void ReleaseSqlCursors(v8::Isolate* isolate) { SqlCallbacks::ReleaseAll(isolate); }

v8::Local<v8::Value> SqlNativesData(ObjectHost* host, v8::Isolate* isolate,
                                    v8::Local<v8::Context> context) {
  // Cursor handles: empty objects whose internal fields hold their Holder and the tag.
  v8::Local<v8::FunctionTemplate> handle_template = v8::FunctionTemplate::New(isolate);
  handle_template->InstanceTemplate()->SetInternalFieldCount(SqlCallbacks::kHandleFields);
  v8::Local<v8::Function> make = handle_template->GetFunction(context).ToLocalChecked();
  // An object (not an array, whose elements user code could shadow through Array.prototype)
  // with the host and the handle constructor in internal fields.
  v8::Local<v8::ObjectTemplate> data_template = v8::ObjectTemplate::New(isolate);
  data_template->SetInternalFieldCount(2);
  v8::Local<v8::Object> data = data_template->NewInstance(context).ToLocalChecked();
  data->SetAlignedPointerInInternalField(0, host);
  data->SetInternalField(1, make);
  return data;
}

std::span<const NativeFunction> SqlNatives() {
  static const NativeFunction kFunctions[] = {
      {"sqlExec", &SqlCallbacks::Exec},         {"sqlNext", &SqlCallbacks::Next},
      {"sqlRest", &SqlCallbacks::Rest},         {"sqlRestFlat", &SqlCallbacks::RestFlat},
      {"sqlColumns", &SqlCallbacks::Columns},   {"sqlCounts", &SqlCallbacks::Counts},
      {"sqlRowMaker", &SqlCallbacks::RowMaker},
  };
  return kFunctions;
}

}  // namespace dorm::runtime
