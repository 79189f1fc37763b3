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
