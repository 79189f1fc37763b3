#include "control/project_migrations.h"

#include <algorithm>
#include <map>
#include <set>

#include "runtime/object_id.h"
#include "util/names.h"

namespace dorm::control {

std::variant<MigrationPlan, std::string> PlanMigrations(
    const std::vector<ExistingProjectClass>& existing, const std::vector<std::string>& applied_tags,
    const std::vector<MigrationStep>& steps, const std::vector<TransferableClass>& transferable) {
  MigrationPlan plan;
  // The class of the previous deploy each existing class comes from ("": created now).
  std::map<std::string, std::string> origin;
  // How many of the plan's classes store their objects under each storage name: whether a name
  // is taken is one lookup, not a scan of every class (a deploy may list thousands).
  std::map<std::string, size_t> storage_uses;
  auto take_storage = [&](const std::string& storage) { ++storage_uses[storage]; };
  auto release_storage = [&](const std::string& storage) {
    auto it = storage_uses.find(storage);
    if (it != storage_uses.end() && --it->second == 0) storage_uses.erase(it);
  };
  auto storage_taken = [&](const std::string& storage) { return storage_uses.count(storage) != 0; };
  for (const ExistingProjectClass& c : existing) {
    auto [slot, added] = plan.storage_of.emplace(c.class_name, c.storage_name);
    if (!added) {
      release_storage(slot->second);
      slot->second = c.storage_name;
    }
    take_storage(c.storage_name);
    if (c.key_value) plan.key_value.insert(c.class_name);
    origin[c.class_name] = c.class_name;
  }
  size_t first = 0;
  if (!applied_tags.empty()) {
    const std::string& last = applied_tags.back();
    auto it = std::find_if(steps.begin(), steps.end(),
                           [&](const MigrationStep& s) { return s.tag == last; });
    if (it == steps.end()) {
      return "The last migration applied, tag '" + last +
             "', is not in the project's migrations: keep every migration in the configuration "
             "and add new ones after it.";
    }
    first = static_cast<size_t>(it - steps.begin()) + 1;
  }
  for (size_t i = first; i < steps.size(); ++i) {
    const MigrationStep& step = steps[i];
    const std::string where = "migration '" + step.tag + "': ";
    const std::set<std::string> key_value_classes(step.key_value_classes.begin(),
                                                  step.key_value_classes.end());
    for (const std::string& name : step.new_classes) {
      if (plan.storage_of.count(name) != 0) {
        return where + "Cannot apply new-class migration to class '" + name +
               "' that already exists.";
      }
      std::string storage = KebabFromPascal(name);
      if (!IsValidKebabName(storage)) {
        return where + "Class '" + name + "' has no valid URL name ('" + storage + "').";
      }
      if (storage_taken(storage)) {
        return where + "Class '" + name + "' would store its objects as '" + storage +
               "', which a renamed class still uses.";
      }
      plan.storage_of[name] = storage;
      take_storage(storage);
      if (key_value_classes.count(name) != 0) plan.key_value.insert(name);
      origin[name] = "";
    }
    for (const auto& [from, to] : step.renamed_classes) {
      auto source = plan.storage_of.find(from);
      if (source == plan.storage_of.end()) {
        return where + "Cannot apply a renamed_classes migration to class '" + from +
               "', which does not exist.";
      }
      if (plan.storage_of.count(to) != 0) {
        return where + "Cannot rename class '" + from + "' to '" + to +
               "': a class of that name already exists.";
      }
      if (!IsValidKebabName(KebabFromPascal(to))) {
        return where + "Class '" + to + "' has no valid URL name ('" + KebabFromPascal(to) + "').";
      }
      std::string storage = source->second;
      plan.storage_of.erase(source);
      plan.storage_of[to] = storage;
      if (plan.key_value.erase(from) != 0) plan.key_value.insert(to);
      origin[to] = origin[from];
      origin.erase(from);
    }
    for (const TransferredClass& t : step.transferred_classes) {
      auto source =
          std::find_if(transferable.begin(), transferable.end(), [&](const TransferableClass& c) {
            return c.app == t.from_app && c.current.class_name == t.from;
          });
      if (source == transferable.end()) {
        return where + "Cannot apply a transferred_classes migration from class '" + t.from +
               "' of script '" + t.from_app + "', which does not exist.";
      }
      if (plan.storage_of.count(t.to) != 0) {
        return where + "Cannot transfer class '" + t.from + "' of script '" + t.from_app +
               "' to '" + t.to + "': a class of that name already exists.";
      }
      if (!IsValidKebabName(KebabFromPascal(t.to))) {
        return where + "Class '" + t.to + "' has no valid URL name ('" + KebabFromPascal(t.to) +
               "').";
      }
      for (const PlannedTransfer& earlier : plan.transfers) {
        if (earlier.from_app == t.from_app && earlier.from_class == t.from) {
          return where + "Class '" + t.from + "' of script '" + t.from_app +
                 "' is transferred more than once.";
        }
      }
      std::string storage =
          runtime::TransferredStorageName(source->current.storage_name, t.from_app);
      if (storage_taken(storage)) {
        return where + "Class '" + t.to + "' would store its objects as '" + storage +
               "', which another class uses.";
      }
      plan.storage_of[t.to] = storage;
      take_storage(storage);
      if (source->current.key_value) plan.key_value.insert(t.to);
      origin[t.to] = "";
      plan.transfers.push_back(
          {t.from_app, t.from, source->current.storage_name, t.to, std::move(storage)});
    }
    for (const std::string& name : step.deleted_classes) {
      // The objects of a class transferred by this very deploy are still the other app's.
      auto deleted = plan.storage_of.find(name);
      for (const PlannedTransfer& t : plan.transfers) {
        if (deleted != plan.storage_of.end() && deleted->second == t.to_storage) {
          return where + "Cannot delete class '" + name +
                 "', which this deploy transfers; delete it in a later deploy.";
        }
      }
      plan.key_value.erase(name);
      if (deleted == plan.storage_of.end()) {
        return where + "Cannot apply a deleted_classes migration to class '" + name +
               "', which does not exist.";
      }
      release_storage(deleted->second);
      plan.storage_of.erase(deleted);
      if (!origin[name].empty()) plan.deleted.push_back(origin[name]);
      origin.erase(name);
    }
    plan.new_tags.push_back(step.tag);
  }
  // Classes of the previous deploy that live on under another name.
  for (const ExistingProjectClass& c : existing) {
    auto it = std::find_if(origin.begin(), origin.end(),
                           [&](const auto& entry) { return entry.second == c.class_name; });
    if (it != origin.end() && it->first != c.class_name) plan.renamed_away.push_back(c.class_name);
  }
  return plan;
}

}  // namespace dorm::control
