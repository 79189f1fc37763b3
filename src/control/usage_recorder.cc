#include "control/usage_recorder.h"

#include "control/object_index.h"
#include "util/log.h"
#include "util/wall_clock.h"

namespace dorm::control {

namespace {
long long EpochMinute() { return WallClockSeconds() / 60; }
}  // namespace

UsageRecorder::UsageRecorder(UsageStore& store, Collect collect, std::chrono::milliseconds period)
    : store_(store), collect_(std::move(collect)), period_(period) {
  class_totals_ = store_.ClassTotals();
}

UsageRecorder::~UsageRecorder() { Stop(); }

void UsageRecorder::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void UsageRecorder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    collecting_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UsageRecorder::AddFinalReading(runtime::ThreadUsageReport report) {
  std::lock_guard<std::mutex> lock(mu_);
  finals_.push_back(std::move(report));
}

void UsageRecorder::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, period_, [this] { return stopping_; })) {
    try {
      RefreshLocked();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, std::string("cannot record usage: ") + e.what());
    }
  }
}

void UsageRecorder::Refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  RefreshLocked();
}

UsageRecorder::Snapshot UsageRecorder::RefreshAndRead() {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s;
  s.threads = RefreshLocked();
  s.class_totals = class_totals_;
  return s;
}

std::vector<runtime::ThreadUsageReport> UsageRecorder::RefreshLocked() {
  std::vector<runtime::ThreadUsageReport> reports;
  if (collecting_) reports = collect_();
  for (auto& r : finals_) reports.push_back(std::move(r));
  finals_.clear();
  std::vector<runtime::ObjectUsageDelta> deltas;
  for (auto& report : reports) {
    for (auto& d : report.objects) deltas.push_back(std::move(d));
    report.objects.clear();
  }
  // Recorded before the in-memory totals change, so that a failure loses nothing twice.
  const long long minute = EpochMinute();
  try {
    store_.Record(minute, deltas);
  } catch (...) {
    // The reading is dropped, and with it which objects' databases changed.
    if (index_) index_->ChangesLost();
    throw;
  }
  if (sink_) sink_(minute, deltas);
  if (index_) {
    // The objects list is a view: a failure to update it loses no usage (but incremental backups
    // can no longer tell what changed).
    try {
      index_->Record(deltas, reports, WallClockMs());
    } catch (const std::exception& e) {
      index_->ChangesLost();
      Log(LogLevel::kError, std::string("cannot update the object index: ") + e.what());
    }
  }
  for (const auto& d : deltas) {
    UsageTotals t;
    t.http_requests = d.http_requests;
    t.websocket_messages = d.websocket_messages;
    t.alarms = d.alarms;
    t.cpu_ns = d.cpu_ns;
    t.wall_ns = d.wall_ns;
    t.outbound_requests = d.outbound_requests;
    t.outbound_bytes = d.outbound_bytes;
    class_totals_[{d.app, d.class_name}].Add(t);
  }
  if (!collecting_) return latest_;
  latest_.clear();
  latest_.reserve(reports.size());
  for (const auto& report : reports) {
    runtime::ThreadUsageReport kept;
    kept.heaps = report.heaps;
    kept.event_loop_lag_seconds = report.event_loop_lag_seconds;
    kept.thread_id = report.thread_id;
    latest_.push_back(std::move(kept));
  }
  return reports;
}

}  // namespace dorm::control
