#!/usr/bin/env bash
# Installs everything Dorm needs to build, run, test and benchmark on Debian 12, as root.
# Idempotent: a second run only checks.
#
# V8 comes from Debian's libnode108/libnode-dev. Installing libnode-dev with apt fails on images
# that carry a pinned Node.js from another packager (libnode108 depends on node-acorn, which wants
# Debian's nodejs), so the two packages are downloaded and unpacked into .deps/libnode instead;
# their runtime libraries are installed with apt by name. This works the same on a plain Debian 12.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

need_apt=()
packages=(build-essential cmake pkg-config ninja-build ccache git ca-certificates
  libboost1.81-dev libsqlite3-dev libssl-dev libcurl4-openssl-dev libicu-dev libgtest-dev libtomlplusplus-dev
  zlib1g-dev libbrotli-dev libcrcutil-dev libjemalloc-dev
  esbuild wrk procps curl clang libclang-rt-14-dev libpq-dev postgresql nginx-light spin
  libbrotli1 libc-ares2 libicu72 libnghttp2-14 libssl3 libuv1 zlib1g)
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
# Node.js and npm run the end-to-end tests and the benchmark's load tools. Keep any Node.js that is
# already there (it may come from another packager); otherwise take Debian's.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
# Chromium runs the browser end-to-end tests (tests/e2e/websocket_browser.test.mjs), headless.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}"
  apt-get update -qq
  # PostgreSQL and nginx are only started by the tests and the benchmark themselves, on loopback
  # and in temporary folders: their packages must not start system services. Debian's
  # maintainer scripts ask policy-rc.d, and 101 means "not allowed".
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
  [ "$own_policy" = 1 ] && rm -f "$policy"
  own_policy=0
fi

libnode="$root/.deps/libnode"
if [ ! -f "$libnode/usr/include/node/v8.h" ] || [ ! -e "$libnode/usr/lib/x86_64-linux-gnu/libnode.so.108" ]; then
  echo "install-deps: unpacking libnode108 and libnode-dev into $libnode"
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download libnode108 libnode-dev 2>/dev/null ||
    { apt-get update -qq && apt-get download libnode108 libnode-dev; })
  rm -rf "$libnode"
  mkdir -p "$libnode"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$libnode"; done
  rm -rf "$tmp"
fi

# npm packages: the prelude's standards libraries, bundled into the binary, and the esbuild that
# deploys run, whose path the build fixes into the binary (js/; Debian's esbuild above bundles the
# prelude but cannot lower `using` declarations in tenant code), and what the end-to-end tests
# drive the server with (tests/: the reference MCP client, a WebSocket client and a browser
# driver). (bench/run.sh installs workerd for itself.)
for dir in js tests; do
  if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" -o "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "install-deps: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
echo "install-deps: done"
