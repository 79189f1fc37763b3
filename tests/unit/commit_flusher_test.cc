#include "cluster/commit_flusher.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "cluster/object_ownership.h"
#include "cluster_database_test.h"

namespace dorm::cluster {
namespace {

using std::chrono::milliseconds;
using Outcome = CommitFlusher::Outcome;

// A TCP proxy to the server's unix socket that, once armed, drops the next reply from the
// server and closes both sides: the client never learns that its statement committed. Armed with
// `refuse`, it then closes every new connection at once until Admit(), so that the test can act
// before the client reads the outcome back.
class CuttingProxy {
 public:
  explicit CuttingProxy(std::string target) : target_(std::move(target)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("proxy: cannot listen");
    }
    port_ = ntohs(address.sin_port);
    accepter_ = std::thread([this] { Accept(); });
  }
  ~CuttingProxy() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    accepter_.join();
    for (auto& t : relays_) t.join();
    ::close(listener_);
  }
  int port() const { return port_; }
  void CutAfterNextReply(bool refuse = false) {
    refuse_after_cut_ = refuse;
    armed_ = true;
  }
  void Admit() { refusing_ = false; }
  int cuts() const { return cuts_; }

 private:
  void Accept() {
    for (;;) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;  // shut down
      if (refusing_) {
        ::close(client);
        continue;
      }
      int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, target_.c_str(), sizeof address.sun_path - 1);
      if (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      relays_.emplace_back([this, client, server] { Relay(client, server); });
    }
  }
  void Relay(int client, int server) {
    char buffer[65536];
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    while (!stopping_) {
      if (::poll(fds, 2, 100) <= 0) continue;
      if (fds[0].revents) {
        ssize_t n = ::read(client, buffer, sizeof buffer);
        if (n <= 0 || ::write(server, buffer, n) != n) break;
      }
      if (fds[1].revents) {
        ssize_t n = ::read(server, buffer, sizeof buffer);
        if (n <= 0) break;
        if (armed_.exchange(false)) {
          if (refuse_after_cut_) refusing_ = true;
          ++cuts_;
          break;
        }
        if (::write(client, buffer, n) != n) break;
      }
    }
    ::close(client);
    ::close(server);
  }

  std::string target_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> armed_{false};
  std::atomic<bool> refuse_after_cut_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<int> cuts_{0};
  std::thread accepter_;
  std::vector<std::thread> relays_;  // the accepter's only, joined after it
};

class CommitFlusherTest : public testing::ClusterDatabaseTest {
 protected:
  void SetUp() override {
    ClusterDatabaseTest::SetUp();
    AddNode("a");
    AddNode("b");
  }
  // Options() reaching the test's database through `proxy`'s TCP port instead of its socket.
  CommitFlusher::Options OptionsThrough(const CuttingProxy& proxy) {
    CommitFlusher::Options options = Options();
    std::string schema = conninfo_.substr(conninfo_.find("options="));
    options.session.conninfo = "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                               " user=dorm dbname=postgres application_name=dorm-flusher-test " +
                               schema;
    return options;
  }
  CommitFlusher::Options Options(milliseconds timeout = milliseconds(5000)) {
    CommitFlusher::Options options;
    options.session.conninfo = conninfo_ + " application_name=dorm-flusher-test";
    options.session.statement_timeout = timeout;
    options.node = "a";
    return options;
  }
  static LogRow Row(const std::string& object, long long seq, long long epoch = 1) {
    return LogRow{object, seq, epoch, "frames", 1, std::string(32, 'c')};
  }
  // Submits and records the outcome under `key`.
  void Submit(CommitFlusher& flusher, LogRow row, const std::string& key) {
    ASSERT_TRUE(flusher.Submit(std::move(row), [this, key](Outcome outcome) {
      std::lock_guard lock(mutex_);
      outcomes_[key] = outcome;
      done_.notify_all();
    }));
  }
  bool WaitFor(size_t count, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, timeout, [&] { return outcomes_.size() >= count; });
  }
  long long Count(const std::string& where) {
    return db_->Exec("SELECT count(*) FROM log WHERE " + where).Int(0, 0);
  }

  std::mutex mutex_;
  std::condition_variable done_;
  std::map<std::string, Outcome> outcomes_;
};

TEST_F(CommitFlusherTest, CommitsOfManyObjectsShareStatements) {
  for (int i = 0; i < 50; ++i) ASSERT_EQ(AcquireObject(*db_, "o" + std::to_string(i), "a"), 1);
  CommitFlusher flusher(Options());
  flusher.Start();
  std::vector<std::thread> objects;
  for (int t = 0; t < 5; ++t) {
    objects.emplace_back([&, t] {
      for (int seq = 1; seq <= 6; ++seq) {
        for (int i = t * 10; i < t * 10 + 10; ++i) {
          std::string object = "o" + std::to_string(i);
          Submit(flusher, Row(object, seq), object + "/" + std::to_string(seq));
        }
      }
    });
  }
  for (auto& t : objects) t.join();
  ASSERT_TRUE(WaitFor(300));
  for (const auto& [key, outcome] : outcomes_) EXPECT_EQ(outcome, Outcome::kDurable) << key;
  EXPECT_EQ(Count("node = 'a'"), 300);
  EXPECT_LT(flusher.batches(), 300u);
}

TEST_F(CommitFlusherTest, RowsOfObjectsOwnedElsewhereAreFenced) {
  ASSERT_EQ(AcquireObject(*db_, "mine", "a"), 1);
  ASSERT_EQ(AcquireObject(*db_, "theirs", "b"), 1);
  CommitFlusher flusher(Options());
  flusher.Start();
  Submit(flusher, Row("mine", 1), "mine");
  Submit(flusher, Row("theirs", 1), "theirs");
  ASSERT_TRUE(WaitFor(2));
  EXPECT_EQ(outcomes_["mine"], Outcome::kDurable);
  EXPECT_EQ(outcomes_["theirs"], Outcome::kFenced);
  EXPECT_EQ(Count("object = 'theirs'"), 0);
}

TEST_F(CommitFlusherTest, ALostConnectionIsReadBackBeforeAnythingIsAcknowledged) {
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  CommitFlusher flusher(Options());
  flusher.Start();
  Submit(flusher, Row("x", 1), "1");
  ASSERT_TRUE(WaitFor(1));
  // The flusher's connection dies before its next statement.
  db_->Exec(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
      "WHERE application_name = 'dorm-flusher-test'");
  Submit(flusher, Row("x", 2), "2");
  ASSERT_TRUE(WaitFor(2));
  EXPECT_EQ(outcomes_["2"], Outcome::kDurable);
  EXPECT_EQ(Count("object = 'x'"), 2);
}

// The client gives up on a statement that the server goes on running (it waits for a row lock)
// and commits after the client went away: the flusher must not take the row for unsent or
// fenced, nor acknowledge it before it is in the log.
TEST_F(CommitFlusherTest, AStatementThatCommitsAfterTheClientGaveUpIsNotMisreported) {
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  CommitFlusher flusher(Options(milliseconds(300)));
  flusher.Start();
  db_->Exec("BEGIN");
  db_->Exec("SELECT 1 FROM owners WHERE object = 'x' FOR UPDATE");
  Submit(flusher, Row("x", 1), "1");
  std::this_thread::sleep_for(milliseconds(800));
  {
    std::lock_guard lock(mutex_);
    EXPECT_TRUE(outcomes_.empty());  // nothing acknowledged while the lock is held
  }
  db_->Exec("COMMIT");
  ASSERT_TRUE(WaitFor(1));
  EXPECT_EQ(outcomes_["1"], Outcome::kDurable);
  EXPECT_EQ(Count("object = 'x'"), 1);
  EXPECT_GE(flusher.batches(), 2u);
}

// The connection is cut right after PostgreSQL committed a batch, before its answer reaches the
// node: the node must not acknowledge until it has read the outcome back, and loses nothing.
TEST_F(CommitFlusherTest, AConnectionCutRightAfterCommitIsReadBack) {
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  CuttingProxy proxy(testing::PostgresServer::Shared().socket_path());
  CommitFlusher flusher(OptionsThrough(proxy));
  flusher.Start();
  Submit(flusher, Row("x", 1), "1");
  ASSERT_TRUE(WaitFor(1));
  size_t before = flusher.batches();
  proxy.CutAfterNextReply();
  Submit(flusher, Row("x", 2), "2");
  ASSERT_TRUE(WaitFor(2));
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(outcomes_["2"], Outcome::kDurable);
  EXPECT_EQ(Count("object = 'x'"), 2);
  // Read back, not sent again.
  EXPECT_EQ(flusher.batches(), before + 1);
}

// A lost COMMIT whose rows a snapshot replaced before they were read back (the owner's log
// compaction, which reads whatever is committed, ran meanwhile): the row is durable, covered by
// the snapshot at its seq with its chain value. Sent again, it would be a second copy of a
// commit below the snapshot (the log's primary key no longer holds the first).
TEST_F(CommitFlusherTest, ARowThatASnapshotReplacedBeforeTheReadBackIsDurable) {
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  CuttingProxy proxy(testing::PostgresServer::Shared().socket_path());
  CommitFlusher flusher(OptionsThrough(proxy));
  flusher.Start();
  Submit(flusher, Row("x", 1), "1");
  ASSERT_TRUE(WaitFor(1));
  proxy.CutAfterNextReply(/*refuse=*/true);
  LogRow second = Row("x", 2);
  second.checksum = std::string(32, 'd');  // the chain value after row 2
  Submit(flusher, second, "2");
  for (int i = 0; i < 200 && proxy.cuts() == 0; ++i) std::this_thread::sleep_for(milliseconds(10));
  ASSERT_EQ(proxy.cuts(), 1);
  // The compaction: a snapshot at seq 2 with the chain value of row 2, and the rows it covers
  // deleted.
  db_->Exec("BEGIN");
  db_->Exec(
      "INSERT INTO snapshots (object, seq, image, checksum, image_bytes, image_digest) "
      "VALUES ('x', 2, NULL, $1, 0, $2)",
      {PgParam::Binary(second.checksum), PgParam::Binary(std::string(32, 'e'))});
  db_->Exec("DELETE FROM log WHERE object = 'x' AND seq <= 2");
  db_->Exec("COMMIT");
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(outcomes_.count("2"), 0u);  // not acknowledged before it was read back
  }
  proxy.Admit();
  ASSERT_TRUE(WaitFor(2));
  EXPECT_EQ(outcomes_["2"], Outcome::kDurable);
  EXPECT_EQ(Count("object = 'x'"), 0);  // not sent again below the snapshot
}

TEST_F(CommitFlusherTest, StoppingFailsWhatIsStillQueued) {
  ASSERT_EQ(AcquireObject(*db_, "x", "a"), 1);
  CommitFlusher::Options options = Options();
  options.session.conninfo = "host=/nonexistent-dorm-socket-dir dbname=x";
  options.max_queued_rows = 2;
  CommitFlusher flusher(options);
  flusher.Start();
  Submit(flusher, Row("x", 1), "1");
  Submit(flusher, Row("x", 2), "2");
  std::this_thread::sleep_for(milliseconds(100));
  flusher.Stop();
  ASSERT_TRUE(WaitFor(2, milliseconds(100)));
  EXPECT_EQ(outcomes_["1"], Outcome::kFailed);
  EXPECT_EQ(outcomes_["2"], Outcome::kFailed);
  EXPECT_FALSE(flusher.Submit(Row("x", 3), [](Outcome) {}));
}

}  // namespace
}  // namespace dorm::cluster
