#!/bin/bash
# The selection slice (issue 12): prepare-data holds a stratified part of the
# validation data back from the agent; train-run scores every iteration on it
# with the trusted inference path; reflect's best iteration, stop rules and
# agentomics-select's lineage choice rank by it. A script model that memorises
# the train and validation labels (validation AUROC 1.0) must lose against an
# honest builtin model, and the gap is flagged as validation over-fit.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; S="$BIN/agentomics-agent-step"; T="$BIN/agentomics-train-run"; R="$BIN/agentomics-reflect"
K="$BIN/agentomics-package-model"; SEL="$BIN/agentomics-select"
rows() { echo $(($(wc -l < "$1") - 1)); }

# ---- prepare-data: the size rule ------------------------------------------------
check "prepare-data with --valid" "$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q
A="$TMP/d/agent"
[ -s "$TMP/d/selection/selection.tsv" ] && [ -s "$TMP/d/selection/selection.json" ] && ok "selection/ written beside agent/ and heldout/" || not_ok "selection/ written"
[ "$(rows "$A/valid.tsv")" = 80 ] && [ "$(rows "$TMP/d/selection/selection.tsv")" = 20 ] && ok "20% of the 100 validation rows held back (80 left to the agent)" || not_ok "20% of the validation rows held back"
# per class: round(0.2 * rows), at least 2 (the dev set has 45 and 55)
[ "$(J "$TMP/d/selection/selection.json" "sorted(d['class_counts'].values()), d['pool'], d['carved']")" = "([9, 11], 'valid', True)" ] \
    && ok "stratified: round(0.2 x 45) and round(0.2 x 55) rows" || not_ok "stratified per class"
[ "$(J "$A/dataset.json" "d['splits']['valid']['n_records'], sum(d['splits']['valid']['class_counts'].values())")" = "(80, 80)" ] \
    && ok "dataset.json describes what the agent has (80 validation rows)" || not_ok "dataset.json describes what the agent has"
[ "$(J "$TMP/d/selection/selection.json" "d['content_hash']")" = "$(J "$A/dataset.json" "d['content_hash']")" ] \
    && ok "selection.json is tied to the agent data by the content hash" || not_ok "selection.json content hash"
# no slice row is in the agent's data, by id or by sequence
/usr/bin/python3 - "$A" "$TMP/d/selection/selection.tsv" <<'PY' && ok "no selection row (id or sequence) in the agent's files" || not_ok "no selection row in the agent's files"
import sys
def rows(p): return [l.rstrip('\n').split('\t') for l in open(p)][1:]
sel = rows(sys.argv[2])
agent = rows(sys.argv[1] + '/train.tsv') + rows(sys.argv[1] + '/valid.tsv')
ids, seqs = {r[0] for r in agent}, {r[1] for r in agent if True}
valid_seqs = {r[1] for r in rows(sys.argv[1] + '/valid.tsv')}
sys.exit(0 if not any(r[0] in ids or r[1] in valid_seqs for r in sel) else 1)
PY
grep -rq "selection" "$A" && not_ok "the agent's directory does not name the slice" || ok "the agent's directory does not name the slice"
# a validation set that repeats 30 training sequences (issue 12; before: slice rows
# that training holds were scored as if unseen): they stay in validation, out of the slice
/usr/bin/python3 - "$DATA/gue_tata_train.csv" "$DATA/gue_tata_dev.csv" "$TMP/dup_dev.csv" <<'PY'
import sys
tr = [l.rstrip('\n').split(',') for l in open(sys.argv[1])][1:]
dev = open(sys.argv[2]).read().splitlines()
out = [dev[0]] + [tr[i][0] + ',' + tr[i][1] if i < 30 else l for i, l in enumerate(dev[1:])]
open(sys.argv[3], 'w').write('\n'.join(out) + '\n')
PY
check "prepare-data, --valid repeating 30 training sequences" "$P" --train "$DATA/gue_tata_train.csv" --valid "$TMP/dup_dev.csv" --out "$TMP/dd"
stderr_has "30 validation rows have sequences that training also holds: they stay in validation and out of the selection slice" "the count is reported"
[ "$(J "$TMP/dd/selection/selection.json" "d['excluded_in_training'], d['carved'], d['n_records']")" = "(30, True, 14)" ] \
    && ok "selection.json: 30 excluded; the slice is 20% of the 70 other rows" || not_ok "selection.json: excluded_in_training ($(J "$TMP/dd/selection/selection.json" "d.get('excluded_in_training'), d['n_records']"))"
/usr/bin/python3 - "$TMP/dd" <<'PY' && ok "no slice sequence occurs in training; the 30 repeats are in the agent's validation set" || not_ok "no slice sequence occurs in training"
import sys
def rows(p): return [l.rstrip('\n').split('\t') for l in open(p)][1:]
d = sys.argv[1]
train = {r[1] for r in rows(d + '/agent/train.tsv')}
sel, valid = rows(d + '/selection/selection.tsv'), rows(d + '/agent/valid.tsv')
sys.exit(0 if not any(r[1] in train for r in sel) and sum(r[1] in train for r in valid) == 30 and len(valid) == 86 else 1)
PY
[ "$(J "$TMP/d/selection/selection.json" "d['excluded_in_training']")" = 0 ] && ok "no repeats: excluded_in_training 0" || not_ok "no repeats: excluded_in_training 0"
check "prepare-data without --valid" "$P" --train "$DATA/gue_tata_train.csv" --out "$TMP/d2" -q
[ "$(J "$TMP/d2/selection/selection.json" "d['pool'], d['n_records']")" = "('train', 20)" ] && [ "$(rows "$TMP/d2/agent/train.tsv")" = 380 ] \
    && ok "without --valid: 5% of the training rows (20 of 400)" || not_ok "without --valid: 5% of the training rows"
check "prepare-data --selection-fraction 0" "$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --selection-fraction 0 --out "$TMP/d0" -q
[ "$(rows "$TMP/d0/agent/valid.tsv")" = 100 ] && [ "$(J "$TMP/d0/selection/selection.json" "d['carved']")" = False ] && [ ! -e "$TMP/d0/selection/selection.tsv" ] \
    && ok "--selection-fraction 0: no slice, recorded" || not_ok "--selection-fraction 0"
expect_exit 2 "--selection-fraction 0.7 is a usage error" "$P" --train "$DATA/gue_tata_train.csv" --selection-fraction 0.7 --out "$TMP/dx"
# a class under 10 rows in the pool: no slice, a warning saying why
head -1 "$TMP/d/agent/train.tsv" > "$TMP/small_valid.tsv"
awk -F'\t' 'NR > 1 && (($3 == "0" && a++ < 12) || ($3 == "1" && b++ < 6))' "$TMP/d0/agent/valid.tsv" | cut -f1-3 >> "$TMP/small_valid.tsv"
check "prepare-data, a validation class of 6 rows" "$P" --train "$DATA/gue_tata_train.csv" --valid "$TMP/small_valid.tsv" --out "$TMP/d3"
[ "$(J "$TMP/d3/selection/selection.json" "d['carved']")" = False ] && [ "$(rows "$TMP/d3/agent/valid.tsv")" = 18 ] && grep -q "fewer than 10" "$TMP/.err" \
    && ok "a class under 10 rows: no slice, a warning saying why" || not_ok "a class under 10 rows: no slice"

# ---- train-run: metrics.json "selection" ------------------------------------------
"$S" --steps iteration --data "$A" --out "$TMP/s1" --iterations 4 --seed 3 2>/dev/null || exit 1
check "train-run, builtin recipe" "$T" --state "$TMP/s1" --data "$A" --out "$TMP/run1"
[ "$(J "$TMP/run1/metrics.json" "sorted(d['selection']) == sorted(d['valid']) and d['selection']['n'] == 20 and d['data']['n_selection'] == 20")" = True ] \
    && ok "metrics.json selection: the valid object's shape, on the 20 slice rows" || not_ok "metrics.json selection has the valid object's shape"
[ ! -e "$TMP/run1/predictions.selection.tsv" ] && ok "the slice's predictions are not kept in the run directory" || not_ok "no predictions.selection.tsv"
check "train-run --selection DIR" "$T" --state "$TMP/s1" --data "$A" --selection "$TMP/d/selection" --out "$TMP/run1b"
[ "$(J "$TMP/run1b/metrics.json" "d['selection'] == json.load(open('$TMP/run1/metrics.json'))['selection']")" = True ] && ok "--selection DIR: the same scores" || not_ok "--selection DIR: the same scores"
expect_exit 65 "train-run: a slice of another dataset is refused" "$T" --state "$TMP/s1" --data "$A" --selection "$TMP/d2/selection" --out "$TMP/runx"
stderr_has "belongs to another dataset" "the refusal names the mismatch"
check "analyze and reflect iteration 1" sh -c "'$S' --step analyze --state '$TMP/s1' --run '$TMP/run1' --data '$A' --out '$TMP/a1' 2>/dev/null && '$R' --state '$TMP/a1' --run '$TMP/run1' --data '$A' --out '$TMP/r1' 2>/dev/null"
[ "$(J "$TMP/r1/history.json" "d['format_version'], d['best']['on'], d['best']['value'] == d['iterations'][0]['run']['metrics']['selection']['auroc']")" = "(3, 'selection', True)" ] \
    && ok "history.json (format 3): the run's selection metrics; best ranks on the slice" || not_ok "history.json records the selection metrics"

# ---- the memorising script model loses -----------------------------------------------
if ! bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev \
        --unshare-all --die-with-parent /usr/bin/true 2>/dev/null; then
    echo "# bubblewrap cannot create a sandbox here: the script-model cases are skipped"
    done_testing; exit $?
fi
mkdir -p "$TMP/mem"
cat > "$TMP/mem/train.sh" <<'EOF'
#!/bin/sh
# train.sh TRAIN VALID MODEL: remembers every sequence's label, validation included
set -e
awk -F'\t' 'FNR == 1 { for (i = 1; i <= NF; i++) { if ($i == "sequence") s = i; if ($i == "label") l = i }; next } { print $s "\t" $l }' "$1" "$2" > "$3/memory.tsv"
EOF
cat > "$TMP/mem/predict.sh" <<'EOF'
#!/bin/sh
# predict.sh ARTIFACTS INPUT OUTPUT: a remembered label is certain, anything else a coin
set -e
awk -F'\t' -v classes="$AO_CLASSES" '
FNR == NR { mem[$1] = $2; next }
FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "sequence") s = i
           K = split(classes, cl, ","); printf "id\tprediction"; for (k = 1; k <= K; k++) printf "\tprobability_%s", cl[k]; printf "\n"; next }
{ printf "%s\t%s", $1, ($s in mem) ? mem[$s] : cl[1]
  for (k = 1; k <= K; k++) printf "\t%.6f", ($s in mem) ? (mem[$s] == cl[k]) : 1 / K; printf "\n" }' "$1/memory.tsv" "$2" > "$3"
EOF
MEM_SPEC='{"entry": "script", "interpreter": "/bin/sh", "train_entry": "train.sh", "inference_entry": "predict.sh"}'
# as_script STATE: the last iteration's code step left the memorising scripts
as_script() {
    cp "$TMP/mem/train.sh" "$TMP/mem/predict.sh" "$1/workspace/"
    /usr/bin/python3 - "$1/history.json" "$MEM_SPEC" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
h['iterations'][-1]['steps']['code']['output'] = dict(json.loads(sys.argv[2]), smoke={'status': 'ok'})
json.dump(h, open(sys.argv[1], 'w'), indent=2)
PY
}
"$S" --steps iteration --state "$TMP/r1" --data "$A" --out "$TMP/s2" 2>/dev/null && as_script "$TMP/s2" || exit 1
check "train-run: the memorising scripts" "$T" --state "$TMP/s2" --data "$A" --out "$TMP/run2"
va=$(J "$TMP/run2/metrics.json" "d['valid']['auroc']"); se=$(J "$TMP/run2/metrics.json" "d['selection']['auroc']"); honest=$(J "$TMP/run1/metrics.json" "d['selection']['auroc']")
echo "# memoriser: validation AUROC $va, selection AUROC $se; honest builtin model: selection AUROC $honest"
[ "$(J "$TMP/run2/metrics.json" "d['status'], d['valid']['auroc'] == 1.0, d['selection']['auroc'] <= 0.6")" = "('ok', True, True)" ] \
    && ok "memoriser: validation AUROC 1.0, selection AUROC at chance" || not_ok "memoriser: validation 1.0, selection at chance"
check "analyze and reflect iteration 2" sh -c "'$S' --step analyze --state '$TMP/s2' --run '$TMP/run2' --data '$A' --out '$TMP/a2' 2>/dev/null && '$R' --state '$TMP/a2' --run '$TMP/run2' --data '$A' --out '$TMP/r2'"
grep -q "validation over-fit" "$TMP/.err" && ok "reflect warns: validation over-fit" || not_ok "reflect warns: validation over-fit"
[ "$(J "$TMP/r2/history.json" "d['best']['iteration'], d['iterations'][1]['improved'], d['iterations'][1]['feedback']['overfit']['gap'] > 0.3")" = "(1, False, True)" ] \
    && ok "the honest iteration 1 stays best; iteration 2 is flagged over-fit" || not_ok "the memoriser does not become best"
check "package-model" "$K" --state "$TMP/r2" --runs "$TMP/run1" "$TMP/run2" --data "$A" --out "$TMP/m.tar.gz"
mkdir -p "$TMP/pkg" && tar -xzf "$TMP/m.tar.gz" -C "$TMP/pkg"
grep -q "^| 2 |.*(validation over-fit)" "$TMP/pkg/report.md" && grep -q "Ranking metric: auroc on the selection slice" "$TMP/pkg/report.md" \
    && ok "report.md: both metrics, ranked on the slice, iteration 2 flagged" || not_ok "report.md flags the over-fit"
[ "$(J "$TMP/pkg/manifest.json" "d['best_iteration']")" = 1 ] && ok "the package holds the honest model" || not_ok "the package holds the honest model"

# lineages: one whose only model is the memoriser, one honest; select picks the honest one
"$S" --steps iteration --data "$A" --out "$TMP/L2s" --iterations 4 --seed 3 --lineage 2 2>/dev/null && as_script "$TMP/L2s" || exit 1
"$T" --state "$TMP/L2s" --data "$A" --out "$TMP/L2run/iter1" 2>/dev/null && "$S" --step analyze --state "$TMP/L2s" --run "$TMP/L2run/iter1" --data "$A" --out "$TMP/L2a" 2>/dev/null \
    && "$R" --state "$TMP/L2a" --run "$TMP/L2run/iter1" --data "$A" --out "$TMP/L2r" 2>/dev/null || exit 1
check "select: the honest lineage against the memorising lineage 2" "$SEL" --states "$TMP/r1" "$TMP/L2r" --out "$TMP/lineages.json"
[ "$(J "$TMP/lineages.json" "d['chosen_state']")" = "$TMP/r1" ] && ok "select chooses the honest lineage (validation 1.0 loses on the slice)" || not_ok "select chooses the honest lineage"

# the same two iterations without a slice (--selection-fraction 0): the memoriser wins, as before issue 12
A0="$TMP/d0/agent"
"$S" --steps iteration --data "$A0" --out "$TMP/n1" --iterations 4 --seed 3 2>/dev/null && "$T" --state "$TMP/n1" --data "$A0" --out "$TMP/nrun1" 2>/dev/null \
    && "$S" --step analyze --state "$TMP/n1" --run "$TMP/nrun1" --data "$A0" --out "$TMP/na1" 2>/dev/null && "$R" --state "$TMP/na1" --run "$TMP/nrun1" --data "$A0" --out "$TMP/nr1" 2>/dev/null \
    && "$S" --steps iteration --state "$TMP/nr1" --data "$A0" --out "$TMP/n2" 2>/dev/null && as_script "$TMP/n2" && "$T" --state "$TMP/n2" --data "$A0" --out "$TMP/nrun2" 2>/dev/null \
    && "$S" --step analyze --state "$TMP/n2" --run "$TMP/nrun2" --data "$A0" --out "$TMP/na2" 2>/dev/null && "$R" --state "$TMP/na2" --run "$TMP/nrun2" --data "$A0" --out "$TMP/nr2" 2>/dev/null || exit 1
[ "$(J "$TMP/nr2/history.json" "d['best']['iteration'], d['best']['on'], 'selection' in json.load(open('$TMP/nrun2/metrics.json'))")" = "(2, 'valid', False)" ] \
    && ok "without a slice the memoriser becomes best on validation (what the slice prevents)" || not_ok "without a slice the memoriser becomes best"

done_testing
