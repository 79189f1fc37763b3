// The WebSockets of one runtime thread's objects: one record per connection, and per object the
// state that outlives its instance while it hibernates (the accepted sockets with their tags and
// attachments, the auto-response, the event timeout).
//
// Records are keyed by a thread-unique id, which is what JavaScript holds; objects by the engine's
// object key. Pure bookkeeping: no I/O and no V8, so the rules are testable on their own.
//
// Threading: owned by one ThreadEngine and used on its thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/object_address.h"
#include "runtime/web_socket_limits.h"
#include "runtime/web_socket_transport.h"

namespace dorm::runtime {

// The object a socket belongs to: its key, and the name it was reached by. Shared by the object's
// records, which may be many (one per client of a chat room), and kept while the object hibernates,
// so it holds the key once: the app, class and id of the address are read back from it.
//
// Immutable once made; safe to share between the records of one thread.
class SocketOwner {
 public:
  // `key` must be ObjectKey(address) of an address reached by `instance_name`.
  SocketOwner(std::string key, std::string instance_name)
      : key_(std::move(key)), instance_name_(std::move(instance_name)) {}

  const std::string& key() const { return key_; }
  const std::string& instance_name() const { return instance_name_; }
  // The key's app part (see ObjectKey).
  std::string_view app() const { return std::string_view(key_).substr(0, key_.find('\n')); }
  // The object's full address, rebuilt from the key and the name. Allocates; for events, which
  // copy the address anyway.
  ObjectAddress address() const;

 private:
  std::string key_;
  std::string instance_name_;
};

// The sends and the Close of a socket's object that wait for its handshake to complete.
struct PendingOutput {
  std::vector<std::pair<bool, SharedPayload>> messages;
  size_t bytes = 0;  // of `messages`' payloads; see kMaxPendingSocketBytes
  std::optional<std::pair<int, std::string>> close;
};

struct WebSocketRecord {
  enum class Mode { kUnaccepted, kStandard, kHibernatable };
  enum class State {
    kConnecting,  // the handshake has not completed: sends wait in `pending`
    kOpen,
    kClosing,  // the object called close(); waiting for the peer's Close
    kClosed,   // the connection is gone; the close event may not be delivered yet
  };

  uint64_t id = 0;
  std::shared_ptr<const SocketOwner> owner;  // never null
  const std::string& object_key() const { return owner->key(); }
  std::string_view app() const { return owner->app(); }
  ObjectAddress address() const { return owner->address(); }
  Mode mode = Mode::kUnaccepted;
  State state = State::kConnecting;
  std::shared_ptr<WebSocketTransport> transport;  // null until the handshake completes
  // What the object sent before the handshake completed (state kConnecting): made by the first
  // such send, released when the connection attaches. Null for every idle socket.
  std::unique_ptr<PendingOutput> pending;
  std::vector<std::string> tags;
  std::string attachment;          // V8-serialized; empty: none
  long long auto_response_ms = 0;  // when an auto-response was last sent; 0: never
  std::string protocol;            // the subprotocol the object chose
  // The peer's Close arrived and the connection waits for the object's answer (state kClosing):
  // the Close that webSocketClose makes, or the peer's echoed once the handler settles.
  bool peer_closed = false;
  // What the record counts against its app's kMaxHibernationBytesPerApp (hibernatable only).
  size_t held_bytes = 0;
};

// What setWebSocketAutoResponse() set: a text message equal to `request` is answered with
// `response` without waking the object.
struct AutoResponse {
  std::string request;
  std::string response;
};

// Per object, kept while it hibernates (one per room): small, and what few objects set lives
// behind pointers.
struct ObjectSockets {
  std::vector<uint64_t> ids;  // in accept order
  // Given to the records created for the object (a record reached by another name gets its own).
  // Never null; the object's entry in the registry is keyed by its key.
  std::shared_ptr<const SocketOwner> owner;
  uint32_t hibernatable = 0;
  // Standard or not yet accepted: these keep the object in memory.
  uint32_t pinning = 0;
  std::unique_ptr<const AutoResponse> auto_response;  // null: none
  long long event_timeout_ms = 0;                     // 0: none
};

class WebSocketRegistry {
 public:
  // A new record for the object, not yet accepted. Never fails.
  WebSocketRecord* Create(const std::string& object_key, const ObjectAddress& address);
  WebSocketRecord* Find(uint64_t id);
  // The object's socket state, or nullptr if it never had any.
  ObjectSockets* FindObject(const std::string& object_key);
  // The object's socket state, made if it has none; `address` is the object's (its key is
  // ObjectKey(address)).
  ObjectSockets& EnsureObject(const std::string& object_key, const ObjectAddress& address);

  enum class AcceptResult {
    kAccepted,
    kTooManySockets,  // past kMaxHibernatableSocketsPerObject
    kOverMemory,      // the tags would pass the app's kMaxHibernationBytesPerApp
  };
  // Marks the record accepted in `mode`. Anything but kAccepted changes nothing.
  AcceptResult Accept(WebSocketRecord* record, WebSocketRecord::Mode mode,
                      std::vector<std::string> tags);
  // Replaces the record's attachment (empty: none). Returns false, and changes nothing, if a
  // hibernatable record's app would then hold more than kMaxHibernationBytesPerApp.
  bool SetAttachment(WebSocketRecord* record, std::string attachment);
  // The bytes the app's hibernatable sockets on this thread count (see kMaxHibernationBytesPerApp).
  size_t HibernationBytes(const std::string& app) const;
  // Forgets the record (and the object's entry once it holds nothing worth keeping). A record whose
  // connection still awaits the object's answer to the peer's Close (see
  // WebSocketTransport::AwaitsCloseAnswer) leaves the object's lists but stays findable by id
  // until Answered(id), or until its connection has answered by itself.
  void Remove(uint64_t id);
  // The object answered the peer's Close of `id`: a record kept only for that answer is forgotten.
  void Answered(uint64_t id);

  // The object's accepted hibernatable sockets not yet closed (by either side), in accept order,
  // optionally only those carrying `tag`.
  std::vector<WebSocketRecord*> Hibernatable(const std::string& object_key, const std::string* tag);
  // Whether the object has sockets that keep it from being evicted.
  bool PinsObject(const std::string& object_key);
  bool HasSockets(const std::string& object_key);

  size_t size() const { return records_.size(); }
  // Every record, those awaiting their answer after Remove() included.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (auto& [id, record] : records_) fn(record.get());
    for (auto& [id, record] : answering_) fn(record.get());
  }

 private:
  // Forgets the removed records whose connection no longer awaits an answer.
  void PruneAnswering();
  // Sets what `record` counts against its app's bound to `bytes`; false (nothing changed) if the
  // app would pass it. Lowering always succeeds.
  bool Charge(WebSocketRecord* record, size_t bytes);

  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<WebSocketRecord>> records_;
  // Removed records kept for the object's answer to the peer's Close; pruned when they have
  // doubled since the last pruning, so that each removal costs O(1) on average.
  std::unordered_map<uint64_t, std::unique_ptr<WebSocketRecord>> answering_;
  size_t answering_after_prune_ = 0;
  // The entry for `object_key`, made (with an owner for `address`) if there is none.
  std::unordered_map<std::string_view, ObjectSockets>::iterator Entry(const std::string& object_key,
                                                                      const ObjectAddress& address);

  // Keyed by a view of the entry's own owner's key: a hibernated object holds its key once.
  std::unordered_map<std::string_view, ObjectSockets> objects_;
  // By app: the sum of its records' held_bytes (absent: none).
  std::unordered_map<std::string, size_t> app_bytes_;
};

}  // namespace dorm::runtime
