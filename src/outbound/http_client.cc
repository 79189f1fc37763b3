#include "outbound/http_client.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace dorm::outbound {
namespace {

namespace asio = boost::asio;

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("libcurl could not be initialized");
    }
  });
}

// What fetch() reports for a failed exchange, by libcurl's code.
ExchangeError ErrorFor(CURLcode code, const char* detail) {
  ExchangeError error;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      error.kind = ExchangeError::Kind::kTimeout;
      error.message = "The request timed out.";
      return error;
    case CURLE_COULDNT_RESOLVE_HOST:
      error.message = "DNS lookup failed.";
      break;
    case CURLE_BAD_CONTENT_ENCODING:
      error.kind = ExchangeError::Kind::kBadEncoding;
      error.message = "Gzip decompression failed.";
      return error;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
      error.kind = ExchangeError::Kind::kTls;
      error.message = std::string("TLS handshake failed: ") + (*detail ? detail : "unknown") + ".";
      return error;
    default:
      error.message = "Network connection lost.";
      break;
  }
  return error;
}

}  // namespace

struct HttpClient::Exchange {
  HttpClient* client = nullptr;
  Id id = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  ExchangeRequest request;
  ExchangeResponse response;
  Head head;
  Wake wake;
  std::unique_ptr<asio::steady_timer> head_timer;
  std::string host;  // the URL's host, for host-name rules
  // Why the address policy refused the last address tried; empty if none was refused.
  std::string refusal;
  std::string received;        // body bytes not yet read
  bool head_complete = false;  // the final (non-1xx) head has arrived
  bool head_delivered = false;
  bool transfer_done = false;  // libcurl is done with it; `failed` and `error` say how
  bool failed = false;
  ExchangeError error;
  bool recv_paused = false;  // the write callback asked libcurl to hold the body
  bool send_paused = false;  // the read callback had nothing to send yet
  bool upload_failed = false;
  bool reader_waiting = false;
  bool queued = false;  // in HttpClient::news_
  size_t charged = 0;   // bytes counted against request.budget, given back as they are read
  char error_text[CURL_ERROR_SIZE] = {};

  ~Exchange() {
    if (header_list) curl_slist_free_all(header_list);
    if (request.budget) request.budget->used -= charged;
    if (request.upload) request.upload->Close();
  }
};

struct HttpClient::Socket {
  Socket(asio::io_context& io, int fd) : fd(fd), descriptor(io, fd) {}
  int fd;
  asio::posix::stream_descriptor descriptor;
  int wanted = 0;  // CURL_POLL_IN / OUT / INOUT, 0 when not watched
  bool reading = false;
  bool writing = false;
  bool closed = false;
};

HttpClient::HttpClient(asio::io_context& io, std::shared_ptr<const ClientOptions> options)
    : io_(io), options_(std::move(options)), timer_(io), alive_(std::make_shared<bool>(true)) {
  InitCurlOnce();
  multi_ = curl_multi_init();
  if (!multi_) throw std::runtime_error("libcurl could not make a multi handle");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HttpClient::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HttpClient::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

HttpClient::~HttpClient() {
  *alive_ = false;
  timer_.cancel();
  for (auto& [id, exchange] : exchanges_) {
    if (!exchange->easy) continue;
    curl_multi_remove_handle(multi_, exchange->easy);
    curl_easy_cleanup(exchange->easy);
  }
  exchanges_.clear();
  curl_multi_cleanup(multi_);  // closes cached connections through OnCloseSocket
  for (auto& [fd, socket] : sockets_) {
    socket->closed = true;
    boost::system::error_code ignored;
    socket->descriptor.cancel(ignored);
    ::close(socket->descriptor.release());
  }
}

HttpClient::Id HttpClient::Start(ExchangeRequest request, Head head, Wake wake) {
  auto exchange = std::make_unique<Exchange>();
  Exchange* x = exchange.get();
  x->client = this;
  x->id = next_id_++;
  x->request = std::move(request);
  x->head = std::move(head);
  x->wake = std::move(wake);
  x->easy = curl_easy_init();
  if (!x->easy) throw std::runtime_error("libcurl could not make an easy handle");

  if (CURLU* url = curl_url()) {
    char* host = nullptr;
    if (curl_url_set(url, CURLUPART_URL, x->request.url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
      x->host = host;
      curl_free(host);
    }
    curl_url_cleanup(url);
  }

  CURL* easy = x->easy;
  curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
  curl_easy_setopt(easy, CURLOPT_URL, x->request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  // Never through a proxy named by the environment: the address check is about the real peer.
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, x->error_text);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_->connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_->extra_ca_file.empty()) {
    // Replaces the default bundle file; the system's CAs stay trusted through the default CA
    // directory.
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_->extra_ca_file.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &HttpClient::OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, x);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &HttpClient::OnCloseSocket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &HttpClient::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpClient::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, x);

  // Headers as given; libcurl's own defaults (Accept, Expect, a form Content-Type) are left out
  // unless the request sets them.
  bool has_accept = false, has_expect = false, has_content_type = false, has_encoding = false;
  for (const auto& [name, value] : x->request.headers) {
    has_accept |= EqualsIgnoringCase(name, "accept");
    has_expect |= EqualsIgnoringCase(name, "expect");
    has_content_type |= EqualsIgnoringCase(name, "content-type");
    has_encoding |= EqualsIgnoringCase(name, "accept-encoding");
    // "Name;" is libcurl's spelling of a header with an empty value.
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    x->header_list = curl_slist_append(x->header_list, line.c_str());
  }
  if (!has_accept) x->header_list = curl_slist_append(x->header_list, "Accept:");
  if (!has_expect) x->header_list = curl_slist_append(x->header_list, "Expect:");
  if (!has_content_type) x->header_list = curl_slist_append(x->header_list, "Content-Type:");
  // As workerd, nothing is offered unless the request does. A gzip or br body is decoded here
  // only when the request asks (decode_body): fetch() decodes as the body is read instead.
  if (!has_encoding) x->header_list = curl_slist_append(x->header_list, "Accept-Encoding:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, x->header_list);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip, br");
  if (!x->request.decode_body) curl_easy_setopt(easy, CURLOPT_HTTP_CONTENT_DECODING, 0L);

  const std::string& method = x->request.method;
  const bool sends_body = x->request.has_body || method == "POST" || method == "PUT";
  if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (x->request.upload) {
    // Sent as written: with Content-Length when the length is known, else chunked.
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &HttpClient::OnUpload);
    curl_easy_setopt(easy, CURLOPT_READDATA, x);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(x->request.upload->length));
    if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    x->request.upload->on_data = [this, x] {
      if (x->send_paused) Notify(x);
    };
  } else if (sends_body) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(x->request.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, x->request.body.data());
    if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    if (method != "GET") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  const Id id = x->id;
  x->head_timer = std::make_unique<asio::steady_timer>(io_, options_->exchange_timeout);
  x->head_timer->async_wait([this, id, alive = alive_](const boost::system::error_code& ec) {
    if (!ec && *alive) HeadTimedOut(id);
  });
  exchanges_.emplace(id, std::move(exchange));
  curl_multi_add_handle(multi_, easy);
  return id;
}

void HttpClient::Cancel(Id id) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) return;
  std::unique_ptr<Exchange> exchange = std::move(it->second);
  exchanges_.erase(it);
  if (exchange->head_timer) exchange->head_timer->cancel();
  if (exchange->easy) {
    // An unfinished transfer's connection is closed by libcurl rather than reused.
    curl_multi_remove_handle(multi_, exchange->easy);
    curl_easy_cleanup(exchange->easy);
  }
}

HttpClient::Chunk HttpClient::Read(Id id) {
  Chunk chunk;
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) {
    chunk.ended = true;
    chunk.failed = true;
    chunk.error.message = "Network connection lost.";
    return chunk;
  }
  Exchange* x = it->second.get();
  chunk.bytes = std::move(x->received);
  x->received.clear();
  if (x->request.budget) x->request.budget->used -= x->charged;
  x->charged = 0;
  if (x->transfer_done) {
    chunk.ended = true;
    chunk.failed = x->failed;
    chunk.error = std::move(x->error);
    exchanges_.erase(it);
    return chunk;
  }
  if (chunk.bytes.empty()) x->reader_waiting = true;
  if (x->recv_paused) {
    x->recv_paused = false;
    // May hand libcurl's held bytes to OnBody at once (which only queues them).
    Resume(x);
  }
  return chunk;
}

void HttpClient::Resume(Exchange* x) {
  if (!x->easy) return;
  curl_easy_pause(x->easy,
                  (x->recv_paused ? CURLPAUSE_RECV : 0) | (x->send_paused ? CURLPAUSE_SEND : 0));
}

void HttpClient::HeadTimedOut(Id id) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end() || it->second->head_complete || it->second->transfer_done) return;
  std::unique_ptr<Exchange> exchange = std::move(it->second);
  exchanges_.erase(it);
  curl_multi_remove_handle(multi_, exchange->easy);
  curl_easy_cleanup(exchange->easy);
  exchange->easy = nullptr;
  ExchangeError error = ErrorFor(CURLE_OPERATION_TIMEDOUT, "");
  Head head = std::move(exchange->head);
  exchange.reset();
  head(nullptr, &error);
}

void HttpClient::Notify(Exchange* x) {
  if (!x->queued) {
    x->queued = true;
    news_.push_back(x->id);
  }
  if (deliver_posted_) return;
  deliver_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (*alive) Deliver();
  });
}

void HttpClient::Deliver() {
  deliver_posted_ = false;
  std::vector<Id> news = std::move(news_);
  news_.clear();
  for (Id id : news) {
    auto it = exchanges_.find(id);
    if (it == exchanges_.end()) continue;
    Exchange* x = it->second.get();
    x->queued = false;
    if (x->send_paused && x->request.upload &&
        (!x->request.upload->queued.empty() || x->request.upload->ended)) {
      x->send_paused = false;
      Resume(x);
    }
    if (!x->head_delivered) {
      if (!x->head_complete && !x->transfer_done) continue;
      x->head_delivered = true;
      if (x->head_timer) x->head_timer->cancel();
      if (x->failed && !x->head_complete) {
        // Failed before any response: the exchange is over.
        std::unique_ptr<Exchange> exchange = std::move(it->second);
        exchanges_.erase(it);
        ExchangeError error = std::move(exchange->error);
        Head head = std::move(exchange->head);
        exchange.reset();
        head(nullptr, &error);
        continue;
      }
      // The head may be followed by the end in the same delivery: the reader finds it.
      Head head = x->head;
      head(&x->response, nullptr);
      continue;
    }
    if (x->reader_waiting && (!x->received.empty() || x->transfer_done)) {
      x->reader_waiting = false;
      Wake wake = x->wake;
      wake();
    }
  }
}

int HttpClient::OnSocket(void*, int fd, int what, void* client, void*) {
  static_cast<HttpClient*>(client)->Watch(fd, what);
  return 0;
}

void HttpClient::Watch(int fd, int what) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) {
    if (what == CURL_POLL_REMOVE) return;
    it = sockets_.emplace(fd, std::make_shared<Socket>(io_, fd)).first;
  }
  std::shared_ptr<Socket> socket = it->second;
  socket->wanted = what == CURL_POLL_REMOVE ? 0 : what;
  if (socket->wanted == 0) {
    boost::system::error_code ignored;
    socket->descriptor.cancel(ignored);
    return;
  }
  if (socket->wanted & CURL_POLL_IN) Arm(socket, false);
  if (socket->wanted & CURL_POLL_OUT) Arm(socket, true);
}

void HttpClient::Arm(const std::shared_ptr<Socket>& socket, bool write) {
  bool& pending = write ? socket->writing : socket->reading;
  if (pending || socket->closed) return;
  pending = true;
  socket->descriptor.async_wait(
      write ? asio::posix::descriptor_base::wait_write : asio::posix::descriptor_base::wait_read,
      [this, socket, write, alive = alive_](const boost::system::error_code& ec) {
        (write ? socket->writing : socket->reading) = false;
        if (!*alive || socket->closed) return;
        const int flag = write ? CURL_POLL_OUT : CURL_POLL_IN;
        if (ec || !(socket->wanted & flag)) return;
        Act(socket->fd, write ? CURL_CSELECT_OUT : CURL_CSELECT_IN);
        if (!*alive) return;
        // Still wanted after libcurl has read or written: wait for the next readiness.
        if (!socket->closed && (socket->wanted & flag)) Arm(socket, write);
      });
}

int HttpClient::OnTimer(void*, long timeout_ms, void* data) {
  auto* client = static_cast<HttpClient*>(data);
  if (timeout_ms < 0) {
    client->timer_.cancel();
    return 0;
  }
  // Never acts from inside libcurl: even a zero timeout is taken on the loop.
  client->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  client->timer_.async_wait([client, alive = client->alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    client->Act(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void HttpClient::Act(int fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  CollectFinished();
}

void HttpClient::CollectFinished() {
  std::vector<std::pair<Exchange*, CURLcode>> finished;
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    Exchange* exchange = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &exchange);
    if (exchange) finished.emplace_back(exchange, message->data.result);
  }
  // Done callbacks may start or cancel exchanges; they run after libcurl's queue is read.
  for (auto& [exchange, code] : finished) Finish(exchange, code);
}

void HttpClient::Finish(Exchange* x, int curl_code) {
  if (exchanges_.find(x->id) == exchanges_.end() || !x->easy) return;
  curl_off_t sent = 0, received = 0;
  long request_size = 0, header_size = 0;
  curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
  curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &received);
  curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &request_size);
  curl_easy_getinfo(x->easy, CURLINFO_HEADER_SIZE, &header_size);
  bytes_sent_ += static_cast<uint64_t>(sent) + static_cast<uint64_t>(request_size);
  bytes_received_ += static_cast<uint64_t>(received) + static_cast<uint64_t>(header_size);
  curl_multi_remove_handle(multi_, x->easy);
  curl_easy_cleanup(x->easy);
  x->easy = nullptr;
  x->transfer_done = true;
  if (x->request.upload) x->request.upload->Close();

  const auto code = static_cast<CURLcode>(curl_code);
  if (code == CURLE_OK) {
    x->head_complete = true;
  } else {
    x->failed = true;
    if (x->upload_failed) {
      x->error.kind = ExchangeError::Kind::kUploadFailed;
      x->error.message = "The request body failed.";
    } else if (!x->refusal.empty() &&
               (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)) {
      x->error.kind = ExchangeError::Kind::kRefusedAddress;
      x->error.message = x->refusal;
    } else {
      x->error = ErrorFor(code, x->error_text);
    }
  }
  Notify(x);
}

int HttpClient::OnOpenSocket(void* data, int purpose, void* address_data) {
  auto* x = static_cast<Exchange*>(data);
  auto* address = static_cast<curl_sockaddr*>(address_data);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  std::optional<IpAddress> peer;
  if (address->family == AF_INET && address->addrlen >= sizeof(sockaddr_in)) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address->addr);
    peer = IpAddress::FromV4(ntohl(v4->sin_addr.s_addr));
  } else if (address->family == AF_INET6 && address->addrlen >= sizeof(sockaddr_in6)) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address->addr);
    peer = IpAddress::FromV6(v6->sin6_addr.s6_addr);
  }
  std::string why;
  if (!peer) {
    x->refusal = "fetch() can only connect to IP addresses.";
    return CURL_SOCKET_BAD;
  }
  if (!x->client->options_->policy.Permits(x->host, *peer, &why)) {
    x->refusal = "fetch() to " + peer->ToString() + " is not allowed: " + why +
                 AddressPolicy::RefusalHint(why) + ".";
    return CURL_SOCKET_BAD;
  }
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

int HttpClient::OnCloseSocket(void* data, int fd) {
  auto* client = static_cast<HttpClient*>(data);
  auto it = client->sockets_.find(fd);
  if (it == client->sockets_.end()) return ::close(fd);
  std::shared_ptr<Socket> socket = std::move(it->second);
  client->sockets_.erase(it);
  socket->closed = true;
  boost::system::error_code ignored;
  socket->descriptor.cancel(ignored);
  return ::close(socket->descriptor.release());
}

size_t HttpClient::OnHeader(char* data, size_t size, size_t count, void* exchange_data) {
  auto* x = static_cast<Exchange*>(exchange_data);
  const size_t length = size * count;
  std::string_view line(data, length);
  if (line.starts_with("HTTP/")) {
    // A new response head (after a 1xx, another one follows): start over.
    x->response.headers.clear();
    x->response.status = 0;
    x->response.status_text.clear();
    std::string_view rest = Trim(line);
    const size_t space = rest.find(' ');
    if (space != std::string_view::npos) {
      rest.remove_prefix(space + 1);
      const size_t reason = rest.find(' ');
      const std::string_view code = rest.substr(0, reason);
      for (char c : code) {
        if (c < '0' || c > '9') return 0;
        x->response.status = x->response.status * 10 + (c - '0');
        if (x->response.status > 999) return 0;
      }
      if (reason != std::string_view::npos) {
        x->response.status_text = std::string(Trim(rest.substr(reason + 1)));
      }
    }
    return length;
  }
  if (Trim(line).empty()) {
    // The end of a head: a 1xx one is followed by another.
    if (x->response.status >= 200 || x->response.status == 0) {
      x->head_complete = true;
      x->client->Notify(x);
    }
    return length;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return length;  // a folded line
  std::string name(Trim(line.substr(0, colon)));
  if (name.empty()) return length;
  x->response.headers.emplace_back(std::move(name), std::string(Trim(line.substr(colon + 1))));
  return length;
}

size_t HttpClient::OnBody(char* data, size_t size, size_t count, void* exchange_data) {
  auto* x = static_cast<Exchange*>(exchange_data);
  const size_t length = size * count;
  ByteBudget* budget = x->request.budget.get();
  // Holds the bytes back (libcurl keeps them, and stops reading the socket) while enough wait to
  // be read; an exchange with nothing waiting always takes them, so that its reader progresses.
  if (!x->received.empty() && (x->received.size() + length > kHighWater ||
                               (budget && budget->used + length > budget->limit))) {
    x->recv_paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  if (budget) {
    budget->used += length;
    x->charged += length;
  }
  x->received.append(data, length);
  if (x->reader_waiting) x->client->Notify(x);
  return length;
}

size_t HttpClient::OnUpload(char* data, size_t size, size_t count, void* exchange_data) {
  auto* x = static_cast<Exchange*>(exchange_data);
  UploadBody* upload = x->request.upload.get();
  if (upload->queued.empty()) {
    if (!upload->ended) {
      x->send_paused = true;
      return CURL_READFUNC_PAUSE;
    }
    if (upload->failed) {
      x->upload_failed = true;
      return CURL_READFUNC_ABORT;
    }
    return 0;
  }
  const size_t n = std::min(size * count, upload->queued.size());
  std::memcpy(data, upload->queued.data(), n);
  upload->Took(n);  // its on_room only posts
  return n;
}

}  // namespace dorm::outbound
