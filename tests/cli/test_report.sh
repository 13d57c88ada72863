#!/bin/bash
# agentomics-report on real results folders built here by hand (the layout
# both workflows write): report.html self-contained, report.md with the same
# numbers, every plot section drawn, the QC flags (a planted train/test
# overlap raises the red flag in both documents), the selection slice shown
# when a run has it, the MultiQC custom content, train-run's progress lines
# and learning_curve.tsv; then the page rendered by headless Chromium (no
# console errors, every plot section drawn), skipped with the reason when no
# Chromium can run.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; S="$BIN/agentomics-agent-step"; T="$BIN/agentomics-train-run"; R="$BIN/agentomics-reflect"
REP="$BIN/agentomics-report"
CHECK="$ROOT/tests/report/check.py"
PY=/usr/bin/python3
STEPS=plan,explore,split,represent,architect,code

for t in --help --version; do expect_exit 0 "report $t" "$REP" $t; done
expect_exit 2 "report without --results" "$REP"
expect_exit 74 "a results folder that does not exist" "$REP" --results "$TMP/nothing"
mkdir -p "$TMP/empty"
expect_exit 65 "a results folder without a lineage state" "$REP" --results "$TMP/empty"
stderr_has "no lineage state found" "the message says what is missing"
[ -z "$(ls "$TMP/empty")" ] && ok "nothing written on failure" || not_ok "nothing written on failure"

# ---- a clean run: two iterations, no selection slice -----------------------------------
A="$TMP/a"
check "a two-iteration run laid out as the workflows do" results "$A" "$DATA/gue_tata_train.csv" 2 --selection-fraction 0
check "report" "$REP" --results "$A" --title gue_tata
for f in report.html report.md agentomics_mqc.json agentomics_general_stats_mqc.json; do
    [ -s "$A/$f" ] && ok "wrote $f" || not_ok "wrote $f"
done
check "report.html is self-contained (no external resource)" "$PY" "$CHECK" selfcontained "$A/report.html"
check "report.md and report.html carry the same numbers" "$PY" "$CHECK" numbers "$A/report.html" "$A/report.md"
check "every plot section has drawn plots" "$PY" "$CHECK" plots "$A/report.html" profile progress learning evaluation
grep -q "held-out test" "$A/report.md" && ok "the held-out test metrics are in the summary" || not_ok "the held-out test metrics are in the summary"
grep -Eq '^\| n \| 100 \| 100 \|' "$A/report.md" && ok "counts print as integers (n | 100)" || { not_ok "counts print as integers (n | 100)"; grep '^| n ' "$A/report.md" | sed 's/^/#   /'; }
grep -q "OK: train/test overlap" "$A/report.md" && ok "no overlap: the overlap flag is OK" || not_ok "no overlap: the overlap flag is OK"
grep -Eq "Changed since iteration 1: " "$A/report.md" && ok "iteration 2's card says what changed since iteration 1" || not_ok "iteration 2's card says what changed"
! grep -q "selection" <(grep '^| metric ' "$A/report.md") && ok "no selection column without a selection slice" || not_ok "no selection column without a selection slice"
"$PY" - "$A/agentomics_mqc.json" "$A/agentomics_general_stats_mqc.json" <<'PY' && ok "MultiQC custom content: a line plot per lineage and a general-stats row" || not_ok "MultiQC custom content"
import json, sys
line, gs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert line["plot_type"] == "linegraph" and line["id"] == "agentomics", line
assert sorted(line["data"]["lineage 1"]) == ["1", "2"], line["data"]
assert gs["plot_type"] == "generalstats" and "test_auroc" in gs["data"]["gue_tata"], gs
PY
# progress lines and the learning curve
grep -Eq "^agentomics-train-run: iteration [0-9]+/[0-9]+: train_loss [0-9.e+-]+, [0-9.]+ s elapsed" "$A/train1.err" && ok "train-run prints progress lines at the default verbosity" \
    || { not_ok "train-run prints progress lines"; sed 's/^/#   /' "$A/train1.err" | head -5; }
head -1 "$A/lineage1/runs/iter1/learning_curve.tsv" | grep -q "^unit	step	train_loss	valid_loss	valid_accuracy	elapsed_seconds$" \
    && [ "$(wc -l < "$A/lineage1/runs/iter1/learning_curve.tsv")" -gt 2 ] && ok "learning_curve.tsv in the run directory" || not_ok "learning_curve.tsv in the run directory"
"$T" --state "$A/lineage1/iter1/agent" --data "$A/data/agent" --out "$TMP/quiet" -q 2>"$TMP/quiet.err"
[ ! -s "$TMP/quiet.err" ] && ok "train-run -q prints nothing" || not_ok "train-run -q prints nothing"
"$S" --steps $STEPS --data "$A/data/agent" --out "$TMP/s-progress" --iterations 1 --seed 3 2>"$TMP/steps.err"
grep -q "^agentomics-agent-step: iteration 1: step explore (builtin)$" "$TMP/steps.err" && ok "agent-step prints the step it is in" || not_ok "agent-step prints the step it is in"

# ---- the selection slice: prepare-data's default slice, scored by train-run --------------
B="$TMP/b"
check "a two-iteration run with the default selection slice" results "$B" "$DATA/gue_tata_train.csv" 2
check "report with a selection slice" "$REP" --results "$B"
# the summary names what model.tar.gz holds: the ensemble and its members, or the best model alone
tar xzf "$B/model.tar.gz" -O manifest.json > "$TMP/bman.json"
want=$(J "$TMP/bman.json" "'an ensemble of %d runs' % len(d['ensemble']['members']) if d['ensemble']['kept'] else 'the best model alone (iteration %d)' % d['best_iteration']")
grep -q "^| Packaged model | $want" "$B/report.md" && grep -q "Packaged model" "$B/report.html" \
  && ok "the summary says what the package holds ($want)" || { not_ok "the summary says what the package holds ($want)"; grep -n "Packaged" "$B/report.md" | sed 's/^/#   /'; }
cp -r "$B" "$TMP/btamper"
/usr/bin/python3 - "$TMP/btamper/model.tar.gz" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff; open(p, "wb").write(bytes(b))
PY
check "report with a package that does not verify" "$REP" --results "$TMP/btamper"
grep -q "^| Packaged model | model.tar.gz did not verify" "$TMP/btamper/report.md" && ok "a package that does not verify is reported in the summary" \
  || { not_ok "a package that does not verify is reported in the summary"; grep -n "Packaged" "$TMP/btamper/report.md" | sed 's/^/#   /'; }
grep -q '^| metric | validation | selection | held-out test |' "$B/report.md" && ok "validation, selection and test side by side" || not_ok "validation, selection and test side by side"
grep -q '<th>selection</th>' "$B/report.html" && ok "the page has the selection column too" || not_ok "the page has the selection column too"
check "numbers agree with a selection slice" "$PY" "$CHECK" numbers "$B/report.html" "$B/report.md"

# ---- a malformed file: exit 65 naming it, nothing written --------------------------------
D="$TMP/d"
cp -r "$A" "$D"
rm -f "$D"/report.* "$D"/*_mqc.json
printf '{"chosen": ' > "$D/lineages.json"
expect_exit 65 "a truncated lineages.json is a data error" "$REP" --results "$D"
stderr_has "lineages.json:1:" "the message names the file and line"
[ ! -e "$D/report.html" ] && [ ! -e "$D/report.md" ] && ok "no partial report" || not_ok "no partial report"

# ---- LLM usage: a final state whose usage.json records calls per step ---------------------
U="$B/lineage1/iter2/reflected/usage.json"
rm -f "$U"   # a hard-linked copy in the states: replaced, not edited
"$PY" -c 'import json,sys; json.dump({"llm_calls": 3, "prompt_tokens": 1234, "completion_tokens": 567, "cost": 0.0123, "wall_seconds": 9.5,
  "steps": [{"step": "architect", "iteration": 2, "protocol": "tools", "llm_calls": 2, "prompt_tokens": 1000, "completion_tokens": 500, "seconds": 6.25},
            {"step": "code", "iteration": 2, "protocol": "json", "llm_calls": 1, "prompt_tokens": 234, "completion_tokens": 67, "seconds": 3.0}]}, open(sys.argv[1], "w"))' "$U"
check "report with LLM usage" "$REP" --results "$B"
grep -q '^| 2 | architect | tools | 2 | 1000 | 500 | 6.2 s |' "$B/report.md" && grep -q 'Lineage 1: 3 calls, 1234 prompt and 567 completion tokens, cost USD 0.0123' "$B/report.md" \
    && ok "LLM usage: calls, tokens and cost per lineage and per step" || { not_ok "LLM usage table"; grep -A8 '## LLM usage' "$B/report.md" | sed 's/^/#   /'; }
grep -q '<a href="lineage1/iter2/reflected/transcript.jsonl">' "$B/report.html" && ok "LLM usage: a link to the transcript, relative to the results folder" || not_ok "LLM usage: transcript link"
check "numbers agree with LLM usage" "$PY" "$CHECK" numbers "$B/report.html" "$B/report.md"

# ---- planted train/test overlap: 45 of the 100 test sequences copied into train ---------
C="$TMP/c"
{ cat "$DATA/gue_tata_train.csv"; tail -n +2 "$DATA/gue_tata_test.csv" | head -45; } > "$TMP/leaky_train.csv"
check "a run whose training set holds 45 test sequences" results "$C" "$TMP/leaky_train.csv" 1
check "report of the leaky run" "$REP" --results "$C"
# prepare-data's count (the 45 planted, and any test sequence the slice already shared)
n=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["overlap"]["test_in_train"])' "$C/data/agent/dataset.json")
[ "$n" -ge 45 ] && ok "prepare-data counts the planted overlap ($n)" || not_ok "prepare-data counts the planted overlap ($n)"
grep -Eq "^- \*\*RED FLAG: train/test overlap\*\* $n of 100 test sequences \($n\.0%\) are also in the training set: the held-out auroc of [0-9.]+ may be inflated" "$C/report.md" \
    && ok "report.md raises the red flag with the counts" || { not_ok "report.md raises the red flag"; grep -i overlap "$C/report.md" | sed 's/^/#   /'; }
grep -Eq '<div class="flag red"><b>RED FLAG: train/test overlap</b> '"$n"' of 100 test sequences' "$C/report.html" \
    && ok "report.html raises the red flag with the counts" || not_ok "report.html raises the red flag"
# the metric without the overlap: the test rows whose sequence is not in train, scored again
clean=$("$PY" - "$C" <<'PY'
import csv, json, sys
from sklearn.metrics import roc_auc_score
r = sys.argv[1]
cols = json.load(open(f"{r}/data/agent/dataset.json"))["sequence_columns"]
key = lambda row: "\t".join(row[c] for c in cols)
train = {key(x) for x in csv.DictReader(open(f"{r}/data/agent/train.tsv"), delimiter="\t")}
test = list(csv.DictReader(open(f"{r}/data/heldout/test.tsv"), delimiter="\t"))
pred = {x["id"]: x for x in csv.DictReader(open(f"{r}/test_predictions.tsv"), delimiter="\t")}
pos = json.load(open(f"{r}/data/agent/dataset.json"))["positive_class"]
keep = [x for x in test if key(x) not in train]
print(len(keep), "%.4f" % roc_auc_score([x["label"] == pos for x in keep], [float(pred[x["id"]]["probability_" + pos]) for x in keep]))
PY
)
set -- $clean
grep -q "Without them, on the $1 test sequences not in the training set, the auroc is $2\." "$C/report.md" \
    && ok "the flag gives the test auroc without the overlap ($1 sequences: $2, as scikit-learn computes it)" \
    || { not_ok "the flag gives the test auroc without the overlap (expected $clean)"; grep "train/test" "$C/report.md" | sed 's/^/#   /'; }
check "numbers agree in the leaky report" "$PY" "$CHECK" numbers "$C/report.html" "$C/report.md"

# ---- headless Chromium: the page loads without console errors, plots drawn -------------
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
    echo "# SKIP Chromium rendering: no chromium on PATH (apt-get install chromium)"
elif ! timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>"$TMP/chrome-probe.err"; then
    echo "# SKIP Chromium rendering: $CHROME cannot run here: $(tail -1 "$TMP/chrome-probe.err")"
else
    prof="$TMP/chrome-profile"
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$prof" --enable-logging=stderr --v=0 \
        --virtual-time-budget=3000 --dump-dom "file://$A/report.html" >"$TMP/dom.html" 2>"$TMP/chrome.err"
    check "Chromium draws a plot in every plot section" "$PY" "$CHECK" dom "$TMP/dom.html" profile progress learning evaluation
    if grep -E 'CONSOLE|Uncaught|SyntaxError|ReferenceError|TypeError' "$TMP/chrome.err" | grep -v 'Fontconfig' > "$TMP/console.txt"; [ -s "$TMP/console.txt" ]; then
        not_ok "no console errors"; sed 's/^/#   /' "$TMP/console.txt" | head
    else
        ok "no console errors"
    fi
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$prof" --hide-scrollbars --window-size=1200,3000 \
        --screenshot="$TMP/report.png" "file://$A/report.html" >/dev/null 2>&1
    [ -s "$TMP/report.png" ] && [ "$(head -c 8 "$TMP/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
        && ok "Chromium renders the page to a PNG" || not_ok "Chromium renders the page to a PNG"
fi
done_testing
