#!/usr/bin/env bash
# Configures and builds one variant: `release` (build/) or `asan` (build-asan/, with
# AddressSanitizer and UndefinedBehaviorSanitizer).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
case "$variant" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DDORM_SANITIZE=ON) ;;
  *) echo "usage: $0 [release|asan]" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$root/$dir" -G Ninja "${flags[@]}" >/dev/null
ninja -C "$root/$dir"
