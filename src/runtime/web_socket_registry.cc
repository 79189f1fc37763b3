#include "runtime/web_socket_registry.h"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace dorm::runtime {

namespace {
bool AwaitsAnswer(const WebSocketRecord& record) {
  return record.peer_closed && record.transport && record.transport->AwaitsCloseAnswer();
}
}  // namespace

ObjectAddress SocketOwner::address() const {
  // The key is always one ObjectKey made (the registry makes owners from an object's address).
  ObjectAddress address = ParseObjectKey(key_).value_or(ObjectAddress{});
  address.instance_name = instance_name_;
  return address;
}

std::unordered_map<std::string_view, ObjectSockets>::iterator WebSocketRegistry::Entry(
    const std::string& object_key, const ObjectAddress& address) {
  auto it = objects_.find(object_key);
  if (it != objects_.end()) return it;
  auto owner = std::make_shared<const SocketOwner>(object_key, address.instance_name);
  std::string_view key = owner->key();
  it = objects_.emplace(key, ObjectSockets{}).first;
  it->second.owner = std::move(owner);
  return it;
}

WebSocketRecord* WebSocketRegistry::Create(const std::string& object_key,
                                           const ObjectAddress& address) {
  auto entry = Entry(object_key, address);
  if (entry->second.owner->instance_name() != address.instance_name) {
    // Reached by another name: records from now on get an owner with it, and the entry is keyed
    // by the new owner's key (the old owner lives on in the records made before).
    auto node = objects_.extract(entry);
    node.mapped().owner = std::make_shared<const SocketOwner>(object_key, address.instance_name);
    node.key() = node.mapped().owner->key();
    entry = objects_.insert(std::move(node)).position;
  }
  ObjectSockets& sockets = entry->second;
  auto record = std::make_unique<WebSocketRecord>();
  record->id = next_id_++;
  record->owner = sockets.owner;
  WebSocketRecord* raw = record.get();
  records_[raw->id] = std::move(record);
  sockets.ids.push_back(raw->id);
  ++sockets.pinning;
  return raw;
}

WebSocketRecord* WebSocketRegistry::Find(uint64_t id) {
  auto it = records_.find(id);
  if (it != records_.end()) return it->second.get();
  if (answering_.empty()) return nullptr;
  auto answering = answering_.find(id);
  return answering == answering_.end() ? nullptr : answering->second.get();
}

ObjectSockets* WebSocketRegistry::FindObject(const std::string& object_key) {
  auto it = objects_.find(object_key);
  return it == objects_.end() ? nullptr : &it->second;
}

ObjectSockets& WebSocketRegistry::EnsureObject(const std::string& object_key,
                                               const ObjectAddress& address) {
  return Entry(object_key, address)->second;
}

WebSocketRegistry::AcceptResult WebSocketRegistry::Accept(WebSocketRecord* record,
                                                          WebSocketRecord::Mode mode,
                                                          std::vector<std::string> tags) {
  auto entry = objects_.find(record->object_key());
  if (entry == objects_.end()) {
    // Not expected (a record's object has an entry until its last record is removed), but harmless:
    // the entry takes the record's owner.
    entry = objects_.emplace(record->owner->key(), ObjectSockets{}).first;
    entry->second.owner = record->owner;
  }
  ObjectSockets& sockets = entry->second;
  if (mode == WebSocketRecord::Mode::kHibernatable) {
    if (sockets.hibernatable >= kMaxHibernatableSocketsPerObject) {
      return AcceptResult::kTooManySockets;
    }
    size_t bytes = kHibernatableSocketCostBytes + record->attachment.size();
    for (const std::string& tag : tags) bytes += tag.size();
    if (!Charge(record, bytes)) return AcceptResult::kOverMemory;
    ++sockets.hibernatable;
    --sockets.pinning;
    record->tags = std::move(tags);
  }
  record->mode = mode;
  return AcceptResult::kAccepted;
}

bool WebSocketRegistry::SetAttachment(WebSocketRecord* record, std::string attachment) {
  if (record->mode == WebSocketRecord::Mode::kHibernatable) {
    size_t bytes = record->held_bytes - record->attachment.size() + attachment.size();
    if (!Charge(record, bytes)) return false;
  }
  record->attachment = std::move(attachment);
  record->attachment.shrink_to_fit();
  return true;
}

size_t WebSocketRegistry::HibernationBytes(const std::string& app) const {
  auto it = app_bytes_.find(app);
  return it == app_bytes_.end() ? 0 : it->second;
}

bool WebSocketRegistry::Charge(WebSocketRecord* record, size_t bytes) {
  if (bytes == record->held_bytes) return true;
  size_t& total = app_bytes_[std::string(record->app())];
  size_t others = total - record->held_bytes;
  if (bytes > record->held_bytes && others + bytes > kMaxHibernationBytesPerApp) {
    if (total == 0) app_bytes_.erase(std::string(record->app()));
    return false;
  }
  total = others + bytes;
  record->held_bytes = bytes;
  if (total == 0) app_bytes_.erase(std::string(record->app()));
  return true;
}

void WebSocketRegistry::Remove(uint64_t id) {
  auto it = records_.find(id);
  if (it == records_.end()) {
    auto answering = answering_.find(id);
    if (answering != answering_.end() && !AwaitsAnswer(*answering->second)) {
      answering_.erase(answering);
    }
    return;
  }
  WebSocketRecord* record = it->second.get();
  // The record leaves its object's lists: its app no longer counts it (an answering record keeps
  // its attachment only until the close handler's turn ends).
  Charge(record, 0);
  auto object = objects_.find(record->object_key());
  if (object != objects_.end()) {
    ObjectSockets& sockets = object->second;
    auto position = std::find(sockets.ids.begin(), sockets.ids.end(), id);
    if (position != sockets.ids.end()) sockets.ids.erase(position);
    if (record->mode == WebSocketRecord::Mode::kHibernatable) {
      --sockets.hibernatable;
    } else {
      --sockets.pinning;
    }
    // The auto-response and event timeout are the object's settings: they stay while the
    // object may still be configured, but an object with no sockets and no settings is dropped.
    if (sockets.ids.empty() && !sockets.auto_response && sockets.event_timeout_ms == 0) {
      objects_.erase(object);
    }
  }
  if (AwaitsAnswer(*record)) {
    answering_[id] = std::move(it->second);
    records_.erase(it);
    if (answering_.size() > 2 * answering_after_prune_ + 64) PruneAnswering();
    return;
  }
  records_.erase(it);
}

void WebSocketRegistry::Answered(uint64_t id) { answering_.erase(id); }

void WebSocketRegistry::PruneAnswering() {
  for (auto it = answering_.begin(); it != answering_.end();) {
    it = AwaitsAnswer(*it->second) ? std::next(it) : answering_.erase(it);
  }
  answering_after_prune_ = answering_.size();
}

std::vector<WebSocketRecord*> WebSocketRegistry::Hibernatable(const std::string& object_key,
                                                              const std::string* tag) {
  std::vector<WebSocketRecord*> result;
  auto object = objects_.find(object_key);
  if (object == objects_.end()) return result;
  result.reserve(object->second.hibernatable);
  for (uint64_t id : object->second.ids) {
    WebSocketRecord* record = records_[id].get();
    if (record->mode != WebSocketRecord::Mode::kHibernatable ||
        record->state == WebSocketRecord::State::kClosed || record->peer_closed) {
      continue;
    }
    if (tag && std::find(record->tags.begin(), record->tags.end(), *tag) == record->tags.end()) {
      continue;
    }
    result.push_back(record);
  }
  return result;
}

bool WebSocketRegistry::PinsObject(const std::string& object_key) {
  auto object = objects_.find(object_key);
  return object != objects_.end() && object->second.pinning > 0;
}

bool WebSocketRegistry::HasSockets(const std::string& object_key) {
  auto object = objects_.find(object_key);
  return object != objects_.end() && !object->second.ids.empty();
}

}  // namespace dorm::runtime
