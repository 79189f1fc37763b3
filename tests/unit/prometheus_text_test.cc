#include "control/prometheus_text.h"

#include <gtest/gtest.h>

namespace dorm::control {
namespace {

TEST(PrometheusText, WritesFamiliesAndSamples) {
  PrometheusText out;
  out.Family("dorm_x_total", "counter", "Things.\nCounted \\ here.");
  out.Sample("dorm_x_total", {{"app", "a"}, {"class", "b"}}, 7);
  out.Sample("dorm_x_total", {}, 0.25);
  EXPECT_EQ(out.text(),
            "# HELP dorm_x_total Things.\\nCounted \\\\ here.\n"
            "# TYPE dorm_x_total counter\n"
            "dorm_x_total{app=\"a\",class=\"b\"} 7\n"
            "dorm_x_total 0.25\n");
}

TEST(PrometheusText, EscapesLabelValues) {
  PrometheusText out;
  out.Sample("m", {{"l", "a\"b\\c\nd"}}, 1);
  EXPECT_EQ(out.text(), "m{l=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(PrometheusText, PrintsCountsExactlyAndSpecialValues) {
  PrometheusText out;
  out.Sample("m", {}, 9007199254740.0);
  out.Sample("m", {}, 1.0 / 0.0);
  EXPECT_EQ(out.text(), "m 9007199254740\nm +Inf\n");
}

}  // namespace
}  // namespace dorm::control
