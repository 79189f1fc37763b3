#include "runtime/open_database_list.h"

namespace dorm::runtime {

void OpenDatabaseList::Touch(ObjectInstance* instance, std::chrono::steady_clock::time_point now) {
  instance->last_storage_use = now;
  if (instance->in_open_list) {
    list_.splice(list_.begin(), list_, instance->open_list_position);
    return;
  }
  list_.push_front(instance);
  instance->open_list_position = list_.begin();
  instance->in_open_list = true;
  ++size_;
}

void OpenDatabaseList::Remove(ObjectInstance* instance) {
  if (!instance->in_open_list) return;
  list_.erase(instance->open_list_position);
  instance->in_open_list = false;
  --size_;
}

}  // namespace dorm::runtime
