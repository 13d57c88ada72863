#!/bin/bash
# tests/cli/test_package_model.sh — agentomics-package-model: a package from
# a small fake state, byte reproducibility, --runs forms, --force, refusals
# (exit 65), I/O errors (74), usage errors (2), --help/--version.
. "$(dirname "$0")/lib.sh"
PM="$BIN/agentomics-package-model"

# --- a fake state: three iterations, the second is best --------------------
F="$TMP/fx"
mkdir -p "$F/data" "$F/state" "$F/runs/iter1/model" "$F/runs/iter2/model/sub" "$F/runs/iter3"
cat > "$F/data/dataset.json" <<'EOF'
{"format_version": 1, "task": "binary", "classes": ["neg", "pos"], "positive_class": "pos",
 "sequence_columns": ["sequence"], "content_hash": "c0ffee"}
EOF
# run.json as a run on this data starts it (the seeds are the tool's to derive)
"$BIN/agentomics-agent-step" --step plan --data "$F/data" --out "$F/start" --metric auroc --iterations 3 -q && cp "$F/start/run.json" "$F/state/run.json"
cat > "$F/state/history.json" <<'EOF'
{"format_version": 2, "split": {"version": 1, "source": "agent"}, "iterations": [
 {"iteration": 1, "split_version": 1, "steps": {"plan": {"output": {"goal": "a baseline"}, "seconds": 0.2}},
  "run": {"run_id": "iter1", "status": "ok", "metrics": {"valid": {"auroc": 0.7, "mcc": 0.3}}, "wall_seconds": 5.5},
  "feedback": {"diagnosis": "underfitting", "suggestions": {"architect": "more capacity"}}, "decision": "continue"},
 {"iteration": 2, "split_version": 1, "steps": {},
  "run": {"run_id": "iter2", "status": "ok", "metrics": {"valid": {"auroc": 0.8, "mcc": 0.5}}, "wall_seconds": 7.25},
  "feedback": {"diagnosis": "slight overfitting", "suggestions": {}}, "decision": "continue"},
 {"iteration": 3, "split_version": 1, "steps": {},
  "run": {"run_id": "iter3", "status": "failed", "metrics": {}, "wall_seconds": 0.5},
  "feedback": {"diagnosis": "the run crashed", "suggestions": {}}, "decision": "stop"}],
 "best": {"iteration": 2, "run_id": "iter2", "metric": "auroc", "value": 0.8, "split_version": 1},
 "stop": {"reason": "plateau", "iteration": 3}}
EOF
echo '{"status": "ok", "model": "logreg", "valid": {"auroc": 0.7}}' > "$F/runs/iter1/metrics.json"
echo 'model one' > "$F/runs/iter1/model/model.aom"
cat > "$F/runs/iter2/metrics.json" <<'EOF'
{"status": "ok", "model": "gbdt", "train": {"auroc": 0.95}, "valid": {"accuracy": 0.75, "auroc": 0.8, "mcc": 0.5},
 "wall_seconds": 7.25, "peak_rss_mb": 80}
EOF
echo 'AOM model two' > "$F/runs/iter2/model/model.aom"
echo '{"model": "gbdt", "trees": 50}' > "$F/runs/iter2/model/recipe.json"
echo 'more' > "$F/runs/iter2/model/sub/part.bin"
echo '{"status": "failed", "model": "cnn"}' > "$F/runs/iter3/metrics.json"
RUNS=("$F/runs/iter1" "$F/runs/iter2" "$F/runs/iter3")

# --- --help, --version, usage errors -----------------------------------------
expect_exit 0 "--help exits 0" "$PM" --help
if grep -q '^Usage: agentomics-package-model' "$TMP/.out"; then ok "--help on stdout"; else not_ok "--help on stdout"; fi
expect_exit 0 "--version exits 0" "$PM" --version
if [ "$(head -1 "$TMP/.out")" = "$(cat "$ROOT/VERSION")" ]; then ok "--version: the bare version on line 1"; else not_ok "--version: the bare version on line 1"; fi
expect_exit 2 "no arguments: usage error" "$PM"
stderr_has "Try 'agentomics-package-model --help'" "usage error points to --help"
expect_exit 2 "no --state" "$PM" --runs "${RUNS[@]}" --out "$TMP/x.tar.gz"
stderr_has "--state" "message names --state"
expect_exit 2 "no --runs" "$PM" --state "$F/state" --out "$TMP/x.tar.gz"
expect_exit 2 "no --out" "$PM" --state "$F/state" --runs "${RUNS[@]}"
expect_exit 2 "stray argument before --runs" "$PM" stray --state "$F/state" --runs "${RUNS[@]}" --out "$TMP/x.tar.gz"
stderr_has "unexpected argument 'stray'" "message names the stray argument"
expect_exit 2 "stray argument after another option" "$PM" --state "$F/state" stray --runs "${RUNS[@]}" --out "$TMP/x.tar.gz"
expect_exit 2 "unknown option" "$PM" --bogus
[ -e "$TMP/x.tar.gz" ] && not_ok "no output after usage errors" || ok "no output after usage errors"

# --- a package --------------------------------------------------------------
expect_exit 0 "package written" "$PM" --state "$F/state" --runs "${RUNS[@]}" --out "$TMP/m1.tar.gz" -v
stderr_has "info: .*packaged iteration 2 \\(run iter2" "-v reports the packaged iteration"
if gzip -t "$TMP/m1.tar.gz" 2>/dev/null; then ok "valid gzip"; else not_ok "valid gzip"; fi
tar tvzf "$TMP/m1.tar.gz" > "$TMP/list" 2>&1
if [ "$(head -n 1 "$TMP/list" | awk '{print $NF}')" = "manifest.json" ]; then ok "manifest.json is the first member"; else not_ok "manifest.json is the first member"; fi
tar tzf "$TMP/m1.tar.gz" | tail -n +2 > "$TMP/names"
if LC_ALL=C sort -c "$TMP/names" 2>/dev/null; then ok "other members sorted by path"; else not_ok "other members sorted by path"; fi
if [ "$(cat "$TMP/names" | tr '\n' ' ')" = "environment.json history.json model/model.aom model/recipe.json model/sub/part.bin recipe.json report.md " ]; then
    ok "members: model files, recipe, history, environment, report"; else not_ok "members"; sed 's/^/#   /' "$TMP/names"; fi
if awk '{ if ($1 != "-rw-r--r--" || $2 != "0/0" || $4 != "1970-01-01") bad = 1 } END { exit bad }' "$TMP/list"; then
    ok "mode 0644, owner 0/0, mtime 0"; else not_ok "mode 0644, owner 0/0, mtime 0"; sed 's/^/#   /' "$TMP/list"; fi
if [ "$(od -An -tx1 -j4 -N4 "$TMP/m1.tar.gz" | tr -d ' ')" = "00000000" ]; then ok "gzip header without timestamp"; else not_ok "gzip header without timestamp"; fi
mkdir -p "$TMP/x1"
tar xzf "$TMP/m1.tar.gz" -C "$TMP/x1"
if cmp -s "$TMP/x1/model/model.aom" "$F/runs/iter2/model/model.aom" && cmp -s "$TMP/x1/recipe.json" "$F/runs/iter2/model/recipe.json"; then
    ok "model files and recipe copied"; else not_ok "model files and recipe copied"; fi
for key in '"format_version": 1' '"dataset_hash": "c0ffee"' '"task": "binary"' '"pos"' '"best_iteration": 2' '"metric": "auroc"' \
           '"model_entry": "model/"' '"threshold": null' '"trees": 50' '"auroc": 0.8' '"model/sub/part.bin": "'; do
    if grep -qF -- "$key" "$TMP/x1/manifest.json"; then ok "manifest has $key"; else not_ok "manifest has $key"; fi
done
( cd "$TMP/x1" && sha256sum model/model.aom model/recipe.json model/sub/part.bin environment.json history.json recipe.json report.md ) |
while read -r sum name; do grep -qF "\"$name\": \"$sum\"" "$TMP/x1/manifest.json" || echo "$name"; done > "$TMP/badsums"
if [ ! -s "$TMP/badsums" ]; then ok "manifest sha256 matches every member"; else not_ok "manifest sha256 matches every member"; fi
if grep -Eq 'seconds|peak_rss' "$TMP/x1/history.json"; then not_ok "history.json without wall-clock fields"; else ok "history.json without wall-clock fields"; fi
if grep -q '^| \*\*2\*\* | iter2 | gbdt | ok |' "$TMP/x1/report.md" && grep -q 'the run crashed' "$TMP/x1/report.md"; then
    ok "report.md: iterations table and last feedback"; else not_ok "report.md: iterations table and last feedback"; fi

# --- reproducible: other cwd, other --runs form, other output name ----------
( cd "$TMP" && "$PM" --state "$F/state/" --runs "$F/runs/iter1" --runs "$F/runs/iter2/" --runs "$F/runs/iter3" --out "$TMP/m2.tar.gz" ) 2>"$TMP/.err"
if cmp -s "$TMP/m1.tar.gz" "$TMP/m2.tar.gz"; then ok "same inputs give identical bytes"; else not_ok "same inputs give identical bytes"; fi
# different wall-clock numbers in history and metrics: still identical
sed -i 's/"wall_seconds": 7.25/"wall_seconds": 99.5/' "$F/state/history.json" "$F/runs/iter2/metrics.json"
"$PM" --state "$F/state" --runs "${RUNS[@]}" --out "$TMP/m3.tar.gz" 2>"$TMP/.err"
if cmp -s "$TMP/m1.tar.gz" "$TMP/m3.tar.gz"; then ok "wall-clock fields do not change the bytes"; else not_ok "wall-clock fields do not change the bytes"; fi

# --- existing output -------------------------------------------------------
expect_exit 2 "existing output without --force" "$PM" --state "$F/state" --runs "${RUNS[@]}" --out "$TMP/m1.tar.gz"
stderr_has "already exists" "message says the output exists"
expect_exit 0 "--force replaces it" "$PM" --state "$F/state" --runs "${RUNS[@]}" --out "$TMP/m1.tar.gz" --force
if ls "$TMP" | grep -q '\.tmp\.'; then not_ok "no temporary file left"; else ok "no temporary file left"; fi

# --- refusals: exit 65 with the file named, no output -------------------------
refuse() {   # DESC PATTERN ARGS...
    d=$1; pat=$2; shift 2
    rm -f "$TMP/r.tar.gz"
    expect_exit 65 "$d: exit 65" "$PM" "$@" --out "$TMP/r.tar.gz"
    stderr_has "^agentomics-package-model: $pat" "$d: message"
    if [ -e "$TMP/r.tar.gz" ] || ls "$TMP" | grep -q 'r\.tar\.gz\.tmp'; then not_ok "$d: no output"; else ok "$d: no output"; fi
}
refuse "best run not among --runs" ".*history.json: the best run 'iter2' \\(iteration 2\\) is not among --runs" \
    --state "$F/state" --runs "$F/runs/iter1" "$F/runs/iter3"
cp -r "$F/state" "$F/state_nobest"
sed -i 's/"best": {[^}]*}/"best": null/' "$F/state_nobest/history.json"
refuse "no best iteration" ".*history.json: no best iteration" --state "$F/state_nobest" --runs "${RUNS[@]}"
cp -r "$F/state" "$F/state_failed"
sed -i 's/"best": {[^}]*}/"best": {"iteration": 3, "run_id": "iter3", "metric": "auroc", "value": 0.9, "split_version": 1}/' "$F/state_failed/history.json"
refuse "failed best run" ".*iter3/metrics.json: the best run has status 'failed'" --state "$F/state_failed" --runs "${RUNS[@]}"
cp -r "$F/state" "$F/state_badjson"
echo '{"iterations": [' > "$F/state_badjson/history.json"
refuse "malformed history.json" ".*history.json:[0-9]+: " --state "$F/state_badjson" --runs "${RUNS[@]}"
cp -r "$F/state" "$F/state_noclass"
sed -i "s|\"dir\": \"[^\"]*\"|\"dir\": \"$F/nodata\"|" "$F/state_noclass/run.json"
refuse "no class list" ".*run.json: no class list" --state "$F/state_noclass" --runs "${RUNS[@]}"
# --data: the dataset.json a workflow engine stages (run.json's data.dir is
# where the run started, gone here) gives the positive class and the columns
"$PM" --state "$F/state_noclass" --runs "${RUNS[@]}" --out "$TMP/nodata.tar.gz" 2>"$TMP/.err"
if grep -q "give --data AGENTDIR" "$TMP/.err"; then ok "without --data a moved data directory is a warning that names --data"; else not_ok "without --data: the warning names --data"; sed 's/^/#   /' "$TMP/.err"; fi
cp -r "$F/data" "$F/staged"
expect_exit 0 "--data AGENTDIR: packaged although run.json's data.dir is gone" "$PM" --state "$F/state_noclass" --runs "${RUNS[@]}" --data "$F/staged" --out "$TMP/data.tar.gz"
if [ ! -s "$TMP/.err" ]; then ok "--data: no warning"; else not_ok "--data: no warning"; sed 's/^/#   /' "$TMP/.err"; fi
tar -xzOf "$TMP/data.tar.gz" manifest.json > "$TMP/data.manifest"
if grep -qF '"positive_class": "pos"' "$TMP/data.manifest" && grep -qF '"sequence_columns": [' "$TMP/data.manifest"; then
    ok "--data: the manifest has positive_class and sequence_columns"; else not_ok "--data: the manifest has positive_class and sequence_columns"; fi
if tar -xzOf "$TMP/data.tar.gz" report.md | grep -q "Positive class.*pos"; then ok "--data: the report names the positive class"; else not_ok "--data: the report names the positive class"; tar -xzOf "$TMP/data.tar.gz" report.md | head -20 | sed 's/^/#   /'; fi
"$PM" --state "$F/state" --runs "${RUNS[@]}" --data "$F/staged" --out "$TMP/data2.tar.gz" 2>"$TMP/.err"
if cmp -s "$TMP/m1.tar.gz" "$TMP/data2.tar.gz"; then
    ok "--data gives the same bytes as run.json's data.dir"; else not_ok "--data gives the same bytes as run.json's data.dir"; fi
mkdir -p "$F/otherdata" && sed 's/c0ffee/beef/' "$F/data/dataset.json" > "$F/otherdata/dataset.json"
refuse "--data of another dataset" ".*otherdata/dataset.json: content hash beef.* is not the run's" --state "$F/state" --runs "${RUNS[@]}" --data "$F/otherdata"
expect_exit 74 "--data without dataset.json: I/O error" "$PM" --state "$F/state" --runs "${RUNS[@]}" --data "$F/nodata" --out "$TMP/r.tar.gz"
stderr_has "nodata/dataset.json: no such file" "--data without dataset.json: the message names the file"
mkdir -p "$F/other/iter2/model" && echo x > "$F/other/iter2/model/model.aom"
refuse "best run without metrics.json" ".*other/iter2/metrics.json: missing" --state "$F/state" --runs "$F/other/iter2"
ln -s /etc/hostname "$F/runs/iter2/model/link"
refuse "symlink in the model directory" ".*model/link: not a regular file" --state "$F/state" --runs "${RUNS[@]}"
rm -f "$F/runs/iter2/model/link"
expect_exit 74 "missing state directory: I/O error" "$PM" --state "$F/nostate" --runs "${RUNS[@]}" --out "$TMP/r.tar.gz"
stderr_has "nostate/run.json: no such file" "I/O message names the file"
# a state that fails its schema is a data error naming the JSON path
cp -r "$F/state" "$F/state_badbudget"
sed -i 's/"iterations": 3/"iterations": "3"/' "$F/state_badbudget/run.json"
refuse "an invalid run.json" '.*run.json: [$][.]budgets[.]iterations: expected integer, got string' --state "$F/state_badbudget" --runs "${RUNS[@]}"

done_testing
