// A steady timer that calls back only for its latest arming: an expiry already queued when the
// timer was re-armed or disarmed (which Asio may still deliver without an error) is ignored.
//
// Threading: its io_context's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <utility>

namespace dorm::net {

class ExpiryTimer {
 public:
  explicit ExpiryTimer(boost::asio::io_context& io) : timer_(io) {}

  // Calls `on_expiry()` once, `after` from now, unless re-armed or disarmed first. The wait holds
  // `keep_alive` (the owner's shared_ptr), so that the owner, and this timer, outlive it.
  template <class KeepAlive, class OnExpiry>
  void Arm(boost::asio::steady_timer::duration after, KeepAlive keep_alive, OnExpiry on_expiry) {
    timer_.expires_after(after);
    timer_.async_wait([this, keep_alive = std::move(keep_alive), on_expiry = std::move(on_expiry),
                       generation = ++generation_](const boost::system::error_code& ec) {
      if (ec || generation != generation_) return;
      on_expiry();
    });
  }

  void Disarm() {
    ++generation_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  uint64_t generation_ = 0;
};

}  // namespace dorm::net
