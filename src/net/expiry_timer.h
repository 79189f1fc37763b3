// A steady timer that calls back only for its latest arming: an expiry already queued when the
// timer was re-armed or disarmed (which Asio may still deliver without an error) is ignored.
//
// A connection re-arms its timer several times per request (head, answer, keep-alive), nearly
// always to a later time than the wait already pending. Re-arming an Asio timer cancels that wait
// (its handler still runs, with an error) and queues a new one, which may also reprogram the
// loop's timerfd. So a later deadline only moves `deadline_`: the pending wait, when it ends,
// waits again for what is left. Only an earlier deadline, or Disarm(), cancels it.
//
// Threading: its io_context's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <functional>
#include <utility>

namespace dorm::net {

class ExpiryTimer {
 public:
  using Clock = boost::asio::steady_timer::clock_type;

  explicit ExpiryTimer(boost::asio::io_context& io) : timer_(io) {}

  // Calls `on_expiry()` once, `after` from now, unless re-armed, suspended or disarmed first. The
  // pending wait holds `keep_alive` (the owner's shared_ptr), so that the owner, and this timer,
  // outlive it; a wait started by an earlier arming may be the one kept (with its keep_alive).
  // `on_expiry` replaces the previous arming's; it may re-arm the timer.
  template <class KeepAlive, class OnExpiry>
  void Arm(Clock::duration after, KeepAlive keep_alive, OnExpiry on_expiry) {
    deadline_ = Clock::now() + after;
    armed_ = true;
    on_expiry_ = std::move(on_expiry);
    if (waiting_ && wait_until_ <= deadline_) return;  // it waits on to deadline_ when it ends
    Wait(std::move(keep_alive));
  }

  // No expiry until the next Arm(). The pending wait, if any, is left to end at its time (it
  // then calls nothing), and keeps its keep_alive until then: for a pause that is usually
  // followed by Arm() soon (a request handed to the object). Disarm() releases it now.
  void Suspend() { armed_ = false; }

  // No expiry until the next Arm(); the pending wait is cancelled, releasing its keep_alive.
  void Disarm() {
    armed_ = false;
    if (!waiting_) return;
    waiting_ = false;
    ++wait_id_;
    timer_.cancel();
  }

 private:
  template <class KeepAlive>
  void Wait(KeepAlive keep_alive) {
    // expires_at() cancels a wait still pending: its handler finds a newer wait_id_.
    timer_.expires_at(deadline_);
    wait_until_ = deadline_;
    waiting_ = true;
    const uint64_t id = ++wait_id_;
    timer_.async_wait([this, keep_alive = std::move(keep_alive),
                       id](const boost::system::error_code& ec) mutable {
      if (id != wait_id_) return;  // a newer wait, or Disarm(), replaced this one
      waiting_ = false;
      if (ec || !armed_) return;
      if (Clock::now() < deadline_) {  // re-armed to a later time meanwhile
        Wait(std::move(keep_alive));
        return;
      }
      armed_ = false;
      // Taken out first: the callback may re-arm, which assigns on_expiry_.
      std::function<void()> fire = std::move(on_expiry_);
      on_expiry_ = nullptr;
      fire();
    });
  }

  boost::asio::steady_timer timer_;
  std::function<void()> on_expiry_;
  Clock::time_point deadline_{};    // when the armed timer expires
  Clock::time_point wait_until_{};  // when the pending wait ends (waiting_)
  uint64_t wait_id_ = 0;            // the pending wait's number; older waits' handlers return
  bool armed_ = false;
  bool waiting_ = false;
};

}  // namespace dorm::net
