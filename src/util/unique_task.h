// A move-only `void()` callable: what std::function cannot hold (a lambda owning a
// move-only callback or response), for queues of work that runs once.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace dorm {

class UniqueTask {
 public:
  UniqueTask() = default;
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, UniqueTask>>>
  UniqueTask(F&& f)  // NOLINT(google-explicit-constructor): used like a function parameter
      : impl_(std::make_unique<Model<std::decay_t<F>>>(std::forward<F>(f))) {}

  // Runs the task. It must hold one.
  void operator()() { impl_->Run(); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual void Run() = 0;
  };
  template <typename F>
  struct Model final : Concept {
    explicit Model(F&& g) : f(std::move(g)) {}
    explicit Model(const F& g) : f(g) {}
    void Run() override { f(); }
    F f;
  };
  std::unique_ptr<Concept> impl_;
};

}  // namespace dorm
