#!/bin/bash
# agentomics-agent-step and agentomics-reflect by hand, one iteration at a
# time, on real slices: state immutability, step schemas, the split, the
# best pointer and the stop decision.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; S="$BIN/agentomics-agent-step"; T="$BIN/agentomics-train-run"; R="$BIN/agentomics-reflect"
STEPS=plan,explore,split,represent,architect,code

for t in --help --version; do expect_exit 0 "agent-step $t" "$S" $t; expect_exit 0 "reflect $t" "$R" $t; done
expect_exit 2 "agent-step without arguments" "$S"
expect_exit 2 "unknown step" "$S" --step dream --data x --out y
stderr_has "unknown step 'dream' \\(the steps: plan, explore, split, represent, architect, code, analyze" "the usage error lists the known steps"
expect_exit 2 "reflect without arguments" "$R"

# ---- one iteration with the user's validation set ------------------------------------
"$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q || exit 1
A="$TMP/d/agent"
check "steps of iteration 1" "$S" --steps $STEPS --data "$A" --out "$TMP/s1" --iterations 1 --seed 5
for f in run.json history.json workspace/recipe.json transcript.jsonl usage.json steps/plan.json steps/code.json; do
    [ -e "$TMP/s1/$f" ] && ok "state has $f" || not_ok "state has $f"
done
[ "$(J "$TMP/s1/steps/split.json" "d['skipped'], d['source']")" = "(True, 'user')" ] && ok "split skipped: the user gave a validation set" || not_ok "split skipped: the user gave a validation set"
[ "$(J "$TMP/s1/steps/code.json" "d['smoke']['status']")" = ok ] && ok "the recipe passed its smoke run" || not_ok "the recipe passed its smoke run"
/usr/bin/python3 - "$ROOT/schemas" "$TMP/s1/steps" <<'PY' && ok "every step output validates against its schema" || not_ok "every step output validates against its schema"
import json, sys, pathlib, jsonschema
from jsonschema import RefResolver
sd, st = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
store = {p.name: json.load(open(p)) for p in sd.glob('*.schema.json')}
for p in st.glob('*.json'):
    name = p.stem + '.schema.json'
    schema = store[name]
    jsonschema.validate(json.load(open(p)), schema, resolver=RefResolver(base_uri=sd.as_uri() + '/', referrer=schema, store=store))
jsonschema.validate(json.load(open(st.parent / 'workspace/recipe.json')), store['recipe.schema.json'])
PY
before=$(cd "$TMP/s1" && find . -type f -exec sha256sum {} + | sort)
check "train-run" "$T" --state "$TMP/s1" --data "$A" --out "$TMP/run1"
check "analyze" "$S" --step analyze --state "$TMP/s1" --run "$TMP/run1" --data "$A" --out "$TMP/a1"
check "reflect" "$R" --state "$TMP/a1" --run "$TMP/run1" --data "$A" --out "$TMP/r1"
after=$(cd "$TMP/s1" && find . -type f -exec sha256sum {} + | sort)
[ "$before" = "$after" ] && ok "the input state is never modified" || not_ok "the input state is never modified"
[ "$(J "$TMP/r1/history.json" "d['best']['iteration'], d['best']['run_id']")" = "(1, 'run1')" ] && ok "iteration 1 becomes best" || not_ok "iteration 1 becomes best"
[ "$(J "$TMP/r1/decision.json" "d['decision'], d['reason']")" = "('stop', 'iteration budget used')" ] && ok "stop on the iteration budget" || not_ok "stop on the iteration budget"
/usr/bin/python3 - "$ROOT/schemas" "$TMP/r1" <<'PY' && ok "analysis, feedback and decision validate" || not_ok "analysis, feedback and decision validate"
import json, sys, pathlib, jsonschema
sd, st = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
jsonschema.validate(json.load(open(st / 'steps/analyze.json')), json.load(open(sd / 'analyze.schema.json')))
jsonschema.validate(json.load(open(st / 'steps/reflect.json')), json.load(open(sd / 'feedback.schema.json')))
jsonschema.validate(json.load(open(st / 'decision.json')), json.load(open(sd / 'decision.schema.json')))
PY
expect_exit 65 "reflecting twice on one iteration is refused" "$R" --state "$TMP/r1" --run "$TMP/run1" --data "$A" --out "$TMP/r1b"
check "package the best run" "$BIN/agentomics-package-model" --state "$TMP/r1" --runs "$TMP/run1" --out "$TMP/m.tar.gz"
check "predict from the package" "$BIN/agentomics-predict" --model "$TMP/m.tar.gz" --input "$TMP/d/heldout/test.tsv" --output "$TMP/p.tsv"
cmp -s <(cut -f1 "$TMP/p.tsv") <(cut -f1 "$TMP/d/heldout/test.tsv") && ok "one prediction per test record" || not_ok "one prediction per test record"

# ---- the agent's own split, and a second iteration -------------------------------------
"$P" --train "$DATA/gue_tata_train.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/e" -q || exit 1
B="$TMP/e/agent"
check "steps without a validation set" "$S" --steps $STEPS --data "$B" --out "$TMP/t1" --iterations 2 --plateau 0 --seed 5
[ "$(J "$TMP/t1/steps/split.json" "d['skipped'], d['source'], d['version']")" = "(False, 'agent', 1)" ] && ok "the agent split the data" || not_ok "the agent split the data"
n_tr=$(($(wc -l < "$TMP/t1/split/train.tsv") - 1)); n_va=$(($(wc -l < "$TMP/t1/split/valid.tsv") - 1))
# 380: prepare-data held 20 of the 400 back as the selection slice
[ $((n_tr + n_va)) = 380 ] && ok "every row used once ($n_tr + $n_va)" || not_ok "every row used once ($n_tr + $n_va)"
[ -z "$(comm -12 <(tail -n +2 "$TMP/t1/split/train.tsv" | cut -f2 | sort -u) <(tail -n +2 "$TMP/t1/split/valid.tsv" | cut -f2 | sort -u))" ] && ok "duplicate sequences stay on one side" || not_ok "duplicate sequences stay on one side"
[ -z "$(comm -12 <(tail -n +2 "$TMP/e/heldout/test.tsv" | cut -f2 | sort -u) <(cat "$TMP"/t1/split/*.tsv | cut -f2 | sort -u))" ] && ok "no held-out sequence in the agent's split" || not_ok "no held-out sequence in the agent's split"
"$T" --state "$TMP/t1" --data "$B" --out "$TMP/u1" 2>/dev/null && "$S" --step analyze --state "$TMP/t1" --run "$TMP/u1" --data "$B" --out "$TMP/ta1" && "$R" --state "$TMP/ta1" --run "$TMP/u1" --data "$B" --out "$TMP/tr1"
[ "$(J "$TMP/tr1/decision.json" "d['decision']")" = continue ] && ok "continue with budget left" || not_ok "continue with budget left"
check "iteration 2 steps" "$S" --steps $STEPS --state "$TMP/tr1" --data "$B" --out "$TMP/t2"
[ "$(J "$TMP/t2/steps/split.json" "d['skipped'], d['version']")" = "(True, 1)" ] && ok "the split is kept" || not_ok "the split is kept"
[ "$(J "$TMP/t1/workspace/recipe.json" "d['model']['type']")" != "$(J "$TMP/t2/workspace/recipe.json" "d['model']['type']")" ] && ok "iteration 2 tries another model family" || not_ok "iteration 2 tries another model family"
[ "$(J "$TMP/t1/steps/plan.json" "d['iteration']")/$(J "$TMP/t2/steps/plan.json" "d['iteration']")" = 1/2 ] && ok "the plan names its own iteration" || not_ok "the plan names its own iteration"
[ "$(J "$TMP/t1/workspace/recipe.json" "d['seed']")" != "$(J "$TMP/t2/workspace/recipe.json" "d['seed']")" ] && ok "each iteration trains with its own seed" || not_ok "each iteration trains with its own seed"

# ---- budgets of a continued run: reflect --decide, --iterations/--time-budget with --state -----
# r1 stopped on its iteration budget (1); a workflow re-run with a larger one re-decides
# that iteration only (no run recorded again, no LLM) and the run goes on from there
before=$(cd "$TMP/r1" && find . -type f -exec sha256sum {} + | sort)
check "reflect --decide --iterations 3 on a run stopped by its iteration budget" "$R" --decide --state "$TMP/r1" --out "$TMP/rd3" --iterations 3
[ "$(J "$TMP/rd3/decision.json" "d['decision'], d['iteration']")" = "('continue', 1)" ] && ok "--decide: a raised budget turns the stop into continue" || not_ok "--decide: a raised budget turns the stop into continue"
[ "$(J "$TMP/rd3/run.json" "d['budgets']['iterations']")/$(J "$TMP/rd3/history.json" "d.get('stop'), d['iterations'][0]['decision']")" = "3/(None, 'continue')" ] \
    && ok "--decide: run.json's budget updated, the stop record cleared" || not_ok "--decide: run.json's budget updated, the stop record cleared"
cmp -s <(J "$TMP/r1/history.json" "d['iterations'][0]['run'], d['best']") <(J "$TMP/rd3/history.json" "d['iterations'][0]['run'], d['best']") \
    && cmp -s "$TMP/r1/steps/reflect.json" "$TMP/rd3/steps/reflect.json" && ok "--decide: the run record, best pointer and feedback unchanged" || not_ok "--decide: the run record, best pointer and feedback unchanged"
[ "$before" = "$(cd "$TMP/r1" && find . -type f -exec sha256sum {} + | sort)" ] && ok "--decide: the input state is not modified" || not_ok "--decide: the input state is not modified"
check "reflect --decide without budgets" "$R" --decide --state "$TMP/r1" --out "$TMP/rd"
cmp -s "$TMP/r1/decision.json" "$TMP/rd/decision.json" && cmp -s "$TMP/r1/history.json" "$TMP/rd/history.json" && ok "--decide without budgets: the same decision as reflect's" || not_ok "--decide without budgets: the same decision as reflect's"
check "the re-decided run goes on: iteration 2's steps" "$S" --steps iteration --state "$TMP/rd3" --data "$A" --out "$TMP/rd3s"
[ "$(J "$TMP/rd3s/steps/plan.json" "d['iteration'], d['iterations_budget']")" = "(2, 3)" ] && ok "iteration 2 plans under the raised budget" || not_ok "iteration 2 plans under the raised budget"
check "agent-step --state --iterations 4: a stopped run extended directly" "$S" --steps iteration --state "$TMP/r1" --data "$A" --out "$TMP/ext" --iterations 4 --time-budget 3600
[ "$(J "$TMP/ext/run.json" "d['budgets']['iterations'], d['budgets']['wall_seconds'], d['budgets']['plateau']")" = "(4, 3600.0, 3)" ] \
    && ok "agent-step --state: --iterations and --time-budget replace the budgets, the rest stays" || not_ok "agent-step --state: --iterations and --time-budget replace the budgets"
check "reflect --decide --time-budget 0.001" "$R" --decide --state "$TMP/tr1" --out "$TMP/rdt" --time-budget 0.001
[ "$(J "$TMP/rdt/decision.json" "d['decision'], d['reason']")" = "('stop', 'wall-time budget used')" ] && ok "--decide: a lowered time budget stops the run" || not_ok "--decide: a lowered time budget stops the run"
check "reflect --decide --time-budget 0 on it" "$R" --decide --state "$TMP/rdt" --out "$TMP/rdt0" --time-budget 0
[ "$(J "$TMP/rdt0/decision.json" "d['decision']")" = continue ] && ok "--decide: time budget 0 (none) lets it go on" || not_ok "--decide: time budget 0 (none) lets it go on"
expect_exit 65 "--decide on an iteration not reflected on yet" "$R" --decide --state "$TMP/a1" --out "$TMP/x0"
stderr_has "a1: the last iteration has not been reflected on" "--decide: the message says what is missing"
expect_exit 2 "--decide with --run is a usage error" "$R" --decide --state "$TMP/r1" --run "$TMP/run1" --out "$TMP/x0"
expect_exit 2 "--iterations -1 is a usage error" "$R" --decide --state "$TMP/r1" --out "$TMP/x0" --iterations -1
[ -e "$TMP/x0" ] && not_ok "no output after a refused --decide" || ok "no output after a refused --decide"
check "--iterations 0: a new run without an iteration budget" "$S" --steps iteration --data "$B" --out "$TMP/nb" --iterations 0 --plateau 0 --seed 5
"$T" --state "$TMP/nb" --data "$B" --out "$TMP/nbrun" 2>/dev/null && "$S" --step analyze --state "$TMP/nb" --run "$TMP/nbrun" --data "$B" --out "$TMP/nba" && "$R" --state "$TMP/nba" --run "$TMP/nbrun" --data "$B" --out "$TMP/nbr"
[ "$(J "$TMP/nbr/run.json" "d['budgets']['iterations']")/$(J "$TMP/nbr/decision.json" "d['decision']")" = "0/continue" ] && ok "--iterations 0: reflect does not stop on an iteration budget" || not_ok "--iterations 0: reflect does not stop on an iteration budget"
check "--decide --iterations 1 on it" "$R" --decide --state "$TMP/nbr" --out "$TMP/nbd" --iterations 1
[ "$(J "$TMP/nbd/decision.json" "d['decision'], d['reason']")/$(J "$TMP/nbd/history.json" "d['stop']['iteration']")" = "('stop', 'iteration budget used')/1" ] && ok "--decide applies the workflow's budget (stop record at iteration 1)" || not_ok "--decide applies the workflow's budget"

# ---- the typed run state: schemas, the 'iteration' group, refusals --------------------------
/usr/bin/python3 - "$ROOT/schemas" "$TMP/r1" "$TMP/t2" "$TMP/rd3" "$TMP/ext" "$TMP/nbr" "$TMP/nbd" <<'PY' && ok "run.json and history.json validate against their schemas (Python jsonschema)" || not_ok "run.json and history.json validate against their schemas"
import json, sys, pathlib, jsonschema
sd = pathlib.Path(sys.argv[1])
for st in map(pathlib.Path, sys.argv[2:]):
    jsonschema.validate(json.load(open(st / 'run.json')), json.load(open(sd / 'run.schema.json')))
    jsonschema.validate(json.load(open(st / 'history.json')), json.load(open(sd / 'history.schema.json')))
PY
[ "$(J "$TMP/t1/run.json" "d['metric'], d['format_version']")" = "('auroc', 2)" ] && ok "the metric is resolved when the run starts (auto: auroc)" || not_ok "the metric is resolved when the run starts"
check "--steps iteration: every step before train-run" "$S" --steps iteration --data "$B" --out "$TMP/g1" --seed 5
[ "$(J "$TMP/g1/history.json" "sorted(d['iterations'][0]['steps'])")" = "['architect', 'code', 'explore', 'plan', 'represent', 'split']" ] && ok "--steps iteration ran plan..code" || not_ok "--steps iteration ran plan..code"
cmp -s "$TMP/g1/workspace/recipe.json" "$TMP/t1/workspace/recipe.json" && ok "--steps iteration equals the listed steps" || not_ok "--steps iteration equals the listed steps"
expect_exit 2 "a plan before the last iteration is reflected on" "$S" --step plan --state "$TMP/t1" --data "$B" --out "$TMP/x1"
stderr_has "iteration 1 has not been reflected on" "the message says what is missing"
expect_exit 65 "a state continued on another dataset" "$S" --steps iteration --state "$TMP/tr1" --data "$A" --out "$TMP/x2"
stderr_has "dataset.json: content hash .* is not the run's .*run.json [$][.]data[.]content_hash" "the message names both datasets"
expect_exit 65 "train-run on another dataset" "$T" --state "$TMP/t1" --data "$A" --out "$TMP/x3"
corrupt() {   # DESC FILE PYTHON-EDIT PATH TOOL...
    d=$1; f=$2; edit=$3; path=$4; shift 4
    rm -rf "$TMP/bad" && cp -r "$TMP/tr1" "$TMP/bad"
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $edit; json.dump(d, open(sys.argv[1], 'w'))" "$TMP/bad/$f"
    expect_exit 65 "corrupted state ($d): exit 65" "$@"
    stderr_has "bad/$f: [$]$path" "corrupted state ($d): names $f and \$$path"
}
corrupt "unknown format version" run.json "d['format_version'] = 7" '[.]format_version' "$S" --steps iteration --state "$TMP/bad" --data "$B" --out "$TMP/x4"
corrupt "metric bogus" run.json "d['metric'] = 'bogus'" '[.]metric' "$T" --state "$TMP/bad" --data "$B" --out "$TMP/x5"
corrupt "train_mem_limit 1e300" run.json "d['budgets']['train_mem_limit'] = 1e300" '[.]budgets[.]train_mem_limit' "$S" --steps iteration --state "$TMP/bad" --data "$B" --out "$TMP/x6m"
corrupt "iterations -3" run.json "d['budgets']['iterations'] = -3" '[.]budgets[.]iterations' "$S" --steps iteration --state "$TMP/bad" --data "$B" --out "$TMP/x6"
corrupt "split_version a string" history.json "d['iterations'][0]['split_version'] = '1'" '[.]iterations\[0\][.]split_version' "$BIN/agentomics-package-model" --state "$TMP/bad" --runs "$TMP/u1" --out "$TMP/x7.tar.gz"
corrupt "best at a missing iteration" history.json "d['best']['iteration'] = 4" '[.]best[.]iteration' "$R" --state "$TMP/bad" --run "$TMP/u1" --data "$B" --out "$TMP/x8"
[ -e "$TMP/x4" ] || [ -e "$TMP/x5" ] || [ -e "$TMP/x6" ] || [ -e "$TMP/x6m" ] || [ -e "$TMP/x7.tar.gz" ] || [ -e "$TMP/x8" ] && not_ok "no output after a refused state" || ok "no output after a refused state"
# ---- the smoke run scales a recipe's cost to the whole training split -----------------------
# With a 10 ms training time limit the CNN of iteration 2 (one epoch on the
# training rows: a fraction of a second) cannot fit; the linear models can.
# Iteration 3 does not propose the CNN again (it would fail again).
state=""
for i in 1 2 3; do
    "$S" --steps $STEPS ${state:+--state "$state"} --data "$A" --out "$TMP/c$i" --iterations 3 --plateau 0 --seed 5 --train-time-limit 0.01 -q 2>/dev/null || break
    [ "$i" = 3 ] && break
    "$T" --state "$TMP/c$i" --data "$A" --out "$TMP/crun$i" -q 2>/dev/null && "$S" --step analyze --state "$TMP/c$i" --run "$TMP/crun$i" --data "$A" --out "$TMP/ca$i" -q &&
        "$R" --state "$TMP/ca$i" --run "$TMP/crun$i" --data "$A" --out "$TMP/cr$i" -q || break
    state="$TMP/cr$i"
done
[ "$(J "$TMP/c2/steps/code.json" "(d['attempts'][0]['recipe']['model']['type'], d['attempts'][0]['smoke']['status'], 'twice the training time limit' in d['attempts'][0]['smoke']['message'], d['attempts'][0]['smoke']['estimated_epoch_seconds'] > 0.02, d['recipe']['model']['type'], d['smoke']['status'])" 2>&1)" = \
  "('cnn', 'failed', True, True, 'logreg', 'ok')" ] && ok "a CNN whose single epoch cannot fit the training time limit fails its smoke run; the baseline runs instead" \
  || { not_ok "a CNN whose single epoch cannot fit the training time limit fails its smoke run"; J "$TMP/c2/steps/code.json" "d['attempts']" 2>&1 | head -c 600 | sed 's/^/#   /'; }
[ "$(J "$TMP/c3/steps/code.json" "d['attempts'][0]['recipe']['model']['type']" 2>&1)" = gbdt ] \
  && ok "the next iteration proposes the next family (GBDT), not the CNN again" || not_ok "the next iteration proposes the next family (GBDT), not the CNN again"
[ "$(J "$TMP/c1/steps/code.json" "(d['smoke']['status'], d['smoke']['estimated_epoch_seconds'] < 0.02)")" = "('ok', True)" ] \
  && ok "the linear baseline's per-iteration estimate fits the same limit" || not_ok "the linear baseline's per-iteration estimate fits the same limit"

# ---- train-run's memory limit, known to the code step ----------------------------------
# With --train-mem-limit 1 (MB) the trees' and the CNN's estimates on the
# whole split pass 80% of it: each fails its smoke run (the mini split
# alone would pass) and the baseline runs instead; the next iteration
# proposes another family, and train-run under the same limit never
# refuses a recipe (a refusal would cost a workflow its lineage).
state=""; mem_ok=1
for i in 1 2 3; do
    "$S" --steps $STEPS ${state:+--state "$state"} --data "$A" --out "$TMP/m$i" --iterations 3 --plateau 0 --seed 5 --train-mem-limit 1 -q 2>/dev/null &&
        "$T" --state "$TMP/m$i" --data "$A" --out "$TMP/mrun$i" --mem-limit 1 -q &&
        "$S" --step analyze --state "$TMP/m$i" --run "$TMP/mrun$i" --data "$A" --out "$TMP/ma$i" -q &&
        "$R" --state "$TMP/ma$i" --run "$TMP/mrun$i" --data "$A" --out "$TMP/mr$i" -q || { mem_ok=0; break; }
    state="$TMP/mr$i"
done
[ "$mem_ok" = 1 ] && ok "three iterations under a 1 MB training memory limit: no refusal by train-run" || not_ok "three iterations under a 1 MB training memory limit: no refusal by train-run"
[ "$(J "$TMP/m1/run.json" "d['budgets']['train_mem_limit']")" = 1.0 ] && ok "run.json records train_mem_limit" || not_ok "run.json records train_mem_limit"
[ "$(J "$TMP/m2/steps/code.json" "(len(d['attempts']), d['attempts'][0]['smoke']['status'], 'over 80% of the 1 MB memory limit' in d['attempts'][0]['smoke']['message'], d['attempts'][1]['smoke']['status'], d['recipe']['model']['type'])" 2>&1)" = \
  "(2, 'failed', True, 'ok', 'logreg')" ] && ok "a proposal over the limit fails its smoke run, the baseline runs" \
  || { not_ok "a proposal over the limit fails its smoke run, the baseline runs"; J "$TMP/m2/steps/code.json" "d['attempts']" 2>&1 | head -c 600 | sed 's/^/#   /'; }
[ "$(J "$TMP/m3/steps/code.json" "d['attempts'][0]['recipe']['model']['type'] != '$(J "$TMP/m2/steps/code.json" "d['attempts'][0]['recipe']['model']['type']")'")" = True ] \
  && ok "the next iteration proposes another family, not the refused one again" || not_ok "the next iteration proposes another family, not the refused one again"
/usr/bin/python3 -c "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))" "$TMP/m3/run.json" "$ROOT/schemas/run.schema.json" \
  && ok "run.json with train_mem_limit validates" || not_ok "run.json with train_mem_limit validates"
expect_exit 2 "--train-mem-limit -1 is a usage error" "$S" --steps $STEPS --data "$A" --out "$TMP/mbad" --train-mem-limit -1

# ---- aligned sequences with positional signal: the positional models -----------------------
# UCI splice junctions (60 nt around a junction, 3 classes): after the
# k-mer baseline come logistic regression and then gradient-boosted trees
# on the positional one-hot matrix; the trees find what the k-mer spectrum
# cannot see, and their model packages and predicts like any other.
"$P" --train "$DATA/splice_sample.csv" --out "$TMP/sp" -q || exit 1
state=""
for i in 1 2 3; do
    "$S" --steps $STEPS ${state:+--state "$state"} --data "$TMP/sp/agent" --out "$TMP/sp$i" --iterations 3 --plateau 0 --seed 5 -q &&
        "$T" --state "$TMP/sp$i" --data "$TMP/sp/agent" --out "$TMP/sprun$i" -q &&
        "$S" --step analyze --state "$TMP/sp$i" --run "$TMP/sprun$i" --data "$TMP/sp/agent" --out "$TMP/spa$i" -q &&
        "$R" --state "$TMP/spa$i" --run "$TMP/sprun$i" --data "$TMP/sp/agent" --out "$TMP/spr$i" -q || break
    state="$TMP/spr$i"
done
fams=$(for i in 1 2 3; do J "$TMP/sp$i/steps/architect.json" "d['rationale']['family']" 2>/dev/null; done | tr '\n' ' ')
[ "$fams" = "kmer-logreg positional-logreg positional-gbdt " ] && ok "splice junctions: k-mer baseline, positional logreg, positional trees" \
    || not_ok "splice junctions: k-mer baseline, positional logreg, positional trees (got: $fams)"
[ "$(J "$TMP/sprun3/metrics.json" "(d['recipe']['representation']['type'], d['model'], d['valid']['f1_macro'] > $(J "$TMP/sprun1/metrics.json" "d['valid']['f1_macro']") + 0.2)" 2>&1)" = "('onehot', 'gbdt', True)" ] \
    && ok "the positional trees beat the k-mer baseline's validation macro F1 by over 0.2" || not_ok "the positional trees beat the k-mer baseline's validation macro F1 by over 0.2"
check "predict with the positional trees" "$BIN/agentomics-predict" --model "$TMP/sprun3/model" --input "$DATA/splice_sample.csv" --output "$TMP/spp.tsv"
[ "$(($(wc -l < "$TMP/spp.tsv") - 1))" = 300 ] && ok "one prediction per splice row" || not_ok "one prediction per splice row"

done_testing
