#include "control/archive_format.h"

#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "util/crypto.h"
#include "util/names.h"

namespace dorm::control {

namespace json = boost::json;

namespace {

bool IsLowerHex(std::string_view text, size_t length) {
  if (text.size() != length) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// "<64 hex>.sqlite", with the id returned.
bool IsObjectFileName(std::string_view name, std::string_view* id) {
  constexpr std::string_view kSuffix = ".sqlite";
  if (name.size() != 64 + kSuffix.size() || name.substr(64) != kSuffix) return false;
  *id = name.substr(0, 64);
  return IsLowerHex(*id, 64);
}

// A class's storage name: a kebab name, or "<storage>@<app>" for a transferred class.
bool IsStorageName(std::string_view name) {
  size_t at = name.find('@');
  if (at == std::string_view::npos) return IsValidKebabName(std::string(name));
  return IsValidKebabName(std::string(name.substr(0, at))) &&
         IsValidKebabName(std::string(name.substr(at + 1)));
}

std::vector<std::string_view> SplitSlash(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  for (;;) {
    size_t j = path.find('/', i);
    parts.push_back(path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return parts;
}

std::optional<uint64_t> SizeOf(const json::object& o) {
  const json::value* v = o.if_contains("size");
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return std::nullopt;
}

std::string TextOf(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::string ArchiveFrame(const json::object& header) {
  std::string text = json::serialize(header);
  const uint32_t n = static_cast<uint32_t>(text.size());
  std::string frame;
  frame.reserve(4 + text.size());
  frame.push_back(static_cast<char>(n >> 24));
  frame.push_back(static_cast<char>(n >> 16));
  frame.push_back(static_cast<char>(n >> 8));
  frame.push_back(static_cast<char>(n));
  frame += text;
  return frame;
}

std::string ArchivePathProblem(std::string_view kind, std::string_view path) {
  const std::string shown = "'" + std::string(path.substr(0, 200)) + "'";
  std::vector<std::string_view> parts = SplitSlash(path);
  std::string_view id;
  if (kind == "export") {
    if (parts.size() == 2 && parts[0] == "objects" && IsObjectFileName(parts[1], &id)) return "";
    return "Invalid file path " + shown + " in the archive: an export holds objects/<id>.sqlite.";
  }
  if (parts.size() == 1 &&
      (path == "registry.sqlite" || path == "usage.sqlite" || path == "alarms.sqlite" ||
       path == "secrets.key" || path == "admin-token")) {
    return "";
  }
  if (parts.size() == 5 && parts[0] == "objects" && IsValidKebabName(std::string(parts[1])) &&
      IsStorageName(parts[2]) && IsObjectFileName(parts[4], &id) && parts[3] == id.substr(0, 2)) {
    return "";
  }
  return "Invalid file path " + shown + " in the archive.";
}

bool IsBaseArchivePath(std::string_view path) {
  constexpr std::string_view kPrefix = "base/";
  constexpr std::string_view kSuffix = ".dorm";
  return path.size() == kPrefix.size() + 16 + kSuffix.size() &&
         path.substr(0, kPrefix.size()) == kPrefix &&
         IsLowerHex(path.substr(kPrefix.size(), 16), 16) &&
         path.substr(kPrefix.size() + 16) == kSuffix;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::Update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

std::string Sha256Stream::HexDigest() {
  Sha256Digest digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest.data(), &len);
  return ToHex(digest);
}

std::optional<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  Sha256Stream hash;
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.Update(std::string_view(buffer.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) return std::nullopt;
  return hash.HexDigest();
}

bool ArchiveReader::ReadExactly(char* out, size_t n) {
  while (n > 0) {
    size_t got = read_(out, n);
    if (got == 0) return false;
    out += got;
    n -= got;
  }
  return true;
}

std::optional<json::object> ArchiveReader::ReadManifest(std::string* error) {
  char magic[kArchiveMagicBytes];
  if (!ReadExactly(magic, sizeof magic) ||
      std::string_view(magic, sizeof magic) != std::string_view(kArchiveMagic)) {
    *error = "Not a Dorm archive (it does not start with \"DORM-ARCHIVE 1\").";
    return std::nullopt;
  }
  File manifest;
  Next next = ReadNext(&manifest, error);
  if (next == Next::kError) return std::nullopt;
  if (next != Next::kFile || TextOf(manifest.header, "type") != "manifest") {
    *error = "The archive does not start with a manifest.";
    return std::nullopt;
  }
  return manifest.header;
}

ArchiveReader::Next ArchiveReader::ReadNext(File* file, std::string* error) {
  unsigned char length[4];
  if (!ReadExactly(reinterpret_cast<char*>(length), 4)) {
    *error = "The archive is truncated (its end frame is missing).";
    return Next::kError;
  }
  const uint32_t n = (uint32_t{length[0]} << 24) | (uint32_t{length[1]} << 16) |
                     (uint32_t{length[2]} << 8) | uint32_t{length[3]};
  if (n == 0 || n > kMaxArchiveHeaderBytes) {
    *error = "Invalid frame in the archive (a header of " + std::to_string(n) + " bytes).";
    return Next::kError;
  }
  std::string text(n, '\0');
  if (!ReadExactly(text.data(), n)) {
    *error = "The archive is truncated (inside a frame header).";
    return Next::kError;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    *error = "Invalid frame in the archive (its header is not a JSON object).";
    return Next::kError;
  }
  file->header = std::move(parsed.as_object());
  const std::string type = TextOf(file->header, "type");
  if (type == "manifest") {
    if (!kind_.empty()) {
      *error = "Invalid archive: a second manifest.";
      return Next::kError;
    }
    kind_ = TextOf(file->header, "kind");
    if (kind_ != "export" && kind_ != "backup") {
      *error = "Invalid archive: the manifest's kind must be export or backup.";
      return Next::kError;
    }
    return Next::kFile;
  }
  if (kind_.empty()) {
    *error = "The archive does not start with a manifest.";
    return Next::kError;
  }
  if (type == "end") {
    std::optional<uint64_t> files;
    if (const json::value* v = file->header.if_contains("files"); v && v->is_int64()) {
      files = static_cast<uint64_t>(v->as_int64());
    } else if (v && v->is_uint64()) {
      files = v->as_uint64();
    }
    if (!files || *files != files_) {
      *error = "Invalid archive: its end frame does not count the files it holds.";
      return Next::kError;
    }
    uint64_t refs = 0;
    if (const json::value* v = file->header.if_contains("refs"); v && v->is_int64()) {
      refs = v->as_int64() < 0 ? ~uint64_t{0} : static_cast<uint64_t>(v->as_int64());
    } else if (v && v->is_uint64()) {
      refs = v->as_uint64();
    } else if (v) {
      refs = ~uint64_t{0};
    }
    if (refs != refs_) {
      *error = "Invalid archive: its end frame does not count the unchanged objects it lists.";
      return Next::kError;
    }
    char extra;
    if (read_(&extra, 1) != 0) {
      *error = "Invalid archive: bytes after its end frame.";
      return Next::kError;
    }
    return Next::kEnd;
  }
  if ((type == "unchanged" || type == "ref") && kind_ == "backup") {
    file->path = TextOf(file->header, "path");
    if (file->path.compare(0, 8, "objects/") != 0 ||
        !ArchivePathProblem(kind_, file->path).empty()) {
      *error = "Invalid archive: an unchanged object's path '" + file->path.substr(0, 200) +
               "' is not an object's.";
      return Next::kError;
    }
    if (type == "ref") {
      std::optional<uint64_t> size = SizeOf(file->header);
      file->sha256 = TextOf(file->header, "sha256");
      file->archive = TextOf(file->header, "archive");
      if (!size || !IsLowerHex(file->sha256, 64) || !IsBaseArchivePath(file->archive)) {
        *error = "Invalid archive: the unchanged object " + file->path +
                 " has no size, SHA-256 or base archive.";
        return Next::kError;
      }
      file->size = *size;
    }
    if (++refs_ > limits_.max_files) {
      *error = "The archive holds too many files (the limit is " +
               std::to_string(limits_.max_files) + ").";
      return Next::kError;
    }
    return Next::kReference;
  }
  if (type != "file") {
    *error = "Invalid frame type '" + type.substr(0, 40) + "' in the archive.";
    return Next::kError;
  }
  file->path = TextOf(file->header, "path");
  if (std::string problem = ArchivePathProblem(kind_, file->path); !problem.empty()) {
    *error = problem;
    return Next::kError;
  }
  std::optional<uint64_t> size = SizeOf(file->header);
  if (!size) {
    *error = "Invalid archive: the file " + file->path + " has no size.";
    return Next::kError;
  }
  file->size = *size;
  file->sha256 = TextOf(file->header, "sha256");
  if (!IsLowerHex(file->sha256, 64)) {
    *error = "Invalid archive: the file " + file->path + " has no SHA-256.";
    return Next::kError;
  }
  if (file->size > limits_.max_file_bytes) {
    *error = "The file " + file->path + " is too large (" + std::to_string(file->size) +
             " bytes; the limit is " + std::to_string(limits_.max_file_bytes) + ").";
    return Next::kError;
  }
  if (++files_ > limits_.max_files) {
    *error = "The archive holds too many files (the limit is " + std::to_string(limits_.max_files) +
             ").";
    return Next::kError;
  }
  bytes_ += file->size;
  if (bytes_ > limits_.max_total_bytes) {
    *error = "The archive is too large (the limit is " + std::to_string(limits_.max_total_bytes) +
             " bytes).";
    return Next::kError;
  }
  return Next::kFile;
}

bool ArchiveReader::ReadFileBytes(const File& file,
                                  const std::function<bool(std::string_view)>& sink,
                                  std::string* error) {
  Sha256Stream hash;
  std::vector<char> buffer(1 << 16);
  uint64_t left = file.size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
    size_t got = read_(buffer.data(), want);
    if (got == 0) {
      *error = "The archive is truncated (inside " + file.path + ").";
      return false;
    }
    std::string_view chunk(buffer.data(), got);
    hash.Update(chunk);
    if (!sink(chunk)) return false;
    left -= got;
  }
  if (hash.HexDigest() != file.sha256) {
    *error = "The file " + file.path + " does not match its SHA-256 (the archive is damaged).";
    return false;
  }
  return true;
}

}  // namespace dorm::control
