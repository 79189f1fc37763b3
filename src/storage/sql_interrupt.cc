#include "storage/sql_interrupt.h"

namespace dorm::storage {
namespace {
thread_local const std::atomic<bool>* t_interrupt_flag = nullptr;

int CheckInterrupt(void*) {
  const std::atomic<bool>* flag = t_interrupt_flag;
  return flag != nullptr && flag->load(std::memory_order_relaxed) ? 1 : 0;
}

// Virtual-machine instructions between checks: about a few microseconds of work.
constexpr int kInstructionsPerCheck = 4096;
}  // namespace

void SetThreadInterruptFlag(const std::atomic<bool>* flag) { t_interrupt_flag = flag; }

void InstallInterruptCheck(sqlite3* db) {
  sqlite3_progress_handler(db, kInstructionsPerCheck, &CheckInterrupt, nullptr);
}

}  // namespace dorm::storage
