#!/bin/bash
# tests/cli/test_evaluate.sh — agentomics-evaluate: outputs, atomic --out,
# every data error as exit 65 with FILE:LINE, usage errors, --help/--version.
. "$(dirname "$0")/lib.sh"
EV="$BIN/agentomics-evaluate"
M="$DATA/metrics"

# --- good inputs ---------------------------------------------------------
expect_exit 0 "binary fixture scores (JSON on stdout)" \
    "$EV" --predictions "$M/binary_ties.pred.tsv" --labels "$M/binary_ties.labels.tsv"
cp "$TMP/.out" "$TMP/binary.json"
for key in '"n": 40' '"task": "binary"' '"positive_class": "pos"' '"accuracy"' '"balanced_accuracy"' \
           '"auroc": 0.878787878787878' '"auprc"' '"f1_macro"' '"mcc"' '"log_loss"' '"per_class"' \
           '"confusion_matrix"' '"warnings"'; do
    if grep -qF -- "$key" "$TMP/binary.json"; then ok "JSON has $key"; else not_ok "JSON has $key"; fi
done
if grep -q '^{' "$TMP/binary.json" && tail -n 1 "$TMP/binary.json" | grep -q '^}$'; then
    ok "JSON is one object"; else not_ok "JSON is one object"; fi

expect_exit 0 "short options and gzip labels" \
    "$EV" -p "$M/multi5_random.pred.tsv" -l "$M/multi5_random.labels.tsv.gz"
if grep -q '"task": "multiclass"' "$TMP/.out" && grep -q '"average": "macro-ovr"' "$TMP/.out"; then
    ok "multiclass JSON"; else not_ok "multiclass JSON"; fi

expect_exit 0 "class absent from the labels: still scores" \
    "$EV" -p "$M/multi3_absent.pred.tsv" -l "$M/multi3_absent.labels.tsv"
if grep -q '"auroc": null' "$TMP/.out"; then ok "undefined macro AUROC is null"; else not_ok "undefined macro AUROC is null"; fi
stderr_has "warning: .*no row of class 'c1'" "a warning explains the null"

expect_exit 0 "text format" \
    "$EV" -p "$M/multi3_ties.pred.tsv" -l "$M/multi3_ties.labels.tsv" --format text
if grep -q '^accuracy ' "$TMP/.out" && grep -q '^confusion matrix' "$TMP/.out" && grep -q '^zeta ' "$TMP/.out"; then
    ok "text table with metrics, classes and confusion matrix"; else not_ok "text table"; fi

expect_exit 0 "predictions from stdin" \
    sh -c "\"$EV\" -p - -l \"$M/binary_perfect.labels.tsv\" < \"$M/binary_perfect.pred.tsv\""
if grep -q '"auroc": 1.0' "$TMP/.out"; then ok "stdin predictions scored"; else not_ok "stdin predictions scored"; fi

expect_exit 0 "--out writes a file, nothing on stdout" \
    "$EV" -p "$M/binary_ties.pred.tsv" -l "$M/binary_ties.labels.tsv" --out "$TMP/m.json"
if [ ! -s "$TMP/.out" ] && cmp -s "$TMP/m.json" "$TMP/binary.json"; then
    ok "--out holds the same JSON as stdout"; else not_ok "--out holds the same JSON as stdout"; fi
if ls "$TMP" | grep -q '\.tmp\.'; then not_ok "no temporary file left"; else ok "no temporary file left"; fi

expect_exit 0 "-v logs to stderr" \
    "$EV" -p "$M/binary_ties.pred.tsv" -l "$M/binary_ties.labels.tsv" -v --threads 2 --out "$TMP/v.json"
stderr_has "info: scored 40 rows, 2 classes" "-v reports the rows scored"

# --- data errors: exit 65, FILE:LINE, no --out file ----------------------
P="$TMP/p.tsv"; L="$TMP/l.tsv"
good_pred() {
    printf 'id\tprediction\tprobability_a\tprobability_b\n'
    printf 'r1\ta\t0.9\t0.1\nr2\tb\t0.2\t0.8\nr3\ta\t0.6\t0.4\n'
}
printf 'id\tsequence\tlabel\nr3\tACGT\ta\nr1\tGG\ta\nr2\tTT\tb\n' > "$L"
good_pred > "$P"
expect_exit 0 "hand-made pair scores" "$EV" -p "$P" -l "$L"

# data_error DESC PATTERN : runs on $P/$L with --out; expects 65, PATTERN in stderr, no output file
data_error() {
    rm -f "$TMP/err.json"
    expect_exit 65 "$1: exit 65" "$EV" --predictions "$P" --labels "$L" --out "$TMP/err.json"
    stderr_has "^agentomics-evaluate: $2" "$1: message names FILE:LINE"
    if [ -e "$TMP/err.json" ] || ls "$TMP" | grep -q 'err\.json\.tmp'; then
        not_ok "$1: no output file left"; else ok "$1: no output file left"; fi
}

good_pred | sed '/^r2/d' > "$P"
data_error "missing id" "$L:4: no prediction for id 'r2'"
{ good_pred; printf 'r9\ta\t0.5\t0.5\n'; } > "$P"
data_error "extra id" "$P:5: id 'r9' is not in"
{ good_pred; printf 'r1\ta\t0.5\t0.5\n'; } > "$P"
data_error "duplicate id in predictions" "$P:5: duplicate id 'r1' \\(also on line 2\\)"
good_pred > "$P"
cp "$L" "$TMP/l.good"
printf 'r1\tAA\ta\n' >> "$L"
data_error "duplicate id in labels" "$L:5: duplicate id 'r1'"
sed 's/^r1\tGG\ta$/r1\tGG\tc/' "$TMP/l.good" > "$L"
data_error "unknown label" "$L:3: label 'c' is not one of the classes"
cp "$TMP/l.good" "$L"
good_pred | sed 's/^r2\tb/r2\tzz/' > "$P"
data_error "unknown predicted class" "$P:3: prediction 'zz' is not one of the classes"
good_pred | sed 's/^r2\tb\t0.2\t0.8/r2\tb\t-0.2\t1.2/' > "$P"
data_error "probability outside [0,1]" "$P:3: probability_a is -0.2, outside \\[0, 1\\]"
good_pred | sed 's/0.6\t0.4/nan\t0.4/' > "$P"
data_error "NaN probability" "$P:4: probability_a is 'nan', not a finite number"
good_pred | sed 's/0.6\t0.4/0.6\tinf/' > "$P"
data_error "infinite probability" "$P:4: probability_b is 'inf', not a finite number"
good_pred | sed 's/0.6\t0.4/0.6\tabc/' > "$P"
data_error "non-number" "$P:4: probability_b is 'abc', not a number"
good_pred | sed 's/0.6\t0.4/0.6\t0.3/' > "$P"
data_error "row sum not 1" "$P:4: the probabilities sum to 0.9"
good_pred | sed 's/^id\tprediction\tprobability_a/id\tprediction\tprobability_c/; s/\ta\t/\tc\t/' > "$P"
data_error "label without a probability column" "$L:2: label 'a' is not one of the classes"
good_pred | cut -f1,3,4 > "$P"
data_error "no prediction column" "$P:1: no 'prediction' column"
good_pred | sed 's/^r2\tb\t0.2\t0.8/r2\tb\t0.2/' > "$P"
data_error "ragged row" "$P:3: 3 fields, but the header has 4 columns"
: > "$P"
data_error "empty file" "$P:1: empty file"
printf 'id\tprediction\tprobability_a\tprobability_b\nr1\ta\t0.9\t\0\n' > "$P"
data_error "binary data" "$P:2: binary data"
good_pred > "$P"

# --- I/O and usage errors ------------------------------------------------
expect_exit 74 "missing file: exit 74" "$EV" -p "$TMP/nope.tsv" -l "$L"
stderr_has "nope.tsv: cannot open" "missing file is named"
expect_exit 74 "unwritable --out: exit 74" "$EV" -p "$P" -l "$L" --out "$TMP/no/such/dir/m.json"
expect_exit 2 "no arguments: exit 2" "$EV"
stderr_has "--predictions is required" "says what is missing"
expect_exit 2 "no --labels: exit 2" "$EV" --predictions "$P"
stderr_has "--labels is required" "says --labels is missing"
expect_exit 2 "bad --format: exit 2" "$EV" -p "$P" -l "$L" --format xml
expect_exit 2 "bad --threads: exit 2" "$EV" -p "$P" -l "$L" --threads 0
expect_exit 2 "unknown option: exit 2" "$EV" -p "$P" -l "$L" --bogus
expect_exit 2 "missing option argument: exit 2" "$EV" -p "$P" --labels
expect_exit 2 "stray argument: exit 2" "$EV" -p "$P" -l "$L" extra
expect_exit 2 "both inputs from stdin: exit 2" "$EV" -p - -l -
expect_exit 0 "--help exits 0" "$EV" --help
if grep -q '^Usage: agentomics-evaluate' "$TMP/.out"; then ok "--help on stdout"; else not_ok "--help on stdout"; fi
expect_exit 0 "--version exits 0" "$EV" --version
if [ "$(head -1 "$TMP/.out")" = "$(cat "$ROOT/VERSION")" ]; then ok "--version: the bare version on line 1"; else not_ok "--version: the bare version on line 1"; fi

done_testing
