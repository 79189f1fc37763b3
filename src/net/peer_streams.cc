#include "net/peer_streams.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <mutex>
#include <unordered_map>

#include "util/crypto.h"

namespace dorm::net {
namespace {

namespace json = boost::json;

struct Pending {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<runtime::ResponseStream>> ends;
};

Pending& pending() {
  static Pending* instance = new Pending();  // never destroyed: timers may fire at exit
  return *instance;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = HexValue(hex[i]);
    const int low = HexValue(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

// `text` cut to at most `limit` bytes, not inside a UTF-8 sequence.
std::string Cut(const std::string& text, size_t limit) {
  if (text.size() <= limit) return text;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

std::string NewPeerStreamToken() { return ToHex(RandomBytes(16)); }

bool IsPeerStreamToken(std::string_view token) {
  if (token.size() != 32) return false;
  for (char c : token) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

std::shared_ptr<runtime::ResponseStream> JoinPeerStream(
    const std::string& token, std::shared_ptr<runtime::ResponseStream> offered,
    boost::asio::io_context& io) {
  Pending& table = pending();
  std::shared_ptr<runtime::ResponseStream> channel;
  {
    std::lock_guard<std::mutex> lock(table.mutex);
    auto it = table.ends.find(token);
    if (it != table.ends.end()) {
      channel = std::move(it->second);
      table.ends.erase(it);
      return channel;
    }
    if (table.ends.size() >= kMaxPendingPeerStreams) return nullptr;
    channel = offered ? std::move(offered) : std::make_shared<runtime::ResponseStream>();
    table.ends.emplace(token, channel);
  }
  // The other end has kPeerStreamJoinTimeout to come; the timer holds the channel only weakly.
  auto timer = std::make_shared<boost::asio::steady_timer>(io, kPeerStreamJoinTimeout);
  std::weak_ptr<runtime::ResponseStream> weak = channel;
  timer->async_wait([timer, token, weak](boost::system::error_code) {
    std::shared_ptr<runtime::ResponseStream> left;
    {
      Pending& table = pending();
      std::lock_guard<std::mutex> lock(table.mutex);
      auto it = table.ends.find(token);
      if (it == table.ends.end()) return;
      std::shared_ptr<runtime::ResponseStream> mine = weak.lock();
      if (mine && it->second != mine) return;
      left = std::move(it->second);
      table.ends.erase(it);
    }
    // Whichever end waits: a reader fails, a producer stops.
    left->Finish(false, runtime::ResponseStream::ConnectionLost());
    left->Cancel();
  });
  return channel;
}

std::string EncodePeerStreamFailure(const runtime::ResponseStream::Failure& failure) {
  json::object object;
  object["name"] = Cut(failure.name, 256);
  object["message"] = Cut(failure.message, kMaxPeerStreamFailureMessage);
  object["flags"] =
      (failure.reset ? 1 : 0) | (failure.client ? 2 : 0) | (failure.retryable ? 4 : 0);
  return std::string(";") + kPeerStreamFailureExtension + "=" + ToHex(json::serialize(object));
}

std::optional<runtime::ResponseStream::Failure> DecodePeerStreamFailure(
    std::string_view extensions) {
  const std::string key = std::string(";") + kPeerStreamFailureExtension + "=";
  const size_t at = extensions.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view value = extensions.substr(at + key.size());
  value = value.substr(0, value.find(';'));
  std::optional<std::string> text = FromHex(value);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value parsed = json::parse(*text, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const json::object& object = parsed.get_object();
  const json::value* name = object.if_contains("name");
  const json::value* message = object.if_contains("message");
  const json::value* flags = object.if_contains("flags");
  if (!name || !name->is_string() || !message || !message->is_string() || !flags ||
      !flags->is_int64()) {
    return std::nullopt;
  }
  runtime::ResponseStream::Failure failure;
  failure.name = std::string(name->get_string());
  failure.message = std::string(message->get_string());
  failure.reset = (flags->get_int64() & 1) != 0;
  failure.client = (flags->get_int64() & 2) != 0;
  failure.retryable = (flags->get_int64() & 4) != 0;
  return failure;
}

}  // namespace dorm::net
