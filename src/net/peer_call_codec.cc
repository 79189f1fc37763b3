#include "net/peer_call_codec.h"

#include <boost/json.hpp>

#include "net/peer_streams.h"
#include "util/base64.h"

namespace dorm::net {
namespace json = boost::json;
namespace {

json::array HeadersToJson(const runtime::HeaderList& headers) {
  json::array list;
  list.reserve(headers.size());
  for (const auto& [name, value] : headers) list.push_back(json::array{name, value});
  return list;
}

bool HeadersFromJson(const json::value* value, runtime::HeaderList* headers) {
  if (!value || !value->is_array()) return false;
  for (const json::value& pair : value->get_array()) {
    if (!pair.is_array() || pair.get_array().size() != 2 || !pair.get_array()[0].is_string() ||
        !pair.get_array()[1].is_string()) {
      return false;
    }
    headers->emplace_back(std::string(pair.get_array()[0].get_string()),
                          std::string(pair.get_array()[1].get_string()));
  }
  return true;
}

bool StringField(const json::object& object, const char* name, std::string* out) {
  const json::value* value = object.if_contains(name);
  if (!value || !value->is_string()) return false;
  *out = std::string(value->get_string());
  return true;
}

bool IntField(const json::object& object, const char* name, int64_t* out) {
  const json::value* value = object.if_contains(name);
  if (!value || !value->is_int64()) return false;
  *out = value->get_int64();
  return true;
}

json::array StreamsToJson(const std::vector<PeerStreamRef>& streams) {
  json::array list;
  list.reserve(streams.size());
  for (const PeerStreamRef& stream : streams) {
    list.push_back(json::array{stream.token, stream.writable});
  }
  return list;
}

// An absent list is an empty one (a call or answer without streams).
bool StreamsFromJson(const json::value* value, std::vector<PeerStreamRef>* streams) {
  if (!value) return true;
  if (!value->is_array() || value->get_array().size() > kMaxPeerMessageStreams) return false;
  for (const json::value& pair : value->get_array()) {
    if (!pair.is_array() || pair.get_array().size() != 2 || !pair.get_array()[0].is_string() ||
        !pair.get_array()[1].is_bool() || !IsPeerStreamToken(pair.get_array()[0].get_string())) {
      return false;
    }
    streams->push_back(
        {std::string(pair.get_array()[0].get_string()), pair.get_array()[1].get_bool()});
  }
  return true;
}

std::optional<json::object> ParseObject(std::string_view text) {
  std::optional<std::string> bytes = Base64Decode(text);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value parsed = json::parse(*bytes, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  return std::move(parsed.get_object());
}

}  // namespace

std::string EncodeCallMeta(const PeerCallMeta& meta) {
  json::object object;
  object["app"] = meta.address.app;
  object["class"] = meta.address.class_name;
  object["name"] = meta.address.instance_name;
  object["id"] = meta.address.object_id;
  object["method"] = meta.method;
  object["httpMethod"] = meta.http_method;
  object["url"] = meta.url;
  object["headers"] = HeadersToJson(meta.headers);
  if (!meta.streams.empty()) object["streams"] = StreamsToJson(meta.streams);
  if (!meta.stream.empty()) object["stream"] = meta.stream;
  return Base64Encode(json::serialize(object));
}

std::optional<PeerCallMeta> DecodeCallMeta(std::string_view text) {
  std::optional<json::object> object = ParseObject(text);
  if (!object) return std::nullopt;
  PeerCallMeta meta;
  if (!StringField(*object, "app", &meta.address.app) ||
      !StringField(*object, "class", &meta.address.class_name) ||
      !StringField(*object, "name", &meta.address.instance_name) ||
      !StringField(*object, "id", &meta.address.object_id) ||
      !StringField(*object, "method", &meta.method) ||
      !StringField(*object, "httpMethod", &meta.http_method) ||
      !StringField(*object, "url", &meta.url) ||
      !HeadersFromJson(object->if_contains("headers"), &meta.headers) ||
      !StreamsFromJson(object->if_contains("streams"), &meta.streams)) {
    return std::nullopt;
  }
  if (const json::value* stream = object->if_contains("stream")) {
    if (!stream->is_string() || !IsPeerStreamToken(stream->get_string())) return std::nullopt;
    meta.stream = std::string(stream->get_string());
  }
  return meta;
}

std::string SignedTarget(std::string_view target, std::string_view call_header) {
  std::string signed_target(target);
  signed_target += '\n';
  signed_target += call_header;
  return signed_target;
}

std::string EncodeAnswerMeta(const runtime::HttpResponseData& answer,
                             const std::vector<PeerStreamRef>& streams) {
  json::object object;
  object["status"] = answer.status;
  object["statusText"] = answer.status_text;
  object["headers"] = HeadersToJson(answer.headers);
  object["outcome"] = answer.rpc_outcome == runtime::HttpResponseData::RpcOutcome::kReturned ? 1
                      : answer.rpc_outcome == runtime::HttpResponseData::RpcOutcome::kThrew  ? 2
                                                                                             : 0;
  object["flags"] = (answer.runtime_error ? 1 : 0) | (answer.object_reset ? 2 : 0) |
                    (answer.reset_retryable ? 4 : 0) | (answer.reset_overloaded ? 8 : 0) |
                    (answer.owned_elsewhere ? 16 : 0);
  object["thrownName"] = answer.thrown_name;
  object["owner"] = answer.owner_node;
  if (!streams.empty()) object["streams"] = StreamsToJson(streams);
  return Base64Encode(json::serialize(object));
}

bool DecodeAnswerMeta(std::string_view text, runtime::HttpResponseData* answer,
                      std::vector<PeerStreamRef>* streams) {
  std::optional<json::object> object = ParseObject(text);
  if (!object) return false;
  int64_t status = 0, outcome = 0, flags = 0;
  runtime::HeaderList headers;
  if (!IntField(*object, "status", &status) || status < 100 || status > 999 ||
      !IntField(*object, "outcome", &outcome) || outcome < 0 || outcome > 2 ||
      !IntField(*object, "flags", &flags) ||
      !StringField(*object, "statusText", &answer->status_text) ||
      !StringField(*object, "thrownName", &answer->thrown_name) ||
      !StringField(*object, "owner", &answer->owner_node) ||
      !HeadersFromJson(object->if_contains("headers"), &headers)) {
    return false;
  }
  std::vector<PeerStreamRef> carried;
  if (!StreamsFromJson(object->if_contains("streams"), &carried)) return false;
  if (streams) {
    *streams = std::move(carried);
  } else if (!carried.empty()) {
    return false;
  }
  answer->status = static_cast<int>(status);
  answer->headers = std::move(headers);
  answer->rpc_outcome = outcome == 1   ? runtime::HttpResponseData::RpcOutcome::kReturned
                        : outcome == 2 ? runtime::HttpResponseData::RpcOutcome::kThrew
                                       : runtime::HttpResponseData::RpcOutcome::kNone;
  answer->runtime_error = (flags & 1) != 0;
  answer->object_reset = (flags & 2) != 0;
  answer->reset_retryable = (flags & 4) != 0;
  answer->reset_overloaded = (flags & 8) != 0;
  answer->owned_elsewhere = (flags & 16) != 0;
  return true;
}

}  // namespace dorm::net
