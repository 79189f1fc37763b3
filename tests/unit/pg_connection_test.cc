#include "cluster/pg_connection.h"

#include <gtest/gtest.h>

#include <thread>

#include "cluster/pg_session.h"
#include "postgres_server.h"

namespace dorm::cluster {
namespace {

using std::chrono::milliseconds;

class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    conninfo_ = testing::PostgresServer::Shared().NewDatabase();
    connection_ = PgConnection::Connect(conninfo_, std::chrono::seconds(10));
  }
  std::string conninfo_;
  std::unique_ptr<PgConnection> connection_;
};

TEST_F(PgConnectionTest, BinaryByteaParametersRoundTripEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += std::string(100000, '\0');
  PgResult result =
      connection_->Exec("SELECT $1::bytea, length($1::bytea), $2::text, $3::text IS NULL",
                        {PgParam::Binary(bytes), PgParam::Text("héllo"), PgParam::Null()});
  ASSERT_EQ(result.rows(), 1);
  EXPECT_EQ(result.Bytes(0, 0), bytes);
  EXPECT_EQ(result.Int(0, 1), static_cast<long long>(bytes.size()));
  EXPECT_EQ(result.Text(0, 2), "héllo");
  EXPECT_TRUE(result.Bool(0, 3));
  EXPECT_THROW(result.Text(1, 0), PgError);
  EXPECT_THROW(result.Int(0, 2), PgError);
}

TEST_F(PgConnectionTest, BinaryResultsGiveByteaAsStoredAndDecodeIntegersAndBooleans) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += std::string(100000, '\xff');
  PgResult result = connection_->ExecBinary(
      "SELECT $1::bytea, (-2)::int2, (-70000)::int4, (-9007199254740993)::int8, 32767::int2, "
      "9223372036854775807::int8, true, false, 'héllo'::text",
      {PgParam::Binary(bytes)});
  ASSERT_EQ(result.rows(), 1);
  EXPECT_EQ(result.Bytes(0, 0), bytes);
  EXPECT_EQ(result.Int(0, 1), -2);
  EXPECT_EQ(result.Int(0, 2), -70000);
  EXPECT_EQ(result.Int(0, 3), -9007199254740993LL);
  EXPECT_EQ(result.Int(0, 4), 32767);
  EXPECT_EQ(result.Int(0, 5), 9223372036854775807LL);
  EXPECT_TRUE(result.Bool(0, 6));
  EXPECT_FALSE(result.Bool(0, 7));
  EXPECT_EQ(result.Text(0, 8), "héllo");
  // A column of another type is refused, not misread.
  EXPECT_THROW(result.Int(0, 0), PgError);
  EXPECT_THROW(result.Bytes(0, 1), PgError);
  EXPECT_THROW(result.Bool(0, 1), PgError);
  // Without parameters too (no simple protocol: one statement).
  EXPECT_EQ(connection_->ExecBinary("SELECT 7::int8", {}).Int(0, 0), 7);
}

TEST_F(PgConnectionTest, ServerErrorsCarryPostgresMessageAndKeepTheConnection) {
  try {
    connection_->Exec("SELECT 1 / $1::int", {PgParam::Text("0")});
    FAIL() << "no error";
  } catch (const PgError& e) {
    EXPECT_STREQ(e.what(), "division by zero");
    EXPECT_EQ(e.sqlstate(), "22012");
    EXPECT_FALSE(e.connection_lost());
  }
  EXPECT_TRUE(connection_->usable());
  EXPECT_EQ(connection_->Exec("SELECT 41 + 1").Int(0, 0), 42);
}

TEST_F(PgConnectionTest, TimeoutClosesTheConnection) {
  auto started = std::chrono::steady_clock::now();
  try {
    connection_->Exec("SELECT pg_sleep(10)", {}, milliseconds(200));
    FAIL() << "no timeout";
  } catch (const PgError& e) {
    EXPECT_TRUE(e.connection_lost());
    EXPECT_STREQ(e.what(), "timed out waiting for PostgreSQL");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_FALSE(connection_->usable());
  EXPECT_THROW(connection_->Exec("SELECT 1"), PgError);
}

TEST_F(PgConnectionTest, TerminatedBackendIsReportedLost) {
  auto other = PgConnection::Connect(conninfo_, std::chrono::seconds(10));
  other->Exec("SELECT pg_terminate_backend($1::int)",
              {PgParam::Text(std::to_string(connection_->backend_pid()))});
  try {
    connection_->Exec("SELECT 1");
    FAIL() << "no error";
  } catch (const PgError& e) {
    EXPECT_TRUE(e.connection_lost()) << e.what();
  }
  EXPECT_FALSE(connection_->usable());
}

TEST_F(PgConnectionTest, ConnectErrorsCarryPostgresMessage) {
  std::string conninfo = conninfo_.substr(0, conninfo_.find("dbname=")) + "dbname=nope";
  try {
    PgConnection::Connect(conninfo, std::chrono::seconds(10));
    FAIL() << "connected";
  } catch (const PgError& e) {
    EXPECT_NE(std::string(e.what()).find("database \"nope\" does not exist"), std::string::npos)
        << e.what();
    EXPECT_TRUE(e.connection_lost());
  }
}

TEST_F(PgConnectionTest, SessionReconnectsAfterALostConnection) {
  PgSession session(PgSessionOptions{.conninfo = conninfo_});
  int first = static_cast<int>(session.Exec("SELECT pg_backend_pid()").Int(0, 0));
  connection_->Exec("SELECT pg_terminate_backend($1::int)", {PgParam::Text(std::to_string(first))});
  EXPECT_THROW(session.Exec("SELECT 1"), PgError);
  EXPECT_FALSE(session.connected());
  int second = static_cast<int>(session.Exec("SELECT pg_backend_pid()").Int(0, 0));
  EXPECT_NE(first, second);
}

TEST_F(PgConnectionTest, SessionWaitsBetweenFailedAttempts) {
  PgSession session(PgSessionOptions{.conninfo = "host=/nonexistent-dorm-socket-dir dbname=x",
                                     .retry_delay = milliseconds(300)});
  try {
    session.Get();
    FAIL() << "connected";
  } catch (const PgError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dorm-socket-dir"), std::string::npos)
        << e.what();
  }
  // Inside the delay, no attempt is made.
  try {
    session.Get();
    FAIL() << "connected";
  } catch (const PgError& e) {
    EXPECT_NE(std::string(e.what()).find("next attempt in"), std::string::npos) << e.what();
    EXPECT_TRUE(e.connection_lost());
  }
  std::this_thread::sleep_for(milliseconds(350));
  try {
    session.Get();
    FAIL() << "connected";
  } catch (const PgError& e) {
    EXPECT_EQ(std::string(e.what()).find("next attempt in"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dorm::cluster
