#include "control/archive_format.h"

#include <gtest/gtest.h>

#include <cstring>

#include "util/crypto.h"

namespace dorm::control {
namespace {

namespace json = boost::json;

const std::string kId(64, 'a');

std::string Sha(const std::string& data) { return ToHex(Sha256(data)); }

std::string Archive(const std::string& kind, const std::string& path, const std::string& data,
                    int files = 1) {
  std::string out(kArchiveMagic, kArchiveMagicBytes);
  out += ArchiveFrame(json::object{{"type", "manifest"}, {"kind", kind}});
  out += ArchiveFrame(
      json::object{{"type", "file"}, {"path", path}, {"size", data.size()}, {"sha256", Sha(data)}});
  out += data;
  out += ArchiveFrame(json::object{{"type", "end"}, {"files", files}});
  return out;
}

// Reads `archive` whole; returns "" or the first error.
std::string ReadAll(const std::string& archive, std::string* contents = nullptr) {
  size_t at = 0;
  ArchiveLimits limits;
  limits.max_file_bytes = 1000;
  ArchiveReader reader(
      [&](char* out, size_t n) {
        n = std::min(n, archive.size() - at);
        std::memcpy(out, archive.data() + at, n);
        at += n;
        return n;
      },
      limits);
  std::string error;
  if (!reader.ReadManifest(&error)) return error;
  for (;;) {
    ArchiveReader::File file;
    auto next = reader.ReadNext(&file, &error);
    if (next == ArchiveReader::Next::kError) return error;
    if (next == ArchiveReader::Next::kEnd) return "";
    if (next == ArchiveReader::Next::kReference) continue;  // no bytes
    bool ok = reader.ReadFileBytes(
        file,
        [&](std::string_view bytes) {
          if (contents) contents->append(bytes);
          return true;
        },
        &error);
    if (!ok) return error;
  }
}

TEST(ArchiveFormat, PathsStayInsideTheirFolder) {
  EXPECT_EQ(ArchivePathProblem("export", "objects/" + kId + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("export", "objects/../" + kId + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("export", "/objects/" + kId + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("export", "objects/" + std::string(64, 'A') + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("export", "registry.sqlite"), "");
  EXPECT_EQ(ArchivePathProblem("backup", "registry.sqlite"), "");
  EXPECT_EQ(ArchivePathProblem("backup", "secrets.key"), "");
  EXPECT_EQ(ArchivePathProblem("backup", "objects/app/cls/aa/" + kId + ".sqlite"), "");
  EXPECT_EQ(ArchivePathProblem("backup", "objects/app/cls@src/aa/" + kId + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("backup", "objects/app/cls/ab/" + kId + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("backup", "objects/../cls/aa/" + kId + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("backup", "objects/app/../aa/" + kId + ".sqlite"), "");
  EXPECT_NE(ArchivePathProblem("backup", "lock"), "");
  EXPECT_NE(ArchivePathProblem("backup", ""), "");
}

TEST(ArchiveFormat, ReadsBackWhatItWrote) {
  std::string contents;
  EXPECT_EQ(ReadAll(Archive("export", "objects/" + kId + ".sqlite", "hello"), &contents), "");
  EXPECT_EQ(contents, "hello");
}

TEST(ArchiveFormat, RefusesDamage) {
  const std::string path = "objects/" + kId + ".sqlite";
  std::string good = Archive("export", path, "hello");
  EXPECT_EQ(ReadAll(good.substr(0, good.size() - 1)),
            "The archive is truncated (inside a frame header).");
  std::string flipped = good;
  flipped[flipped.find("hello")] = 'j';
  EXPECT_EQ(ReadAll(flipped), "The file " + path +
                                  " does not match its SHA-256 (the archive is "
                                  "damaged).");
  EXPECT_EQ(ReadAll(Archive("export", path, "hello", 2)),
            "Invalid archive: its end frame does not count the files it holds.");
  EXPECT_EQ(ReadAll(good + "x"), "Invalid archive: bytes after its end frame.");
  EXPECT_EQ(ReadAll(Archive("export", path, std::string(1001, 'x'))),
            "The file " + path + " is too large (1001 bytes; the limit is 1000).");
  EXPECT_EQ(ReadAll("DORM-ARCHIVE 2\n"),
            "Not a Dorm archive (it does not start with \"DORM-ARCHIVE 1\").");
  EXPECT_EQ(ReadAll(std::string(kArchiveMagic) + std::string("\0\0\0\0", 4)),
            "Invalid frame in the archive (a header of 0 bytes).");
  EXPECT_EQ(ReadAll(Archive("tarball", path, "x")),
            "Invalid archive: the manifest's kind must be export or backup.");
}

}  // namespace
}  // namespace dorm::control

namespace dorm::control {
namespace {

// A backup with one unchanged object, as the server sends it (`ref` false) or as dorm backup
// keeps it; `refs` is what its end frame counts.
std::string BackupWithReference(bool ref, const json::object& extra, int refs = 1,
                                const std::string& kind = "backup") {
  std::string out(kArchiveMagic, kArchiveMagicBytes);
  out += ArchiveFrame(json::object{{"type", "manifest"}, {"kind", kind}});
  json::object header{{"type", ref ? "ref" : "unchanged"},
                      {"path", "objects/app/cls/aa/" + std::string(64, 'a') + ".sqlite"}};
  if (ref) {
    header["size"] = 10;
    header["sha256"] = std::string(64, 'b');
    header["archive"] = "base/0123456789abcdef.dorm";
  }
  for (const auto& [key, value] : extra) header[key] = value;
  out += ArchiveFrame(header);
  json::object end{{"type", "end"}, {"files", 0}};
  if (refs != 0) end["refs"] = refs;
  out += ArchiveFrame(end);
  return out;
}

TEST(ArchiveFormat, BackupsListUnchangedObjectsByReference) {
  EXPECT_EQ(ReadAll(BackupWithReference(false, {})), "");
  EXPECT_EQ(ReadAll(BackupWithReference(true, {})), "");
  EXPECT_EQ(ReadAll(BackupWithReference(true, {}, 0)),
            "Invalid archive: its end frame does not count the unchanged objects it lists.");
  EXPECT_EQ(ReadAll(BackupWithReference(true, {}, 2)),
            "Invalid archive: its end frame does not count the unchanged objects it lists.");
  // Only a backup has them, only for objects, only with a base archive next to it.
  EXPECT_EQ(ReadAll(BackupWithReference(false, {}, 1, "export")),
            "Invalid frame type 'unchanged' in the archive.");
  EXPECT_NE(ReadAll(BackupWithReference(false, {{"path", "registry.sqlite"}})), "");
  EXPECT_NE(ReadAll(BackupWithReference(false, {{"path", "objects/../x.sqlite"}})), "");
  EXPECT_NE(ReadAll(BackupWithReference(true, {{"archive", "../backup.dorm"}})), "");
  EXPECT_NE(ReadAll(BackupWithReference(true, {{"archive", "base/0123456789ABCDEF.dorm"}})), "");
  EXPECT_NE(ReadAll(BackupWithReference(true, {{"sha256", "x"}})), "");
  EXPECT_TRUE(IsBaseArchivePath("base/0123456789abcdef.dorm"));
  EXPECT_FALSE(IsBaseArchivePath("base/0123456789abcdef.dorm/"));
  EXPECT_FALSE(IsBaseArchivePath("/base/0123456789abcdef.dorm"));
}

}  // namespace
}  // namespace dorm::control
