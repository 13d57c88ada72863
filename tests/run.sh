#!/bin/sh
# The test command: unit tests, then CLI tests; the last line is the total
# in the form "N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
log=$(mktemp)
make --no-print-directory test-unit 2>&1 | tee "$log"
make --no-print-directory test-cli 2>&1 | tee -a "$log"
pass=0; fail=0
for line in $(grep -E '^(unit|cli): [0-9]+ passed, [0-9]+ failed' "$log" | sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed.*/\1:\2/'); do
    pass=$((pass + ${line%%:*})); fail=$((fail + ${line##*:}))
done
if ! grep -q '^unit: ' "$log" || ! grep -q '^cli: ' "$log"; then fail=$((fail + 1)); echo "a test stage did not run (build error?)"; fi
rm -f "$log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
