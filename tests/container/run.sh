#!/bin/sh
# tests/container/run.sh — proves that containers/Dockerfile builds and that
# the image works, without Docker or a registry (TAP output, last line
# "container: N passed, N failed"):
#   1. a local debian:12-slim (containers/build-base.sh: debootstrap + podman import)
#   2. containers/build-image.sh (what `make image` runs) with podman on it: the
#      base pinned by digest, the OCI labels (version, revision, source,
#      licence, base digest) checked (apt inside the build uses the host network)
#   3. inside the image: it runs as the unprivileged user agentomics, every
#      tool's --version, the man pages, samtools, bwrap, the Python stack, a
#      small real run (prepare-data, train-run, predict, evaluate) on
#      tests/data/gue_tata_*.csv with held-out AUROC above chance, and the
#      script-model CLI test (agent-written code in bubblewrap's sandbox) with
#      the image's tools as that user
#   4. the Nextflow pipeline with -profile test,docker, podman standing in for
#      docker (AO_CONTAINER_NEXTFLOW=0 skips it): every output, every task in the
#      image, held-out AUROC above chance, the same predictions as the host's
#      tools, and -resume recomputing nothing
#   5. the project's test suite (make test; AO_CONTAINER_SUITE=0 skips it) in the
#      build stage, which has the sources and every test dependency (run with
#      --security-opt unmask=ALL, so that bubblewrap's sandbox works inside)
# Needs root, podman, runc and debootstrap (apt-get install podman runc debootstrap).
# Environment: AO_IMAGE (default localhost/agentomics:test), AO_BASE_IMAGE
# (localhost/debian:12-slim), AO_OCI_RUNTIME (runc when installed, else crun),
# AO_CONTAINER_WORK (scratch, default /var/tmp/agentomics-container).
#
# Workarounds for sandboxed hosts (like this project's CI machines), found by trial:
# - podman's default rlimits for root (nofile 1048576, nproc 4194304) exceed
#   what the runtime may set when CAP_SYS_RESOURCE is missing ("setrlimit
#   RLIMIT_NOFILE: Operation not permitted"): explicit, smaller --ulimit values.
# - crun refuses cgroup v1/v2 hybrid hosts ("cgroups in hybrid mode not
#   supported, drop all controllers from cgroupv2"): runc works.
# - the default bridge network needs netavark/iptables: --network host.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
IMAGE=${AO_IMAGE:-localhost/agentomics:test}
BASE=${AO_BASE_IMAGE:-localhost/debian:12-slim}
PODMAN=${PODMAN:-podman}
WORK=${AO_CONTAINER_WORK:-/var/tmp/agentomics-container}
if [ -z "${AO_OCI_RUNTIME:-}" ]; then
    if command -v runc >/dev/null 2>&1; then AO_OCI_RUNTIME=runc; else AO_OCI_RUNTIME=crun; fi
fi
OPTS="--runtime $AO_OCI_RUNTIME --ulimit nofile=8192:8192 --ulimit nproc=16384:16384"

T_N=0; T_FAILED=0
ok()     { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
finish() { echo "1..$T_N"; echo "container: $((T_N - T_FAILED)) passed, $T_FAILED failed"; [ "$T_FAILED" -eq 0 ]; exit $?; }
bail()   { not_ok "$1"; shift; for f in "$@"; do [ -f "$f" ] && tail -30 "$f" | sed 's/^/#   /'; done; finish; }

for t in $PODMAN debootstrap; do
    command -v "$t" >/dev/null 2>&1 || bail "$t is installed (apt-get install podman runc debootstrap)"
done
[ "$(id -u)" = 0 ] || bail "running as root (podman build and debootstrap need it here)"
mkdir -p "$WORK"
TMP=$(mktemp -d "$WORK/run.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ---- 1. base image -----------------------------------------------------------------
if AO_CONTAINER_WORK="$WORK" PODMAN=$PODMAN sh containers/build-base.sh "$BASE" > "$TMP/base.log" 2>&1; then
    ok "base image $BASE (debootstrap bookworm minbase)"
else
    bail "base image $BASE (debootstrap bookworm minbase)" "$TMP/base.log"
fi

# ---- 2. build (make image's script) -----------------------------------------------------
start=$(date +%s)
if ENGINE=$PODMAN IMAGE="$IMAGE" BASE="$BASE" AO_PULL_BASE=0 BUILD_OPTS="$OPTS --network host" \
        sh containers/build-image.sh > "$TMP/build.log" 2>&1; then
    ok "containers/build-image.sh (make image) with podman on $BASE"
else
    cp "$TMP/build.log" "$WORK/build.log"
    bail "containers/build-image.sh with podman on $BASE (log: $WORK/build.log)" "$TMP/build.log"
fi
echo "# build took $(( $(date +%s) - start )) s; image size $($PODMAN image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')"
label() { $PODMAN image inspect --format "{{index .Labels \"org.opencontainers.image.$1\"}}" "$IMAGE"; }
digest=$($PODMAN image inspect --format '{{.Digest}}' "$BASE")
rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
lv=$(label version); lr=$(label revision); ll=$(label licenses); ld=$(label base.digest); ls_=$(label source)
if [ "$lv" = "$(cat VERSION)" ] && [ "$ll" = MIT ] && case "$lr" in "$rev"|"$rev-dirty") true ;; *) false ;; esac && [ -n "$ls_" ]; then
    ok "OCI labels: version $lv, revision $lr, licenses $ll, source $ls_"
else not_ok "OCI labels: version '$lv', revision '$lr' (HEAD $rev), licenses '$ll', source '$ls_'"; fi
if [ -n "$digest" ] && [ "$ld" = "$digest" ] && grep -q "from $BASE@$digest" "$TMP/build.log"; then
    ok "the base pinned by digest ($BASE@$digest)"
else not_ok "the base pinned by digest (label '$ld', base digest '$digest')"; grep build-image "$TMP/build.log" | sed 's/^/#   /'; fi

run() { $PODMAN run --rm $OPTS --network none "$@"; }   # run [podman options] IMAGE CMD...
# check DESC CMD... : passes when CMD exits 0 (its output is kept in $TMP/.out)
check() { d=$1; shift; if "$@" > "$TMP/.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$TMP/.out" | tail -20; fi; }

# ---- 3. inside the image -------------------------------------------------------------
check "the image runs as the unprivileged user agentomics" run "$IMAGE" sh -c '[ "$(id -un)" = agentomics ] && [ "$(id -u)" != 0 ] && id'
sed 's/^/#   /' "$TMP/.out"
check "agentomics-prepare-data --version" run "$IMAGE" agentomics-prepare-data --version
grep -qF "$(cat VERSION)" "$TMP/.out" && ok "the version is $(cat VERSION)" || { not_ok "the version is $(cat VERSION)"; sed 's/^/#   /' "$TMP/.out"; }
check "every tool answers --version" run "$IMAGE" sh -c \
    'set -e; n=0; for t in /opt/agentomics/bin/agentomics-*; do "$t" --version >/dev/null; n=$((n + 1)); done; [ "$n" -ge 7 ]'
check "schemas installed under /opt/agentomics/share/agentomics" run "$IMAGE" test -s /opt/agentomics/share/agentomics/schemas/recipe.schema.json
check "a man page per tool under /opt/agentomics/share/man/man1" run "$IMAGE" sh -c '[ "$(ls /opt/agentomics/share/man/man1/agentomics-*.1 | wc -l)" = "$(ls /opt/agentomics/bin/agentomics-* | wc -l)" ]' 
check "samtools and bwrap present" run "$IMAGE" sh -c 'samtools --version | head -1 && bwrap --version'
check "python3 imports numpy, pandas, sklearn, torch, xgboost" run "$IMAGE" python3 -c \
    'import numpy, pandas, sklearn, torch, xgboost; x = torch.ones(3); assert float((x @ x)) == 3.0; print(torch.__version__, xgboost.__version__)'
sed 's/^/#   /' "$TMP/.out"

# A small real run on the bundled GUE TATA slice: data read-only at /data,
# outputs in a host directory mounted at /w.
mkdir -p "$TMP/w" && chmod 777 "$TMP/w"
cat > "$TMP/w/run.sh" <<'EOF'
set -e
agentomics-prepare-data --train /data/gue_tata_train.csv --valid /data/gue_tata_dev.csv --test /data/gue_tata_test.csv --out /w/d -q
for m in logreg gbdt; do
    agentomics-agent-step --step plan --data /w/d/agent --out /w/s_$m -q && mkdir -p /w/s_$m/workspace
done
echo '{"seed": 3, "representation": {"type": "kmer", "k": [3, 4], "frequencies": true, "global": true}, "model": {"type": "logreg", "C": 1.0}}' > /w/s_logreg/workspace/recipe.json
echo '{"seed": 3, "representation": {"type": "kmer", "k": [2, 3]}, "model": {"type": "gbdt", "n_estimators": 60, "learning_rate": 0.1, "early_stopping_rounds": 10}}' > /w/s_gbdt/workspace/recipe.json
for m in logreg gbdt; do
    agentomics-train-run --state /w/s_$m --data /w/d/agent --out /w/run_$m
    agentomics-predict --model /w/run_$m/model --input /w/d/heldout/test.tsv --output /w/pred_$m.tsv
    agentomics-evaluate --predictions /w/pred_$m.tsv --labels /w/d/heldout/test.tsv --out /w/test_$m.json
done
EOF
check "prepare-data, train-run, predict, evaluate on tests/data/gue_tata_*.csv" \
    run -v "$ROOT/tests/data:/data:ro" -v "$TMP/w:/w" "$IMAGE" sh /w/run.sh
for m in logreg gbdt; do
    if [ -s "$TMP/w/test_$m.json" ]; then
        rows=$(($(wc -l < "$TMP/w/d/heldout/test.tsv") - 1))
        [ "$(wc -l < "$TMP/w/pred_$m.tsv")" -gt "$rows" ] && ok "$m: one prediction per held-out row ($rows)" || not_ok "$m: one prediction per held-out row ($rows)"
        auc=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["auroc"], 4))' "$TMP/w/test_$m.json")
        python3 -c "import sys; sys.exit(0 if $auc > 0.55 else 1)" && ok "$m: held-out AUROC $auc above chance" || not_ok "$m: held-out AUROC $auc above chance"
    else
        not_ok "$m: test metrics written"
    fi
done

# bubblewrap's sandbox as the image's unprivileged user: the script-model CLI
# test (agent-written training and inference code run in the sandbox by
# train-run and predict) with the image's tools, the sources read-only.
# unmask=ALL: podman masks parts of /proc, and bubblewrap cannot mount a fresh
# /proc under a masked one (see step 5).
check "bubblewrap's sandbox as user agentomics: tests/cli/test_script_model.sh with the image's tools" \
    run --security-opt unmask=ALL -v "$ROOT:/src:ro" -e AO_TEST_BIN=/opt/agentomics/bin "$IMAGE" \
    sh -c 'id -un && bash /src/tests/cli/test_script_model.sh > /tmp/sm.log 2>&1; rc=$?; grep -E "^(not ok|1\.\.)" /tmp/sm.log; echo "$(grep -c "^ok" /tmp/sm.log) passed"; [ $rc = 0 ] && ! grep -q SKIP /tmp/sm.log && grep -q "^ok" /tmp/sm.log'
sed 's/^/#   /' "$TMP/.out" | tail -4

# ---- 4. the Nextflow pipeline in the image: -profile test,docker ----------------------
# Nextflow's docker executor with podman standing in for docker (a `docker`
# script on PATH that execs podman), the image built above, the tools from the
# image's PATH (bin_dir '') and the runtime options this host needs ($OPTS,
# --network host); Nextflow from Maven Central (tests/workflow/nextflow.sh).
NF="$ROOT/tests/workflow/nextflow.sh"
if [ "${AO_CONTAINER_NEXTFLOW:-1}" != 1 ]; then
    :
elif ! "$NF" resolve > "$TMP/nf-resolve.log" 2>&1; then
    ok "nextflow run -profile test,docker # SKIP Nextflow not resolvable: $(tail -1 "$TMP/nf-resolve.log")"
else
    N="$TMP/nf"; mkdir -p "$N/bin"
    printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$PODMAN")" > "$N/bin/docker"; chmod +x "$N/bin/docker"
    cat > "$N/podman.config" <<EOF
params.container  = '$IMAGE'
params.bin_dir    = ''
docker.runOptions = '-u \$(id -u):\$(id -g) $OPTS --network host'
EOF
    nfrun() { (cd "$N" && PATH="$N/bin:$PATH" "$NF" nf run "$ROOT/workflows/main.nf" -profile test,docker -c podman.config --outdir "$N/out" -ansi-log false "$@"); }
    start=$(date +%s)
    if nfrun > "$N/run1.log" 2>&1; then
        ok "nextflow run workflows/main.nf -profile test,docker (podman as docker, $IMAGE): $(( $(date +%s) - start )) s"
        missing=""
        for f in model.tar.gz test_metrics.json test_predictions.tsv history.json report.md lineages.json \
                 lineage1/summary.json lineage2/summary.json data/agent/train.tsv data/heldout/test.tsv \
                 lineage1/runs/iter1/metrics.json lineage1/iter1/reflected/history.json pipeline_info/versions.yml; do
            [ -s "$N/out/$f" ] || missing="$missing $f"
        done
        [ -z "$missing" ] && ok "test,docker: every output under --outdir" || not_ok "test,docker: outputs missing:$missing"
        # every task ran in the image, with the image's tools (no host path in any task script)
        tasks=$(ls "$N"/work/*/*/.command.run 2>/dev/null | wc -l)
        incont=$(grep -l "docker run .* $IMAGE " "$N"/work/*/*/.command.run 2>/dev/null | wc -l)
        hostpath=$(grep -l "$ROOT/bin" "$N"/work/*/*/.command.sh 2>/dev/null | wc -l)
        [ "$tasks" -ge 10 ] && [ "$incont" -eq "$tasks" ] && [ "$hostpath" -eq 0 ] \
            && ok "test,docker: all $tasks tasks ran in $IMAGE with its own tools" \
            || not_ok "test,docker: tasks in the image ($incont of $tasks; $hostpath use host tools)"
        grep -q "agentomics-prepare-data: $(cat VERSION)" "$N/out/pipeline_info/versions.yml" \
            && ok "test,docker: versions.yml records the image's tools ($(cat VERSION))" || not_ok "test,docker: versions.yml"
        if [ -s "$N/out/test_metrics.json" ]; then
            auc=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["auroc"], 4))' "$N/out/test_metrics.json")
            python3 -c "import sys; sys.exit(0 if $auc > 0.6 else 1)" && ok "test,docker: held-out AUROC $auc above chance" || not_ok "test,docker: held-out AUROC $auc above chance"
        else
            not_ok "test,docker: held-out metrics written"
        fi
        # the same pipeline with the host's tools (when built) predicts byte-identically
        if [ -x "$ROOT/bin/agentomics-prepare-data" ]; then
            mkdir -p "$N/host"
            if (cd "$N/host" && "$NF" nf run "$ROOT/workflows/main.nf" -profile test --outdir "$N/host/out" -ansi-log false) > "$N/host.log" 2>&1 \
                    && cmp -s "$N/host/out/test_predictions.tsv" "$N/out/test_predictions.tsv" && cmp -s "$N/host/out/test_metrics.json" "$N/out/test_metrics.json"; then
                ok "test,docker: predictions and metrics identical to -profile test with the host's tools"
            else
                not_ok "test,docker: predictions and metrics identical to -profile test with the host's tools"; tail -5 "$N/host.log" | sed 's/^/#   /'
            fi
        fi
        if nfrun -resume > "$N/run2.log" 2>&1; then
            total=$(awk -F'\t' 'NR > 1' "$N/out/pipeline_info/trace.txt" | wc -l)
            cached=$(awk -F'\t' 'NR > 1 && $4 == "CACHED"' "$N/out/pipeline_info/trace.txt" | wc -l)
            [ "$total" -gt 0 ] && [ "$cached" -eq "$total" ] && ok "test,docker: -resume recomputes nothing ($cached/$total cached)" \
                || not_ok "test,docker: -resume: $cached of $total tasks cached"
        else
            not_ok "test,docker: -resume"; tail -20 "$N/run2.log" | sed 's/^/#   /'
        fi
    else
        not_ok "nextflow run workflows/main.nf -profile test,docker (podman as docker, $IMAGE)"; tail -30 "$N/run1.log" | sed 's/^/#   /'
    fi
fi

# ---- 5. the project's test suite in the build stage ----------------------------------
if [ "${AO_CONTAINER_SUITE:-1}" = 1 ]; then
    if $PODMAN build $OPTS --network host -f containers/Dockerfile --build-arg BASE="$BASE" --target build \
            -t "$IMAGE-build" . > "$TMP/build2.log" 2>&1; then
        # unmask=ALL: podman masks parts of /proc, and bubblewrap (the agent's
        # sandbox) cannot mount a fresh /proc under a masked one ("Can't mount
        # proc on /newroot/proc: Operation not permitted"); unmasked, the
        # sandbox tests (script models, the LLM agent) run as on the host.
        check "make test inside the build stage ($IMAGE-build)" run --security-opt unmask=ALL "$IMAGE-build" make --no-print-directory test
        tail -1 "$TMP/.out" | sed 's/^/#   /'
    else
        not_ok "podman build --target build"; tail -20 "$TMP/build2.log" | sed 's/^/#   /'
    fi
fi
finish
