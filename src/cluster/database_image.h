// An object's database as of its last commit, copied aside to be shipped whole (an overflowed
// commit, commit_snapshot.h) while the object goes on.
//
// The database is its main file with the write-ahead log's committed frames written over it
// (CommittedWalFrames, wal_capture_vfs.h). CopyDatabaseFiles takes both as they are now, on the
// object's thread, before the next write or checkpoint changes them: a copy of the main file at
// `image_path` and of the log's header and committed frames at `image_path` + "-frames"
// (copy_file_range: the kernel copies, nothing passes through memory). BuildDatabaseImage, on any
// thread, then does on the copy what a checkpoint does: writes each frame's page at its number in
// log order (a later frame of a page wins) and cuts the file to the last commit's size, leaving
// exactly the file a checkpoint would have left, page for page.
//
// Threading: free functions; nothing else may use the copies meanwhile. Throw std::runtime_error
// (I/O, a log that is not what CommittedWalFrames said); RemoveDatabaseImage never throws.
#pragma once

#include <cstdint>
#include <string>

namespace dorm::cluster {

void CopyDatabaseFiles(const std::string& db_path, uint32_t wal_frames,
                       const std::string& image_path);
void BuildDatabaseImage(const std::string& image_path, long long max_bytes);
void RemoveDatabaseImage(const std::string& image_path) noexcept;

}  // namespace dorm::cluster
