#!/bin/sh
# Runs the given tests/cli/test_*.sh files (default: all of them; TAP each)
# and prints "cli: N passed, N failed".
cd "$(dirname "$0")/../.." || exit 2
pass=0; fail=0
[ "$#" -gt 0 ] || set -- tests/cli/test_*.sh
for t in "$@"; do
    out=$(bash "$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(not ok|#)' | sed "s|^|$(basename "$t"): |"
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then echo "$(basename "$t"): exited with status $rc"; f=1; fi
    pass=$((pass + p)); fail=$((fail + f))
done
echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
