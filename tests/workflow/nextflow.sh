#!/usr/bin/env bash
# tests/workflow/nextflow.sh — Nextflow from Maven Central, and the pipeline's
# end-to-end test.
#
#   tests/workflow/nextflow.sh resolve        resolve the pinned release (cached); prints its lib dir
#   tests/workflow/nextflow.sh nf ARGS...     run `nextflow ARGS...` with it
#   tests/workflow/nextflow.sh parse FILES... parse .nf/.config files with its Groovy (nfparse.groovy)
#   tests/workflow/nextflow.sh [test]         nextflow run workflows/main.nf -profile test, twice
#                                             (the second with -resume must recompute nothing)
#
# Nextflow's launcher downloads itself, which these machines cannot; Maven can
# fetch the release from Maven Central (`make nextflow` writes bin/nextflow,
# which runs `nf`). Two of io.nextflow:nextflow:25.04.4's dependencies are not
# on Central: io.nextflow:nf-lang:25.04.4 (Central has only 25.04.0, which is
# pinned instead; `nextflow lint` then fails, see README: Install; no other
# release resolves: 25.04.0 needs nf-commons 25.04.0, which Central lacks)
# and io.seqera:lib-trace:0.1.0 (excluded: not needed for local runs). Exit 77
# when the release cannot be resolved.
set -euo pipefail
NF_VERSION=${NF_VERSION:-25.04.4}
NF_LANG_VERSION=${NF_LANG_VERSION:-25.04.0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${AGENTOMICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentomics}/nextflow-$NF_VERSION

resolve() {
    if [ -f "$CACHE/.complete" ]; then return 0; fi
    command -v mvn >/dev/null || { echo "nextflow.sh: mvn not found (apt-get install maven)" >&2; return 77; }
    command -v java >/dev/null || { echo "nextflow.sh: java not found (Java 17+)" >&2; return 77; }
    mkdir -p "$CACHE"
    cat > "$CACHE/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local.agentomics</groupId><artifactId>nextflow-resolve</artifactId><version>1</version><packaging>pom</packaging>
  <dependencyManagement><dependencies>
    <dependency><groupId>io.nextflow</groupId><artifactId>nf-lang</artifactId><version>$NF_LANG_VERSION</version></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>io.nextflow</groupId><artifactId>nextflow</artifactId><version>$NF_VERSION</version>
      <exclusions><exclusion><groupId>io.seqera</groupId><artifactId>lib-trace</artifactId></exclusion></exclusions>
    </dependency>
  </dependencies>
</project>
POM
    rm -rf "$CACHE/lib.tmp"
    if ! mvn -q -B -f "$CACHE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$CACHE/lib.tmp" >"$CACHE/mvn.log" 2>&1; then
        grep -E 'ERROR|Could not' "$CACHE/mvn.log" | head -5 >&2
        echo "nextflow.sh: Maven could not resolve io.nextflow:nextflow:$NF_VERSION (log: $CACHE/mvn.log)" >&2
        return 77
    fi
    rm -rf "$CACHE/lib" && mv "$CACHE/lib.tmp" "$CACHE/lib" && touch "$CACHE/.complete"
}

JAVA_OPENS=""
for p in java.lang java.io java.nio java.net java.util java.util.concurrent.locks java.util.concurrent.atomic \
         java.util.regex sun.nio.ch sun.nio.fs sun.net.www.protocol.http sun.net.www.protocol.https \
         sun.net.www.protocol.ftp sun.net.www.protocol.file jdk.internal.misc jdk.internal.vm; do
    JAVA_OPENS="$JAVA_OPENS --add-opens=java.base/$p=ALL-UNNAMED"
done

nf() {
    resolve || return $?
    # shellcheck disable=SC2086
    NXF_HOME=${NXF_HOME:-$CACHE/home} NXF_DISABLE_CHECK_LATEST=true NXF_OFFLINE=true \
        java -Xms256m ${NXF_JVM_OPTS:-} $JAVA_OPENS -cp "$CACHE/lib/*" nextflow.cli.Launcher "$@"
}

parse() {
    resolve || return $?
    java -cp "$CACHE/lib/*" groovy.ui.GroovyMain "$ROOT/tests/workflow/nfparse.groovy" "$@"
}

e2e() {
    resolve || return $?
    local work=${1:-} out rc=0 keep=1
    if [ -z "$work" ]; then work=$(mktemp -d "${TMPDIR:-/tmp}/agentomics-nf.XXXXXX"); keep=0; fi
    out=$work/results
    mkdir -p "$work"
    echo "# nextflow e2e in $work"
    (cd "$work" && nf run "$ROOT/workflows/main.nf" -profile test --outdir "$out" -ansi-log false) >"$work/run1.log" 2>&1 \
        || { tail -40 "$work/run1.log" >&2; echo "not ok - nextflow run -profile test" ; return 1; }
    for f in model.tar.gz test_metrics.json history.json report.md test_predictions.tsv lineages.json \
             lineage1/summary.json lineage2/summary.json data/agent/train.tsv lineage1/runs/iter1/metrics.json \
             lineage2/iter2/agent/run.json lineage2/iter2/reflected/decision.json lineage2/iter2/decided/decision.json \
             lineage2/runs/iter2/metrics.json; do
        if [ -s "$out/$f" ]; then echo "ok - output $f"; else echo "not ok - output $f missing"; rc=1; fi
    done
    if python3 - "$out/test_metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
auroc = m.get("auroc", m.get("metrics", {}).get("auroc") if isinstance(m.get("metrics"), dict) else None)
acc = m.get("accuracy", m.get("metrics", {}).get("accuracy") if isinstance(m.get("metrics"), dict) else None)
print("# held-out auroc", auroc, "accuracy", acc)
sys.exit(0 if auroc is not None and auroc > 0.6 else 1)
PY
    then echo "ok - held-out metrics above chance"; else echo "not ok - held-out metrics"; rc=1; fi
    # the recursion ran each lineage to the budget (-profile test: 2 iterations, 2 lineages)
    if python3 - "$out/lineages.json" <<'PY'
import json, sys
recs = json.load(open(sys.argv[1]))["lineages"]
got = [(r["lineage"], r["iterations"], r["decision"]["decision"]) for r in recs]
print("# lineages", got)
sys.exit(0 if got == [(1, 2, "stop"), (2, 2, "stop")] else 1)
PY
    then echo "ok - every lineage ran to the iteration budget"; else echo "not ok - lineages.json iterations"; rc=1; fi
    if [ -s "$out/pipeline_info/versions.yml" ] && [ -z "$(grep '^"' "$out/pipeline_info/versions.yml" | sort | uniq -d)" ]; then
        echo "ok - versions.yml: one entry per process"; else echo "not ok - versions.yml missing or with duplicate keys"; rc=1; fi
    cp "$(ls "$out"/pipeline_info/execution_trace_*.txt | sort | tail -1)" "$work/trace1.txt" 2>/dev/null || true
    (cd "$work" && nf run "$ROOT/workflows/main.nf" -profile test --outdir "$out" -ansi-log false -resume) >"$work/run2.log" 2>&1 \
        || { tail -40 "$work/run2.log" >&2; echo "not ok - nextflow run -resume"; return 1; }
    local total cached
    local trace
    trace=$(ls "$out"/pipeline_info/execution_trace_*.txt | sort | tail -1)   # the resumed run's
    total=$(awk -F'\t' 'NR>1' "$trace" | wc -l)
    cached=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next } $c == "CACHED"' "$trace" | wc -l)
    if [ "$total" -gt 0 ] && [ "$total" -eq "$cached" ]; then echo "ok - -resume recomputed nothing ($cached/$total cached)";
    else echo "not ok - -resume: $cached of $total tasks cached"; rc=1; fi
    # a temporary work folder is removed when everything passed
    if [ "$rc" -eq 0 ] && [ "$keep" -eq 0 ]; then rm -rf "$work"; fi
    return $rc
}

case "${1:-test}" in
    resolve) resolve && echo "$CACHE/lib" ;;
    nf) shift; nf "$@" ;;
    parse) shift; parse "$@" ;;
    test) shift || true; e2e "$@" ;;
    *) echo "usage: $0 [resolve|nf ARGS...|parse FILES...|test [WORKDIR]]" >&2; exit 2 ;;
esac
