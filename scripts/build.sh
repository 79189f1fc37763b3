#!/usr/bin/env bash
# Configures and builds one variant: `release` (build/) or `asan` (build-asan/, with
# AddressSanitizer and UndefinedBehaviorSanitizer). DORM_BUILD_DIR overrides the folder, so that
# several builds of one checkout can coexist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
case "$variant" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DDORM_SANITIZE=ON) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
dir=${DORM_BUILD_DIR:-$root/$dir}
cmake -S "$root" -B "$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$dir"
