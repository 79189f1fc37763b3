#!/usr/bin/env bash
# Type-checks each Wrangler project of the examples and the test fixtures against Cloudflare's
# Workers types, with the Env interface that `dorm types` writes for it, as a user's editor and
# `tsc` would. Needs build/dorm (DORM_BIN overrides) and npm (the pinned TypeScript and
# @cloudflare/workers-types are installed here with `npm ci`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dorm=${DORM_BIN:-$root/build/dorm}
cd "$here"
[ -x node_modules/.bin/tsc ] || npm ci --silent --no-audit --no-fund
failed=0
for project in "$root/examples/wrangler-project" "$root/tests/e2e/fixtures/project-toml"; do
  work=$(mktemp -d /tmp/dorm-types-XXXXXX)
  cp -R "$project/." "$work/"
  "$dorm" types "$work" --out "$work/worker-configuration.d.ts" >/dev/null
  # A project that keeps its generated file must keep it up to date.
  if [ -f "$project/worker-configuration.d.ts" ] &&
    ! cmp -s "$project/worker-configuration.d.ts" "$work/worker-configuration.d.ts"; then
    echo "types: ${project#"$root"/}/worker-configuration.d.ts is stale: run dorm types"
    failed=1
  fi
  # The project's own node_modules (if any) first, then the checker's.
  mkdir -p "$work/node_modules/@cloudflare"
  ln -s "$here/node_modules/@cloudflare/workers-types" "$work/node_modules/@cloudflare/workers-types"
  cat > "$work/tsconfig.json" <<JSON
{ "extends": "$here/tsconfig.base.json", "include": ["src", "worker-configuration.d.ts"] }
JSON
  if "$here/node_modules/.bin/tsc" -p "$work"; then
    echo "types: ${project#"$root"/}: ok"
  else
    echo "types: ${project#"$root"/}: FAILED"
    failed=1
  fi
  rm -rf "$work"
done
exit $failed
