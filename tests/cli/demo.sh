#!/bin/sh
# make demo — the main job: the whole agent loop (builtin agent, offline)
# through the Snakemake workflow on the bundled real dataset
# (examples/gue_prom_300_tata, GUE's official splits), then prints the
# held-out test metrics, where the model package and the report are.
# Output: demo-out/results/gue_prom_300_tata/ (DEMO_OUT to change it).
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${DEMO_OUT:-$ROOT/demo-out}
SMK=${SNAKEMAKE:-snakemake}
command -v "$SMK" >/dev/null 2>&1 || { echo "demo: snakemake not found (run ./install-deps.sh)" >&2; exit 1; }
mkdir -p "$OUT"
E=$ROOT/examples/gue_prom_300_tata
start=$(date +%s)
"$SMK" -s "$ROOT/workflows/Snakefile" --cores 2 --directory "$OUT" --quiet \
    --config bin_dir="$ROOT/bin" dataset=gue_prom_300_tata iterations=3 threads=2 seed=1 \
    "inputs={train: $E/train.csv, valid: $E/dev.csv, test: $E/test.csv}"
R=$OUT/results/gue_prom_300_tata
echo
echo "demo: finished in $(( $(date +%s) - start )) s"
echo "demo: model package   $R/model.tar.gz"
echo "demo: report          $R/report.html (open it in a browser; text twin: $R/report.md)"
echo "demo: held-out test metrics ($R/test_metrics.json):"
"$ROOT/bin/agentomics-evaluate" --predictions "$R/test_predictions.tsv" --labels "$R/data/heldout/test.tsv" --format text
echo
echo "demo: predict new sequences with"
echo "  $ROOT/bin/agentomics-predict --model $R/model.tar.gz --input YOUR.fasta --output predictions.tsv"
