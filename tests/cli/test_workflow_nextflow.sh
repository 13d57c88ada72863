#!/usr/bin/env bash
# tests/cli/test_workflow_nextflow.sh — the Nextflow pipeline (workflows/main.nf):
# every .nf file (and lib/*.groovy) parses, the modules read parameters only as
# task.ext.args, the config parses under every profile (with the max_* resource
# caps, 2 CPUs / 6 GB / 6 h under -profile test; bin_dir on the tasks' PATH),
# the schema names every parameter with the config's defaults, the parameters
# are checked before any task runs (typos with a suggestion, types, enums,
# ranges, missing files, train or class; every problem at once, exit 2),
# --help and --help NAME, a -stub-run, and
# contract runs: real runs with tiny budgets (the bundled slice, without a
# warning, its outputs hard-linked, not copied; a -resume with a raised
# --iterations that recomputes no finished iteration; a failed task reported
# once, with the tool's message and its work directory, and nothing after it; the
# recursive iteration loop stopping on reflect's decision, each lineage at its
# own pace; 20 lineages in the one recursion, chosen by agentomics-select;
# per-class FASTA inputs; CRAM + reference + a side label table, with every task capped
# by --max_cpus/--max_memory/--max_time) whose rendered task scripts
# (.command.sh) may pass only flags that the tools' --help lists, and whose
# declared outputs the tools write.
# Nextflow comes from Maven Central via tests/workflow/nextflow.sh; when it
# cannot be resolved every test is reported as skipped.
. "$(dirname "$0")/lib.sh"
# nf_trace OUTDIR: the newest trace (pipeline_info/execution_trace_<start time>.txt)
nf_trace() { ls "$1"/pipeline_info/execution_trace_*.txt 2>/dev/null | sort | tail -1; }
NF="$ROOT/tests/workflow/nextflow.sh"
cd "$TMP" || exit 1   # .nextflow/ and .nextflow.log stay out of the checkout

if ! "$NF" resolve >"$TMP/resolve.out" 2>"$TMP/resolve.err"; then
    reason=$(tail -1 "$TMP/resolve.err")
    for d in "parse" "nextflow config" "schema" "parameter checks" "--help" "stub-run" "contract run" "publish mode" "budgets raised on -resume" "a failed task" "recursion" "20 lineages" "per-class inputs" "CRAM, reference and side table" "resource caps"; do ok "$d # SKIP ${reason:-Nextflow not resolvable}"; done
    done_testing; exit $?
fi

# 1. parse: every .nf file and the config through Groovy's parser (conversion
# phase; see tests/workflow/nfparse.groovy for why not `nextflow lint`), and a
# planted syntax error is caught.
# (one JVM for every file: nfparse.groovy prints "ok FILE" or "error FILE: ...")
"$NF" parse "$ROOT"/workflows/main.nf "$ROOT"/workflows/modules/*.nf "$ROOT"/workflows/lib/*.groovy "$ROOT"/workflows/nextflow.config >"$TMP/parse.out" 2>&1
for f in "$ROOT"/workflows/main.nf "$ROOT"/workflows/modules/*.nf "$ROOT"/workflows/lib/*.groovy "$ROOT"/workflows/nextflow.config; do
    if grep -qxF "ok $f" "$TMP/parse.out"; then ok "parses: ${f#$ROOT/}"
    else not_ok "parses: ${f#$ROOT/}"; grep -F "$f" "$TMP/parse.out" | head -5 | sed 's/^/#   /'; fi
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
    # the max_* caps reach every task as process.resourceLimits (nf-core style);
    # -profile test is sized like nf-core's: at most 2 CPUs, 6 GB, 6 h per task
    want="process.resourceLimits = [cpus:16, memory:'128.GB', time:'240.h']"
    [ "$p" = test ] && want="process.resourceLimits = [cpus:2, memory:'6.GB', time:'6.h']"
    if grep -qxF "$want" "$TMP/.out"; then ok "resourceLimits from max_* under -profile $p"
    else not_ok "resourceLimits from max_* under -profile $p"; grep -i resourcelimits "$TMP/.out" | sed 's/^/#   /'; fi
done
"$NF" nf config -flat -profile test,gpu "$ROOT/workflows" >"$TMP/gpu.cfg" 2>&1
# the gpu profile sets --gpus 1, which process_gpu turns into accelerator; its
# cpus, memory and time stay (a profile's own withLabel block would replace them)
if grep -qxF "params.gpus = 1" "$TMP/gpu.cfg" && grep -q "'withLabel:process_gpu'.accelerator = " "$TMP/gpu.cfg" \
   && grep -q "'withLabel:process_gpu'.time = " "$TMP/gpu.cfg"; then ok "gpu profile: --gpus 1, accelerator for process_gpu, its cpus/memory/time kept"
else not_ok "gpu profile: --gpus 1, accelerator for process_gpu, its cpus/memory/time kept"; grep -E "gpus|process_gpu" "$TMP/gpu.cfg" | sed 's/^/#   /'; fi
# the tools: bin_dir first on every task's PATH ($PATH left for the task's
# shell to expand); the container profiles keep the image's PATH (bin_dir '')
if grep -qxF "env.PATH = '$(cd "$ROOT/bin" 2>/dev/null && pwd -P):\$PATH'" "$TMP/test.cfg"; then ok "-profile test: bin_dir first on the tasks' PATH"
else not_ok "-profile test: bin_dir first on the tasks' PATH"; grep -E "env|bin_dir" "$TMP/test.cfg" | sed 's/^/#   /'; fi
"$NF" nf config -flat -profile test,docker "$ROOT/workflows" >"$TMP/test-docker.cfg" 2>&1
if ! grep -q "^env.PATH" "$TMP/test-docker.cfg" && grep -qxF "params.bin_dir = ''" "$TMP/test-docker.cfg"; then ok "-profile test,docker: the image's PATH (bin_dir '')"
else not_ok "-profile test,docker: the image's PATH"; grep -E "env|bin_dir" "$TMP/test-docker.cfg" | sed 's/^/#   /'; fi

# 3. the schema names exactly the config's parameters, with the config's defaults
"$NF" nf config -flat "$ROOT/workflows" >"$TMP/flat.cfg" 2>&1
check "nextflow_schema.json matches params (names, defaults), a real \$id, the version's image" python3 - "$ROOT/workflows/nextflow_schema.json" "$TMP/flat.cfg" "$(cat "$ROOT/VERSION")" <<'PY'
import ast, json, re, sys
schema = json.load(open(sys.argv[1]))
props = {n: p for d in schema["$defs"].values() for n, p in d["properties"].items()}
flat = open(sys.argv[2]).read()
cfg = {m.group(1): m.group(2) for m in re.finditer(r"^params\.(\w+)\s*=\s*(.*)$", flat, re.M)}
missing, extra = set(cfg) - set(props), set(props) - set(cfg)
if missing or extra:
    sys.exit(f"schema lacks {sorted(missing)}; schema has unknown {sorted(extra)}")
def value(text):   # nextflow config -flat prints Groovy literals
    if text == "null": return None
    if text in ("true", "false"): return text == "true"
    return ast.literal_eval(text)
bad = [f"{n}: schema default {p.get('default')!r}, config {value(cfg[n])!r}" for n, p in props.items()
       if n in cfg and ("default" in p or value(cfg[n]) is not None) and p.get("default") != value(cfg[n])]
if bad:
    sys.exit("\n".join(bad))
assert not schema["$id"].startswith("https://example"), schema["$id"]
assert props["metric"]["enum"] and props["provider"]["enum"] and props["publish_mode"]["enum"]
assert props["container"]["default"].endswith(":" + sys.argv[3]), props["container"]["default"]
assert f"manifest.version = '{sys.argv[3]}'" in flat, "manifest.version is not VERSION"
PY

# 3b. the parameters are checked before any task runs (lib/AgentomicsParams.groovy,
#     from nextflow_schema.json): every problem at once, exit 2, nothing submitted
mkdir -p "$TMP/val"
nfv() { (cd "$TMP/val" && "$NF" nf run "$ROOT/workflows/main.nf" -ansi-log false "$@") >"$TMP/val/out.log" 2>&1; }
vcheck() {   # DESC EXIT PATTERN... -- nextflow run arguments
    d=$1; want=$2; shift 2; pats=()
    while [ "$1" != -- ]; do pats+=("$1"); shift; done; shift
    nfv "$@"; rc=$?
    miss=""; for pat in "${pats[@]}"; do grep -qF -- "$pat" "$TMP/val/out.log" || miss="$miss [$pat]"; done
    if [ "$rc" = "$want" ] && [ -z "$miss" ] && ! grep -q "Submitted process" "$TMP/val/out.log"; then ok "$d"
    else not_ok "$d (exit $rc, want $want; missing:$miss)"; sed 's/^/#   /' "$TMP/val/out.log" | head -20; fi
}
vcheck "a typo is an error that names the parameter meant (exit 2, no task)" 2 \
    "--iteratons: unknown parameter (did you mean --iterations?)" -- -profile test --iteratons 1
vcheck "wrong type, value outside the enum, missing file, a kebab-case name, a range: all reported at once" 2 \
    "5 parameters are not valid" "--iterations: expected an integer, got 'abc'" "--metric: 'aucroc' is not one of auto, auroc, auprc" \
    "--train: /nonexistent/t.csv: no such file" "--maxCpus: unknown parameter (did you mean --max_cpus?)" "--lineages: 0 is below the minimum 1" \
    -- -profile test --iterations abc --metric aucroc --train /nonexistent/t.csv --max-cpus 4 --lineages 0
vcheck "the LLM's protocol and token settings are checked too" 2 "--llm_protocol: 'xml' is not one of tools, json, auto" \
    "--context_tokens: 100 is below the minimum 1024" -- -profile test --llm_protocol xml --context_tokens 100 --max_tokens 2048 --llm_timeout 900
vcheck "neither --train nor --class: an error before any task" 2 "--train or --class is required" -- --outdir "$TMP/val/o"
vcheck "--class without NAME=FILE" 2 "--class: expects NAME=FILE[,NAME=FILE...], got 'enhancer'" -- -profile test --class enhancer
vcheck "a bare --train (its value lost) and a wrong boolean" 2 "--train: expects a value" "--u_to_t: expected a boolean, got 'yes'" -- -profile test --train --u_to_t yes
vcheck "--help: exit 0, the parameters by group with their defaults" 0 "Usage: nextflow run workflows/main.nf" "Input/output" "Agent and loop" \
    "LLM (--agent llm)" "Tools, containers and resources" "  --metric STR" "One of: auto, auroc, auprc, mcc," -- --help
check "--help lists every parameter of the schema but the hidden ones" python3 - "$ROOT/workflows/nextflow_schema.json" "$TMP/val/out.log" <<'PY'
import json, re, sys
schema = json.load(open(sys.argv[1])); text = open(sys.argv[2]).read()
names = [n for d in schema["$defs"].values() for n, p in d["properties"].items() if not p.get("hidden")]
missing = [n for n in names if not re.search(r"^  --" + re.escape(n) + r"\b", text, re.M)]
if missing: sys.exit(f"not in --help: {missing}")
line = re.search(r"^  --iterations .*$", text, re.M).group(0)
assert "[20]" in text[text.index(line):text.index("--time_budget")], "no default for --iterations"
PY
vcheck "--help NAME: one parameter in full" 0 "--iterations   (Agent and loop)" "default: 20" "range:   >= 1, <= 10000" -- --help iterations
vcheck "--help with an unknown NAME suggests one" 2 "--help iteratons: no such parameter (did you mean --help iterations?)" -- --help iteratons
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$TMP")" ]; then
    vcheck "--publish_mode link with --outdir on another filesystem: an error before any task" 2 "are on different filesystems, so outputs cannot be hard-linked" \
        -- -profile test --publish_mode link --outdir "/dev/shm/agentomics-test-$$"
    rm -rf "/dev/shm/agentomics-test-$$"
else ok "--publish_mode link across filesystems # SKIP no writable /dev/shm on another filesystem"; fi

# 4. stub-run of the whole pipeline (every module's stub: block)
mkdir -p "$TMP/stub"
check "nextflow run -profile test -stub-run" sh -c "cd '$TMP/stub' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test -stub-run --outdir '$TMP/stub/out' -ansi-log false"

# 5. contract: a real run with one lineage and one iteration on the bundled slice
mkdir -p "$TMP/real"
check "nextflow run -profile test (1 lineage, 1 iteration)" sh -c "cd '$TMP/real' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test --iterations 1 --lineages 1 --outdir '$TMP/real/out' -ansi-log false"
for f in model.tar.gz test_metrics.json test_predictions.tsv history.json report.md report.html agentomics_mqc.json lineages.json lineage1/summary.json; do
    if [ -s "$TMP/real/out/$f" ]; then ok "contract: output $f"; else not_ok "contract: output $f"; fi
done
# pipeline_info as nf-core has it: report, timeline, DAG, a trace with nf-core's fields, versions.yml
pi="$TMP/real/out/pipeline_info"
for g in execution_report_ execution_timeline_ pipeline_dag_; do
    if ls "$pi/$g"*.html >/dev/null 2>&1; then ok "pipeline_info: $g<time>.html"; else not_ok "pipeline_info: $g<time>.html"; fi
done
if head -1 "$(nf_trace "$TMP/real/out")" | tr '\t' '\n' | grep -qx peak_rss && head -1 "$(nf_trace "$TMP/real/out")" | tr '\t' '\n' | grep -qx realtime \
   && head -1 "$(nf_trace "$TMP/real/out")" | tr '\t' '\n' | grep -qx '%cpu'; then ok "pipeline_info: the trace has realtime, %cpu and peak_rss"; else not_ok "pipeline_info: the trace's fields"; fi
if grep -q '^    Nextflow: [0-9]' "$pi/versions.yml" && grep -q '^    htslib: [0-9]' "$pi/versions.yml" && grep -q 'agentomics-report: ' "$pi/versions.yml"; then
    ok "pipeline_info: versions.yml has Nextflow, htslib and every tool"; else not_ok "pipeline_info: versions.yml"; sed 's/^/#   /' "$pi/versions.yml" | head -30; fi
# a normal run prints no warning (the recursion's preview notice included)
log=$(ls "$TMP"/real/.nextflow.log 2>/dev/null)
if [ -n "$log" ] && ! grep -E '\bWARN\b' "$log" | grep -q .; then ok "a normal run: no warning"; else not_ok "a normal run: no warning"; grep -E '\bWARN\b' "$TMP"/real/.nextflow.log | head -5 | sed 's/^/#   /'; fi
# publish_mode auto (the work directory is on --outdir's filesystem): the states
# of one iteration share their unchanged files, and the outputs are hard links
# to them, so a file such as steps/plan.json exists on disk once, not 4 times
if out=$(python3 - "$TMP/real/out" "$TMP/real/work" 2>&1 <<'PY'
import glob, os, sys
out, work = sys.argv[1:]
plans = glob.glob(os.path.join(out, "lineage1/iter1/*/steps/plan.json"))
inodes = {os.stat(p).st_ino for p in plans}
assert len(plans) == 4 and len(inodes) == 1, (len(plans), len(inodes))
pkg = os.stat(os.path.join(out, "model.tar.gz"))
assert pkg.st_nlink >= 2, "model.tar.gz is a copy, not a link to the work directory's"
print(f"steps/plan.json in {len(plans)} published states: {len(inodes)} file on disk; model.tar.gz has {pkg.st_nlink} links")
PY
); then ok "publish mode: hard links, one file on disk ($out)"; else not_ok "publish mode: hard links"; printf '%s\n' "$out" | sed 's/^/#   /'; fi

# 5a. budgets raised on -resume: --iterations 2 after a run with 1 continues the
#     lineage: iteration 1's agent-step, train-run, analyze and reflect come from
#     the cache; only DECIDE (the budgets' only task) and what follows run again
cp "$(nf_trace "$TMP/real/out")" "$TMP/real/trace1.txt"
check "budgets raised on -resume: nextflow run -resume --iterations 2 --time_budget 86400" sh -c "cd '$TMP/real' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test --iterations 2 --time_budget 86400 --lineages 1 --outdir '$TMP/real/out' -ansi-log false -resume"
[ "$(ls "$TMP"/real/out/pipeline_info/execution_trace_*.txt | wc -l)" -ge 2 ] && ok "pipeline_info: -resume added its own trace (timestamped names)" || not_ok "pipeline_info: -resume added its own trace"
check "budgets raised on -resume: iteration 1 cached, its decision re-made, iteration 2 run, the package of 2 iterations" python3 - "$TMP/real/out" <<'PY'
import csv, json, os, sys, tarfile
out = sys.argv[1]
import glob
t = {r["name"]: r["status"] for r in csv.DictReader(open(sorted(glob.glob(os.path.join(out, "pipeline_info/execution_trace_*.txt")))[-1]), delimiter="\t")}
for step in ("AGENT_STEP", "TRAIN_RUN", "ANALYZE", "REFLECT"):
    assert t[f"LINEAGES:{step} (lineage1:iter1)"] == "CACHED", (step, t)
    assert t[f"LINEAGES:{step} (lineage1:iter2)"] == "COMPLETED", (step, t)
assert t["PREPARE_DATA (gue_tata_sample)"] == "CACHED"
assert t["LINEAGES:DECIDE (lineage1:iter1)"] == "COMPLETED"
rec = json.load(open(os.path.join(out, "lineages.json")))["lineages"][0]
assert rec["iterations"] == 2 and rec["state"] == "lineage1/iter2/decided", rec
run = json.load(open(os.path.join(out, "lineage1/iter2/decided/run.json")))
assert run["budgets"]["iterations"] == 2 and run["budgets"]["wall_seconds"] == 86400, run["budgets"]
with tarfile.open(os.path.join(out, "model.tar.gz")) as p:
    assert len(json.load(p.extractfile("history.json"))["iterations"]) == 2
print("# iteration 1: " + ", ".join(f"{k.split(':')[1].split()[0]} {v.lower()}" for k, v in sorted(t.items()) if "iter1)" in k))
PY
sed -n 's/^# /#   /p' "$TMP/.out"

# 5b. a failed task: one error, the tool's own message and the task's work
#     directory (its .command.err), exit 1, and nothing after it (no Groovy
#     exception from the channels the failure left empty, no warning)
mkdir -p "$TMP/fail"
(cd "$TMP/fail" && "$NF" nf run "$ROOT/workflows/main.nf" -profile test --lineages 2 --iterations 2 --agent_step_args=--bogus --outdir "$TMP/fail/out" -ansi-log false) >"$TMP/fail/run.log" 2>&1; rc=$?
wd=$(sed -n '/^Work dir:/{n;s/^ *//;p;q}' "$TMP/fail/run.log")
if [ "$rc" = 1 ] && [ "$(grep -c '^ERROR ~' "$TMP/fail/run.log")" = 1 ] && grep -q "^ERROR ~ Error executing process > 'LINEAGES:AGENT_STEP (lineage[12]:iter1)'" "$TMP/fail/run.log" \
        && grep -q "agentomics-agent-step: unrecognized option '--bogus'" "$TMP/fail/run.log" && [ -n "$wd" ] && grep -q "unrecognized option '--bogus'" "$wd/.command.err"; then
    ok "a failed task: one error naming the task, the tool's message and its work directory (exit 1)"
else not_ok "a failed task: one error naming the task, the tool's message and its work directory (exit $rc)"; sed 's/^/#   /' "$TMP/fail/run.log" | head -30; fi
if grep -Eq 'Exception|Cannot get property|Invalid method invocation|_closure[0-9]|\bWARN\b' "$TMP/fail/run.log"; then
    not_ok "a failed task: no follow-on exception or warning"; grep -E 'Exception|Cannot get|Invalid method|_closure|WARN' "$TMP/fail/run.log" | head -5 | sed 's/^/#   /'
else ok "a failed task: no follow-on exception or warning"; fi

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
    assert r["state"] == f"lineage{l}/iter{n}/decided", r
    for i in range(1, n + 1):
        for sub in (f"iter{i}/agent/run.json", f"iter{i}/analyzed/run.json", f"iter{i}/reflected/decision.json", f"iter{i}/decided/decision.json", f"runs/iter{i}/metrics.json"):
            assert os.path.exists(os.path.join(out, f"lineage{l}", sub)), (l, sub)
    assert not os.path.exists(os.path.join(out, f"lineage{l}", f"iter{n + 1}")), (l, n + 1)
    s = json.load(open(os.path.join(out, f"lineage{l}", "summary.json")))
    assert s["iterations"] == n and s["final_state"] == f"lineage{l}/iter{n}/decided" and len(s["runs"]) == n, s
PY
if out=$(python3 - "$(nf_trace "$TMP/rec/out")" 2>&1 <<'PY'
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
    assert r["iterations"] == 1 and r["state"] == f"lineage{l}/iter1/decided", r
    h = json.load(open(os.path.join(out, f"lineage{l}", "iter1", "decided", "history.json")))
    assert h["best"] == r["best"], (l, h["best"], r["best"])
    s = json.load(open(os.path.join(out, f"lineage{l}", "summary.json")))
    assert s["lineage"] == l and s["runs"] == [f"lineage{l}/runs/iter1"], s
    vals.append((-h["best"]["value"], l))
want = min(vals)[1]
assert sel["chosen"] == want and sel["chosen_state"] == f"lineage{want}/iter1/decided", (sel["chosen"], want)
with tarfile.open(os.path.join(out, "model.tar.gz")) as t:
    hist = json.load(t.extractfile("history.json"))
assert hist["best"]["value"] == -min(vals)[0], hist["best"]
print(f"# chose lineage {want} of 20 (validation {-min(vals)[0]:.4f}; the lowest {-max(vals)[0]:.4f}; {len(set(v for v, _ in vals))} distinct values)")
PY
cmd=$(grep -h 'agentomics-select --states' "$TMP"/l20/work/*/*/.command.sh 2>/dev/null)
if [ "$(printf '%s\n' "$cmd" | grep -o 'lineage[0-9]*/iter1/decided' | sort -u | wc -l)" = 20 ]; then ok "20 lineages: SELECT_LINEAGE got all 20 final states"
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
# 114: 3 + 3 of the 120 training records are the selection slice (5%, no validation set given)
check "per-class inputs: 60+60 training (6 held back) and 20+20 held-out records" sh -c "[ \$(tail -n +2 '$TMP/cls/out/data/agent/train.tsv' | wc -l) = 114 ] && [ \$(tail -n +2 '$TMP/cls/out/data/heldout/test.tsv' | wc -l) = 40 ]"
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
check "nextflow run -params-file {train: CRAM, reference, labels} --max_cpus 1 --max_memory 1.GB --max_time 30.m --publish_mode copy" sh -c "cd '$TMP/cram' && '$NF' nf run '$ROOT/workflows/main.nf' -profile test --iterations 1 --lineages 1 -params-file params.yaml --threads 2 --max_cpus 1 --max_memory 1.GB --max_time 30.m --publish_mode copy --outdir '$TMP/cram/out' -ansi-log false"
n=$(ls "$TMP"/cram/out/lineage1/iter1/*/steps/plan.json 2>/dev/null | wc -l)
u=$(stat -c %i "$TMP"/cram/out/lineage1/iter1/*/steps/plan.json 2>/dev/null | sort -u | wc -l)
[ "$n" = 4 ] && [ "$u" = 4 ] && [ "$(stat -c %h "$TMP/cram/out/model.tar.gz")" = 1 ] && ok "--publish_mode copy: copies ($n states, $u files)" || not_ok "--publish_mode copy: copies ($n states, $u files)"
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
    END { exit (bad || n < 6) }' "$(nf_trace "$TMP/cram/out")"
case "$cmd" in *"--threads 1 "*|*"--threads 1") ok "resource caps: prepare-data got --threads 1 (task.cpus capped from 2)" ;;
    *) not_ok "resource caps: prepare-data --threads"; echo "#   $cmd" ;; esac

# make nextflow: bin/nextflow, a launcher for the release resolved from Maven Central (README: Install)
if make -s -C "$ROOT" nextflow >"$TMP/mk.out" 2>&1 && [ -x "$ROOT/bin/nextflow" ] && "$ROOT/bin/nextflow" -version 2>&1 | grep -q "version 25.04.4"; then
    ok "make nextflow: bin/nextflow runs Nextflow 25.04.4"
else not_ok "make nextflow: bin/nextflow runs Nextflow 25.04.4"; sed 's/^/#   /' "$TMP/mk.out" | tail -5; fi

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
