#include "runtime/web_socket_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "runtime/object_id.h"

namespace dorm::runtime {
namespace {

// A connection that records what the runtime asks of it.
class FakeTransport : public WebSocketTransport {
 public:
  void Send(bool, SharedPayload) override {}
  void Close(int, const std::string&) override {}
  bool AwaitsCloseAnswer() const override { return awaits_answer; }
  bool awaits_answer = false;
};

ObjectAddress Address(const std::string& name) {
  ObjectAddress address{"app", "room", name, ""};
  CompleteAddress(address);
  return address;
}

// An object's records share one copy of its key and address; one reached by the object's id alone
// (no name) keeps its own address, and a record outliving its object's entry keeps its copy.
TEST(WebSocketRegistry, RecordsOfAnObjectShareItsAddress) {
  WebSocketRegistry registry;
  const ObjectAddress named = Address("room-1");
  const std::string key = ObjectKey(named);
  WebSocketRecord* first = registry.Create(key, named);
  WebSocketRecord* second = registry.Create(key, named);
  EXPECT_EQ(first->owner, second->owner);
  EXPECT_EQ(second->object_key(), key);
  EXPECT_EQ(second->address().instance_name, "room-1");
  ObjectAddress by_id = named;
  by_id.instance_name.clear();
  WebSocketRecord* third = registry.Create(key, by_id);
  EXPECT_NE(third->owner, first->owner);
  EXPECT_EQ(third->address().instance_name, "");
  EXPECT_EQ(third->address().object_id, named.object_id);
  EXPECT_EQ(first->address().instance_name, "room-1");

  auto transport = std::make_shared<FakeTransport>();
  transport->awaits_answer = true;
  first->transport = transport;
  first->peer_closed = true;
  const uint64_t id = first->id;
  registry.Remove(second->id);
  registry.Remove(third->id);
  registry.Remove(id);  // kept for its answer; the object's entry is gone
  EXPECT_FALSE(registry.HasSockets(key));
  ASSERT_EQ(registry.Find(id), first);
  EXPECT_EQ(first->object_key(), key);
  EXPECT_EQ(first->address().instance_name, "room-1");
}

TEST(WebSocketRegistry, NewSocketsPinTheirObjectUntilAcceptedForHibernation) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  EXPECT_FALSE(registry.HasSockets(key));
  EXPECT_FALSE(registry.PinsObject(key));
  WebSocketRecord* record = registry.Create(key, Address("a"));
  EXPECT_EQ(registry.Find(record->id), record);
  EXPECT_EQ(record->state, WebSocketRecord::State::kConnecting);
  EXPECT_EQ(record->mode, WebSocketRecord::Mode::kUnaccepted);
  EXPECT_TRUE(registry.HasSockets(key));
  EXPECT_TRUE(registry.PinsObject(key));
  ASSERT_EQ(registry.Accept(record, WebSocketRecord::Mode::kHibernatable, {"t1"}),
            WebSocketRegistry::AcceptResult::kAccepted);
  EXPECT_FALSE(registry.PinsObject(key));
  EXPECT_TRUE(registry.HasSockets(key));
  EXPECT_EQ(registry.FindObject(key)->hibernatable, 1u);
  EXPECT_EQ(record->tags, std::vector<std::string>{"t1"});
}

TEST(WebSocketRegistry, StandardSocketsKeepPinning) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  WebSocketRecord* record = registry.Create(key, Address("a"));
  ASSERT_EQ(registry.Accept(record, WebSocketRecord::Mode::kStandard, {"ignored"}),
            WebSocketRegistry::AcceptResult::kAccepted);
  EXPECT_TRUE(registry.PinsObject(key));
  EXPECT_TRUE(record->tags.empty());
  const uint64_t id = record->id;
  registry.Remove(id);
  EXPECT_FALSE(registry.PinsObject(key));
  EXPECT_FALSE(registry.HasSockets(key));
  EXPECT_EQ(registry.FindObject(key), nullptr);
  EXPECT_EQ(registry.Find(id), nullptr);
}

TEST(WebSocketRegistry, HibernatableListsSkipClosedSocketsAndFilterByTag) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  WebSocketRecord* a = registry.Create(key, Address("a"));
  WebSocketRecord* b = registry.Create(key, Address("a"));
  WebSocketRecord* c = registry.Create(key, Address("a"));
  WebSocketRecord* standard = registry.Create(key, Address("a"));
  registry.Accept(a, WebSocketRecord::Mode::kHibernatable, {"red"});
  registry.Accept(b, WebSocketRecord::Mode::kHibernatable, {"blue"});
  registry.Accept(c, WebSocketRecord::Mode::kHibernatable, {"red", "blue"});
  registry.Accept(standard, WebSocketRecord::Mode::kStandard, {});
  EXPECT_EQ(registry.Hibernatable(key, nullptr), (std::vector<WebSocketRecord*>{a, b, c}));
  const std::string red = "red";
  EXPECT_EQ(registry.Hibernatable(key, &red), (std::vector<WebSocketRecord*>{a, c}));
  b->state = WebSocketRecord::State::kClosed;
  c->peer_closed = true;
  EXPECT_EQ(registry.Hibernatable(key, nullptr), (std::vector<WebSocketRecord*>{a}));
  EXPECT_TRUE(registry.Hibernatable(ObjectKey(Address("other")), nullptr).empty());
}

TEST(WebSocketRegistry, ObjectsAreSeparate) {
  WebSocketRegistry registry;
  WebSocketRecord* a = registry.Create(ObjectKey(Address("a")), Address("a"));
  registry.Create(ObjectKey(Address("b")), Address("b"));
  registry.Accept(a, WebSocketRecord::Mode::kHibernatable, {});
  EXPECT_EQ(registry.Hibernatable(ObjectKey(Address("b")), nullptr).size(), 0u);
  EXPECT_TRUE(registry.PinsObject(ObjectKey(Address("b"))));
  EXPECT_EQ(registry.size(), 2u);
}

TEST(WebSocketRegistry, TheHibernatableLimitRefusesWithoutChangingAnything) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  registry.EnsureObject(key, Address("a")).hibernatable = kMaxHibernatableSocketsPerObject;
  WebSocketRecord* record = registry.Create(key, Address("a"));
  EXPECT_EQ(registry.Accept(record, WebSocketRecord::Mode::kHibernatable, {}),
            WebSocketRegistry::AcceptResult::kTooManySockets);
  EXPECT_EQ(record->mode, WebSocketRecord::Mode::kUnaccepted);
  EXPECT_TRUE(registry.PinsObject(key));
  EXPECT_EQ(registry.HibernationBytes("app"), 0u);
  // A standard accept has no such limit.
  EXPECT_EQ(registry.Accept(record, WebSocketRecord::Mode::kStandard, {}),
            WebSocketRegistry::AcceptResult::kAccepted);
}

TEST(WebSocketRegistry, AnAppsHibernationMemoryIsBoundedAcrossItsObjects) {
  WebSocketRegistry registry;
  const std::string attachment(16384, 'a');
  const std::string tag(256, 't');
  size_t accepted = 0;
  uint64_t refused = 0;
  // Sockets of many objects of one app, each with a full attachment and tags, until refused.
  for (int i = 0; refused == 0; ++i) {
    ObjectAddress address = Address("o" + std::to_string(i % 7));
    WebSocketRecord* record = registry.Create(ObjectKey(address), address);
    WebSocketRegistry::AcceptResult result =
        registry.Accept(record, WebSocketRecord::Mode::kHibernatable, {tag, tag});
    if (result != WebSocketRegistry::AcceptResult::kAccepted) {
      EXPECT_EQ(result, WebSocketRegistry::AcceptResult::kOverMemory);
      refused = record->id;
      break;
    }
    if (!registry.SetAttachment(record, attachment)) {
      refused = record->id;
      EXPECT_TRUE(record->attachment.empty());
      break;
    }
    ++accepted;
  }
  EXPECT_LE(registry.HibernationBytes("app"), kMaxHibernationBytesPerApp);
  EXPECT_GT(registry.HibernationBytes("app"), kMaxHibernationBytesPerApp - 20000);
  EXPECT_EQ(accepted, kMaxHibernationBytesPerApp / (kHibernatableSocketCostBytes + 512 + 16384));
  // Another app is not affected.
  ObjectAddress other{"other", "room", "x", ""};
  CompleteAddress(other);
  WebSocketRecord* record = registry.Create(ObjectKey(other), other);
  EXPECT_EQ(registry.Accept(record, WebSocketRecord::Mode::kHibernatable, {tag}),
            WebSocketRegistry::AcceptResult::kAccepted);
  EXPECT_TRUE(registry.SetAttachment(record, attachment));
  // A smaller attachment always fits; removing sockets gives their bytes back.
  ASSERT_FALSE(registry.Hibernatable(ObjectKey(Address("o0")), nullptr).empty());
  WebSocketRecord* first = registry.Hibernatable(ObjectKey(Address("o0")), nullptr).front();
  EXPECT_TRUE(registry.SetAttachment(first, "small"));
  const size_t before = registry.HibernationBytes("app");
  registry.Remove(first->id);
  EXPECT_EQ(registry.HibernationBytes("app"), before - (kHibernatableSocketCostBytes + 512 + 5));
  for (int i = 0; i < 7; ++i) {
    for (WebSocketRecord* r :
         registry.Hibernatable(ObjectKey(Address("o" + std::to_string(i))), nullptr)) {
      registry.Remove(r->id);
    }
  }
  registry.Remove(refused);  // already gone if it was accepted: then nothing
  EXPECT_EQ(registry.HibernationBytes("app"), 0u);
}

TEST(WebSocketRegistry, SettingsOutliveTheSocketsButAnEmptyObjectIsDropped) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  WebSocketRecord* record = registry.Create(key, Address("a"));
  registry.EnsureObject(key, Address("a")).auto_response =
      std::make_unique<AutoResponse>(AutoResponse{"ping", "pong"});
  registry.Remove(record->id);
  ASSERT_NE(registry.FindObject(key), nullptr);
  EXPECT_FALSE(registry.HasSockets(key));
  registry.FindObject(key)->auto_response.reset();
  WebSocketRecord* again = registry.Create(key, Address("a"));
  registry.Remove(again->id);
  EXPECT_EQ(registry.FindObject(key), nullptr);
}

TEST(WebSocketRegistry, ARecordAwaitingItsCloseAnswerStaysFindableUntilAnswered) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  WebSocketRecord* record = registry.Create(key, Address("a"));
  registry.Accept(record, WebSocketRecord::Mode::kHibernatable, {});
  auto transport = std::make_shared<FakeTransport>();
  transport->awaits_answer = true;
  record->transport = transport;
  record->peer_closed = true;
  const uint64_t id = record->id;
  registry.Remove(id);
  EXPECT_FALSE(registry.HasSockets(key));  // out of the object's lists ...
  EXPECT_EQ(registry.Find(id), record);    // ... but still findable by id
  int seen = 0;
  registry.ForEach([&](WebSocketRecord* r) { seen += r->id == id; });
  EXPECT_EQ(seen, 1);
  registry.Answered(id);
  EXPECT_EQ(registry.Find(id), nullptr);
}

TEST(WebSocketRegistry, ARecordWhoseConnectionAnsweredByItselfIsForgottenOnRemove) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  WebSocketRecord* record = registry.Create(key, Address("a"));
  auto transport = std::make_shared<FakeTransport>();
  transport->awaits_answer = true;
  record->transport = transport;
  record->peer_closed = true;
  const uint64_t id = record->id;
  registry.Remove(id);
  ASSERT_NE(registry.Find(id), nullptr);
  transport->awaits_answer = false;  // the connection echoed the peer's Close itself
  registry.Remove(id);
  EXPECT_EQ(registry.Find(id), nullptr);
}

TEST(WebSocketRegistry, ManyAnsweredRecordsArePruned) {
  WebSocketRegistry registry;
  const std::string key = ObjectKey(Address("a"));
  std::vector<std::shared_ptr<FakeTransport>> transports;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 200; ++i) {
    WebSocketRecord* record = registry.Create(key, Address("a"));
    auto transport = std::make_shared<FakeTransport>();
    transport->awaits_answer = true;
    record->transport = transport;
    record->peer_closed = true;
    transports.push_back(transport);
    ids.push_back(record->id);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    // Half of them stop waiting before the next removals: pruning forgets them.
    if (i >= 100) transports[i - 100]->awaits_answer = false;
    registry.Remove(ids[i]);
  }
  size_t remaining = 0;
  registry.ForEach([&](WebSocketRecord*) { ++remaining; });
  EXPECT_LT(remaining, 200u);
  EXPECT_GE(remaining, 100u);  // every record still waiting is kept
  for (size_t i = 100; i < ids.size(); ++i) EXPECT_NE(registry.Find(ids[i]), nullptr);
}

}  // namespace
}  // namespace dorm::runtime
