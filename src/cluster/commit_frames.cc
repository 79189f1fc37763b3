#include "cluster/commit_frames.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <stdexcept>

#include "util/crypto.h"

namespace dorm::cluster {
namespace {

constexpr std::string_view kMagic = "DWC1";

void PutU32(std::string& out, uint32_t value) {
  char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                   static_cast<char>(value >> 8), static_cast<char>(value)};
  out.append(bytes, 4);
}

uint32_t GetU32(std::string_view bytes, size_t at) {
  auto b = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

bool ValidPageSize(uint32_t size) {
  return size >= 512 && size <= 65536 && (size & (size - 1)) == 0;
}

}  // namespace

std::string EncodeCommit(const CapturedCommit& commit) {
  if (commit.overflow) throw std::invalid_argument("an overflowed commit has no pages to encode");
  if (!ValidPageSize(commit.page_size)) throw std::invalid_argument("bad page size");
  std::string out;
  out.reserve(16 + commit.pages.size() * (4 + size_t{commit.page_size}));
  out.append(kMagic);
  PutU32(out, commit.page_size);
  PutU32(out, commit.db_size);
  PutU32(out, static_cast<uint32_t>(commit.pages.size()));
  for (const CommitPage& page : commit.pages) {
    if (page.data.size() != commit.page_size || page.page_number == 0) {
      throw std::invalid_argument("a page of the wrong size or number");
    }
    PutU32(out, page.page_number);
    out.append(page.data);
  }
  return out;
}

bool DecodeCommit(std::string_view bytes, CapturedCommit* commit, std::string* error) {
  *commit = CapturedCommit();
  if (bytes.size() < 16 || bytes.substr(0, 4) != kMagic) {
    *error = "not an encoded commit";
    return false;
  }
  uint32_t page_size = GetU32(bytes, 4);
  uint32_t db_size = GetU32(bytes, 8);
  uint32_t count = GetU32(bytes, 12);
  if (!ValidPageSize(page_size)) {
    *error = "bad page size " + std::to_string(page_size);
    return false;
  }
  // Checked before anything is allocated for `count` pages.
  size_t entry = 4 + size_t{page_size};
  if ((bytes.size() - 16) % entry != 0 || (bytes.size() - 16) / entry != count) {
    *error = "length does not match " + std::to_string(count) + " pages";
    return false;
  }
  commit->page_size = page_size;
  commit->db_size = db_size;
  commit->pages.reserve(count);
  for (size_t at = 16; at < bytes.size(); at += entry) {
    uint32_t number = GetU32(bytes, at);
    if (number == 0) {
      *error = "page number 0";
      return false;
    }
    commit->pages.push_back({number, std::string(bytes.substr(at + 4, page_size))});
  }
  return true;
}

CapturedCommit MergeCommits(const std::vector<CapturedCommit>& commits) {
  if (commits.empty()) throw std::invalid_argument("no commits to merge");
  if (commits.size() == 1 && !commits[0].overflow) return commits[0];
  std::map<uint32_t, const std::string*> latest;
  uint32_t cut = UINT32_MAX;  // the smallest size the database was cut to
  const uint32_t page_size = commits.front().page_size;
  for (const CapturedCommit& commit : commits) {
    if (commit.overflow) throw std::invalid_argument("an overflowed commit cannot be merged");
    if (commit.page_size != page_size) throw std::invalid_argument("page sizes differ");
    for (const CommitPage& page : commit.pages) latest[page.page_number] = &page.data;
    latest.erase(latest.upper_bound(commit.db_size), latest.end());
    cut = std::min(cut, commit.db_size);
  }
  CapturedCommit merged;
  merged.page_size = page_size;
  merged.db_size = commits.back().db_size;
  const std::string zeros(page_size, '\0');
  for (uint32_t number = cut + 1; number <= merged.db_size && cut != UINT32_MAX; ++number) {
    latest.emplace(number, &zeros);  // kept when written after the cut
  }
  merged.pages.reserve(latest.size());
  for (const auto& [number, data] : latest) merged.pages.push_back(CommitPage{number, *data});
  return merged;
}

std::string ChainChecksum(std::string_view previous, std::string_view encoded_commit) {
  std::string input;
  input.reserve(previous.size() + encoded_commit.size());
  input.append(previous);
  input.append(encoded_commit);
  Sha256Digest digest = Sha256(input);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

}  // namespace dorm::cluster
