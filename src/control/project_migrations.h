// Durable Object migrations of a project deploy, with Cloudflare's semantics: each tag is applied
// once, in order; `new_sqlite_classes`/`new_classes` create a class, `renamed_classes` gives a
// class a new name and keeps its objects, `deleted_classes` deletes a class and its objects,
// `transferred_classes` moves another app's class and its objects into the project.
//
// A class's objects live under its storage name: the kebab-case name it was created with. A rename
// changes the class's name (and URL name) but not its storage name, so object ids, databases,
// alarms and usage stay where they are and a rename moves no data.
//
// Pure; no I/O.
#pragma once

#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace dorm::control {

// One entry of `transferred_classes`: class `from` of app `from_app` becomes class `to` here.
struct TransferredClass {
  std::string from;
  std::string from_app;
  std::string to;
};

struct MigrationStep {
  std::string tag;
  std::vector<std::string> new_classes;  // new_classes and new_sqlite_classes
  std::vector<std::pair<std::string, std::string>> renamed_classes;  // (from, to)
  std::vector<std::string> deleted_classes;
  // The classes of new_classes that came from `new_classes`: key-value storage only, where
  // `ctx.storage.sql` and `ctx.storage.kv` fail as on Cloudflare.
  std::vector<std::string> key_value_classes;
  std::vector<TransferredClass> transferred_classes;
};

// A class of the project's previous deploy.
struct ExistingProjectClass {
  std::string class_name;    // the exported JS class, e.g. "ChatRoom"
  std::string storage_name;  // where its objects live, e.g. "chat-room"
  bool key_value = false;    // created by `new_classes` (not `new_sqlite_classes`)
};

// A class of another app, which a `transferred_classes` step may move into the project.
struct TransferableClass {
  std::string app;
  ExistingProjectClass current;
};

// A transfer the plan makes: the source class's objects move from (from_app, from_storage) to
// this app's `to_storage` (runtime::TransferredStorageName), and class `to` serves them.
struct PlannedTransfer {
  std::string from_app;
  std::string from_class;
  std::string from_storage;
  std::string to_class;
  std::string to_storage;
};

struct MigrationPlan {
  std::vector<std::string> new_tags;  // to record, in order
  // Every class that exists once the migrations ran, by JS class name → its storage name.
  std::map<std::string, std::string> storage_of;
  // The classes of storage_of whose storage is key-value only (created by `new_classes`; the kind
  // follows a class through renames and never changes).
  std::set<std::string> key_value;
  // Classes of the previous deploy (by JS class name) that are gone: renamed (their objects now
  // belong to the new name) or deleted (their objects are to be deleted).
  std::vector<std::string> renamed_away;
  std::vector<std::string> deleted;
  std::vector<PlannedTransfer> transfers;
};

// Plans `steps` (the project's whole migration list, in order) given the classes the previous
// deploy left and the tags applied so far. The steps after the last applied tag run; the last
// applied tag must be in the list. `transferable`: the other apps' classes that the steps'
// transfers name (whether their apps allow the transfers is the caller's to check). Returns the
// plan, or the error to show the deployer.
std::variant<MigrationPlan, std::string> PlanMigrations(
    const std::vector<ExistingProjectClass>& existing, const std::vector<std::string>& applied_tags,
    const std::vector<MigrationStep>& steps,
    const std::vector<TransferableClass>& transferable = {});

}  // namespace dorm::control
