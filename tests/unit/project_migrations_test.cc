// Project migrations (control/project_migrations.h): tags applied once and in order, creations,
// renames that keep the storage name, deletions, and Cloudflare's refusals.
#include "control/project_migrations.h"

#include <gtest/gtest.h>

#include <set>

namespace dorm::control {
namespace {

MigrationStep Step(std::string tag, std::vector<std::string> created,
                   std::vector<std::pair<std::string, std::string>> renamed = {},
                   std::vector<std::string> deleted = {}) {
  return MigrationStep{
      std::move(tag), std::move(created), std::move(renamed), std::move(deleted), {}, {}};
}

MigrationStep Transfer(std::string tag, std::vector<TransferredClass> transfers) {
  MigrationStep step;
  step.tag = std::move(tag);
  step.transferred_classes = std::move(transfers);
  return step;
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

TEST(ProjectMigrationsTest, ATransferTakesAnotherAppsClassUnderAStorageNameNamingItsOrigin) {
  std::vector<TransferableClass> elsewhere = {{"shop", {"Cart", "cart", false}},
                                              {"legacy", {"Notes", "notes", true}},
                                              {"moved", {"Basket", "cart@shop", false}}};
  MigrationPlan plan = std::get<MigrationPlan>(
      PlanMigrations({}, {},
                     {Step("v1", {"Room"}),
                      Transfer("v2", {{"Cart", "shop", "Basket"}, {"Notes", "legacy", "Memo"}})},
                     elsewhere));
  EXPECT_EQ(plan.storage_of.at("Basket"), "cart@shop");
  EXPECT_EQ(plan.storage_of.at("Memo"), "notes@legacy");
  EXPECT_EQ(plan.key_value, (std::set<std::string>{"Memo"}));  // the kind comes along
  ASSERT_EQ(plan.transfers.size(), 2u);
  EXPECT_EQ(plan.transfers[0].from_app, "shop");
  EXPECT_EQ(plan.transfers[0].from_class, "Cart");
  EXPECT_EQ(plan.transfers[0].from_storage, "cart");
  EXPECT_EQ(plan.transfers[0].to_class, "Basket");
  EXPECT_EQ(plan.transfers[0].to_storage, "cart@shop");
  EXPECT_TRUE(plan.deleted.empty());

  // Transferred on again, a class keeps naming the app it was created in.
  MigrationPlan again = std::get<MigrationPlan>(
      PlanMigrations({}, {}, {Transfer("t1", {{"Basket", "moved", "Trolley"}})}, elsewhere));
  EXPECT_EQ(again.storage_of.at("Trolley"), "cart@shop");
  EXPECT_EQ(again.transfers[0].from_storage, "cart@shop");

  // A transfer in a step applied before is not applied again.
  MigrationPlan later = std::get<MigrationPlan>(
      PlanMigrations({{"Basket", "cart@shop"}}, {"v2"},
                     {Transfer("v2", {{"Cart", "shop", "Basket"}}), Step("v3", {"Extra"})}, {}));
  EXPECT_TRUE(later.transfers.empty());
  EXPECT_EQ(later.storage_of.at("Basket"), "cart@shop");
  EXPECT_EQ(later.storage_of.at("Extra"), "extra");
}

TEST(ProjectMigrationsTest, RefusesTransfersThatCannotApply) {
  std::vector<TransferableClass> elsewhere = {{"shop", {"Cart", "cart", false}}};
  auto error = [&](std::vector<MigrationStep> steps) {
    auto planned = PlanMigrations({}, {}, steps, elsewhere);
    auto* text = std::get_if<std::string>(&planned);
    return text ? *text : "no error";
  };
  EXPECT_EQ(error({Transfer("v1", {{"Cart", "other", "Cart"}})}),
            "migration 'v1': Cannot apply a transferred_classes migration from class 'Cart' of "
            "script 'other', which does not exist.");
  EXPECT_EQ(error({Step("v1", {"Basket"}), Transfer("v2", {{"Cart", "shop", "Basket"}})}),
            "migration 'v2': Cannot transfer class 'Cart' of script 'shop' to 'Basket': a class "
            "of that name already exists.");
  EXPECT_EQ(error({Transfer("v1", {{"Cart", "shop", "A"}, {"Cart", "shop", "B"}})}),
            "migration 'v1': Class 'Cart' of script 'shop' is transferred more than once.");
  EXPECT_EQ(error({Transfer("v1", {{"Cart", "shop", "Basket"}}), Step("v2", {}, {}, {"Basket"})}),
            "migration 'v2': Cannot delete class 'Basket', which this deploy transfers; delete it "
            "in a later deploy.");
  // Renamed after the transfer, it is still the transferred class.
  EXPECT_EQ(error({Transfer("v1", {{"Cart", "shop", "Basket"}}),
                   Step("v2", {}, {{"Basket", "Bag"}}), Step("v3", {}, {}, {"Bag"})}),
            "migration 'v3': Cannot delete class 'Bag', which this deploy transfers; delete it "
            "in a later deploy.");
}

}  // namespace
}  // namespace dorm::control
