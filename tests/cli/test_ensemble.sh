#!/bin/bash
# tests/cli/test_ensemble.sh — ensembles (ensemble.h): package-model's
# decision on a real four-iteration builtin lineage, the packaged
# ensemble's predictions against its members', --ensemble 0 and a missing
# selection slice, reproducible bytes, and hostile ensemble directories
# (exit 65, never a crash or a path outside the model).
. "$(dirname "$0")/lib.sh"
PM="$BIN/agentomics-package-model"; PR="$BIN/agentomics-predict"

A="$TMP/a"
check "a four-iteration builtin lineage with a selection slice" results "$A" "$DATA/gue_tata_train.csv" 4
STATE="$A/lineage1/iter4/reflected"
RUNS=("$A"/lineage1/runs/iter*)
man() { tar xzf "$1" -O manifest.json > "$TMP/man.json" && J "$TMP/man.json" "$2"; }

# ---- the default decision on the fixture -------------------------------------
[ "$(man "$A/model.tar.gz" "(d['ensemble']['candidates'] >= 2, isinstance(d['ensemble']['kept'], bool), d['ensemble']['metric'], 'reason' in d['ensemble'])")" = \
  "(True, True, 'auroc', True)" ] && ok "the manifest records the ensemble decision (candidates, kept, metric, reason)" \
  || { not_ok "the manifest records the ensemble decision"; sed 's/^/#   /' "$TMP/man.json" | head -30; }
[ "$(J "$TMP/man.json" "(lambda e: e['kept'] == (len(e.get('members', [])) >= 2 and e['selection'] >= e['selection_best_single'] - (e['selection_difference_sd'] or 0)))(d['ensemble'])")" = True ] \
  && ok "kept exactly when two or more members do not trail the best single model on the selection slice by more than the bootstrap SD" \
  || not_ok "kept exactly when two or more members do not trail the single best by more than the bootstrap SD"

# ---- a confirmed ensemble: the validation rows as the slice ---------------------
# Greedy selection starts from the best single model on these rows and keeps an
# addition only when it scores higher, so on the rows it was fit on a kept
# ensemble is the expected outcome for four different models (deterministic).
mkdir -p "$TMP/vsel"
cp "$A/data/agent/valid.tsv" "$TMP/vsel/selection.tsv"
check "package with the validation rows as the selection slice" "$PM" --state "$STATE" --runs "${RUNS[@]}" --data "$A/data/agent" \
    --selection "$TMP/vsel" --out "$TMP/e.tar.gz" -v
stderr_has "packaged an ensemble of [0-9]+ runs" "-v says an ensemble was packaged"
[ "$(man "$TMP/e.tar.gz" "(d['model_kind'], d['ensemble']['kept'], abs(sum(m['weight'] for m in d['ensemble']['members']) - 1) < 1e-9)")" = "('ensemble', True, True)" ] \
  && ok "manifest: model_kind ensemble, weights sum to 1" || { not_ok "manifest: model_kind ensemble"; sed 's/^/#   /' "$TMP/man.json" | head -30; }
tar tzf "$TMP/e.tar.gz" | grep '^model/' > "$TMP/names"
grep -qx 'model/ensemble.json' "$TMP/names" && grep -qx 'model/members/1/model.aom' "$TMP/names" && grep -qx 'model/members/2/model.aom' "$TMP/names" && ! grep -qx 'model/model.aom' "$TMP/names" \
  && ok "members: model/ensemble.json and model/members/N/" || { not_ok "members: model/ensemble.json and model/members/N/"; sed 's/^/#   /' "$TMP/names"; }
tar xzf "$TMP/e.tar.gz" -O environment.json > "$TMP/env.json"
[ "$(J "$TMP/env.json" "(d['runtime'], d['model_kind'])")" = "('builtin', 'ensemble')" ] && ok "environment.json: a builtin runtime" || not_ok "environment.json: a builtin runtime"
check "predict with the ensemble package" "$PR" --model "$TMP/e.tar.gz" --input "$A/data/heldout/test.tsv" --output "$TMP/e.pred.tsv"
# the package's probabilities are the weighted mean of its members' own predictions
for r in "${RUNS[@]}"; do "$PR" --model "$r/model" --input "$A/data/heldout/test.tsv" --output "$TMP/$(basename "$r").pred.tsv" -q; done
/usr/bin/python3 - "$TMP" <<'PY' && ok "ensemble probabilities = the weighted mean of the members' (1e-9)" || not_ok "ensemble probabilities = the weighted mean of the members'"
import csv, json, sys
t = sys.argv[1]
m = json.load(open(f"{t}/man.json"))["ensemble"]["members"]
rd = lambda p: {r["id"]: r for r in csv.DictReader(open(p), delimiter="\t")}
e = rd(f"{t}/e.pred.tsv")
mem = [(x["weight"], rd(f"{t}/{x['run']}.pred.tsv")) for x in m]
cols = [c for c in next(iter(e.values())) if c.startswith("probability_")]
for i, row in e.items():
    for c in cols:
        want = sum(w * float(p[i][c]) for w, p in mem)
        assert abs(float(row[c]) - want) < 1e-9, (i, c, row[c], want)
    assert row["prediction"] == max(cols, key=lambda c: float(row[c]))[len("probability_"):] or len({row[c] for c in cols}) < len(cols)
PY
check "the same inputs again" "$PM" --state "$STATE" --runs "${RUNS[@]}" --data "$A/data/agent" --selection "$TMP/vsel" --out "$TMP/e2.tar.gz"
cmp -s "$TMP/e.tar.gz" "$TMP/e2.tar.gz" && ok "an ensemble package is byte-reproducible" || not_ok "an ensemble package is byte-reproducible"

# ---- the agent's own split (no validation set given): its validation rows weigh the members
C="$TMP/c"
RESULTS_NO_VALID=1 check "a four-iteration lineage on the agent's own split" results "$C" "$DATA/gue_tata_train.csv" 4
[ -e "$C/lineage1/iter4/reflected/split/valid.tsv" ] && [ ! -e "$C/data/agent/valid.tsv" ] && ok "the state holds the agent's split, the data no validation set" \
  || not_ok "the state holds the agent's split, the data no validation set"
[ "$(man "$C/model.tar.gz" "(d['ensemble']['candidates'] >= 2, 'valid' in d['ensemble'], isinstance(d['ensemble']['kept'], bool))")" = "(True, True, True)" ] \
  && ok "the runs on the agent's split are candidates, weighed on its validation rows" || { not_ok "the runs on the agent's split are candidates"; J "$TMP/man.json" "d['ensemble']" | sed 's/^/#   /'; }

# ---- ranked by MCC: the mean gets its own decision threshold --------------------
M="$TMP/m"
RESULTS_METRIC=mcc check "a four-iteration lineage ranked by MCC" results "$M" "$DATA/gue_tata_train.csv" 4 --selection-fraction 0.45
tar xzf "$M/model.tar.gz" -O manifest.json > "$TMP/mman.json"
/usr/bin/python3 - "$TMP/mman.json" "$M/model.tar.gz" "$M/test_predictions.tsv" "$M/lineage1/iter4/reflected/history.json" <<'PY' \
  && ok "MCC: the packaged model's threshold (manifest, ensemble.json, predictions) is the one chosen, and the decision compares thresholded values" \
  || not_ok "MCC: the packaged model's threshold is consistent across manifest, ensemble.json and predictions"
import csv, json, sys, tarfile
m = json.load(open(sys.argv[1])); e = m["ensemble"]
assert e["metric"] == "mcc" and "threshold" in e, e
if m["model_kind"] == "ensemble":
    desc = json.load(tarfile.open(sys.argv[2]).extractfile("model/ensemble.json"))
    assert desc.get("threshold") == e["threshold"] == m["threshold"], (desc.get("threshold"), e["threshold"], m["threshold"])
t = m["threshold"]
rows = list(csv.DictReader(open(sys.argv[3]), delimiter="\t"))
assert (t is None) == ("threshold" not in rows[0]), (t, list(rows[0]))
rep = tarfile.open(sys.argv[2]).extractfile("report.md").read().decode()
assert (t is None) == ("Decision threshold:" not in rep), t
# the reference single model is the candidate validation scores best, and its
# selection value is its run's selection MCC (its own threshold applied)
h = json.load(open(sys.argv[4]))
runs = {i["run"]["run_id"]: i["run"]["metrics"] for i in h["iterations"]}
ref = runs[e["best_single_run"]]
assert abs(e["selection_best_single"] - ref["selection"]["mcc"]) < 1e-9, (e["selection_best_single"], ref["selection"])
members = [runs[mm["run"]] for mm in e.get("members", [])]
assert all(ref["valid"]["mcc"] >= mm["valid"]["mcc"] - 1e-12 for mm in members), (ref["valid"], [mm["valid"] for mm in members])
PY
printf '# MCC lineage: model_kind %s, ensemble threshold %s, best run %s\n' "$(J "$TMP/mman.json" "d['model_kind']")" "$(J "$TMP/mman.json" "d['ensemble']['threshold']")" "$(J "$TMP/mman.json" "d['threshold']")"

# ---- no ensemble: off, or no slice to confirm it --------------------------------
check "--ensemble 0" "$PM" --state "$STATE" --runs "${RUNS[@]}" --data "$A/data/agent" --selection "$TMP/vsel" --ensemble 0 --out "$TMP/o.tar.gz"
[ "$(man "$TMP/o.tar.gz" "(d['ensemble']['kept'], d['model_kind'] != 'ensemble', 'model/model.aom' in d['files'])")" = "(False, True, True)" ] \
  && ok "--ensemble 0: the single best model, the decision recorded" || not_ok "--ensemble 0: the single best model"
check "a selection directory without selection.tsv" "$PM" --state "$STATE" --runs "${RUNS[@]}" --data "$A/data/agent" --selection "$TMP/nowhere" --out "$TMP/n.tar.gz"
[ "$(man "$TMP/n.tar.gz" "(d['ensemble']['kept'], 'selection slice' in d['ensemble']['reason'])")" = "(False, True)" ] \
  && ok "no selection slice: no ensemble, and the reason says so" || not_ok "no selection slice: no ensemble"
# an optional step never fails the package: broken candidates are left out, unreadable rows mean no ensemble
cp -r "$A/lineage1" "$TMP/brk"
BR=("$TMP/brk/runs"/iter*)
best=$(J "$STATE/history.json" "d['best']['run_id']")
other=$(for r in "${BR[@]}"; do [ "$(basename "$r")" != "$best" ] && echo "$r"; done | head -1)
printf 'AOMODEL\0\0garbage' > "$other/model/model.aom"
check "a candidate whose model does not load" "$PM" --state "$STATE" --runs "${BR[@]}" --data "$A/data/agent" --selection "$TMP/vsel" --out "$TMP/b1.tar.gz"
stderr_has "ensemble: run $(basename "$other") left out" "it is left out with a warning naming the run"
[ "$(man "$TMP/b1.tar.gz" "all(m['run'] != '$(basename "$other")' for m in d['ensemble'].get('members', []))")" = True ] && ok "and it is no member" || not_ok "and it is no member"
printf 'AOMODEL\0\0garbage' > "$TMP/brk/runs/$best/model/model.aom"
check "the best run's model does not load: still packaged" "$PM" --state "$STATE" --runs "${BR[@]}" --data "$A/data/agent" --selection "$TMP/vsel" --out "$TMP/b2.tar.gz"
[ "$(man "$TMP/b2.tar.gz" "(d['ensemble']['kept'], d['ensemble']['reason'].startswith(\"the best run's model does not load\"))")" = "(False, True)" ] \
  && ok "no ensemble, and the reason says why" || not_ok "the best run's model does not load: no ensemble, and the reason says why"
mkdir -p "$TMP/badsel"
{ head -1 "$A/data/agent/valid.tsv"; tail -n +2 "$A/data/agent/valid.tsv" | head -5 | awk -F'\t' 'BEGIN { OFS = "\t" } { $NF = "martian"; print }'; } > "$TMP/badsel/selection.tsv"
check "a selection slice with a label the classes lack" "$PM" --state "$STATE" --runs "${RUNS[@]}" --data "$A/data/agent" --selection "$TMP/badsel" --out "$TMP/b3.tar.gz"
[ "$(man "$TMP/b3.tar.gz" "(d['ensemble']['kept'], 'do not read' in d['ensemble']['reason'], 'martian' in d['ensemble']['reason'])")" = "(False, True, True)" ] \
  && ok "no ensemble: the rows do not read, the reason names the problem" || { not_ok "no ensemble: the rows do not read"; J "$TMP/man.json" "d['ensemble']" | sed 's/^/#   /'; }
expect_exit 2 "--ensemble 17 is a usage error" "$PM" --state "$STATE" --runs "${RUNS[@]}" --out "$TMP/u.tar.gz" --ensemble 17
expect_exit 2 "--threads 0 is a usage error" "$PM" --state "$STATE" --runs "${RUNS[@]}" --out "$TMP/u.tar.gz" --threads 0

# ---- hostile ensemble directories --------------------------------------------------
E="$TMP/ens"
rm -rf "$E"; mkdir -p "$E/members"
tar xzf "$TMP/e.tar.gz" -C "$TMP" model/ && cp -r "$TMP/model/members/1" "$E/members/1" && cp -r "$TMP/model/members/2" "$E/members/2"
hostile() {   # DESC ENSEMBLE_JSON PATTERN
    printf '%s\n' "$2" > "$E/ensemble.json"
    expect_exit 65 "hostile ensemble: $1" "$PR" --model "$E" --input "$A/data/heldout/test.tsv" --output "$TMP/h.tsv"
    stderr_has "$3" "hostile ensemble: $1: the message names the problem"
    [ -e "$TMP/h.tsv" ] && not_ok "hostile ensemble: $1: no output" || ok "hostile ensemble: $1: no output"
}
hostile "a path outside the model" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/../../a", "weight": 0.5}]}' 'members\[1\]\.dir'
hostile "a leading zero" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/02", "weight": 0.5}]}' 'members\[1\]\.dir'
hostile "a member without a dir" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"weight": 0.5}]}' 'members\[1\]\.dir .*got nothing'
hostile "a member that is a number" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, 7]}' 'members\[1\]\.dir'
hostile "a dir that is a number" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": 2, "weight": 0.5}]}' 'got an integer'
hostile "one member twice" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/1", "weight": 0.5}]}' 'distinct'
hostile "weights that do not sum to 1" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/2", "weight": 0.6}]}' 'sum to'
hostile "a negative weight" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 1.5}, {"dir": "members/2", "weight": -0.5}]}' 'weight'
hostile "a single member" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 1}]}' '2 to 16'
hostile "a missing member" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/3", "weight": 0.5}]}' 'members/3'
hostile "format_version 2" '{"format_version": 2, "members": []}' 'format_version 1'
hostile "not JSON" '{"format_version": 1, "members": [' 'ensemble.json:'
hostile "a duplicate key" '{"format_version": 1, "format_version": 1, "members": []}' 'duplicate'
hostile "a threshold of 0" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/2", "weight": 0.5}], "threshold": 0}' 'threshold must be'
hostile "a threshold above 1" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/2", "weight": 0.5}], "threshold": 1.5}' 'threshold must be'
hostile "a threshold that is a string" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/2", "weight": 0.5}], "threshold": "0.3"}' 'threshold must be'
# a valid threshold: the positive class exactly when its mean probability reaches it
printf '%s\n' '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/2", "weight": 0.5}], "threshold": 0.8}' > "$E/ensemble.json"
check "an ensemble with a decision threshold" "$PR" --model "$E" --input "$A/data/heldout/test.tsv" --output "$TMP/th.tsv"
/usr/bin/python3 - "$TMP/th.tsv" <<'PY' && ok "its threshold decides the class and fills the threshold column" || not_ok "its threshold decides the class and fills the threshold column"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
p = [c for c in rows[0] if c.startswith("probability_")]
assert len(p) == 2 and all(r["threshold"] == "0.80000000000000004" or float(r["threshold"]) == 0.8 for r in rows)
assert all(r["prediction"] == p[float(r[p[1]]) >= 0.8][len("probability_"):] for r in rows)
assert any(0.5 < float(r[p[1]]) < 0.8 for r in rows)   # rows the argmax would call positive
PY
/usr/bin/python3 -c 'import json; print(json.dumps({"format_version": 1, "members": [{"dir": "members/%d" % (i % 16 + 1), "weight": 1 / 17} for i in range(17)]}))' > "$TMP/many.json"
hostile "17 members" "$(cat "$TMP/many.json")" '2 to 16'
rm -f "$E/ensemble.json"; mkfifo "$E/ensemble.json"
expect_exit 65 "hostile ensemble: ensemble.json a FIFO (refused, no hang)" timeout 10 "$PR" --model "$E" --input "$A/data/heldout/test.tsv" --output "$TMP/h.tsv"
stderr_has "not a regular file" "hostile ensemble: a FIFO is named as such"
rm -f "$E/ensemble.json"; ln -s /etc/passwd "$E/ensemble.json"
expect_exit 65 "hostile ensemble: ensemble.json a symbolic link" "$PR" --model "$E" --input "$A/data/heldout/test.tsv" --output "$TMP/h.tsv"
rm -f "$E/ensemble.json"; head -c 2000000 /dev/zero | tr '\0' ' ' > "$E/ensemble.json"
expect_exit 65 "hostile ensemble: a 2 MB ensemble.json" "$PR" --model "$E" --input "$A/data/heldout/test.tsv" --output "$TMP/h.tsv"
stderr_has "more than the" "hostile ensemble: the size bound is named"
# a member of another task: a model trained on the 13-class ncRNA fixture
"$BIN/agentomics-prepare-data" --train "$DATA/nrc_train.fasta" --valid "$DATA/nrc_test.fasta" --label-from token:-1 --out "$TMP/nrc" -q 2>/dev/null
recipe_state "$TMP/nrc/agent" "$TMP/nrcs" '{"format_version": 1, "name": "lr", "seed": 1, "representation": {"type": "kmer", "k": [2]}, "model": {"type": "logreg"}, "early_stopping": "valid"}' &&
    "$BIN/agentomics-train-run" --state "$TMP/nrcs" --data "$TMP/nrc/agent" --out "$TMP/nrcrun" -q 2>/dev/null
rm -rf "$E/members/2"; cp -r "$TMP/nrcrun/model" "$E/members/2"
hostile "a member with other classes" '{"format_version": 1, "members": [{"dir": "members/1", "weight": 0.5}, {"dir": "members/2", "weight": 0.5}]}' 'other classes'

done_testing
