#include "control/control_sync.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "util/aes_gcm.h"
#include "util/crypto.h"
#include "util/log.h"

namespace dorm::control {
namespace {

// Bound into every sealed change, so that a value sealed for another purpose with the same key
// (an env var's) is never taken for a change.
constexpr const char* kChangeAssociated = "dorm control change v1";
constexpr const char* kSnapshotAssociated = "dorm control snapshot v1";
constexpr const char* kAnswerAssociated = "dorm control answer v1";
constexpr const char* kFingerprintLabel = "dorm control request v1\n";
constexpr const char* kKeyCheckLabel = "dorm control key check v1";
constexpr auto kPollEvery = std::chrono::milliseconds(250);

}  // namespace

ControlSync::ControlSync(std::string conninfo, std::string node, std::string data_dir,
                         std::string secrets_key, long long snapshot_every)
    : conninfo_(std::move(conninfo)),
      node_(std::move(node)),
      version_path_(data_dir + "/control-version"),
      secrets_key_(std::move(secrets_key)),
      snapshot_every_(snapshot_every),
      log_(std::make_unique<cluster::ControlLog>(conninfo_)) {
  std::ifstream in(version_path_);
  long long version = 0;
  if (in >> version && version > 0) applied_ = version;
}

ControlSync::~ControlSync() { Stop(); }

void ControlSync::Start(std::function<void()> behind, std::function<bool()> wanted) {
  Sha256Digest check = HmacSha256(secrets_key_, kKeyCheckLabel);
  if (!log_->CheckKey(std::string(reinterpret_cast<const char*>(check.data()), check.size()))) {
    throw std::runtime_error(
        "this node's secrets key (DATA/secrets.key) is not the cluster's: every node needs the "
        "same key file (copy the first node's into the data folder before starting a node)");
  }
  behind_ = std::move(behind);
  wanted_ = std::move(wanted);
  thread_ = std::thread([this] { Poll(); });
}

void ControlSync::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ControlSync::SetApplied(long long version) {
  std::string temp = version_path_ + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << version << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + temp);
  }
  // A crash may lose the last versions written (the file is not fsynced): they are applied again
  // at the next start, which leaves the same state (see README, "Cluster").
  if (std::rename(temp.c_str(), version_path_.c_str()) != 0) {
    throw std::runtime_error("cannot replace " + version_path_);
  }
  applied_ = version;
}

std::string ControlSync::Seal(const std::string& change) const {
  return SealAes256Gcm(secrets_key_, change, kChangeAssociated);
}

std::optional<std::string> ControlSync::Open(const std::string& sealed) const {
  return OpenAes256Gcm(secrets_key_, sealed, kChangeAssociated);
}

std::string ControlSync::SealSnapshot(const std::string& snapshot) const {
  return SealAes256Gcm(secrets_key_, snapshot, kSnapshotAssociated);
}

std::optional<std::string> ControlSync::OpenSnapshot(const std::string& sealed) const {
  return OpenAes256Gcm(secrets_key_, sealed, kSnapshotAssociated);
}

std::string ControlSync::SealAnswer(const std::string& answer) const {
  return SealAes256Gcm(secrets_key_, answer, kAnswerAssociated);
}

std::optional<std::string> ControlSync::OpenAnswer(const std::string& sealed) const {
  return OpenAes256Gcm(secrets_key_, sealed, kAnswerAssociated);
}

std::string ControlSync::Fingerprint(const std::string& request) const {
  Sha256Digest mac = HmacSha256(secrets_key_, kFingerprintLabel + request);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

void ControlSync::Poll() {
  // Connections of its own: the admin worker's may be inside a long append. One asks for the
  // log's end every kPollEvery (which also notices a silent network: its statements time out);
  // the other LISTENs, so that an append wakes the thread at once.
  cluster::ControlLog log(conninfo_);
  cluster::PgSessionOptions listener_options;
  listener_options.conninfo = conninfo_;
  cluster::PgSession listener(listener_options);
  bool listening = false;
  bool failing = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    try {
      if (!listening) {
        listener.Exec(std::string("LISTEN ") + cluster::kControlChannel);
        listening = true;
      }
      if (log.Latest() > applied_.load() || (wanted_ && wanted_())) behind_();
      if (failing) Log(LogLevel::kInfo, "control plane: PostgreSQL reachable again");
      failing = false;
    } catch (const std::exception& e) {
      if (!failing) Log(LogLevel::kWarn, std::string("control plane: cannot poll: ") + e.what());
      failing = true;
    }
    bool waited = false;
    if (listening) {
      try {
        listener.Get().AwaitNotification(kPollEvery);
        waited = true;
      } catch (const cluster::PgError&) {
        listener.Drop();
        listening = false;
      }
    }
    lock.lock();
    if (!waited) wake_.wait_for(lock, kPollEvery, [this] { return stopping_; });
  }
}

}  // namespace dorm::control
