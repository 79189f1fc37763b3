#include "runtime/app_log.h"

#include <algorithm>

#include "util/cycle_clock.h"
#include "util/wall_clock.h"

namespace dorm::runtime {

namespace {

// Copies `text` into `into`, reusing its capacity, unless that capacity is much larger than
// needed (a long message once): then it is given back, so that a slot does not keep it forever.
void AssignReusing(std::string& into, std::string_view text) {
  if (into.capacity() > 1024 && text.size() < into.capacity() / 4) {
    std::string(text).swap(into);
  } else {
    into.assign(text.data(), text.size());
  }
}

void Release(std::string& text) {
  if (text.capacity() > 256) std::string().swap(text);
}

std::string SseEvent(const std::string& json) {
  std::string out;
  out.reserve(json.size() + 8);
  out += "data: ";
  out += json;
  out += "\n\n";
  return out;
}

}  // namespace

AppLog::AppLog(std::string app, AppLogLimits limits)
    : app_(std::move(app)),
      limits_(limits),
      server_log_budget_(limits.server_log, CycleClock::ToNanos(CycleClock::Now())),
      anchor_ms_(WallClockMs()),
      anchor_ticks_(CycleClock::Now()) {}

void AppLog::WriteServerLog(LogLevel level, std::string_view message) {
  // What Log writes of it: the message, cut at 16 KiB, and the line's time and level.
  const size_t bytes = std::min<size_t>(message.size(), size_t{16} << 10) + 32;
  const LogBudget::Decision decision =
      server_log_budget_.Admit(bytes, CycleClock::ToNanos(CycleClock::Now()));
  if (decision.report_lines > 0) {
    const LogBudgetLimits& budget = limits_.server_log;
    Log(LogLevel::kWarn,
        "app " + app_ + ": " + std::to_string(decision.report_lines) + " line(s) (" +
            std::to_string(decision.report_bytes) +
            " bytes) of its console output and errors left out of this log: over " +
            std::to_string(budget.bytes_per_second >> 10) + " KiB/s (bursts of " +
            std::to_string(budget.burst_bytes >> 10) +
            " KiB; --log-kb-per-second-per-app); the next count comes at most " +
            std::to_string(budget.report_every_ns / 1'000'000'000ull) +
            " s later, with the app's next line; `dorm tail` shows them all");
  }
  if (decision.write) Log(level, message);
}

void AppLog::Add(const TailLineView& view) {
  const uint64_t now = CycleClock::Now();
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    TailLine scratch;
    TailLine* line = &scratch;
    if (limits_.max_lines > 0) {
      if (count_ == limits_.max_lines) EvictOldest();
      const size_t slot = (head_ + count_) % limits_.max_lines;
      if (slot == ring_.size()) ring_.emplace_back();
      line = &ring_[slot];
    }
    line->ticks = now;
    line->kind = view.kind;
    line->level = view.level;
    line->outcome = view.outcome;
    line->status = view.status;
    line->duration_ticks = view.duration_ticks;
    AssignReusing(line->class_name, view.class_name);
    AssignReusing(line->object_id, view.object_id);
    AssignReusing(line->instance_name, view.instance_name);
    AssignReusing(line->method, view.method.substr(0, 256));
    AssignReusing(line->path, view.path);
    TruncateTailText(line->path, kTailPathBytes);
    AssignReusing(line->message, view.message);
    TruncateTailText(line->message, kTailMessageBytes);
    if (limits_.max_lines > 0) {
      ++count_;
      bytes_ += line->Bytes();
      while (bytes_ > limits_.max_bytes && count_ > 1) EvictOldest();
    }
    if (clients_.empty()) return;
    const double nanos_per_tick = CycleClock::NanosPerTick();
    for (auto it = clients_.begin(); it != clients_.end();) {
      Client& client = it->second;
      if (client.stream->cancelled()) {
        it = clients_.erase(it);
        continue;
      }
      if (client.filter.Matches(*line) && client.filter.Sample()) {
        WriteTo(client, *line, nanos_per_tick);
      }
      ++it;
    }
  } catch (const std::bad_alloc&) {
    // Out of memory: the line is lost; the request goes on.
  }
}

void AppLog::EvictOldest() {
  TailLine& oldest = ring_[head_];
  bytes_ -= oldest.Bytes();
  Release(oldest.message);
  Release(oldest.path);
  head_ = (head_ + 1) % limits_.max_lines;
  --count_;
}

void AppLog::WriteTo(Client& client, const TailLine& line, double nanos_per_tick) {
  if (client.waiting) {
    ++client.dropped;
    return;
  }
  std::string event =
      SseEvent(TailLineJson(app_, line, WallMs(line, nanos_per_tick), nanos_per_tick));
  if (!client.stream->Reserve(event.size())) client.waiting = true;
  client.stream->Push(std::move(event));
}

void AppLog::OnDrained(uint64_t client_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return;
  Client& client = it->second;
  if (client.stream->cancelled()) {
    clients_.erase(it);
    return;
  }
  client.waiting = false;
  if (client.dropped == 0) return;
  std::string event = SseEvent("{\"dropped\":" + std::to_string(client.dropped) + "}");
  client.dropped = 0;
  if (!client.stream->Reserve(event.size())) client.waiting = true;
  client.stream->Push(std::move(event));
}

bool AppLog::Subscribe(TailFilter filter, long long since_ms,
                       std::shared_ptr<ResponseStream> stream) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      it = it->second.stream->cancelled() ? clients_.erase(it) : std::next(it);
    }
    if (clients_.size() >= limits_.max_clients) return false;
    id = next_client_++;
    Client& client = clients_[id];
    client.filter = std::move(filter);
    client.stream = stream;
    // A comment first, so that the client sees the stream open before any line comes.
    static constexpr char kOpening[] = ": tailing\n\n";
    stream->Reserve(sizeof kOpening - 1);
    stream->Push(kOpening);
    if (since_ms > 0) {
      const double nanos_per_tick = CycleClock::NanosPerTick();
      for (size_t i = 0; i < count_; ++i) {
        const TailLine& line = ring_[(head_ + i) % limits_.max_lines];
        if (WallMs(line, nanos_per_tick) >= since_ms && client.filter.Matches(line) &&
            client.filter.Sample()) {
          WriteTo(client, line, nanos_per_tick);
        }
      }
    }
  }
  // Called on the connection's thread when the stream drains or is cancelled; never with the
  // stream's mutex held, so taking mutex_ here cannot deadlock with Add().
  std::weak_ptr<AppLog> self = weak_from_this();
  stream->SetProducerWake([self, id] {
    if (auto log = self.lock()) log->OnDrained(id);
  });
  return true;
}

std::vector<std::string> AppLog::Recent(TailFilter filter, long long since_ms, size_t limit) const {
  std::vector<std::string> lines;
  const double nanos_per_tick = CycleClock::NanosPerTick();
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < count_; ++i) {
    const TailLine& line = ring_[(head_ + i) % limits_.max_lines];
    const long long time_ms = WallMs(line, nanos_per_tick);
    if (time_ms >= since_ms && filter.Matches(line) && filter.Sample()) {
      lines.push_back(TailLineJson(app_, line, time_ms, nanos_per_tick));
    }
  }
  if (lines.size() > limit) lines.erase(lines.begin(), lines.end() - static_cast<long>(limit));
  return lines;
}

void AppLog::CloseClients() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [id, client] : clients_) client.stream->Finish(true);
  clients_.clear();
}

size_t AppLog::client_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return clients_.size();
}

std::shared_ptr<AppLog> AppLogs::For(const std::string& app) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<AppLog>& log = logs_[app];
  if (!log) log = std::make_shared<AppLog>(app, limits_);
  return log;
}

void AppLogs::CloseClients() {
  std::vector<std::shared_ptr<AppLog>> logs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [app, log] : logs_) logs.push_back(log);
  }
  for (auto& log : logs) log->CloseClients();
}

}  // namespace dorm::runtime
