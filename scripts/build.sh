#!/usr/bin/env bash
# Configures and builds one variant: `release` (build/), `asan` (build-asan/, with
# AddressSanitizer and UndefinedBehaviorSanitizer) or `fuzz` (build-fuzz/: the libFuzzer targets of
# tests/fuzz, built with clang, ASan and UBSan; see scripts/fuzz.sh). DORM_BUILD_DIR overrides the
# folder, so that several builds of one checkout can coexist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
targets=()
case "$variant" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DDORM_SANITIZE=ON) ;;
  # Optimised: fuzzing is about executions per second. Only the fuzz targets are built.
  fuzz) dir=build-fuzz; targets=(fuzzers)
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DDORM_FUZZ=ON -DCMAKE_C_COMPILER=clang
      -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
dir=${DORM_BUILD_DIR:-$root/$dir}
cmake -S "$root" -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" "${targets[@]}"
