#!/bin/bash
# Agent-written training and inference scripts (scriptmodel.h) through
# train-run, package-model, predict and evaluate on a real slice (GUE TATA
# 400/100/100): an awk/sh GC-content classifier, a scikit-learn k-mer
# logistic regression when /usr/bin/python3 has it, and every way the
# agent's code can fail, each recorded as a failed iteration (exit 0).
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; S="$BIN/agentomics-agent-step"; T="$BIN/agentomics-train-run"; R="$BIN/agentomics-reflect"
K="$BIN/agentomics-package-model"; PR="$BIN/agentomics-predict"; E="$BIN/agentomics-evaluate"

if ! bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev \
        --unshare-all --die-with-parent /usr/bin/true 2>/dev/null; then
    echo "# bubblewrap cannot create a sandbox here: script models cannot run"; echo "1..0 # SKIP no working bwrap"; exit 0
fi

"$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q || exit 1
A="$TMP/d/agent"
"$S" --steps plan,explore,split,represent,architect,code --data "$A" --out "$TMP/s0" --iterations 3 --seed 5 2>/dev/null || exit 1
tail -n +2 "$TMP/d/heldout/test.tsv" | awk -F'\t' '{print ">" $1 "\n" $2}' > "$TMP/test.fa"

# script_state NAME SPEC_JSON [FAILURE_JSON]: a copy of the builtin state whose
# last code step left SPEC_JSON (and failed with FAILURE_JSON); the scripts
# are copied into NAME/workspace/ by the caller.
script_state() {
    cp -r "$TMP/s0" "$TMP/$1"
    /usr/bin/python3 - "$TMP/$1/history.json" "$2" "${3:-null}" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
it = h['iterations'][-1]
spec, failure = json.loads(sys.argv[2]), json.loads(sys.argv[3])
if spec is None: del it['steps']['code']
else: it['steps']['code']['output'] = dict(spec, smoke={'status': 'ok'})
if failure is not None: it['failure'] = failure
json.dump(h, open(sys.argv[1], 'w'), indent=2)
PY
}
SH_SPEC='{"entry": "script", "interpreter": "/bin/sh", "train_entry": "train.sh", "inference_entry": "predict.sh"}'

# ---- (a) a GC-content centroid classifier in awk -----------------------------------
mkdir -p "$TMP/sh"
cat > "$TMP/sh/train.sh" <<'EOF'
#!/bin/sh
# train.sh TRAIN VALID MODEL: the mean GC content of each class is the model.
set -e
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "sequence") s = i; if ($i == "label") l = i }; next }
{ seq = toupper($s); n = length(seq); gc = gsub(/[GC]/, "", seq); sum[$l] += n ? gc / n : 0; cnt[$l]++ }
END { for (c in sum) printf "%s\t%.6f\n", c, sum[c] / cnt[c] }' "$1" > "$3/centroids.tsv"
echo "trained on $(($(wc -l < "$1") - 1)) rows with $AO_THREADS thread(s), seed $AO_SEED"
EOF
cat > "$TMP/sh/predict.sh" <<'EOF'
#!/bin/sh
# predict.sh ARTIFACTS INPUT OUTPUT: probabilities from the distance to each centroid.
set -e
awk -F'\t' -v classes="$AO_CLASSES" '
FNR == NR { cen[$1] = $2; next }
FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "sequence") s = i
           K = split(classes, cl, ","); printf "id\tprediction"; for (k = 1; k <= K; k++) printf "\tprobability_%s", cl[k]; printf "\n"; next }
{ seq = toupper($s); n = length(seq); gc = gsub(/[GC]/, "", seq); f = n ? gc / n : 0
  tot = 0; best = 1
  for (k = 1; k <= K; k++) { d = f - cen[cl[k]]; w[k] = exp(-100 * d * d); tot += w[k] }
  for (k = 1; k <= K; k++) { p[k] = w[k] / tot; if (p[k] > p[best]) best = k }
  printf "%s\t%s", $1, cl[best]; for (k = 1; k <= K; k++) printf "\t%.6f", p[k]; printf "\n" }' "$1/centroids.tsv" "$2" > "$3"
EOF
script_state sa "$SH_SPEC" && cp "$TMP/sh/train.sh" "$TMP/sh/predict.sh" "$TMP/sa/workspace/"
check "train-run: awk scripts" "$T" --state "$TMP/sa" --data "$A" --out "$TMP/run_sa" --threads 2
for f in model/script-model.json model/dataset.json model/code/train.sh model/code/predict.sh model/code/recipe.json model/artifacts/centroids.tsv \
         predictions.valid.tsv predictions.train.tsv metrics.json train.log; do
    [ -s "$TMP/run_sa/$f" ] || { not_ok "awk: $f written"; continue 2; }
done
ok "awk: model (script-model.json, code/, artifacts/), predictions, metrics and log written"
[ "$(J "$TMP/run_sa/metrics.json" "d['status'], d['model'], d['entry']['train_entry'], d['static_check']")" = "('ok', 'script', 'train.sh', None)" ] \
    && ok "awk: metrics.json status ok, model script, the entry spec" || not_ok "awk: metrics.json status ok, model script, the entry spec"
# 80 validation rows: prepare-data held 20 of the 100 back as the selection slice
[ "$(wc -l < "$TMP/run_sa/predictions.valid.tsv")" = 81 ] && [ "$(wc -l < "$TMP/run_sa/predictions.train.tsv")" = 401 ] \
    && ok "awk: one prediction per validation and training row" || not_ok "awk: one prediction per validation and training row"
# AO_SEED is the iteration's training seed, the one a builtin recipe of the same iteration gets
seed=$(J "$TMP/s0/history.json" "d['iterations'][-1]['steps']['code']['output']['recipe']['seed']")
grep -q "trained on 400 rows with 2 thread(s), seed $seed\$" "$TMP/run_sa/train.log" && ok "awk: the entry's output (AO_THREADS, AO_SEED $seed: the builtin recipe's) is in train.log" || not_ok "awk: the entry's output is in train.log"
J "$TMP/run_sa/metrics.json" "d['log_tail']" | grep "trained on 400 rows" >/dev/null && ok "awk: log_tail in metrics.json" || not_ok "awk: log_tail in metrics.json"
"$E" --predictions "$TMP/run_sa/predictions.valid.tsv" --labels "$A/valid.tsv" --out "$TMP/ev_sa.json"
[ "$(J "$TMP/ev_sa.json" "round(d['auroc'], 12)")" = "$(J "$TMP/run_sa/metrics.json" "round(d['valid']['auroc'], 12)")" ] \
    && ok "awk: metrics.json equals agentomics-evaluate" || not_ok "awk: metrics.json equals agentomics-evaluate"
check "awk: predict with the run's model directory" "$PR" --model "$TMP/run_sa/model" --input "$A/valid.tsv" --output "$TMP/p_sa_valid.tsv"
cmp -s "$TMP/p_sa_valid.tsv" "$TMP/run_sa/predictions.valid.tsv" && ok "awk: agentomics-predict gives train-run's predictions" || not_ok "awk: agentomics-predict gives train-run's predictions"
check "awk: analyze" "$S" --step analyze --state "$TMP/sa" --run "$TMP/run_sa" --data "$A" --out "$TMP/sa_a"
check "awk: reflect" "$R" --state "$TMP/sa_a" --run "$TMP/run_sa" --data "$A" --out "$TMP/sa_r"
check "awk: package-model" "$K" --state "$TMP/sa_r" --runs "$TMP/run_sa" --out "$TMP/sa.tar.gz"
mkdir -p "$TMP/sa_x" && tar xzf "$TMP/sa.tar.gz" -C "$TMP/sa_x"
[ "$(J "$TMP/sa_x/environment.json" "d['model_kind'], d['runtime'], d['entry_points']['train'], d['entry_points']['predict'], d['interpreter']")" = \
  "('script', 'script', 'model/code/train.sh', 'model/code/predict.sh', '/bin/sh')" ] \
    && ok "awk: environment.json names the script entry points and interpreter" || { not_ok "awk: environment.json"; sed 's/^/#   /' "$TMP/sa_x/environment.json"; }
[ "$(J "$TMP/sa_x/manifest.json" "d['model_kind'], d['recipe']")" = "('script', None)" ] && ok "awk: manifest model_kind script, recipe null" || not_ok "awk: manifest model_kind script, recipe null"
check "awk: predict from the package on FASTA" "$PR" --model "$TMP/sa.tar.gz" --input "$TMP/test.fa" --output "$TMP/p_sa.tsv"
cmp -s <(cut -f1 "$TMP/p_sa.tsv") <(cut -f1 "$TMP/d/heldout/test.tsv") && ok "awk: one prediction per test record, in order" || not_ok "awk: one prediction per test record, in order"
check "awk: evaluate the package's test predictions" "$E" --predictions "$TMP/p_sa.tsv" --labels "$TMP/d/heldout/test.tsv" --out "$TMP/t_sa.json"

# ranked by MCC: train-run chooses a decision threshold on the script's
# validation probabilities, script-model.json declares it, predict applies it
script_state sm "$SH_SPEC" && cp "$TMP/sh/train.sh" "$TMP/sh/predict.sh" "$TMP/sm/workspace/" &&
    /usr/bin/python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['metric']='mcc'; json.dump(d, open(p,'w'), indent=2)" "$TMP/sm/run.json"
check "train-run: awk scripts ranked by mcc" "$T" --state "$TMP/sm" --data "$A" --out "$TMP/run_sm"
th=$(J "$TMP/run_sm/model/script-model.json" "d.get('threshold')")
[ "$th" != None ] && [ "$th" = "$(J "$TMP/run_sm/metrics.json" "d['threshold']")" ] && [ "$(head -1 "$TMP/run_sm/predictions.valid.tsv" | cut -f5)" = threshold ] \
    && ok "script threshold $th in script-model.json, metrics.json and the validation predictions" || not_ok "script threshold in script-model.json, metrics.json and the validation predictions ($th)"
check "script threshold: predict" "$PR" --model "$TMP/run_sm/model" --input "$A/valid.tsv" --output "$TMP/p_sm_valid.tsv"
cmp -s "$TMP/p_sm_valid.tsv" "$TMP/run_sm/predictions.valid.tsv" && ok "script threshold: agentomics-predict gives train-run's thresholded predictions" \
    || not_ok "script threshold: agentomics-predict gives train-run's thresholded predictions"
/usr/bin/python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d['threshold']=2; json.dump(d, open(p,'w'))" "$TMP/run_sm/model/script-model.json"
expect_exit 65 "script threshold 2 is refused" "$PR" --model "$TMP/run_sm/model" --input "$A/valid.tsv" --output "$TMP/p_sm_bad.tsv"
stderr_has "script-model.json: threshold must be a finite number in \\(0, 1\\)" "script threshold: the message names the file"

# executable entries without an interpreter; the package's files lose the executable bit
script_state sx '{"entry": "script", "interpreter": null, "train_entry": "bin/train", "inference_entry": "bin/predict"}'
mkdir -p "$TMP/sx/workspace/bin" && cp "$TMP/sh/train.sh" "$TMP/sx/workspace/bin/train" && cp "$TMP/sh/predict.sh" "$TMP/sx/workspace/bin/predict"
chmod +x "$TMP/sx/workspace/bin/train" "$TMP/sx/workspace/bin/predict"
check "executable entries: train-run" "$T" --state "$TMP/sx" --data "$A" --out "$TMP/run_sx"
[ "$(J "$TMP/run_sx/metrics.json" "d['status']")" = ok ] && ok "executable entries: status ok" || not_ok "executable entries: status ok"
"$S" --step analyze --state "$TMP/sx" --run "$TMP/run_sx" --data "$A" --out "$TMP/sx_a" 2>/dev/null && "$R" --state "$TMP/sx_a" --run "$TMP/run_sx" --data "$A" --out "$TMP/sx_r" 2>/dev/null
check "executable entries: package and predict from it" sh -c "'$K' --state '$TMP/sx_r' --runs '$TMP/run_sx' --out '$TMP/sx.tar.gz' && '$PR' --model '$TMP/sx.tar.gz' --input '$TMP/test.fa' --output '$TMP/p_sx.tsv'"
cmp -s "$TMP/p_sx.tsv" "$TMP/p_sa.tsv" && ok "executable entries: the same predictions" || not_ok "executable entries: the same predictions"

# ---- (b) scikit-learn k-mer logistic regression --------------------------------------
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
    script_state sk '{"entry": "script", "interpreter": "/usr/bin/python3", "train_entry": "train.py", "inference_entry": "predict.py"}'
    cat > "$TMP/sk/workspace/kmers.py" <<'EOF'
import csv
def read(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter='\t'))
def vectorizer():
    from sklearn.feature_extraction.text import CountVectorizer
    return CountVectorizer(analyzer='char', ngram_range=(3, 5), lowercase=False)
EOF
    cat > "$TMP/sk/workspace/train.py" <<'EOF'
import os, pickle, sys
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer
import kmers
train = kmers.read(sys.argv[1])
model = make_pipeline(kmers.vectorizer(), Normalizer(), LogisticRegression(C=10, max_iter=2000, random_state=int(os.environ['AO_SEED'])))
model.fit([r['sequence'] for r in train], [r['label'] for r in train])
pickle.dump(model, open(os.path.join(sys.argv[3], 'model.pkl'), 'wb'))
print('fitted on', len(train), 'rows')
EOF
    cat > "$TMP/sk/workspace/predict.py" <<'EOF'
import os, pickle, sys
import kmers
model = pickle.load(open(os.path.join(sys.argv[1], 'model.pkl'), 'rb'))
rows = kmers.read(sys.argv[2])
classes = os.environ['AO_CLASSES'].split(',')
P = model.predict_proba([r['sequence'] for r in rows])
col = [list(model.classes_).index(c) for c in classes]
with open(sys.argv[3], 'w') as out:
    out.write('id\tprediction\t' + '\t'.join('probability_' + c for c in classes) + '\n')
    for r, p in zip(rows, P):
        q = [p[j] for j in col]
        out.write(r['id'] + '\t' + classes[q.index(max(q))] + '\t' + '\t'.join('%.9g' % v for v in q) + '\n')
EOF
    check "sklearn: train-run" "$T" --state "$TMP/sk" --data "$A" --out "$TMP/run_sk"
    [ "$(J "$TMP/run_sk/metrics.json" "d['status']")" = ok ] && ok "sklearn: status ok" || { not_ok "sklearn: status ok"; J "$TMP/run_sk/metrics.json" "d['message'], d['log_tail']" | sed 's/^/#   /'; }
    [ -s "$TMP/run_sk/model/artifacts/model.pkl" ] && ok "sklearn: the pickle is in model/artifacts" || not_ok "sklearn: the pickle is in model/artifacts"
    auc=$(J "$TMP/run_sk/metrics.json" "d['valid']['auroc']" 2>/dev/null)
    /usr/bin/python3 -c "import sys; sys.exit(0 if float('$auc') > 0.65 else 1)" 2>/dev/null && ok "sklearn: validation AUROC $auc above chance" || not_ok "sklearn: validation AUROC $auc above chance"
    "$S" --step analyze --state "$TMP/sk" --run "$TMP/run_sk" --data "$A" --out "$TMP/sk_a" 2>/dev/null && "$R" --state "$TMP/sk_a" --run "$TMP/run_sk" --data "$A" --out "$TMP/sk_r" 2>/dev/null
    check "sklearn: package-model" "$K" --state "$TMP/sk_r" --runs "$TMP/run_sk" --out "$TMP/sk.tar.gz"
    { echo "name,seq"; tail -n +2 "$TMP/d/heldout/test.tsv" | cut -f1,2 | tr '\t' ','; } | gzip > "$TMP/test.csv.gz"
    check "sklearn: predict from the package on a gzip CSV" "$PR" --model "$TMP/sk.tar.gz" --input "$TMP/test.csv.gz" --output "$TMP/p_sk.tsv"
    check "sklearn: evaluate" "$E" --predictions "$TMP/p_sk.tsv" --labels "$TMP/d/heldout/test.tsv" --out "$TMP/t_sk.json"
    auc=$(J "$TMP/t_sk.json" "d['auroc']" 2>/dev/null)
    /usr/bin/python3 -c "import sys; sys.exit(0 if float('$auc') > 0.6 else 1)" 2>/dev/null && ok "sklearn: held-out AUROC $auc above chance" || not_ok "sklearn: held-out AUROC $auc above chance"
else
    echo "# /usr/bin/python3 has no scikit-learn: the sklearn pair is skipped"
fi

# ---- failures: recorded, exit 0, no model ----------------------------------------------
# failed_run NAME DESC PATTERN [STATUS] [train-run args]: NAME's run is status STATUS
# (failed) with a message matching PATTERN, and keeps no model
failed_run() {
    n=$1; d=$2; pat=$3; st=${4:-failed}; shift 3; [ $# -gt 0 ] && shift
    expect_exit 0 "$d: train-run exits 0" "$T" --state "$TMP/$n" --data "$A" --out "$TMP/run_$n" "$@"
    got=$(J "$TMP/run_$n/metrics.json" "d['status']" 2>/dev/null); msg=$(J "$TMP/run_$n/metrics.json" "d['message']" 2>/dev/null)
    [ "$got" = "$st" ] && ok "$d: status $st" || not_ok "$d: status $st (got '$got': $msg)"
    printf '%s\n' "$msg" | grep -Eq -- "$pat" && ok "$d: message /$pat/" || not_ok "$d: message /$pat/ (got: $msg)"
    [ ! -e "$TMP/run_$n/model" ] && [ ! -e "$TMP/run_$n/predictions.valid.tsv" ] && ok "$d: no model kept" || not_ok "$d: no model kept"
}
# bad_predict NAME DESC PATTERN AWK_FILTER: the awk pair with predict.sh's output piped through a filter
bad_predict() {
    script_state "$1" "$SH_SPEC" && cp "$TMP/sh/train.sh" "$TMP/$1/workspace/"
    sed "s|\"\$2\" > \"\$3\"|\"\$2\" \| awk -F'\\\\t' -v OFS='\\\\t' '$4' > \"\$3\"|" "$TMP/sh/predict.sh" > "$TMP/$1/workspace/predict.sh"
    failed_run "$1" "$2" "$3"
}

script_state f1 "$SH_SPEC" && cp "$TMP/sh/predict.sh" "$TMP/f1/workspace/"
printf '#!/bin/sh\necho "loading data"\necho "boom: no such column" >&2\nexit 1\n' > "$TMP/f1/workspace/train.sh"
failed_run f1 "training exits 1" "the training entry exited with status 1: boom: no such column"
J "$TMP/run_f1/metrics.json" "d['log_tail']" | grep "loading data" >/dev/null && ok "training exits 1: its output in log_tail" || not_ok "training exits 1: its output in log_tail"
grep -q "boom" "$TMP/run_f1/train.log" && ok "training exits 1: its output in train.log" || not_ok "training exits 1: its output in train.log"

script_state f2 "$SH_SPEC" && cp "$TMP/sh/predict.sh" "$TMP/f2/workspace/"
printf '#!/bin/sh\necho started\nsleep 30\n' > "$TMP/f2/workspace/train.sh"
t0=$(date +%s)
failed_run f2 "training past --time-limit" "killed after the 2 s time limit" time_limit --time-limit 2
[ $(($(date +%s) - t0)) -lt 20 ] && ok "training past --time-limit: killed in time" || not_ok "training past --time-limit: killed in time"
[ "$(J "$TMP/run_f2/metrics.json" "d['timed_out']")" = True ] && ok "training past --time-limit: timed_out true" || not_ok "training past --time-limit: timed_out true"

bad_predict f3 "inference leaves an id out" "predictions.tsv: 1 input id\\(s\\) have no prediction" 'NR != 5'
bad_predict f4 "inference writes an unknown id" "predictions.tsv:3: id 'nobody' is not an input id" 'NR == 3 { $1 = "nobody" } 1'
bad_predict f5 "probabilities not summing to 1" "predictions.tsv:2: the probabilities sum to" 'NR == 2 { $3 = 0.9; $4 = 0.9 } 1'
bad_predict f6 "an unknown class" "predictions.tsv:4: prediction 'maybe' is not a class name" 'NR == 4 { $2 = "maybe" } 1'
bad_predict f7 "a missing probability column" "no 'probability_1' column" '{ NF = 3 } 1'

script_state f8 "$SH_SPEC" && cp "$TMP/sh/train.sh" "$TMP/f8/workspace/"
{ echo '#!/bin/sh'; echo 'set -e'; echo 'wc -l /data/train.tsv'; tail -n +2 "$TMP/sh/predict.sh"; } > "$TMP/f8/workspace/predict.sh"
failed_run f8 "inference reads /data/train.tsv" "inference on the validation split: the inference entry exited with status [0-9]+.*static check found: predict.sh:3: refers to"
J "$TMP/run_f8/metrics.json" "d['log_tail']" | grep "No such file" >/dev/null && ok "inference reads /data/train.tsv: it is not there" || not_ok "inference reads /data/train.tsv: it is not there"
[ "$(J "$TMP/run_f8/metrics.json" "d['static_check']")" = "predict.sh:3: refers to 'train.tsv'" ] && ok "inference reads /data/train.tsv: the static check names FILE:LINE" || not_ok "inference reads /data/train.tsv: static_check"

script_state f9 "$SH_SPEC" "$(printf '%s' '{"step": "code", "kind": "budget", "message": "the cost limit of $2.00 was reached"}')"
failed_run f9 "an iteration whose code step failed" '^the agent.s code step failed \(budget\): the cost limit of \$2\.00 was reached$'
grep -q "the agent's code step failed (budget)" "$TMP/run_f9/train.log" && ok "failed iteration: train.log says why" || not_ok "failed iteration: train.log says why"
script_state f10 null '{"step": "architect", "kind": "provider", "message": "HTTP 503 after 5 retries"}'
failed_run f10 "an iteration without code output" "architect step failed \\(provider\\): HTTP 503"
check "failed iteration: reflect records it" sh -c "'$S' --step analyze --state '$TMP/f10' --run '$TMP/run_f10' --data '$A' --out '$TMP/f10_a' && '$R' --state '$TMP/f10_a' --run '$TMP/run_f10' --data '$A' --out '$TMP/f10_r'"
[ "$(J "$TMP/f10_r/history.json" "d['iterations'][-1]['run']['status'], d['best']")" = "('failed', None)" ] && ok "failed iteration: not best" || not_ok "failed iteration: not best"

script_state f11 '{"entry": "script", "interpreter": "/bin/sh", "train_entry": "../train.sh", "inference_entry": "predict.sh"}'
failed_run f11 "an entry outside the workspace" "code step failed \\(invalid_output\\): .*train_entry '../train.sh' contains '..'"
script_state f12 "$SH_SPEC" && cp "$TMP/sh/train.sh" "$TMP/f12/workspace/"
failed_run f12 "a missing inference entry" "the inference entry 'predict.sh' is not a regular file of the workspace"
script_state f13 '{"entry": "script", "interpreter": "/usr/bin/no-such-python", "train_entry": "train.sh", "inference_entry": "predict.sh"}'
cp "$TMP/sh/train.sh" "$TMP/sh/predict.sh" "$TMP/f13/workspace/"
failed_run f13 "a missing interpreter" "interpreter '/usr/bin/no-such-python' does not exist"

# a model whose inference fails: agentomics-predict says why (exit 65)
cp -r "$TMP/run_sa/model" "$TMP/broken" && printf '#!/bin/sh\necho "cannot load the model" >&2\nexit 3\n' > "$TMP/broken/code/predict.sh"
expect_exit 65 "predict: a failing inference entry is a data error" "$PR" --model "$TMP/broken" --input "$TMP/test.fa" --output "$TMP/never.tsv"
stderr_has "the inference entry exited with status 3: cannot load the model" "predict: the entry's failure is named"
[ ! -e "$TMP/never.tsv" ] && ok "predict: no partial prediction file" || not_ok "predict: no partial prediction file"

# the builtin path is unchanged for the same state without the edit
check "builtin: train-run on the agent's recipe" "$T" --state "$TMP/s0" --data "$A" --out "$TMP/run_b"
[ "$(J "$TMP/run_b/metrics.json" "d['status'], 'recipe' in d")" = "('ok', True)" ] && [ -s "$TMP/run_b/model/model.aom" ] && ok "builtin: a builtin model" || not_ok "builtin: a builtin model"

done_testing
