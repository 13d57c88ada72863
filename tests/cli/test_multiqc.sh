#!/bin/bash
# MultiQC picks up agentomics' custom content: agentomics-report writes
# agentomics_mqc.json (line plot of the metric per iteration) and
# agentomics_general_stats_mqc.json (a general-statistics row) into a results
# folder; `multiqc` run on the folder puts both in its report. MultiQC comes
# from PyPI into a venv cached under ~/.cache/agentomics (MULTIQC_VERSION,
# default 1.25.2, the last release for Debian 12's Python 3.11 that needs no
# newer build tools); skipped, with the reason, when it cannot be installed
# (no network, no python3-venv).
. "$(dirname "$0")/lib.sh"
VER=${MULTIQC_VERSION:-1.25.2}
CACHE=${AGENTOMICS_CACHE:-$HOME/.cache/agentomics}
VENV="$CACHE/multiqc-$VER"
# a venv's scripts name its path, so it is built in place; .complete marks a finished install
if [ ! -f "$VENV/.complete" ]; then
    # a quick probe first, so that an offline machine skips at once instead of after pip's retries
    if ! timeout 20 /usr/bin/python3 -c 'import os, urllib.request; urllib.request.urlopen(os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple") + "/multiqc/", timeout=15)' 2>"$TMP/probe.err"; then
        echo "# SKIP MultiQC: PyPI is not reachable ($(tail -1 "$TMP/probe.err"))"
        echo "1..0 # skipped"
        exit 0
    fi
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    if ! { /usr/bin/python3 -m venv "$VENV" >"$TMP/venv.log" 2>&1 &&
           timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check "multiqc==$VER" >>"$TMP/venv.log" 2>&1; }; then
        echo "# SKIP MultiQC: cannot install multiqc==$VER from PyPI into a venv: $(tail -1 "$TMP/venv.log")"
        rm -rf "$VENV"
        echo "1..0 # skipped"
        exit 0
    fi
    touch "$VENV/.complete"
fi
ok "MultiQC $VER in $VENV"

# a results folder: one iteration by hand, laid out as the workflows do
R="$TMP/results/gue_tata"
mkdir -p "$R/lineage1/iter1" "$R/lineage1/runs"
"$BIN/agentomics-prepare-data" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$R/data" -q &&
"$BIN/agentomics-agent-step" --steps plan,explore,split,represent,architect,code --data "$R/data/agent" --out "$R/lineage1/iter1/agent" --iterations 1 --seed 3 -q &&
"$BIN/agentomics-train-run" --state "$R/lineage1/iter1/agent" --data "$R/data/agent" --out "$R/lineage1/runs/iter1" -q &&
"$BIN/agentomics-reflect" --state "$R/lineage1/iter1/agent" --run "$R/lineage1/runs/iter1" --data "$R/data/agent" --out "$R/lineage1/iter1/reflected" -q \
    && ok "a one-iteration results folder" || not_ok "a one-iteration results folder"
check "agentomics-report writes the MultiQC custom content" "$BIN/agentomics-report" --results "$R"
check "multiqc runs on the results folder" "$VENV/bin/multiqc" --no-ansi --force -o "$TMP/mqc" "$R"
if [ -s "$TMP/mqc/multiqc_report.html" ]; then
    grep -q 'agentomics search' "$TMP/mqc/multiqc_report.html" && ok "the MultiQC report has the agentomics section" || not_ok "the MultiQC report has the agentomics section"
    /usr/bin/python3 - "$TMP/mqc/multiqc_data" <<'PY' && ok "the general statistics have the agentomics row" || not_ok "the general statistics have the agentomics row"
import glob, sys
rows = open(glob.glob(sys.argv[1] + "/multiqc_general_stats.txt")[0]).read()
assert "gue_tata" in rows and "valid_auroc" in rows, rows[:500]
PY
else
    not_ok "multiqc wrote multiqc_report.html"
fi
done_testing
