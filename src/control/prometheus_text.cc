#include "control/prometheus_text.h"

#include <cmath>
#include <cstdio>

namespace dorm::control {

namespace {
// HELP text escapes backslash and newline; label values also the double quote.
std::string Escape(const std::string& s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  // Counts print exactly as integers; other values with enough digits to round-trip closely.
  if (v == std::floor(v) && std::fabs(v) < 9e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", v);
  }
  return buf;
}
}  // namespace

void PrometheusText::Family(const std::string& name, const char* type, const std::string& help) {
  out_ += "# HELP " + name + " " + Escape(help, false) + "\n";
  out_ += "# TYPE " + name + " " + type + "\n";
}

void PrometheusText::Sample(const std::string& name, const PrometheusLabels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first + "=\"" + Escape(labels[i].second, true) + "\"";
    }
    out_ += '}';
  }
  out_ += ' ' + Number(value) + '\n';
}

}  // namespace dorm::control
