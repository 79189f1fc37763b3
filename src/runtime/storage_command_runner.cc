#include "runtime/storage_command_runner.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <vector>

#include "js/serializer.h"
#include "js/strings.h"
#include "storage/admin_sql.h"
#include "storage/list_range.h"
#include "storage/object_database.h"
#include "util/base64.h"
#include "util/json_escape.h"

namespace dorm::runtime {

namespace {

// Bounds of what one answer shows: a value in a list, a value read alone, a whole answer.
constexpr size_t kListedValueBytes = 64u << 10;
constexpr size_t kSingleValueBytes = 8u << 20;
constexpr size_t kAnswerBytes = 16u << 20;
constexpr size_t kSqlAnswerBytes = 4u << 20;
// Nesting shown before a value is cut short with {"$type":"TooDeep"}.
constexpr int kMaxShownDepth = 128;

HttpResponseData JsonAnswer(std::string body) {
  HttpResponseData r;
  r.status = 200;
  r.headers.emplace_back("content-type", "application/json");
  r.body = std::move(body);
  return r;
}

std::string IsoMillis(double ms) {
  if (!std::isfinite(ms) || std::fabs(ms) > 8.64e15) return "null";
  const long long whole = static_cast<long long>(std::floor(ms / 1000));
  const int millis = static_cast<int>(static_cast<long long>(ms) - whole * 1000);
  time_t seconds = static_cast<time_t>(whole);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string RegExpFlags(v8::RegExp::Flags flags) {
  std::string out;
  if (flags & v8::RegExp::kHasIndices) out += 'd';
  if (flags & v8::RegExp::kGlobal) out += 'g';
  if (flags & v8::RegExp::kIgnoreCase) out += 'i';
  if (flags & v8::RegExp::kMultiline) out += 'm';
  if (flags & v8::RegExp::kDotAll) out += 's';
  if (flags & v8::RegExp::kUnicode) out += 'u';
  if (flags & v8::RegExp::kSticky) out += 'y';
  return out;
}

// Writes a value read back from a structured clone as JSON, in the tagged form of
// storage_command.h. Everything is read through the V8 API in the caller's fresh context: the
// objects structured clone makes have only own data properties, so no JavaScript runs.
class TaggedJson {
 public:
  TaggedJson(v8::Isolate* isolate, v8::Local<v8::Context> context, size_t budget)
      : isolate_(isolate), context_(context), budget_(budget) {}

  // Appends `value` to `out`; false once `out` grew past the budget (the caller replaces it).
  bool Write(v8::Local<v8::Value> value, std::string& out, int depth) {
    if (out.size() > budget_) return false;
    if (value->IsUndefined()) {
      out += "{\"$type\":\"undefined\"}";
    } else if (value->IsNull()) {
      out += "null";
    } else if (value->IsTrue()) {
      out += "true";
    } else if (value->IsFalse()) {
      out += "false";
    } else if (value->IsNumber()) {
      WriteNumber(value.As<v8::Number>()->Value(), out);
    } else if (value->IsBigInt()) {
      out += "{\"$type\":\"bigint\",\"value\":" + JsonQuote(js::ToUtf8(isolate_, value)) + "}";
    } else if (value->IsString()) {
      out += JsonQuote(js::ToUtf8(isolate_, value));
    } else if (value->IsObject()) {
      if (depth >= kMaxShownDepth) {
        out += "{\"$type\":\"TooDeep\"}";
        return true;
      }
      v8::Local<v8::Object> object = value.As<v8::Object>();
      for (const auto& seen : path_) {
        if (seen->StrictEquals(object)) {
          out += "{\"$type\":\"Circular\"}";
          return true;
        }
      }
      path_.push_back(object);
      const bool ok = WriteObject(object, out, depth);
      path_.pop_back();
      return ok && out.size() <= budget_;
    } else {
      out += "{\"$type\":\"Undecodable\",\"error\":\"unknown value\"}";
    }
    return out.size() <= budget_;
  }

 private:
  static void WriteNumber(double n, std::string& out) {
    if (std::isnan(n)) {
      out += "{\"$type\":\"number\",\"value\":\"NaN\"}";
    } else if (std::isinf(n)) {
      out += n > 0 ? "{\"$type\":\"number\",\"value\":\"Infinity\"}"
                   : "{\"$type\":\"number\",\"value\":\"-Infinity\"}";
    } else if (n == 0 && std::signbit(n)) {
      out += "{\"$type\":\"number\",\"value\":\"-0\"}";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", n);
      // The shortest form that reads back as the same double.
      for (int precision = 1; precision <= 17; ++precision) {
        char shorter[32];
        std::snprintf(shorter, sizeof shorter, "%.*g", precision, n);
        if (std::strtod(shorter, nullptr) == n) {
          std::snprintf(buf, sizeof buf, "%s", shorter);
          break;
        }
      }
      out += buf;
    }
  }

  bool Tagged(const char* type, const std::string& fields, std::string& out) {
    out += "{\"$type\":\"";
    out += type;
    out += "\"";
    out += fields;
    out += "}";
    return out.size() <= budget_;
  }

  bool WriteBytes(const char* type, const void* data, size_t size, std::string& out) {
    if (out.size() + size * 4 / 3 > budget_) return false;
    return Tagged(type,
                  ",\"base64\":\"" +
                      Base64Encode(std::string_view(static_cast<const char*>(data), size)) + "\"",
                  out);
  }

  bool WriteList(v8::Local<v8::Array> items, size_t stride, std::string& out, int depth) {
    out += '[';
    const uint32_t length = items->Length();
    for (uint32_t i = 0; i < length; i += static_cast<uint32_t>(stride)) {
      if (i > 0) out += ',';
      if (stride == 2) out += '[';
      for (uint32_t j = i; j < i + stride && j < length; ++j) {
        if (j > i) out += ',';
        v8::Local<v8::Value> item;
        if (!items->Get(context_, j).ToLocal(&item) || !Write(item, out, depth + 1)) return false;
      }
      if (stride == 2) out += ']';
      if (out.size() > budget_) return false;
    }
    out += ']';
    return true;
  }

  bool WriteObject(v8::Local<v8::Object> object, std::string& out, int depth) {
    if (object->IsDate()) {
      return Tagged("Date", ",\"value\":" + IsoMillis(object.As<v8::Date>()->ValueOf()), out);
    }
    if (object->IsRegExp()) {
      v8::Local<v8::RegExp> re = object.As<v8::RegExp>();
      return Tagged("RegExp",
                    ",\"source\":" + JsonQuote(js::ToUtf8(isolate_, re->GetSource())) +
                        ",\"flags\":" + JsonQuote(RegExpFlags(re->GetFlags())),
                    out);
    }
    if (object->IsBooleanObject()) {
      return Tagged("Boolean",
                    std::string(",\"value\":") +
                        (object.As<v8::BooleanObject>()->ValueOf() ? "true" : "false"),
                    out);
    }
    if (object->IsNumberObject()) {
      std::string number;
      WriteNumber(object.As<v8::NumberObject>()->ValueOf(), number);
      return Tagged("Number", ",\"value\":" + number, out);
    }
    if (object->IsStringObject()) {
      return Tagged(
          "String",
          ",\"value\":" + JsonQuote(js::ToUtf8(isolate_, object.As<v8::StringObject>()->ValueOf())),
          out);
    }
    if (object->IsBigIntObject()) {
      return Tagged(
          "BigInt",
          ",\"value\":" + JsonQuote(js::ToUtf8(isolate_, object.As<v8::BigIntObject>()->ValueOf())),
          out);
    }
    if (object->IsArrayBuffer()) {
      auto store = object.As<v8::ArrayBuffer>()->GetBackingStore();
      return WriteBytes("ArrayBuffer", store->Data(), store->ByteLength(), out);
    }
    if (object->IsArrayBufferView()) {
      v8::Local<v8::ArrayBufferView> view = object.As<v8::ArrayBufferView>();
      std::string bytes(view->ByteLength(), '\0');
      view->CopyContents(bytes.data(), bytes.size());
      const std::string type = js::ToUtf8(isolate_, object->GetConstructorName());
      return WriteBytes(type.c_str(), bytes.data(), bytes.size(), out);
    }
    if (object->IsMap()) {
      out += "{\"$type\":\"Map\",\"entries\":";
      if (!WriteList(object.As<v8::Map>()->AsArray(), 2, out, depth)) return false;
      out += '}';
      return true;
    }
    if (object->IsSet()) {
      out += "{\"$type\":\"Set\",\"values\":";
      if (!WriteList(object.As<v8::Set>()->AsArray(), 1, out, depth)) return false;
      out += '}';
      return true;
    }
    if (object->IsNativeError()) {
      v8::Local<v8::Value> name, message;
      std::string name_text = "Error", message_text;
      if (object->Get(context_, js::FromUtf8(isolate_, "name")).ToLocal(&name) && name->IsString())
        name_text = js::ToUtf8(isolate_, name);
      if (object->Get(context_, js::FromUtf8(isolate_, "message")).ToLocal(&message) &&
          message->IsString())
        message_text = js::ToUtf8(isolate_, message);
      return Tagged("Error",
                    ",\"name\":" + JsonQuote(name_text) + ",\"message\":" + JsonQuote(message_text),
                    out);
    }
    if (object->IsArray()) {
      v8::Local<v8::Array> array = object.As<v8::Array>();
      out += '[';
      const uint32_t length = array->Length();
      for (uint32_t i = 0; i < length; ++i) {
        if (i > 0) out += ',';
        bool present = false;
        if (!object->HasRealIndexedProperty(context_, i).To(&present)) return false;
        if (!present) {
          out += "{\"$type\":\"hole\"}";
        } else {
          v8::Local<v8::Value> item;
          if (!array->Get(context_, i).ToLocal(&item) || !Write(item, out, depth + 1)) return false;
        }
        if (out.size() > budget_) return false;
      }
      out += ']';
      return true;
    }
    v8::Local<v8::Array> keys;
    if (!object
             ->GetOwnPropertyNames(
                 context_, static_cast<v8::PropertyFilter>(v8::ONLY_ENUMERABLE | v8::SKIP_SYMBOLS),
                 v8::KeyConversionMode::kConvertToString)
             .ToLocal(&keys)) {
      return false;
    }
    std::string body = "{";
    bool has_type_key = false;
    for (uint32_t i = 0; i < keys->Length(); ++i) {
      v8::Local<v8::Value> key, item;
      if (!keys->Get(context_, i).ToLocal(&key)) return false;
      const std::string name = js::ToUtf8(isolate_, key);
      has_type_key |= name == "$type";
      if (i > 0) body += ',';
      body += JsonQuote(name);
      body += ':';
      if (!object->Get(context_, key).ToLocal(&item) || !Write(item, body, depth + 1)) return false;
      if (out.size() + body.size() > budget_) return false;
    }
    body += '}';
    if (has_type_key) {
      out += "{\"$type\":\"Object\",\"value\":" + body + "}";
    } else {
      out += body;
    }
    return true;
  }

  v8::Isolate* isolate_;
  v8::Local<v8::Context> context_;
  size_t budget_;
  std::vector<v8::Local<v8::Object>> path_;  // the objects being written, for cycles
};

// The stored bytes of a value as tagged JSON, at most about `budget` bytes.
std::string ShowValue(v8::Isolate* isolate, v8::Local<v8::Context> context, std::string_view bytes,
                      size_t budget) {
  v8::HandleScope scope(isolate);
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> value;
  if (!js::Deserialize(isolate, bytes.data(), bytes.size(), js::CloneHooks{}).ToLocal(&value)) {
    std::string error = try_catch.HasCaught() ? js::ExceptionMessage(isolate, try_catch.Exception())
                                              : std::string("cannot be read back");
    return "{\"$type\":\"Undecodable\",\"error\":" + JsonQuote(error) + "}";
  }
  std::string out;
  TaggedJson writer(isolate, context, budget);
  if (!writer.Write(value, out, 0)) {
    return "{\"$type\":\"TooLarge\",\"serialized_bytes\":" + std::to_string(bytes.size()) + "}";
  }
  return out;
}

HttpResponseData List(v8::Isolate* isolate, v8::Local<v8::Context> context,
                      storage::ObjectDatabase* db, const StorageCommand& command) {
  std::string entries;
  size_t count = 0;
  std::optional<std::string> cursor;
  if (db) {
    storage::ListOptions options;
    if (!command.prefix.empty()) options.prefix = command.prefix;
    if (!command.start_after.empty()) options.start_after = command.start_after;
    options.limit = command.limit + 1;  // one more tells whether a next page exists
    std::string error;
    std::optional<storage::ListRange> range = storage::CompileListRange(options, &error);
    if (!range) return HttpResponseData::JsonError(400, error);
    std::string last_key;
    db->List(*range, [&](std::string_view key, std::string_view value) {
      if (count == static_cast<size_t>(command.limit) || entries.size() > kAnswerBytes) {
        cursor = last_key;
        return;
      }
      if (count > 0) entries += ',';
      entries += "{\"key\":" + JsonQuote(js::ToUtf8(isolate, js::FromUtf8(isolate, key))) +
                 ",\"value\":" + ShowValue(isolate, context, value, kListedValueBytes) + "}";
      last_key.assign(key);
      ++count;
    });
  }
  return JsonAnswer("{\"entries\":[" + entries + "],\"count\":" + std::to_string(count) +
                    ",\"cursor\":" + (cursor ? JsonQuote(*cursor) : std::string("null")) + "}");
}

HttpResponseData Put(v8::Isolate* isolate, v8::Local<v8::Context> context,
                     storage::ObjectDatabase* db, const StorageCommand& command, bool* wrote) {
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::String> text = js::FromUtf8(isolate, command.value_json);
  v8::Local<v8::Value> value;
  if (text.IsEmpty() || !v8::JSON::Parse(context, text).ToLocal(&value)) {
    std::string why = try_catch.HasCaught() ? js::ExceptionMessage(isolate, try_catch.Exception())
                                            : std::string("too long");
    return HttpResponseData::JsonError(400, "The value is not JSON: " + why);
  }
  std::optional<std::string> bytes = js::Serialize(isolate, value, js::CloneHooks{});
  if (!bytes) {
    return HttpResponseData::JsonError(
        400, "The value cannot be stored: " +
                 (try_catch.HasCaught() ? js::ExceptionMessage(isolate, try_catch.Exception())
                                        : std::string("not cloneable")));
  }
  *wrote = true;
  db->EnsureTransaction();
  db->Put(command.key, *bytes);
  return JsonAnswer("{\"key\":" + JsonQuote(command.key) + ",\"stored\":true}");
}

// The ? parameters of a sql command: a JSON array of null, booleans, numbers and strings.
std::optional<std::vector<storage::SqlValue>> SqlParams(v8::Isolate* isolate,
                                                        v8::Local<v8::Context> context,
                                                        const std::string& json,
                                                        std::string* error) {
  std::vector<storage::SqlValue> params;
  if (json.empty()) return params;
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::String> text = js::FromUtf8(isolate, json);
  v8::Local<v8::Value> parsed;
  if (text.IsEmpty() || !v8::JSON::Parse(context, text).ToLocal(&parsed) || !parsed->IsArray()) {
    *error = "\"params\" must be a JSON array.";
    return std::nullopt;
  }
  v8::Local<v8::Array> list = parsed.As<v8::Array>();
  for (uint32_t i = 0; i < list->Length() && i <= 100; ++i) {
    v8::Local<v8::Value> item;
    if (!list->Get(context, i).ToLocal(&item)) return std::nullopt;
    if (item->IsNull()) {
      params.emplace_back(std::monostate{});
    } else if (item->IsBoolean()) {
      params.emplace_back(static_cast<int64_t>(item->IsTrue() ? 1 : 0));
    } else if (item->IsNumber()) {
      const double n = item.As<v8::Number>()->Value();
      if (std::trunc(n) == n && std::fabs(n) <= 9007199254740991.0) {
        params.emplace_back(static_cast<int64_t>(n));
      } else {
        params.emplace_back(n);
      }
    } else if (item->IsString()) {
      params.emplace_back(js::ToUtf8(isolate, item));
    } else {
      *error = "SQL parameters must be null, booleans, numbers or strings.";
      return std::nullopt;
    }
  }
  return params;
}

void WriteSqlValue(v8::Isolate* isolate, const storage::SqlValue& v, std::string& out) {
  if (const auto* n = std::get_if<int64_t>(&v)) {
    // Past 2^53 a JSON reader would round it: such integers are strings.
    if (*n > 9007199254740991LL || *n < -9007199254740991LL) {
      out += "\"" + std::to_string(*n) + "\"";
    } else {
      out += std::to_string(*n);
    }
  } else if (const auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d)) {
      out += "null";
    } else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      out += buf;
    }
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    // TEXT may hold bytes that are not UTF-8; shown with U+FFFD in their place.
    out += JsonQuote(js::ToUtf8(isolate, js::FromUtf8(isolate, *s)));
  } else if (const auto* b = std::get_if<storage::SqlBlob>(&v)) {
    out += "{\"$type\":\"blob\",\"base64\":\"" + Base64Encode(b->bytes) + "\"}";
  } else {
    out += "null";
  }
}

HttpResponseData Sql(v8::Isolate* isolate, v8::Local<v8::Context> context,
                     storage::ObjectDatabase* db, const StorageCommand& command, bool* wrote) {
  std::string error;
  auto params = SqlParams(isolate, context, command.params_json, &error);
  if (!params) return HttpResponseData::JsonError(400, error);
  if (!db) {
    // No database yet: nothing to read. (A write creates it: the caller opened it for writing.)
    return HttpResponseData::JsonError(404, "The object has no storage yet.");
  }
  storage::AdminSqlResult result =
      storage::RunAdminSql(*db, command.sql, *params, command.write,
                           static_cast<size_t>(command.limit), kSqlAnswerBytes);
  if (!result.error.empty()) return HttpResponseData::JsonError(400, result.error);
  *wrote = command.write;
  std::string out = "{\"columns\":[";
  for (size_t i = 0; i < result.columns.size(); ++i) {
    if (i > 0) out += ',';
    out += JsonQuote(js::ToUtf8(isolate, js::FromUtf8(isolate, result.columns[i])));
  }
  out += "],\"rows\":[";
  for (size_t r = 0; r < result.rows.size(); ++r) {
    if (r > 0) out += ',';
    out += '[';
    for (size_t c = 0; c < result.rows[r].size(); ++c) {
      if (c > 0) out += ',';
      WriteSqlValue(isolate, result.rows[r][c], out);
    }
    out += ']';
  }
  out += "],\"truncated\":";
  out += result.truncated ? "true" : "false";
  out += ",\"rows_written\":" + std::to_string(result.rows_written) + "}";
  return JsonAnswer(std::move(out));
}

}  // namespace

HttpResponseData RunStorageCommand(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                   storage::ObjectDatabase* db, const StorageCommand& command,
                                   bool* wrote) {
  *wrote = false;
  // Keys that JavaScript stores are always UTF-8; anything else names no key and could not be
  // shown as JSON.
  for (const std::string* text : {&command.key, &command.prefix, &command.start_after}) {
    if (js::ToUtf8(isolate, js::FromUtf8(isolate, *text)) != *text) {
      return HttpResponseData::JsonError(400, "Keys, prefixes and cursors must be UTF-8.");
    }
  }
  if (command.limit < 1 || command.limit > StorageCommand::kMaxLimit) {
    return HttpResponseData::JsonError(
        400, "limit must be between 1 and " + std::to_string(StorageCommand::kMaxLimit) + ".");
  }
  switch (command.op) {
    case StorageCommand::Op::kList:
      return List(isolate, context, db, command);
    case StorageCommand::Op::kGet: {
      std::optional<std::string> bytes = db ? db->Get(command.key) : std::nullopt;
      if (!bytes) {
        return HttpResponseData::JsonError(
            404, "No key " + JsonQuote(command.key) + " in the object's storage.");
      }
      return JsonAnswer("{\"key\":" + JsonQuote(command.key) + ",\"value\":" +
                        ShowValue(isolate, context, *bytes, kSingleValueBytes) + "}");
    }
    case StorageCommand::Op::kPut:
      return Put(isolate, context, db, command, wrote);
    case StorageCommand::Op::kDelete: {
      *wrote = true;
      db->EnsureTransaction();
      const bool deleted = db->Delete(command.key);
      return JsonAnswer("{\"key\":" + JsonQuote(command.key) +
                        ",\"deleted\":" + (deleted ? "true" : "false") + "}");
    }
    case StorageCommand::Op::kSql:
      return Sql(isolate, context, db, command, wrote);
    case StorageCommand::Op::kSnapshot:
    case StorageCommand::Op::kReplace:
      break;  // whole-file commands never come here (thread_engine_database_files.cc)
  }
  return HttpResponseData::JsonError(400, "Unknown storage command.");
}

}  // namespace dorm::runtime
