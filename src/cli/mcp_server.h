// A Model Context Protocol server over stdio (`dorm mcp`): JSON-RPC 2.0 messages, one per line,
// read from `in` and answered on `out`, offering tools (the MCP "tools" capability only).
//
// Lifecycle as in the MCP specification: `initialize` (the client's protocolVersion is echoed
// when supported, otherwise the newest supported one is offered), `notifications/initialized`,
// then `tools/list`, `tools/call` and `ping`. Protocol errors are JSON-RPC errors (-32700 parse
// error, -32600 invalid request, -32601 unknown method, -32602 invalid params such as an unknown
// tool); a tool that fails answers a result with `isError: true` and the reason as text.
//
// Not thread-safe: one McpServer serves one stream, and handles one message at a time (tools run
// synchronously). Nothing but protocol messages is written to `out`.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dorm::cli {

struct McpToolResult {
  bool is_error = false;
  std::string text;                               // shown to the model
  std::optional<boost::json::object> structured;  // the same result as JSON, when it is an object
};

struct McpTool {
  std::string name;
  std::string title;
  std::string description;
  boost::json::object input_schema;  // a JSON Schema of type "object"
  boost::json::object annotations;   // MCP tool annotations (hints), may be empty
  // Runs the tool with the call's arguments. Reports failures in the result; may throw
  // std::exception, which becomes an error result with the exception's message.
  std::function<McpToolResult(const boost::json::object& arguments)> call;
};

class McpServer {
 public:
  McpServer(std::string name, std::string version, std::string instructions,
            std::vector<McpTool> tools);

  // Serves until `in` ends. Returns the process exit status (0).
  int Run(std::istream& in, std::ostream& out);

  // Handles one received line: the serialized response, or nullopt when nothing is to be sent
  // (notifications, responses, blank lines).
  std::optional<std::string> HandleLine(std::string_view line);

 private:
  // Each returns the request's result or throws the JSON-RPC error to answer (mcp_server.cc).
  boost::json::value Dispatch(const std::string& method, const boost::json::object& params);
  boost::json::value Initialize(const boost::json::object& params);
  boost::json::value ListTools() const;
  boost::json::value CallTool(const boost::json::object& params);

  std::string name_;
  std::string version_;
  std::string instructions_;
  std::vector<McpTool> tools_;
  std::string protocol_version_;  // negotiated; empty before `initialize`
};

}  // namespace dorm::cli
