#!/bin/bash
# tests/cli/test_fuzz_replay.sh — every fuzz target's entry (tests/fuzz/)
# on its stored inputs in tests/data/fuzz/TARGET/: the seeds and the
# regression inputs of crashes that fuzzing found, built with the normal
# compiler (make test) or under ASan + UBSan (make test-asan sets
# AO_FUZZ_BIN); no clang needed. One check per input.
. "$(dirname "$0")/lib.sh"
FB="${AO_FUZZ_BIN:-$ROOT/build/fuzz-replay}"
cd "$ROOT" || exit 1
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c); name=${t#fuzz_}
    if [ ! -x "$FB/$t" ]; then not_ok "$t: replay binary built ($FB/$t)"; continue; fi
    out=$(TMPDIR="$TMP" "$FB/$t" "tests/data/fuzz/$name" 2>"$TMP/.err"); rc=$?
    n=$(printf '%s\n' "$out" | grep -c '^ok ')
    if [ "$rc" -eq 0 ] && [ "$n" -gt 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
        ok "$t: $n stored inputs replayed"
    else
        not_ok "$t: stored inputs replayed (exit $rc)"; printf '%s\n' "$out" | grep -v '^ok' | head -5 | sed 's/^/#   /'; sed 's/^/#   /' "$TMP/.err" | head -10
    fi
done
done_testing
