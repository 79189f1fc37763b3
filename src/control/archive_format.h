// The archive of `dorm export` and `dorm backup` (README "Export, import, backup and restore"):
// a stream of frames after a magic line, so that it can be written while objects are copied one
// at a time and read back without holding it whole:
//
//   "DORM-ARCHIVE 1\n"
//   frame*: a 4-byte big-endian header length (1 to kMaxHeaderBytes), the header as a JSON
//           object, then, for a "file" frame, exactly header.size bytes of the file
//
// The first frame is the manifest {"type":"manifest","kind":"export"|"backup","app","class",
// "created"} (app and class for an export), then one {"type":"file","path","size","sha256",...}
// frame per file (an export's object files also carry "id" and "name"), then {"type":"end",
// "files":N,"bytes":B}.
//
// An incremental backup (README "Incremental backups") also holds, for each object that did not
// change since the backup it builds on, one frame without bytes: as the server sends it,
// {"type":"unchanged","path"}; as `dorm backup` stores it, {"type":"ref","path","size","sha256",
// "archive"}, where `archive` ("base/<16 hex>.dorm", next to backup.dorm) is the archive that
// holds that file's bytes. Their number is the end frame's "refs" (0 when missing). Anything after
// the end frame, a missing end frame, a file whose bytes do not match its size or SHA-256, or an
// unsafe path (ArchivePathProblem) makes the archive invalid.
//
// Thread-compatible; readers and writers hold no global state. Nothing here throws except
// std::bad_alloc.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dorm::control {

inline constexpr char kArchiveMagic[] = "DORM-ARCHIVE 1\n";
inline constexpr size_t kArchiveMagicBytes = sizeof(kArchiveMagic) - 1;
inline constexpr size_t kMaxArchiveHeaderBytes = 64u << 10;

// A frame's bytes: length and header (the file's bytes, if any, follow separately).
std::string ArchiveFrame(const boost::json::object& header);

// Why `path` may not name a file of an archive of `kind` ("export" or "backup"), or "" when it
// may. An export holds "objects/<64 hex>.sqlite"; a backup holds registry.sqlite, usage.sqlite,
// alarms.sqlite, secrets.key, admin-token and "objects/<app>/<class>/<2 hex>/<64 hex>.sqlite"
// (the data folder's layout, the two hex digits the id's first two). No path can leave the
// folder it is unpacked into.
std::string ArchivePathProblem(std::string_view kind, std::string_view path);

// Whether `path` may name a base archive of an incremental backup: "base/<16 hex>.dorm".
bool IsBaseArchivePath(std::string_view path);

// Incremental SHA-256, for files checked while they stream.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view bytes);
  std::string HexDigest();  // once

 private:
  void* ctx_;  // EVP_MD_CTX
};

// SHA-256 of a file's contents as lowercase hex, or nullopt if it cannot be read.
std::optional<std::string> FileSha256(const std::string& path);

struct ArchiveLimits {
  uint64_t max_file_bytes = 10ull << 30;
  uint64_t max_total_bytes = 1ull << 40;
  uint64_t max_files = 1000000;
};

// Reads an archive from `read` (which fills up to n bytes and returns how many; 0 at the end of
// the input). Every problem is reported as a message fit for a 400 answer.
class ArchiveReader {
 public:
  using ReadFn = std::function<size_t(char* buffer, size_t n)>;
  ArchiveReader(ReadFn read, ArchiveLimits limits) : read_(std::move(read)), limits_(limits) {}

  // Reads the magic line and the manifest.
  std::optional<boost::json::object> ReadManifest(std::string* error);

  struct File {
    std::string path;
    uint64_t size = 0;
    std::string sha256;
    std::string archive;  // a "ref" frame's
    boost::json::object header;
  };
  // kReference: an "unchanged" or "ref" frame of a backup (size, sha256 and archive set for a
  // "ref" only); it has no bytes.
  enum class Next { kFile, kReference, kEnd, kError };
  // The next file's header (its bytes must then be read with ReadFileBytes), a reference, or the
  // end (checked against the files and references seen and nothing after it).
  Next ReadNext(File* file, std::string* error);
  // The current file's bytes, in chunks, to `sink` (which returns false to stop, with `*error`
  // set by it); checks the size and SHA-256. Returns false with `*error` set on any problem.
  bool ReadFileBytes(const File& file, const std::function<bool(std::string_view)>& sink,
                     std::string* error);

 private:
  bool ReadExactly(char* out, size_t n);

  ReadFn read_;
  ArchiveLimits limits_;
  std::string kind_;
  uint64_t files_ = 0;
  uint64_t refs_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace dorm::control
