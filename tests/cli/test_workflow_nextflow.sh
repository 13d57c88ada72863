#!/usr/bin/env bash
# tests/cli/test_workflow_nextflow.sh — the Nextflow pipeline (workflows/main.nf):
# every .nf file parses, the modules read parameters only as task.ext.args,
# the config parses under every profile (with the max_* resource caps; bin_dir
# on the tasks' PATH), the schema names every parameter, a -stub-run, and
# contract runs: real runs with tiny budgets (the bundled slice; the
# recursive iteration loop stopping on reflect's decision, each lineage at its
# own pace; 20 lineages in the one recursion, chosen by agentomics-select;
# per-class FASTA inputs; CRAM + reference + a side label table, with every task capped
# by --max_cpus/--max_memory/--max_time) whose rendered task scripts
# (.command.sh) may pass only flags that the tools' --help lists, and whose
# declared outputs the tools write.
# Nextflow comes from Maven Central via tests/workflow/nextflow.sh; when it
# cannot be resolved every test is reported as skipped.
. "$(dirname "$0")/lib.sh"
NF="$ROOT/tests/workflow/nextflow.sh"
cd "$TMP" || exit 1   # .nextflow/ and .nextflow.log stay out of the checkout

if ! "$NF" resolve >"$TMP/resolve.out" 2>"$TMP/resolve.err"; then
    reason=$(tail -1 "$TMP/resolve.err")
    for d in "parse" "nextflow config" "schema" "stub-run" "contract run" "recursion" "20 lineages" "per-class inputs" "CRAM, reference and side table" "resource caps"; do ok "$d # SKIP ${reason:-Nextflow not resolvable}"; done
    done_testing; exit $?
fi

# 1. parse: every .nf file and the config through Groovy's parser (conversion
# phase; see tests/workflow/nfparse.groovy for why not `nextflow lint`), and a
# planted syntax error is caught.
for f in "$ROOT"/workflows/main.nf "$ROOT"/workflows/modules/*.nf "$ROOT"/workflows/nextflow.config; do
    if "$NF" parse "$f" >"$TMP/parse.out" 2>&1; then ok "parses: ${f#$ROOT/}"
    else not_ok "parses: ${f#$ROOT/}"; sed 's/^/#   /' "$TMP/parse.out" | head -5; fi
done
sed 's/^process PREDICT {/process PREDICT {{ x = = 1/' "$ROOT/workflows/modules/predict.nf" > "$TMP/broken.nf"
if "$NF" parse "$TMP/broken.nf" >"$TMP/parse.out" 2>&1; then not_ok "a planted syntax error is caught"
else grep -q "Unexpected input" "$TMP/parse.out" && ok "a planted syntax error is caught" || not_ok "a planted syntax error is caught (unexpected output)"; fi
# the modules read parameters only as task.ext.args (nf-core style), and one
# recursion carries every lineage (no per-lineage aliases)
if grep -n 'params\.' "$ROOT"/workflows/modules/*.nf >"$TMP/params.out"; then not_ok "modules read no params (task.ext.args only)"; sed 's/^/#   /' "$TMP/params.out"
else ok "modules read no params (task.ext.args only)"; fi
if grep -nE 'as LINEAGE|LINEAGE[0-9]' "$ROOT"/workflows/main.nf >"$TMP/alias.out"; then not_ok "main.nf has no per-lineage aliases"; sed 's/^/#   /' "$TMP/alias.out"
else ok "main.nf has no per-lineage aliases"; fi

# 2. the config under every profile
for p in test docker singularity apptainer gpu slurm; do
    check "nextflow config -profile $p" "$NF" nf config -flat -profile "$p" "$ROOT/workflows"
    cp "$TMP/.out" "$TMP/$p.cfg"
    # the max_* caps reach every task as process.resourceLimits (nf-core style)
    if grep -qxF "process.resourceLimits = [cpus:16, memory:'128.GB', time:'240.h']" "$TMP/.out"; then ok "resourceLimits from max_* under -profile $p"
    else not_ok "resourceLimits from max_* under -profile $p"; grep -i resourcelimits "$TMP/.out" | sed 's/^/#   /'; fi
done
"$NF" nf config -flat -profile test,gpu "$ROOT/workflows" >"$TMP/gpu.cfg" 2>&1
if grep -q "accelerator = 1" "$TMP/gpu.cfg"; then ok "gpu profile sets accelerator for process_gpu"; else not_ok "gpu profile sets accelerator"; fi
# the tools: bin_dir first on every task's PATH ($PATH left for the task's
# shell to expand); the container profiles keep the image's PATH (bin_dir '')
if grep -qxF "env.PATH = '$(cd "$ROOT/bin" 2>/dev/null && pwd -P):\$PATH'" "$TMP/test.cfg"; then ok "-profile test: bin_dir first on the tasks' PATH"
else not_ok "-profile test: bin_dir first on the tasks' PATH"; grep -E "env|bin_dir" "$TMP/test.cfg" | sed 's/^/#   /'; fi
"$NF" nf config -flat -profile test,docker "$ROOT/workflows" >"$TMP/test-docker.cfg" 2>&1
if ! grep -q "^env.PATH" "$TMP/test-docker.cfg" && grep -qxF "params.bin_dir = ''" "$TMP/test-docker.cfg"; then ok "-profile test,docker: the image's PATH (bin_dir '')"
else not_ok "-profile test,docker: the image's PATH"; grep -E "env|bin_dir" "$TMP/test-docker.cfg" | sed 's/^/#   /'; fi

# 3. the schema names exactly the config's parameters
"$NF" nf config -flat "$ROOT/workflows" >"$TMP/flat.cfg" 2>&1
check "nextflow_schema.json matches params" python3 - "$ROOT/workflows/nextflow_schema.json" "$TMP/flat.cfg" <<'PY'
import json, re, sys
schema = json.load(open(sys.argv[1]))
names = {n for d in schema["$defs"].values() for n in d["properties"]}
cfg = {m.group(1) for m in re.finditer(r"^params\.(\w+)\s*=", open(sys.argv[2]).read(), re.M)}
missing, extra = cfg - names, names - cfg
if missing or extra:
    sys.exit(f"schema lacks {sorted(missing)}; schema has unknown {sorted(extra)}")
PY

# 4. stub-run of the whole pipeline (every module's stub: block)
mkdir -p "$TMP/stub"
check "nextflow run -profile test -stub-run" sh -c "cd '$TMP/stub' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test -stub-run --outdir '$TMP/stub/out' -ansi-log false"

# 5. contract: a real run with one lineage and one iteration on the bundled slice
mkdir -p "$TMP/real"
check "nextflow run -profile test (1 lineage, 1 iteration)" sh -c "cd '$TMP/real' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test --iterations 1 --lineages 1 --outdir '$TMP/real/out' -ansi-log false"
for f in model.tar.gz test_metrics.json test_predictions.tsv history.json report.md lineages.json lineage1/summary.json; do
    if [ -s "$TMP/real/out/$f" ]; then ok "contract: output $f"; else not_ok "contract: output $f"; fi
done

# 5b. the iteration loop is ONE recursion carrying every lineage
#     (nextflow.preview.recursion): with a budget of 12 and --plateau 1 every
#     lineage stops on reflect's decision after 2..11 iterations, each at its
#     own count, every iteration published (lineage<L>/iter<I>/,
#     lineage<L>/runs/iter<I>/). Lineages advance independently: lineage 1's
#     first training run is held back 10 s (a beforeScript from a -c config),
#     and lineage 2 ends its first iteration and starts its second meanwhile.
mkdir -p "$TMP/rec"
cat > "$TMP/rec/slow.config" <<'EOF'
process { withName: 'TRAIN_RUN' { beforeScript = { meta.lineage == 1 && meta.iteration == 1 ? 'sleep 10' : 'true' } } }
EOF
check "recursion: nextflow run --iterations 12 --lineages 2 --plateau 1" sh -c "cd '$TMP/rec' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test -c slow.config --iterations 12 --lineages 2 --plateau 1 --outdir '$TMP/rec/out' -ansi-log false"
check "recursion: each lineage stopped by reflect's decision (plateau) before the budget, all iterations published" python3 - "$TMP/rec/out" <<'PY'
import json, os, sys
out = sys.argv[1]
recs = json.load(open(os.path.join(out, "lineages.json")))["lineages"]
assert [r["lineage"] for r in recs] == [1, 2], recs
for r in recs:
    l, n, d = r["lineage"], r["iterations"], r["decision"]
    print(f"# lineage {l}: {n} iterations, {d['decision']} ({d.get('reason')})")
    assert 2 <= n < 12 and d["decision"] == "stop" and "plateau" in str(d.get("reason")), r
    assert r["state"] == f"lineage{l}/iter{n}/reflected", r
    for i in range(1, n + 1):
        for sub in (f"iter{i}/agent/run.json", f"iter{i}/analyzed/run.json", f"iter{i}/reflected/decision.json", f"runs/iter{i}/metrics.json"):
            assert os.path.exists(os.path.join(out, f"lineage{l}", sub)), (l, sub)
    assert not os.path.exists(os.path.join(out, f"lineage{l}", f"iter{n + 1}")), (l, n + 1)
    s = json.load(open(os.path.join(out, f"lineage{l}", "summary.json")))
    assert s["iterations"] == n and s["final_state"] == f"lineage{l}/iter{n}/reflected" and len(s["runs"]) == n, s
PY
if out=$(python3 - "$TMP/rec/out/pipeline_info/trace.txt" 2>&1 <<'PY'
import csv, sys
t = {r["name"]: r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}
slow = t["LINEAGES:TRAIN_RUN (lineage1:iter1)"]["complete"]
reflected = t["LINEAGES:REFLECT (lineage2:iter1)"]["complete"]
started = t["LINEAGES:AGENT_STEP (lineage2:iter2)"]["start"]
print(f"lineage 2 reflected iteration 1 at {reflected[11:]} and started iteration 2 at {started[11:]}; lineage 1's first training run ended at {slow[11:]}")
assert reflected < slow and started < slow
PY
); then ok "recursion: lineages advance independently: $out"; else not_ok "recursion: lineages advance independently"; printf '%s\n' "$out" | sed 's/^/#   /'; fi

# 5c. 20 lineages in the one recursion (no cap), one iteration each, on the
#     bundled slice without its validation file (each lineage splits with its
#     own seed, so their validation values differ): every lineage runs and is
#     published, SELECT_LINEAGE stages all 20 final states, and the package is
#     the lineage agentomics-select chose, the best one (ties: the lowest).
#     29-48 s here (2 cores shared with other jobs, load 5-7; 86 tasks).
mkdir -p "$TMP/l20"
t0=$(date +%s)
check "20 lineages: nextflow run --lineages 20 --iterations 1 --train_time_limit 30" sh -c "cd '$TMP/l20' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test --valid false --lineages 20 --iterations 1 --train_time_limit 30 --outdir '$TMP/l20/out' -ansi-log false"
echo "# 20 lineages: $(( $(date +%s) - t0 )) s"
check "20 lineages: every lineage ran and was published; the best one (ties: the lowest) chosen and packaged" python3 - "$TMP/l20/out" <<'PY'
import json, os, sys, tarfile
out = sys.argv[1]
sel = json.load(open(os.path.join(out, "lineages.json")))
recs = sel["lineages"]
assert [r["lineage"] for r in recs] == list(range(1, 21)), [r["lineage"] for r in recs]
vals = []
for r in recs:
    l = r["lineage"]
    assert r["iterations"] == 1 and r["state"] == f"lineage{l}/iter1/reflected", r
    h = json.load(open(os.path.join(out, f"lineage{l}", "iter1", "reflected", "history.json")))
    assert h["best"] == r["best"], (l, h["best"], r["best"])
    s = json.load(open(os.path.join(out, f"lineage{l}", "summary.json")))
    assert s["lineage"] == l and s["runs"] == [f"lineage{l}/runs/iter1"], s
    vals.append((-h["best"]["value"], l))
want = min(vals)[1]
assert sel["chosen"] == want and sel["chosen_state"] == f"lineage{want}/iter1/reflected", (sel["chosen"], want)
with tarfile.open(os.path.join(out, "model.tar.gz")) as t:
    hist = json.load(t.extractfile("history.json"))
assert hist["best"]["value"] == -min(vals)[0], hist["best"]
print(f"# chose lineage {want} of 20 (validation {-min(vals)[0]:.4f}; the lowest {-max(vals)[0]:.4f}; {len(set(v for v, _ in vals))} distinct values)")
PY
cmd=$(grep -h 'agentomics-select --states' "$TMP"/l20/work/*/*/.command.sh 2>/dev/null)
if [ "$(printf '%s\n' "$cmd" | grep -o 'lineage[0-9]*/iter1/reflected' | sort -u | wc -l)" = 20 ]; then ok "20 lineages: SELECT_LINEAGE got all 20 final states"
else not_ok "20 lineages: SELECT_LINEAGE got all 20 final states"; echo "#   $cmd"; fi

# 6. per-class FASTA inputs (iEnhancer slice): --class as 'NAME=FILE,...' on the
#    command line, --test_class as a map in a -params-file (train/valid/test of
#    the test profile cleared there); every file staged under in/class/<n>/.
mkdir -p "$TMP/cls"
cat > "$TMP/cls/params.yaml" <<EOF
dataset: ienhancer
train: null
valid: null
test: null
test_class:
  non_enhancer: $DATA/ienhancer_non_enhancer_ind.fa
  enhancer: [$DATA/ienhancer_enhancer_ind.fa]
EOF
check "nextflow run --class NAME=FILE,... -params-file {test_class: map}" sh -c "cd '$TMP/cls' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test --iterations 1 --lineages 1 -params-file params.yaml --class 'enhancer=$DATA/ienhancer_enhancer.fa,non_enhancer=$DATA/ienhancer_non_enhancer.fa' --outdir '$TMP/cls/out' -ansi-log false"
cmd=$(cat "$TMP"/cls/work/*/*/.command.sh 2>/dev/null | grep 'agentomics-prepare-data --' | head -1)
want="--class 'enhancer=in/class/1/ienhancer_enhancer.fa' --class 'non_enhancer=in/class/2/ienhancer_non_enhancer.fa' --test-class 'enhancer=in/class/3/ienhancer_enhancer_ind.fa' --test-class 'non_enhancer=in/class/4/ienhancer_non_enhancer_ind.fa'"
case "$cmd" in *"$want"*) ok "per-class inputs: staged files passed as --class/--test-class NAME=in/class/N/FILE, by class name" ;;
    *) not_ok "per-class inputs: rendered prepare-data command"; echo "#   $cmd" ;; esac
check "per-class inputs: 60+60 training and 20+20 held-out records" sh -c "[ \$(tail -n +2 '$TMP/cls/out/data/agent/train.tsv' | wc -l) = 120 ] && [ \$(tail -n +2 '$TMP/cls/out/data/heldout/test.tsv' | wc -l) = 40 ]"
check "per-class inputs: held-out AUROC above chance" python3 -c "import json, sys; m = json.load(open('$TMP/cls/out/test_metrics.json')); print(m['auroc']); sys.exit(0 if m['auroc'] > 0.6 and m['n'] == 40 else 1)"
(cd "$TMP/cls" && "$NF" nf run "$ROOT/workflows/main.nf" -profile test --class 'enhancer' -ansi-log false) >"$TMP/cls/bad.log" 2>&1
if grep -q "expects NAME=FILE" "$TMP/cls/bad.log"; then ok "per-class inputs: --class without NAME=FILE is an error"; else not_ok "per-class inputs: --class without NAME=FILE is an error"; tail -5 "$TMP/cls/bad.log" | sed 's/^/#   /'; fi

# 7. CRAM + --reference (its .fai staged beside it) + a side label table from a
#    -params-file, every task capped at 1 cpu, 1 GB and 30 min although
#    --threads 2 and the labels ask more: the records equal prepare-data's on the BAM.
mkdir -p "$TMP/cram"
cat > "$TMP/cram/params.yaml" <<EOF
dataset: ex1
train: $DATA/ex1.cram
valid: null
test: null
reference: $DATA/ex1.fa
labels: $DATA/ex1_labels.tsv
label_col: label_locus
EOF
check "nextflow run -params-file {train: CRAM, reference, labels} --max_cpus 1 --max_memory 1.GB --max_time 30.m" sh -c "cd '$TMP/cram' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test --iterations 1 --lineages 1 -params-file params.yaml --threads 2 --max_cpus 1 --max_memory 1.GB --max_time 30.m --outdir '$TMP/cram/out' -ansi-log false"
cmd=$(cat "$TMP"/cram/work/*/*/.command.sh 2>/dev/null | grep 'agentomics-prepare-data --' | head -1)
case "$cmd" in *"--train 'in/train/1/ex1.cram' --labels 'in/labels/ex1_labels.tsv' --reference 'in/reference/ex1.fa' --label-col 'label_locus'"*)
        ok "CRAM, reference and side table: staged and passed to prepare-data" ;;
    *) not_ok "CRAM, reference and side table: rendered prepare-data command"; echo "#   $cmd" ;; esac
if ls "$TMP"/cram/work/*/*/in/reference/ex1.fa.fai >/dev/null 2>&1; then ok "CRAM, reference and side table: the .fai staged with the reference"; else not_ok "CRAM, reference and side table: the .fai staged with the reference"; fi
"$BIN/agentomics-prepare-data" --train "$DATA/ex1.bam" --labels "$DATA/ex1_labels.tsv" --label-col label_locus --out "$TMP/cram/bam" -q
if [ -s "$TMP/cram/out/data/agent/train.tsv" ] && cmp -s <(sort "$TMP/cram/bam/agent/train.tsv") <(sort "$TMP/cram/out/data/agent/train.tsv"); then
    ok "CRAM, reference and side table: records equal prepare-data on the BAM"
else not_ok "CRAM, reference and side table: records equal prepare-data on the BAM"; fi
for f in model.tar.gz history.json lineages.json report.md; do
    if [ -s "$TMP/cram/out/$f" ]; then ok "CRAM run: output $f"; else not_ok "CRAM run: output $f"; fi
done
check "resource caps: every task ran with 1 cpu, 1 GB and at most 30 min (trace)" awk -F'\t' '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { n++; if ($col["cpus"] != 1 || $col["memory"] != "1 GB" || $col["time"] !~ /^[0-9]+m$/ || $col["time"] + 0 > 30) { print; bad = 1 } }
    END { exit (bad || n < 6) }' "$TMP/cram/out/pipeline_info/trace.txt"
case "$cmd" in *"--threads 1 "*|*"--threads 1") ok "resource caps: prepare-data got --threads 1 (task.cpus capped from 2)" ;;
    *) not_ok "resource caps: prepare-data --threads"; echo "#   $cmd" ;; esac

check "contract: rendered commands pass only flags the tools know" python3 - "$BIN" "$TMP/real/work" "$TMP/rec/work" "$TMP/l20/work" "$TMP/cls/work" "$TMP/cram/work" <<'PY'
import glob, os, re, subprocess, sys
bindir, works = sys.argv[1], sys.argv[2:]
helps, bad, seen = {}, [], set()
for script in [s for w in works for s in glob.glob(os.path.join(w, "*", "*", ".command.sh"))]:
    text = open(script).read().replace("\\\n", " ")
    for m in re.finditer(r"(\S*agentomics-([a-z-]+))\s([^\n]*)", text):
        exe, name, rest = m.group(1), m.group(2), m.group(3)
        if "--version" in rest.split():
            continue
        if name not in helps:
            helps[name] = subprocess.run([os.path.join(bindir, "agentomics-" + name), "--help"], capture_output=True, text=True).stdout
        seen.add(name)
        for flag in re.findall(r"(?<!\S)(--[a-z][a-z0-9-]*)", rest.split("2>")[0]):
            if not re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", helps[name]):
                bad.append(f"agentomics-{name} {flag} ({script})")
want = {"prepare-data", "agent-step", "train-run", "reflect", "select", "package-model", "predict", "evaluate"}
if want - seen:
    bad.append(f"tools never run: {sorted(want - seen)}")
if bad:
    sys.exit("\n".join(bad))
PY
check "contract: every task's versions.yml names its tool" sh -c "for v in '$TMP'/real/work/*/*/versions.yml '$TMP'/cls/work/*/*/versions.yml '$TMP'/cram/work/*/*/versions.yml; do grep -q 'agentomics-' \"\$v\" || { echo \"\$v\"; exit 1; }; done"
done_testing
