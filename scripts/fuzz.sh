#!/usr/bin/env bash
# Builds the libFuzzer targets (scripts/build.sh fuzz: clang, ASan, UBSan; folder build-fuzz/) and
# runs each one for a bounded time, as many at a time as there are cores, starting from its seed
# corpus (tests/fuzz/corpus/<target>/, copied to a temporary folder so the checkout is never
# modified).
#
#   FUZZ_SECONDS   run time per target (default 60)
#   FUZZ_TARGETS   space-separated targets to run (default: every tests/fuzz/*_fuzzer.cc)
#   FUZZ_KEEP      1: keep the temporary folder (grown corpora, logs) even when all passed
#   FUZZ_JOBS      targets run at a time, each on one core (default: the machine's cores)
#
# A crash, a sanitizer report, a timeout or an out-of-memory fails the script; the reproducer's
# path and the end of the target's log are printed, and the folder is kept. Replay a reproducer
# with: build-fuzz/<target> <reproducer>. Prints the executions of each target at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-60}
dir=${DORM_BUILD_DIR:-$root/build-fuzz}

if [ -n "${FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for source in tests/fuzz/*_fuzzer.cc; do targets+=("$(basename "$source" .cc)"); done
fi

started=$(date +%s)
DORM_BUILD_DIR="$dir" scripts/build.sh fuzz
built=$(date +%s)

work=$(mktemp -d /tmp/dorm-fuzz-XXXXXX)
# Leaks are not checked: the targets keep their fixtures (isolates, servers) for the whole run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
# fuzz_one TARGET: runs one target for $seconds; its exit status goes to $work/NAME.status.
fuzz_one() {
  local target=$1 name=${1%_fuzzer}
  local corpus="$work/corpus/$name" artifacts="$work/artifacts/$name" log="$work/$name.log"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "tests/fuzz/corpus/$name" ]; then cp -R "tests/fuzz/corpus/$name/." "$corpus/"; fi
  local options=(-max_total_time="$seconds" -timeout=60 -rss_limit_mb=3072 -print_final_stats=1
    -artifact_prefix="$artifacts/")
  [ -f "tests/fuzz/$name.dict" ] && options+=(-dict="tests/fuzz/$name.dict")
  # Larger inputs where the target expands runs into large heads, trailers and frames.
  case "$name" in
    http_request | web_socket_frames) options+=(-max_len=16384) ;;
  esac
  local status=0
  "$dir/$target" "${options[@]}" "$corpus" >"$log" 2>&1 || status=$?
  echo "$status" >"$work/$name.status"
}

# Each target runs on one core: FUZZ_JOBS of them at a time (default: the machine's cores).
jobs=${FUZZ_JOBS:-$(nproc)}
running=0
for target in "${targets[@]}"; do
  echo "== fuzz ${target%_fuzzer} for ${seconds}s"
  fuzz_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

summary=()
for target in "${targets[@]}"; do
  name=${target%_fuzzer}
  artifacts="$work/artifacts/$name"
  log="$work/$name.log"
  status=$(cat "$work/$name.status" 2>/dev/null || echo 1)
  executions=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    failed=1
    reproducer=$(find "$artifacts" -type f | head -1)
    echo "== FAILED: $name (exit $status) after ${executions:-?} executions"
    tail -60 "$log"
    echo "== reproducer: ${reproducer:-none written} (log: $log)"
    summary+=("$(printf '%-20s %12s %8s  FAILED' "$name" "${executions:-?}" "${rate:-?}")")
  else
    summary+=("$(printf '%-20s %12s %8s  ok' "$name" "${executions:-?}" "${rate:-?}")")
  fi
done

finished=$(date +%s)
echo "== fuzz summary (${seconds}s per target; build $((built - started))s, total $((finished - started))s)"
printf '%-20s %12s %8s\n' target executions exec/s
printf '%s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
  echo "fuzzing found failures; logs, corpora and reproducers are in $work"
  exit 1
fi
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
  echo "logs and grown corpora are in $work"
else
  rm -rf "$work"
fi
