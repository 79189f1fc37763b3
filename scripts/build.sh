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
  # clang: the same sanitizers as with gcc, and it compiles this code in two thirds of the time.
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DDORM_SANITIZE=ON
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  # Optimised: fuzzing is about executions per second. Only the fuzz targets are built.
  fuzz) dir=build-fuzz; targets=(fuzzers)
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DDORM_FUZZ=ON -DCMAKE_C_COMPILER=clang
      -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
dir=${DORM_BUILD_DIR:-$root/$dir}
# ccache, when installed, keeps what earlier builds compiled: a folder rebuilt from scratch, or
# back on a branch it built before, then mostly comes from its cache (CCACHE_DISABLE=1 turns it
# off). Paths are hashed relative to the checkout and the build folder's own path is left out, so
# a second checkout (a git worktree) shares the cache too; its objects' debug information may then
# name the first checkout's folder. A launcher already set, in the environment or in the folder's
# CMake cache, is left alone. Files compiled with the unit tests' precompiled header are cached
# only with this sloppiness.
if command -v ccache >/dev/null 2>&1; then
  for var in CMAKE_C_COMPILER_LAUNCHER CMAKE_CXX_COMPILER_LAUNCHER; do
    if [ -z "${!var:-}" ] && ! grep -q "^$var:" "$dir/CMakeCache.txt" 2>/dev/null; then
      flags+=("-D$var=ccache")
    fi
  done
  export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
cmake -S "$root" -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir" "${targets[@]}"
