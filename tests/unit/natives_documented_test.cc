// Every native the runtime registers is listed in docs/contracts.md, each name once per module.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "runtime/native_module.h"

namespace dorm::runtime {
namespace {

TEST(Natives, EveryNativeIsDocumentedAndNamedOnce) {
  std::ifstream file(std::filesystem::path(DORM_SOURCE_DIR) / "docs" / "contracts.md");
  ASSERT_TRUE(file) << "docs/contracts.md not found";
  std::stringstream text;
  text << file.rdbuf();
  const std::string contracts = text.str();
  std::set<std::string> names;
  size_t count = 0;
  for (auto module :
       {TextNatives(), CryptoNatives(), CloneNatives(), TimerNatives(), StorageNatives(),
        ObjectEventNatives(), SqlNatives(), WebSocketNatives(), NamespaceNatives(), FetchNatives(),
        CacheNatives(), AsyncContextNatives(), ResponseStreamNatives(), OutboundWebSocketNatives(),
        StubBodyNatives(), WasmMemoryNatives(), BundleNatives(), CompressionNatives(),
        InterfaceNatives()}) {
    EXPECT_FALSE(module.empty());
    for (const NativeFunction& native : module) {
      ++count;
      EXPECT_NE(native.callback, nullptr) << native.name;
      EXPECT_TRUE(names.insert(native.name).second) << native.name << " registered twice";
      EXPECT_NE(contracts.find("`" + std::string(native.name) + "("), std::string::npos)
          << native.name << " is not in docs/contracts.md";
    }
  }
  EXPECT_GE(count, 50u);
}

}  // namespace
}  // namespace dorm::runtime
