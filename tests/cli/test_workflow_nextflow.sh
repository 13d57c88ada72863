#!/usr/bin/env bash
# tests/cli/test_workflow_nextflow.sh — the Nextflow pipeline (workflows/main.nf):
# every .nf file lints, the config parses under every profile, the schema
# names every parameter, a -stub-run, and a contract run: a real run with
# tiny budgets whose rendered task scripts (.command.sh) may pass only flags
# that the tools' --help lists, and whose declared outputs the tools write.
# Nextflow comes from Maven Central via tests/workflow/nextflow.sh; when it
# cannot be resolved every test is reported as skipped.
. "$(dirname "$0")/lib.sh"
NF="$ROOT/tests/workflow/nextflow.sh"
cd "$TMP" || exit 1   # .nextflow/ and .nextflow.log stay out of the checkout

if ! "$NF" resolve >"$TMP/resolve.out" 2>"$TMP/resolve.err"; then
    reason=$(tail -1 "$TMP/resolve.err")
    for d in "nextflow lint" "nextflow config" "schema" "stub-run" "contract run"; do ok "$d # SKIP ${reason:-Nextflow not resolvable}"; done
    done_testing; exit $?
fi

# 1. lint: Nextflow's own linter (strict syntax); no error lines allowed.
for f in "$ROOT"/workflows/main.nf "$ROOT"/workflows/modules/*.nf; do
    "$NF" nf lint -o concise "$f" >"$TMP/lint.out" 2>&1
    if grep -q '^Error' "$TMP/lint.out"; then not_ok "nextflow lint ${f#$ROOT/}"; grep '^Error' "$TMP/lint.out" | sed 's/^/#   /' | head -10
    else ok "nextflow lint ${f#$ROOT/}"; fi
done

# 2. the config under every profile
for p in test docker singularity apptainer gpu slurm; do
    check "nextflow config -profile $p" "$NF" nf config -flat -profile "$p" "$ROOT/workflows"
done
"$NF" nf config -flat -profile test,gpu "$ROOT/workflows" >"$TMP/gpu.cfg" 2>&1
if grep -q "accelerator = 1" "$TMP/gpu.cfg"; then ok "gpu profile sets accelerator for process_gpu"; else not_ok "gpu profile sets accelerator"; fi

# 3. the schema names exactly the config's parameters
"$NF" nf config -flat "$ROOT/workflows" >"$TMP/flat.cfg" 2>&1
check "nextflow_schema.json matches params" python3 - "$ROOT/workflows/nextflow_schema.json" "$TMP/flat.cfg" <<'PY'
import json, re, sys
schema = json.load(open(sys.argv[1]))
names = {n for d in schema["$defs"].values() for n in d["properties"]}
cfg = {m.group(1) for m in re.finditer(r"^params\.(\w+)\s*=", open(sys.argv[2]).read(), re.M)} - {"bin_prefix"}
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
check "contract: rendered commands pass only flags the tools know" python3 - "$TMP/real/work" "$BIN" <<'PY'
import glob, os, re, subprocess, sys
work, bindir = sys.argv[1], sys.argv[2]
helps, bad, seen = {}, [], set()
for script in glob.glob(os.path.join(work, "*", "*", ".command.sh")):
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
want = {"prepare-data", "agent-step", "train-run", "reflect", "package-model", "predict", "evaluate"}
if want - seen:
    bad.append(f"tools never run: {sorted(want - seen)}")
if bad:
    sys.exit("\n".join(bad))
PY
check "contract: every task's versions.yml names its tool" sh -c "for v in '$TMP'/real/work/*/*/versions.yml; do grep -q 'agentomics-' \"\$v\" || { echo \"\$v\"; exit 1; }; done"
done_testing
