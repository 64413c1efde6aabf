#!/usr/bin/env bash
# `iotls demo`'s device against its profile and its RAM budget, both defined
# once in apps/device_profile.h.
#
#   demo_budget.sh profile|budget SOURCE_DIR
#
# Runs `iotls demo --check-budget` and reads the figures from its
# "demo-budget:" line.
#   profile: the demo completes; the device announced the profile's record
#     size and the gateway kept to it (it sends the device no larger record)
#     while keeping 16384 for itself; the budget the demo printed is the
#     header's, and README.md, docs/measurements/bench.md and docs/memory.md
#     state that same budget.
#   budget: the device's measured peak heap stays within the budget for the
#     full and the resumed wake-up (and is a real measurement: above the
#     engine block). Registered only in builds where the demo can count the
#     heap and the budget is the provider's (tests/interop/demo_cells.cmake).
# Every check prints one "CELL demo <what>: PASS|FAIL (...)" line.
set -u
mode=${1:?profile or budget}
src=${2:?source directory}
: "${IOTLS:?IOTLS must name the iotls command}"

fails=0
cell() { # cell NAME OK DETAIL
    if [ "$2" = 1 ]; then
        echo "CELL demo $1: PASS ($3)"
    else
        echo "CELL demo $1: FAIL ($3)"
        fails=$((fails + 1))
    fi
}

header=$src/apps/device_profile.h
define() { sed -n "s/^#define $1 \([0-9][0-9]*\)$/\1/p" "$header"; }
record_size=$(define DEVICE_RECORD_SIZE)
full_kib=$(define DEVICE_BUDGET_FULL_KIB)
resumed_kib=$(define DEVICE_BUDGET_RESUMED_KIB)
if [ -z "$record_size" ] || [ -z "$full_kib" ] || [ -z "$resumed_kib" ]; then
    echo "CELL demo header: FAIL (cannot read the profile from $header)"
    exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$IOTLS" demo --check-budget >"$out" 2>&1
rc=$?
line=$(grep '^demo-budget: ' "$out")
if [ -z "$line" ]; then
    echo "CELL demo run: FAIL (exit $rc, no demo-budget line; the demo's last lines:)"
    tail -n 15 "$out"
    exit 1
fi
echo "$line"
get() { sed -n "s/.* $1=\([0-9][0-9]*\)\( .*\)\{0,1\}$/\1/p" <<<"$line"; }

if [ "$mode" = profile ]; then
    # 3: over budget, which the budget cell judges; anything else failed.
    cell run "$([ "$rc" = 0 ] || [ "$rc" = 3 ] && echo 1)" "exit $rc"
    dev=$(get device_record_size)
    gw_out=$(get gateway_record_out)
    gw_size=$(get gateway_record_size)
    cell "device record size" "$([ "$dev" = "$record_size" ] && echo 1)" \
        "device receives at most $dev B, profile $record_size B"
    cell "gateway kept to it" "$([ "$gw_out" = "$dev" ] && echo 1)" \
        "gateway sends the device at most $gw_out B"
    cell "gateway full size" "$([ "$gw_size" = 16384 ] && echo 1)" \
        "gateway receives up to $gw_size B"
    cell "budget printed" \
        "$([ "$(get full_budget)" = $((full_kib * 1024)) ] &&
            [ "$(get resumed_budget)" = $((resumed_kib * 1024)) ] && echo 1)" \
        "$(get full_budget) / $(get resumed_budget) B, header $full_kib / $resumed_kib KiB"
    # The documents state the header's budget in the rows for the demo's
    # device: "| demo device, full handshake ... | **18 KiB** | ...".
    readme_line=$(grep -F "within a budget of $full_kib / $resumed_kib KiB" "$src/README.md")
    cell "README.md budget" "$([ -n "$readme_line" ] && echo 1)" \
        "README states: ${readme_line:-no 'within a budget of $full_kib / $resumed_kib KiB'}"
    for doc in docs/measurements/bench.md docs/memory.md; do
        full_row=$(grep -F '| demo device, full handshake' "$src/$doc")
        resumed_row=$(grep -F '| demo device, resumed' "$src/$doc")
        cell "$doc full" "$(grep -qF "| **$full_kib KiB** |" <<<"$full_row" && echo 1)" \
            "row: ${full_row:-missing}"
        cell "$doc resumed" "$(grep -qF "| **$resumed_kib KiB** |" <<<"$resumed_row" && echo 1)" \
            "row: ${resumed_row:-missing}"
    done
elif [ "$mode" = budget ]; then
    # Registered where the heap is counted and the budget applies: a demo
    # that cannot compare here is a failure, not a pass.
    cell measurable "$([ "$(get heap_measured)" = 1 ] && [ "$(get budget_applies)" = 1 ] && echo 1)" \
        "heap_measured=$(get heap_measured) budget_applies=$(get budget_applies)"
    for w in full resumed; do
        engine=$(get ${w}_engine)
        peak=$(get ${w}_peak)
        budget=$(get ${w}_budget)
        ok=$([ -n "$peak" ] && [ -n "$engine" ] && [ -n "$budget" ] &&
            [ "$peak" -gt "$engine" ] && [ "$peak" -le "$budget" ] && echo 1)
        cell "$w wake-up" "$ok" "peak $peak B, engine block $engine B, budget $budget B"
    done
    cell "exit status" "$([ "$rc" = 0 ] && echo 1)" "exit $rc (3: over budget)"
else
    echo "usage: demo_budget.sh profile|budget SOURCE_DIR" >&2
    exit 2
fi

if [ "$fails" -ne 0 ]; then
    echo "demo $mode: $fails check(s) failed; the demo's last lines:"
    tail -n 20 "$out"
    exit 1
fi
echo "demo $mode: all checks passed"
