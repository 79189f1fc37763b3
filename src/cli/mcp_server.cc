#include "cli/mcp_server.h"

#include <array>
#include <istream>
#include <ostream>

namespace dorm::cli {

namespace json = boost::json;

namespace {

// Newest first; the first is offered to a client that asks for a version not listed here.
constexpr std::array<std::string_view, 4> kProtocolVersions = {"2025-11-25", "2025-06-18",
                                                               "2025-03-26", "2024-11-05"};
// The first version whose tool results may carry `structuredContent`.
constexpr std::string_view kStructuredContentSince = "2025-06-18";

// JSON-RPC 2.0 error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;

struct RpcError {
  int code;
  std::string message;
};

std::string Line(const json::value& id, const char* member, json::value payload) {
  json::object message{{"jsonrpc", "2.0"}, {"id", id}};
  message[member] = std::move(payload);
  return json::serialize(message);
}

std::string ErrorLine(const json::value& id, const RpcError& error) {
  return Line(id, "error", json::object{{"code", error.code}, {"message", error.message}});
}

bool IsValidId(const json::value& id) { return id.is_string() || id.is_number(); }

}  // namespace

McpServer::McpServer(std::string name, std::string version, std::string instructions,
                     std::vector<McpTool> tools)
    : name_(std::move(name)),
      version_(std::move(version)),
      instructions_(std::move(instructions)),
      tools_(std::move(tools)) {}

int McpServer::Run(std::istream& in, std::ostream& out) {
  std::string line;
  while (std::getline(in, line)) {
    if (auto response = HandleLine(line)) out << *response << '\n' << std::flush;
  }
  return 0;
}

std::optional<std::string> McpServer::HandleLine(std::string_view line) {
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  json::value message = json::parse(line, ec);
  if (ec) return ErrorLine(nullptr, {kParseError, "Parse error: " + ec.message()});
  if (!message.is_object()) {
    return ErrorLine(
        nullptr, {kInvalidRequest, message.is_array() ? "Invalid Request: batches are not supported"
                                                      : "Invalid Request: not a JSON-RPC message"});
  }
  const json::object& o = message.as_object();
  const json::value* id = o.if_contains("id");
  const json::value* method = o.if_contains("method");
  const json::value* jsonrpc = o.if_contains("jsonrpc");
  if (!method && id && (o.contains("result") || o.contains("error"))) {
    return std::nullopt;  // a response; this server sends no requests, so nothing awaits it
  }
  json::value reply_id = id && IsValidId(*id) ? *id : json::value(nullptr);
  if (!jsonrpc || !jsonrpc->is_string() || jsonrpc->as_string() != "2.0") {
    return ErrorLine(reply_id, {kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\""});
  }
  if (!method || !method->is_string()) {
    return ErrorLine(reply_id, {kInvalidRequest, "Invalid Request: \"method\" must be a string"});
  }
  if (id && !IsValidId(*id)) {
    return ErrorLine(nullptr,
                     {kInvalidRequest, "Invalid Request: \"id\" must be a string or a number"});
  }
  std::string method_name(method->as_string());
  const json::value* params = o.if_contains("params");
  if (!id) {
    // Notifications get no answer. `notifications/initialized` needs no action either: requests
    // are served once `initialize` has been answered.
    return std::nullopt;
  }
  if (params && !params->is_object()) {
    return ErrorLine(*id, {kInvalidParams, "Invalid params: \"params\" must be an object"});
  }
  static const json::object kNoParams;
  try {
    json::value result = Dispatch(method_name, params ? params->as_object() : kNoParams);
    return Line(*id, "result", std::move(result));
  } catch (const RpcError& error) {
    return ErrorLine(*id, error);
  } catch (const std::exception& e) {
    return ErrorLine(*id, {kInternalError, std::string("Internal error: ") + e.what()});
  }
}

json::value McpServer::Dispatch(const std::string& method, const json::object& params) {
  if (method == "initialize") return Initialize(params);
  if (method == "ping") return json::object{};
  if (method != "tools/list" && method != "tools/call") {
    throw RpcError{kMethodNotFound, "Method not found: " + method};
  }
  if (protocol_version_.empty()) {
    throw RpcError{kInvalidRequest,
                   "Invalid Request: send \"initialize\" before \"" + method + "\""};
  }
  return method == "tools/list" ? ListTools() : CallTool(params);
}

json::value McpServer::Initialize(const json::object& params) {
  if (!protocol_version_.empty()) {
    throw RpcError{kInvalidRequest, "Invalid Request: the session is already initialized"};
  }
  const json::value* requested = params.if_contains("protocolVersion");
  if (!requested || !requested->is_string()) {
    throw RpcError{kInvalidParams, "Invalid params: \"protocolVersion\" must be a string"};
  }
  protocol_version_ = std::string(kProtocolVersions.front());
  for (std::string_view supported : kProtocolVersions) {
    if (requested->as_string() == supported) protocol_version_ = std::string(supported);
  }
  return json::object{
      {"protocolVersion", protocol_version_},
      {"capabilities", json::object{{"tools", json::object{{"listChanged", false}}}}},
      {"serverInfo", json::object{{"name", name_}, {"version", version_}}},
      {"instructions", instructions_}};
}

json::value McpServer::ListTools() const {
  json::array tools;
  for (const McpTool& tool : tools_) {
    json::object entry{{"name", tool.name},
                       {"title", tool.title},
                       {"description", tool.description},
                       {"inputSchema", tool.input_schema}};
    if (!tool.annotations.empty()) entry["annotations"] = tool.annotations;
    tools.push_back(std::move(entry));
  }
  return json::object{{"tools", std::move(tools)}};
}

json::value McpServer::CallTool(const json::object& params) {
  const json::value* name = params.if_contains("name");
  if (!name || !name->is_string()) {
    throw RpcError{kInvalidParams, "Invalid params: \"name\" must be the tool's name"};
  }
  const McpTool* tool = nullptr;
  for (const McpTool& candidate : tools_) {
    if (name->as_string() == candidate.name) tool = &candidate;
  }
  if (!tool) {
    throw RpcError{kInvalidParams, "Unknown tool: " + std::string(name->as_string())};
  }
  const json::value* arguments = params.if_contains("arguments");
  if (arguments && !arguments->is_object() && !arguments->is_null()) {
    throw RpcError{kInvalidParams, "Invalid params: \"arguments\" must be an object"};
  }
  static const json::object kNoArguments;
  McpToolResult result;
  try {
    result =
        tool->call(arguments && arguments->is_object() ? arguments->as_object() : kNoArguments);
  } catch (const std::exception& e) {
    result = McpToolResult{true, e.what(), std::nullopt};
  }
  json::object answer{
      {"content", json::array{json::object{{"type", "text"}, {"text", result.text}}}},
      {"isError", result.is_error}};
  if (result.structured && protocol_version_ >= kStructuredContentSince) {
    answer["structuredContent"] = std::move(*result.structured);
  }
  return answer;
}

}  // namespace dorm::cli
