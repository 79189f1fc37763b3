#include "js/clone_bytes_check.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace dorm::js {
namespace {

using Kind = CloneBytesVerdict::Kind;

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string Varint(uint32_t value) {
  std::string out;
  do {
    uint8_t byte = value & 0x7F;
    value >>= 7;
    if (value) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (value);
  return out;
}

// The header our writer puts first: version 15.
const std::string kHeader = FromHex("ff0f");

// A Blob as js/host_objects.h writes it.
std::string Blob(const std::string& type, const std::string& contents) {
  return "\\" + Varint(1) + Varint(static_cast<uint32_t>(type.size())) + type +
         Varint(static_cast<uint32_t>(contents.size())) + contents;
}

std::string SparseArray(uint32_t length) {
  return "a" + Varint(length) + "@" + Varint(0) + Varint(length);
}

// The seeds of tests/fuzz/corpus/serializer, as V8 wrote them.
const std::vector<std::pair<const char*, std::string>>& Seeds() {
  static const auto* seeds = new std::vector<std::pair<const char*, std::string>>{
      {"array_sparse", FromHex("ff0f6165490049024904490649c8014908220178220179400465")},
      {"bigint", FromHex("ff0f41035a107b000000000000005a410000000000000000000000000000000000000000"
                         "0000000000010000000000005a00240003")},
      {"boxed", FromHex("ff0f41046e000000000000084073220173787a100500000000000000240004")},
      {"cycle", FromHex("ff0f6f220473656c665e0022046c69737441015e002400017b02")},
      {"date_regexp",
       FromHex("ff0f41034400008056febc784252220461622b630344000000000000f87f240003")},
      {"errors", FromHex("ff0f410372526d22017273222452616e67654572726f723a20720a202020206174203c61"
                         "6e6f6e796d6f75733e3a313a322e72546d220174732224547970654572726f723a20740a"
                         "202020206174203c616e6f6e796d6f75733e3a313a32332e726d22016563490273222045"
                         "72726f723a20650a202020206174203c616e6f6e796d6f75733e3a313a34332e240003")},
      {"map_set", FromHex("ff0f3b4902272201612201622c0222016b3b3a003a04")},
      {"negative_zero", FromHex("ff0f4e0000000000000080")},
      {"number", FromHex("ff0f4e0000000000404540")},
      {"object_nested",
       FromHex("ff0f6f2201614902220162410354305f2400032201636f490249042201642201657b027b"
               "03")},
      {"shared_strings",
       FromHex("ff0f4103220f726570656174656420737472696e67220f72657065617465642073747269"
               "6e676f220173220f726570656174656420737472696e677b01240003")},
      {"string_latin1", FromHex("ff0f220568656c6c6f")},
      {"string_two_byte", FromHex("ff0f63105a006f00eb0020003dd800de20000326")},
      {"typed_arrays",
       FromHex("ff0f41044210000000000000000000000000000000005642020400420800000000000000"
               "0056460008005e01563f0010005e01240004")},
  };
  return *seeds;
}

CloneBytesVerdict Check(const std::string& bytes, CloneBytesLimits limits = {}) {
  return CheckCloneBytes(bytes, limits);
}

TEST(CloneBytesCheck, AcceptsEverySeed) {
  for (const auto& [name, bytes] : Seeds()) {
    CloneBytesVerdict verdict = Check(bytes);
    EXPECT_TRUE(verdict.ok()) << name << ": " << verdict.reason;
    EXPECT_GT(verdict.estimated_bytes, 0u) << name;
    EXPECT_LT(verdict.estimated_bytes, 8192u) << name;
  }
}

TEST(CloneBytesCheck, RefusesEverySeedCutShort) {
  for (const auto& [name, bytes] : Seeds()) {
    for (size_t length = 0; length < bytes.size(); ++length) {
      CloneBytesVerdict verdict = Check(bytes.substr(0, length));
      EXPECT_EQ(verdict.kind, Kind::kMalformed) << name << " cut to " << length;
      EXPECT_FALSE(verdict.reason.empty()) << name << " cut to " << length;
    }
  }
}

TEST(CloneBytesCheck, RefusesEverySeedWithBytesAfterIt) {
  for (const auto& [name, bytes] : Seeds()) {
    EXPECT_EQ(Check(bytes + "_").kind, Kind::kMalformed) << name;
  }
}

TEST(CloneBytesCheck, AcceptsSparseArraysUpToAGenerousLength) {
  CloneBytesVerdict verdict = Check(kHeader + SparseArray(1u << 20));
  EXPECT_TRUE(verdict.ok()) << verdict.reason;
  EXPECT_GE(verdict.estimated_bytes, 8u << 20);  // the backing store V8 makes
  // From 32 Mi elements on, V8 makes dictionary elements: nothing is allocated up front.
  EXPECT_TRUE(Check(kHeader + SparseArray(32u << 20)).ok());
  EXPECT_TRUE(Check(kHeader + SparseArray(0xFFFFFFFFu)).ok());
}

TEST(CloneBytesCheck, RefusesASparseArrayWhoseBackingStoreIsOverTheBudget) {
  CloneBytesVerdict verdict = Check(kHeader + SparseArray(33554431));
  EXPECT_EQ(verdict.kind, Kind::kTooLarge);
  EXPECT_NE(verdict.reason.find("sparse array of length 33554431"), std::string::npos)
      << verdict.reason;
  EXPECT_NE(verdict.reason.find("32 MiB"), std::string::npos) << verdict.reason;
}

TEST(CloneBytesCheck, AddsUpSeveralSparseArrays) {
  // Each fits alone (24 MiB); two do not.
  std::string one = kHeader + "A" + Varint(1) + SparseArray(3u << 20) + "$" + Varint(0) + Varint(1);
  EXPECT_TRUE(Check(one).ok()) << Check(one).reason;
  std::string body;
  const int kArrays = 8;
  for (int i = 0; i < kArrays; ++i) body += SparseArray(3u << 20);
  std::string eight = kHeader + "A" + Varint(kArrays) + body + "$" + Varint(0) + Varint(kArrays);
  EXPECT_EQ(Check(eight).kind, Kind::kTooLarge);
  // As properties of an object, and as Map entries.
  std::string object = kHeader + "o" + "\"\x01x" + SparseArray(3u << 20) + "\"\x01y" +
                       SparseArray(3u << 20) + "{" + Varint(2);
  EXPECT_EQ(Check(object).kind, Kind::kTooLarge);
  std::string map = kHeader + ";" + "I" + Varint(0) + SparseArray(3u << 20) + "I" + Varint(2) +
                    SparseArray(3u << 20) + ":" + Varint(4);
  EXPECT_EQ(Check(map).kind, Kind::kTooLarge);
}

TEST(CloneBytesCheck, HonoursTheBudgetItIsGiven) {
  std::string bytes = kHeader + SparseArray(1000);
  CloneBytesLimits small;
  small.allocation_budget = 4000;
  EXPECT_EQ(Check(bytes, small).kind, Kind::kTooLarge);
  small.allocation_budget = 9000;
  EXPECT_TRUE(Check(bytes, small).ok());
}

TEST(CloneBytesCheck, CountsSmallObjectsThatReadBackLarge) {
  // Three bytes each, about 200 bytes each in the heap: an empty Map.
  const uint32_t kMaps = 200000;
  std::string body;
  for (uint32_t i = 0; i < kMaps; ++i) body += ";:" + Varint(0);
  std::string bytes = kHeader + "A" + Varint(kMaps) + body + "$" + Varint(0) + Varint(kMaps);
  EXPECT_EQ(Check(bytes).kind, Kind::kTooLarge);
  CloneBytesLimits large;
  large.allocation_budget = 1u << 30;
  CloneBytesVerdict verdict = Check(bytes, large);
  ASSERT_TRUE(verdict.ok()) << verdict.reason;
  EXPECT_GE(verdict.estimated_bytes, uint64_t{kMaps} * 200);
}

TEST(CloneBytesCheck, AcceptsLargeDenseArraysAndBuffers) {
  const uint32_t kLength = 1u << 20;
  std::string body(kLength, 'T');
  std::string array = kHeader + "A" + Varint(kLength) + body + "$" + Varint(0) + Varint(kLength);
  EXPECT_TRUE(Check(array).ok());
  std::string buffer = kHeader + "B" + Varint(4u << 20) + std::string(4u << 20, 'x');
  EXPECT_TRUE(Check(buffer).ok());
}

TEST(CloneBytesCheck, AcceptsTheFormsOurWriterEmits) {
  const std::vector<std::pair<const char*, std::string>> forms = {
      {"padding before a two-byte string",
       kHeader + std::string(1, '\0') + "c" + Varint(2) + std::string("a\0", 2)},
      {"holes in a dense array",
       kHeader + "A" + Varint(3) + "-I" + Varint(2) + "-$" + Varint(0) + Varint(3)},
      {"numeric keys", kHeader + "o" + "I" + Varint(2) + "T" + "U" + Varint(4000000000u) + "F" +
                           "N" + std::string(8, '\0') + "_" + "{" + Varint(3)},
      {"resizable buffer and a length-tracking view",
       kHeader + "~" + Varint(4) + Varint(64) + "abcd" + "VB" + Varint(0) + Varint(0) + Varint(3)},
      {"view on a referenced buffer", kHeader + "A" + Varint(2) + "B" + Varint(2) + "xy" + "^" +
                                          Varint(1) + "V?" + Varint(0) + Varint(2) + Varint(0) +
                                          "$" + Varint(0) + Varint(2)},
      {"error of each kind",
       kHeader + "A" + Varint(7) + "rE.rR.rF.rS.rT.rU." + "r." + "$" + Varint(0) + Varint(7)},
      {"error with a cause holding itself",
       kHeader + "rm\"\x01m" + "c^" + Varint(0) + "s\"\x01s" + "."},
      {"big BigInt", kHeader + "Z" + Varint(1024 << 1) + std::string(1024, '\x01')},
      {"format version 14", FromHex("ff0e") + "_"},
      {"a Blob", kHeader + Blob("text/plain", "hello")},
      {"an empty Blob without a type", kHeader + Blob("", "")},
      {"a Blob referenced twice",
       kHeader + "A" + Varint(2) + Blob("", "x") + "^" + Varint(1) + "$" + Varint(0) + Varint(2)},
      // A copied Web API object: kind 3 and its description, whose objects are numbered after
      // the host object (as V8 numbers them: the host object is referenced by its id below).
      {"copied Headers", kHeader + "\\" + Varint(3) + "A" + Varint(2) + "\"\x07Headers" + "A" +
                             Varint(2) +
                             "\"\x01"
                             "a"
                             "\"\x01"
                             "1" +
                             "$" + Varint(0) + Varint(2) + "$" + Varint(0) + Varint(2)},
      {"copied object referenced twice", kHeader + "A" + Varint(2) + "\\" + Varint(3) + "A" +
                                             Varint(1) + "\"\x01x" + "$" + Varint(0) + Varint(1) +
                                             "^" + Varint(1) + "$" + Varint(0) + Varint(2)},
  };
  for (const auto& [name, bytes] : forms) {
    CloneBytesVerdict verdict = Check(bytes);
    EXPECT_TRUE(verdict.ok()) << name << ": " << verdict.reason;
  }
}

TEST(CloneBytesCheck, RefusesWhatOurWriterNeverEmits) {
  const std::vector<std::pair<const char*, std::string>> forms = {
      {"empty", ""},
      {"no header", "_"},
      {"format version 13", FromHex("ff0d") + "_"},
      {"format version 16", FromHex("ff10") + "_"},
      {"the fuzzer's reproducer", FromHex("ff0f7361ffffff0f7361ff7eff7e")},
      {"host object cut short", kHeader + "\\"},
      {"host object of an unknown kind", kHeader + "\\" + Varint(2) + Varint(0) + Varint(0)},
      {"copied object without its description", kHeader + "\\" + Varint(3)},
      {"copied object with a bad description", kHeader + "\\" + Varint(3) + "t" + Varint(0)},
      {"Blob type longer than the bytes", kHeader + "\\" + Varint(1) + Varint(50) + "ab"},
      {"Blob longer than the bytes", kHeader + "\\" + Varint(1) + Varint(0) + Varint(9) + "ab"},
      {"transferred buffer", kHeader + "t" + Varint(0)},
      {"shared buffer", kHeader + "u" + Varint(0)},
      {"shared object", kHeader + "p" + Varint(0)},
      {"WebAssembly module", kHeader + "w" + Varint(0)},
      {"WebAssembly memory", kHeader + "m" + Varint(0)},
      {"legacy UTF-8 string", kHeader + "S" + Varint(1) + "a"},
      {"object count", kHeader + "?" + Varint(1) + "_"},
      {"the hole outside an array", kHeader + "-"},
      {"legacy reserved tag", kHeader + "b"},
      {"varint longer than five bytes", kHeader + "I" + FromHex("808080808000")},
      {"varint over 32 bits", kHeader + "I" + FromHex("ffffffff1f")},
      {"varint with a zero last byte", kHeader + "I" + FromHex("8100")},
      {"reference to an object not read yet", kHeader + "o\"\x01x^" + Varint(1) + "{" + Varint(1)},
      {"view after something not a buffer", kHeader + "A" + Varint(2) + "o{" + Varint(0) + "^" +
                                                Varint(1) + "VB" + Varint(0) + Varint(0) +
                                                Varint(0) + "$" + Varint(0) + Varint(2)},
      {"unknown view type", kHeader + "B" + Varint(2) + "xyVZ" + Varint(0) + Varint(0) + Varint(0)},
      {"dense array longer than the bytes", kHeader + "A" + Varint(1000) + "T$" + Varint(0)},
      {"string longer than the bytes", kHeader + "\"" + Varint(100) + "abc"},
      {"odd two-byte string", kHeader + "c" + Varint(3) + "abc"},
      {"buffer longer than the bytes", kHeader + "B" + Varint(1u << 30) + "abc"},
      {"resizable buffer over its maximum", kHeader + "~" + Varint(4) + Varint(2) + "abcd"},
      {"BigInt digits not whole", kHeader + "Z" + Varint(3 << 1) + "abc"},
      {"object as a key", kHeader + "o" + "o{" + Varint(0) + "T{" + Varint(1)},
      {"property count mismatch", kHeader + "o\"\x01xT{" + Varint(2)},
      {"array length mismatch", kHeader + SparseArray(5).substr(0, 4) + Varint(4)},
      {"Map entry count mismatch", kHeader + ";TF:" + Varint(1)},
      {"Set entry count mismatch", kHeader + "'T," + Varint(2)},
      {"RegExp with a number for a pattern", kHeader + "RI" + Varint(1) + Varint(0)},
      {"String object of a number", kHeader + "sI" + Varint(1)},
      {"unknown error field", kHeader + "rX."},
      {"repeated error field", kHeader + "rm\"\x01m" + "m\"\x01m."},
      {"error without an end", kHeader + "rR"},
  };
  for (const auto& [name, bytes] : forms) {
    CloneBytesVerdict verdict = Check(bytes);
    EXPECT_EQ(verdict.kind, Kind::kMalformed) << name << ": " << verdict.reason;
    EXPECT_NE(verdict.reason.find("at byte"), std::string::npos) << name;
  }
}

TEST(CloneBytesCheck, CountsABlobsContentsAgainstTheBudget) {
  CloneBytesLimits limits;
  limits.allocation_budget = 1u << 20;
  EXPECT_TRUE(Check(kHeader + Blob("", std::string(1000, 'x')), limits).ok());
  CloneBytesVerdict verdict = Check(kHeader + Blob("", std::string(2u << 20, 'x')), limits);
  EXPECT_EQ(verdict.kind, Kind::kTooLarge);
  EXPECT_NE(verdict.reason.find("a Blob"), std::string::npos) << verdict.reason;
}

TEST(CloneBytesCheck, RefusesAResizableBufferThatReservesTooMuch) {
  std::string bytes = kHeader + "~" + Varint(0) + Varint(0xFFFFFFFFu);
  EXPECT_EQ(Check(bytes).kind, Kind::kTooLarge);
}

TEST(CloneBytesCheck, RefusesNestingDeeperThanTheLimit) {
  auto nested = [](uint32_t depth) {
    std::string bytes = kHeader;
    for (uint32_t i = 0; i < depth; ++i) bytes += "A" + Varint(1);
    bytes += "_";
    for (uint32_t i = 0; i < depth; ++i) bytes += "$" + Varint(0) + Varint(1);
    return bytes;
  };
  CloneBytesLimits limits;
  EXPECT_TRUE(Check(nested(limits.max_depth), limits).ok());
  EXPECT_EQ(Check(nested(limits.max_depth + 1), limits).kind, Kind::kTooDeep);
  EXPECT_EQ(Check(nested(100000), limits).kind, Kind::kTooDeep);
}

}  // namespace
}  // namespace dorm::js
