#include "cluster/cluster_directory.h"

#include "cluster/rendezvous.h"
#include "util/log.h"
#include "util/rate_limited_log.h"

namespace dorm::cluster {
namespace {

PgSessionOptions DirectorySession(const std::string& conninfo) {
  PgSessionOptions options;
  options.conninfo = conninfo;
  options.statement_timeout = std::chrono::milliseconds(2000);
  return options;
}

// A PostgreSQL text[] literal of `items`, every element quoted.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

ClusterDirectory::ClusterDirectory(std::string conninfo, std::string self)
    : self_(std::move(self)), session_(DirectorySession(conninfo)) {}

ClusterDirectory::~ClusterDirectory() { Stop(); }

void ClusterDirectory::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ClusterDirectory::Stop() {
  std::deque<Job> abandoned;
  std::deque<NodeJob> unresolved;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    abandoned.swap(jobs_);
    unresolved.swap(resolves_);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Job& job : abandoned) job.done(Placement{});
  for (NodeJob& job : unresolved) job.done(std::nullopt);
}

std::optional<Placement> ClusterDirectory::Cached(const std::string& object) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cache_.find(object);
  if (it == cache_.end()) return std::nullopt;
  // An owner no longer among the nodes with a live lease (re-read every kNodesEvery) is not
  // asked again: it may be paused, and would hold the request until it resumes; the lookup then
  // finds who has taken its objects.
  const Placement& placement = it->second.placement;
  if (Clock::now() >= it->second.until ||
      (placement.kind == Placement::Kind::kRemote && addresses_.count(placement.node) == 0)) {
    cache_.erase(it);
    return std::nullopt;
  }
  return placement;
}

void ClusterDirectory::Locate(std::string object, std::function<void(Placement)> done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && jobs_.size() < kMaxQueued) {
      jobs_.push_back(Job{std::move(object), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(Placement{});
}

void ClusterDirectory::Resolve(std::string node,
                               std::function<void(std::optional<std::string>)> done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_ && resolves_.size() < kMaxQueued) {
      resolves_.push_back(NodeJob{std::move(node), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(std::nullopt);
}

void ClusterDirectory::Forget(const std::string& object) {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.erase(object);
}

void ClusterDirectory::ForgetAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.clear();
}

std::optional<std::string> ClusterDirectory::AddressOf(const std::string& node) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = addresses_.find(node);
  if (it == addresses_.end()) return std::nullopt;
  return it->second;
}

void ClusterDirectory::RefreshNodes(PgConnection& connection) {
  PgResult found = connection.Exec(
      "SELECT node, addr, draining FROM nodes WHERE lease_until > now() ORDER BY node");
  std::vector<std::string> names;
  std::unordered_map<std::string, std::string> addresses;
  for (int row = 0; row < found.rows(); ++row) {
    // A draining node still serves what it owns until it releases it, but takes nothing new.
    if (!found.Bool(row, 2)) names.push_back(found.Text(row, 0));
    addresses.emplace(found.Text(row, 0), found.Text(row, 1));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  live_nodes_ = std::move(names);
  addresses_ = std::move(addresses);
}

std::vector<Placement> ClusterDirectory::LookUp(PgConnection& connection,
                                                const std::vector<Job>& jobs) {
  std::vector<std::string> objects;
  for (const Job& job : jobs) objects.push_back(job.object);
  PgResult found = connection.Exec(
      "SELECT o.object, o.node, n.addr FROM owners o JOIN nodes n ON n.node = o.node "
      "WHERE o.object = ANY($1::text[]) AND n.lease_until > now()",
      {PgParam::Text(TextArray(objects))});
  std::unordered_map<std::string, Placement> owned;
  for (int row = 0; row < found.rows(); ++row) {
    Placement placement;
    placement.node = found.Text(row, 1);
    placement.addr = found.Text(row, 2);
    placement.kind = placement.node == self_ ? Placement::Kind::kLocal : Placement::Kind::kRemote;
    owned.emplace(found.Text(row, 0), std::move(placement));
  }
  std::vector<Placement> result;
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point until = Clock::now() + kCacheFor;
  if (cache_.size() + owned.size() > kMaxCached) cache_.clear();
  for (const Job& job : jobs) {
    if (auto it = owned.find(job.object); it != owned.end()) {
      cache_[job.object] = CacheEntry{it->second, until};
      result.push_back(it->second);
      continue;
    }
    // Nobody live owns it: the rendezvous winner takes it (not cached: it is about to change).
    Placement placement;
    if (std::optional<size_t> pick = RendezvousPick(live_nodes_, job.object)) {
      placement.node = live_nodes_[*pick];
      auto addr = addresses_.find(placement.node);
      if (addr != addresses_.end()) placement.addr = addr->second;
      placement.kind = placement.node == self_ ? Placement::Kind::kLocal : Placement::Kind::kRemote;
    }
    result.push_back(std::move(placement));
  }
  return result;
}

void ClusterDirectory::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kNodesEvery,
                   [this] { return stopping_ || !jobs_.empty() || !resolves_.empty(); });
    if (stopping_) break;
    std::vector<Job> batch;
    while (!jobs_.empty() && batch.size() < 500) {
      batch.push_back(std::move(jobs_.front()));
      jobs_.pop_front();
    }
    std::deque<NodeJob> resolving;
    resolving.swap(resolves_);
    lock.unlock();
    std::vector<Placement> placements(batch.size());
    try {
      PgConnection& connection = session_.Get();
      if (!resolving.empty() || Clock::now() - nodes_read_ >= kNodesEvery) {
        RefreshNodes(connection);
        nodes_read_ = Clock::now();
      }
      if (!batch.empty()) placements = LookUp(connection, batch);
    } catch (const PgError& e) {
      if (e.connection_lost()) session_.Drop();
      static RateLimitedLog log(LogLevel::kWarn, std::chrono::seconds(10));
      log.Note(std::string("cluster directory: ") + e.what());
    } catch (const std::exception& e) {
      Log(LogLevel::kWarn, std::string("cluster directory: ") + e.what());
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(placements[i]));
    // Answered from the nodes just read (or, if that failed, from the last refresh).
    for (NodeJob& job : resolving) job.done(AddressOf(job.node));
    lock.lock();
  }
}

}  // namespace dorm::cluster
