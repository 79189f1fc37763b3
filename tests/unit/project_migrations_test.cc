// Project migrations (control/project_migrations.h): tags applied once and in order, creations,
// renames that keep the storage name, deletions, and Cloudflare's refusals.
#include "control/project_migrations.h"

#include <gtest/gtest.h>

namespace dorm::control {
namespace {

MigrationStep Step(std::string tag, std::vector<std::string> created,
                   std::vector<std::pair<std::string, std::string>> renamed = {},
                   std::vector<std::string> deleted = {}) {
  return MigrationStep{
      std::move(tag), std::move(created), std::move(renamed), std::move(deleted), {}};
}

MigrationPlan Planned(const std::vector<ExistingProjectClass>& existing,
                      const std::vector<std::string>& applied,
                      const std::vector<MigrationStep>& steps) {
  auto planned = PlanMigrations(existing, applied, steps);
  if (auto* error = std::get_if<std::string>(&planned)) {
    ADD_FAILURE() << *error;
    return {};
  }
  return std::get<MigrationPlan>(planned);
}

std::string ErrorOf(const std::vector<ExistingProjectClass>& existing,
                    const std::vector<std::string>& applied,
                    const std::vector<MigrationStep>& steps) {
  auto planned = PlanMigrations(existing, applied, steps);
  auto* error = std::get_if<std::string>(&planned);
  return error ? *error : "no error";
}

TEST(ProjectMigrationsTest, AFirstDeployRunsEveryStepInOrder) {
  MigrationPlan plan =
      Planned({}, {},
              {Step("v1", {"ChatRoom", "Counter"}), Step("v2", {}, {{"Counter", "Tally"}}),
               Step("v3", {"Gone"}), Step("v4", {}, {}, {"Gone"})});
  EXPECT_EQ(plan.new_tags, (std::vector<std::string>{"v1", "v2", "v3", "v4"}));
  // A class renamed before it ever had objects keeps the storage name it was created with.
  EXPECT_EQ(plan.storage_of,
            (std::map<std::string, std::string>{{"ChatRoom", "chat-room"}, {"Tally", "counter"}}));
  EXPECT_TRUE(plan.renamed_away.empty());
  EXPECT_TRUE(plan.deleted.empty());  // "Gone" never existed before this deploy
}

TEST(ProjectMigrationsTest, KeyValueClassesKeepTheirKindThroughRenamesAndLaterDeploys) {
  MigrationStep created = Step("v1", {"Legacy", "Modern"});
  created.key_value_classes = {"Legacy"};
  std::vector<MigrationStep> steps = {created, Step("v2", {}, {{"Legacy", "Old"}})};
  MigrationPlan first = Planned({}, {}, steps);
  EXPECT_EQ(first.key_value, std::set<std::string>{"Old"});
  // A later deploy runs no step: the kind comes from the classes the registry kept.
  MigrationPlan later =
      Planned({{"Old", "legacy", true}, {"Modern", "modern", false}}, {"v1", "v2"}, steps);
  EXPECT_EQ(later.key_value, std::set<std::string>{"Old"});
  steps.push_back(Step("v3", {}, {}, {"Old"}));
  MigrationPlan deleted =
      Planned({{"Old", "legacy", true}, {"Modern", "modern", false}}, {"v1", "v2"}, steps);
  EXPECT_TRUE(deleted.key_value.empty());
}

TEST(ProjectMigrationsTest, OnlyTheStepsAfterTheLastAppliedTagRun) {
  std::vector<MigrationStep> steps = {Step("v1", {"Room"}), Step("v2", {"User"})};
  MigrationPlan again = Planned({{"Room", "room"}, {"User", "user"}}, {"v1", "v2"}, steps);
  EXPECT_TRUE(again.new_tags.empty());
  EXPECT_EQ(again.storage_of.size(), 2u);
  steps.push_back(Step("v3", {}, {{"Room", "Hall"}}));
  MigrationPlan renamed = Planned({{"Room", "room"}, {"User", "user"}}, {"v1", "v2"}, steps);
  EXPECT_EQ(renamed.new_tags, std::vector<std::string>{"v3"});
  EXPECT_EQ(renamed.storage_of.at("Hall"), "room");  // the objects stay where they are
  EXPECT_EQ(renamed.renamed_away, std::vector<std::string>{"Room"});
  EXPECT_EQ(ErrorOf({{"Room", "room"}}, {"v9"}, steps),
            "The last migration applied, tag 'v9', is not in the project's migrations: keep every "
            "migration in the configuration and add new ones after it.");
}

TEST(ProjectMigrationsTest, DeletionsOfEarlierClassesDeleteTheirStorageEvenAfterARename) {
  MigrationPlan plan = Planned({{"Room", "room"}, {"User", "user"}}, {"v1"},
                               {Step("v1", {"Room", "User"}), Step("v2", {}, {{"Room", "Hall"}}),
                                Step("v3", {}, {}, {"Hall", "User"})});
  EXPECT_TRUE(plan.storage_of.empty());
  EXPECT_EQ(plan.deleted, (std::vector<std::string>{"Room", "User"}));
  EXPECT_TRUE(plan.renamed_away.empty());
}

TEST(ProjectMigrationsTest, RefusesWhatCloudflareRefuses) {
  EXPECT_EQ(ErrorOf({{"Room", "room"}}, {"v1"}, {Step("v1", {"Room"}), Step("v2", {"Room"})}),
            "migration 'v2': Cannot apply new-class migration to class 'Room' that already "
            "exists.");
  EXPECT_EQ(ErrorOf({}, {}, {Step("v1", {}, {{"Nope", "Yes"}})}),
            "migration 'v1': Cannot apply a renamed_classes migration to class 'Nope', which does "
            "not exist.");
  EXPECT_EQ(ErrorOf({}, {}, {Step("v1", {"A", "B"}), Step("v2", {}, {{"A", "B"}})}),
            "migration 'v2': Cannot rename class 'A' to 'B': a class of that name already "
            "exists.");
  EXPECT_EQ(ErrorOf({}, {}, {Step("v1", {}, {}, {"Ghost"})}),
            "migration 'v1': Cannot apply a deleted_classes migration to class 'Ghost', which "
            "does not exist.");
  // A new class may not take the storage a renamed class keeps.
  EXPECT_EQ(
      ErrorOf({}, {},
              {Step("v1", {"Room"}), Step("v2", {}, {{"Room", "Hall"}}), Step("v3", {"Room"})}),
      "migration 'v3': Class 'Room' would store its objects as 'room', which a renamed "
      "class still uses.");
}

}  // namespace
}  // namespace dorm::control
