#include "cluster/snapshot_image.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "util/unique_fd.h"

namespace dorm::cluster {
namespace {

// SHA-256 over data given in parts.
class Digest {
 public:
  Digest() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw std::runtime_error("cannot start SHA-256");
    }
  }
  void Update(std::string_view data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
      throw std::runtime_error("cannot hash");
    }
  }
  std::string Final() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), out, &length) != 1) throw std::runtime_error("cannot hash");
    return std::string(reinterpret_cast<const char*>(out), length);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// Reads up to `buffer.size()` bytes (fewer only at the end of the file).
size_t ReadFull(int fd, std::string& buffer, const std::string& path) {
  size_t got = 0;
  while (got < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + got, buffer.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

void WriteFull(int fd, std::string_view bytes, const std::string& path) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    written += static_cast<size_t>(n);
  }
}

}  // namespace

SnapshotImage StoreSnapshotImage(PgConnection& connection, const std::string& object, long long seq,
                                 const std::string& path, size_t piece_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  SnapshotImage image;
  Digest digest;
  std::string buffer(piece_bytes, '\0');
  const std::string s = std::to_string(seq);
  for (long long piece = 0;; ++piece) {
    buffer.resize(piece_bytes);
    size_t got = ReadFull(fd.get(), buffer, path);
    if (got == 0 && piece > 0) break;
    buffer.resize(got);
    digest.Update(buffer);
    image.bytes += static_cast<long long>(got);
    const std::string p = std::to_string(piece);
    connection.Exec(
        "INSERT INTO snapshot_pieces (object, seq, piece, bytes) "
        "VALUES ($1, $2::bigint, $3::integer, $4)",
        {PgParam::Text(object), PgParam::Text(s), PgParam::Text(p), PgParam::Binary(buffer)});
    if (got < piece_bytes) break;
  }
  image.digest = digest.Final();
  return image;
}

void LoadSnapshotImage(PgConnection& connection, const std::string& object, long long seq,
                       const SnapshotImage& image, const std::string& path, long long max_bytes) {
  if (image.bytes < 0 || image.bytes > max_bytes) {
    throw std::runtime_error("the snapshot of " + object + " is over the object size limit");
  }
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  Digest digest;
  long long total = 0;
  const std::string s = std::to_string(seq);
  // One piece per statement: a restore never holds more than one.
  for (long long piece = 0;; ++piece) {
    const std::string p = std::to_string(piece);
    PgResult row = connection.ExecBinary(
        "SELECT bytes FROM snapshot_pieces WHERE object = $1 AND seq = $2::bigint AND "
        "piece = $3::integer",
        {PgParam::Text(object), PgParam::Text(s), PgParam::Text(p)});
    if (row.rows() == 0) break;
    std::string bytes = row.Bytes(0, 0);
    total += static_cast<long long>(bytes.size());
    if (total > image.bytes) break;
    digest.Update(bytes);
    WriteFull(fd.get(), bytes, path);
  }
  if (total != image.bytes || digest.Final() != image.digest) {
    throw std::runtime_error("the snapshot of " + object + " at " + s +
                             " does not match its size and digest");
  }
}

std::optional<std::string> InsertSnapshot(
    PgConnection& connection, const std::string& object, long long seq, const std::string& path,
    const std::function<std::string(const SnapshotImage&)>& checksum_of) {
  const std::string s = std::to_string(seq);
  PgResult there = connection.Exec("SELECT 1 FROM snapshots WHERE object = $1 AND seq = $2::bigint",
                                   {PgParam::Text(object), PgParam::Text(s)});
  if (there.rows() > 0) return std::nullopt;
  SnapshotImage image = StoreSnapshotImage(connection, object, seq, path);
  const std::string checksum = checksum_of(image);
  const std::string bytes = std::to_string(image.bytes);
  connection.Exec(
      "INSERT INTO snapshots (object, seq, image, checksum, image_bytes, image_digest) "
      "VALUES ($1, $2::bigint, NULL, $3, $4::bigint, $5)",
      {PgParam::Text(object), PgParam::Text(s), PgParam::Binary(checksum), PgParam::Text(bytes),
       PgParam::Binary(image.digest)});
  connection.Exec("DELETE FROM snapshot_pieces WHERE object = $1 AND seq < $2::bigint",
                  {PgParam::Text(object), PgParam::Text(s)});
  connection.Exec("DELETE FROM snapshots WHERE object = $1 AND seq < $2::bigint",
                  {PgParam::Text(object), PgParam::Text(s)});
  connection.Exec("DELETE FROM log WHERE object = $1 AND seq <= $2::bigint",
                  {PgParam::Text(object), PgParam::Text(s)});
  return checksum;
}

}  // namespace dorm::cluster
