// Writes the Prometheus text exposition format (version 0.0.4): HELP and TYPE lines per metric
// family, then its samples, with label values escaped.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dorm::control {

using PrometheusLabels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  // Starts a family; `type` is counter, gauge, histogram or summary. Each name once.
  void Family(const std::string& name, const char* type, const std::string& help);
  // One sample line. `name` is the family's name, or for a histogram its _bucket, _sum or
  // _count series. Label names must be valid; values may hold anything.
  void Sample(const std::string& name, const PrometheusLabels& labels, double value);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace dorm::control
