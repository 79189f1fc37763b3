// Removing a deleted class's storage, and moving a transferred class's (DATA/objects/APP/CLASS) so
// that a crash at any moment leaves its data either whole under its name or gone from it, never a
// part of it that a class deployed again under the same name would serve.
//
// The class's folder is first renamed into DATA/objects/.trash (one atomic rename, flushed), then
// removed. Whatever a crash leaves in the trash is removed by EmptyStorageTrash at the next start.
// The registry records the deletion as pending in the transaction that removes the class, so a
// crash before the rename is finished at the next start too (see Registry::Remove).
#pragma once

#include <string>

namespace dorm::control {

// Moves the class's folder into the trash and removes it. Returns normally if the class has no
// storage. Throws std::runtime_error if the folder cannot be moved (then it is still in place);
// a failure while removing the moved folder is only logged, since it is no longer reachable.
void RemoveClassStorage(const std::string& data_dir, const std::string& app,
                        const std::string& class_name);

// Moves a class's folder to another app and storage name (a `transferred_classes` migration),
// with one atomic rename, flushed, so that a crash leaves every object under exactly one of the
// two names. Returns normally if the source folder is gone (no objects, or moved before a crash).
// Throws std::runtime_error if both folders exist (nothing is overwritten) or the rename fails.
void MoveClassStorage(const std::string& data_dir, const std::string& from_app,
                      const std::string& from_storage, const std::string& to_app,
                      const std::string& to_storage);

// Removes whatever an interrupted removal left in the trash. Logs failures; never throws.
void EmptyStorageTrash(const std::string& data_dir);

}  // namespace dorm::control
