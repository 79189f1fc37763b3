#include "runtime/open_database_list.h"

namespace dorm::runtime {

void OpenDatabaseList::Touch(ObjectInstance* instance, std::chrono::steady_clock::time_point now) {
  instance->last_storage_use = now;
  if (instance->database_list == this) {
    list_.splice(list_.begin(), list_, instance->database_list_position);
    return;
  }
  if (instance->database_list) instance->database_list->Remove(instance);
  list_.push_front(instance);
  instance->database_list_position = list_.begin();
  instance->database_list = this;
  ++size_;
}

void OpenDatabaseList::Remove(ObjectInstance* instance) {
  if (instance->database_list != this) return;
  list_.erase(instance->database_list_position);
  instance->database_list = nullptr;
  --size_;
}

}  // namespace dorm::runtime
