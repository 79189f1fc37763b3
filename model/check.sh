#!/usr/bin/env bash
# Checks the SPIN model of the cluster's ownership protocol (model/ownership.pml): an exhaustive
# search of its state space must find no assertion violation and no invalid end state, and each
# deliberately broken variant must be rejected (SPIN finds a violation), which shows that the
# invariants can fail and that the model exercises what each variant breaks.
#
#   MODEL_BOUNDS   extra -D options for larger bounds, e.g. "-DMAXT=8 -DMAXW=3" (minutes, GBs)
set -euo pipefail
model=$(cd "$(dirname "$0")" && pwd)/ownership.pml
work=$(mktemp -d /tmp/dorm-model-XXXXXX)
trap 'rm -rf "$work"' EXIT
read -r -a bounds <<<"${MODEL_BOUNDS:-}"

# search NAME [-DVARIANT]: generates and compiles the verifier, runs an exhaustive safety search;
# prints its summary and leaves its output in $work/NAME/out.
search() {
  local name=$1
  shift
  mkdir -p "$work/$name"
  (
    cd "$work/$name"
    spin "${bounds[@]}" "$@" -a "$model" >spin.log
    gcc -O2 -w -DSAFETY -o pan pan.c
    ./pan -m200000 -w26 >out 2>&1 || true
  )
  grep -E '^pan:1|errors:|states, stored' "$work/$name/out" | sed "s/^/  $name: /"
}

variants=(BROKEN_NO_FENCE BROKEN_TAKE_IGNORES_LEASE BROKEN_DEADLINE_FROM_REPLY
  BROKEN_READ_PAST_DEADLINE BROKEN_ACK_BEFORE_FLUSH)
# The protocol's search (the longest) runs beside the variants' searches: two cores.
search protocol >"$work/protocol.summary" &
protocol_search=$!
for variant in "${variants[@]}"; do search "$variant" "-D$variant" >"$work/$variant.summary"; done
wait "$protocol_search"

failed=0
echo "== the protocol"
cat "$work/protocol.summary"
if ! grep -q 'errors: 0' "$work/protocol/out" || grep -q 'max search depth too small' "$work/protocol/out"; then
  echo "model/check.sh: the protocol's model fails (or was not searched whole):"
  tail -40 "$work/protocol/out"
  failed=1
fi
for variant in "${variants[@]}"; do
  echo "== $variant (must be rejected)"
  cat "$work/$variant.summary"
  if grep -q 'errors: 0' "$work/$variant/out" || ! grep -q '^pan:1' "$work/$variant/out"; then
    echo "model/check.sh: the broken variant $variant was not rejected"
    failed=1
  fi
done
exit $failed
