#!/bin/bash
# Quality of the builtin agent on the real datasets of the shared data
# folder (not bundled; pass its path): the whole workflow per dataset,
# held-out test metrics collected into a Markdown table on stdout.
#   tests/bench/quality.sh ../shared/data [ITERATIONS]
set -euo pipefail
S=$(cd "${1:?usage: quality.sh SHARED_DATA_DIR [ITERATIONS]}" && pwd)
IT=${2:-4}
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=${QUALITY_DIR:-$(mktemp -d /tmp/agentomics-quality.XXXXXX)}
mkdir -p "$W"
# UCI splice junctions has no official split: a stratified 80/20 split, seed 1
/usr/bin/python3 - "$S/uci_splice_junction/splice.data.txt" "$W" <<'PY'
import csv, random, sys
rows = list(csv.reader(open(sys.argv[1])))[1:]
by = {}
for r in rows: by.setdefault(r[0], []).append(r)
tr, te = [], []
rng = random.Random(1)
for k in sorted(by):
    g = by[k]; rng.shuffle(g); n = round(len(g) * 0.2); te += g[:n]; tr += g[n:]
for name, part in (("splice_train.csv", tr), ("splice_test.csv", te)):
    with open(f"{sys.argv[2]}/{name}", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n"); w.writerow(["class", "id", "sequence"]); w.writerows(part)
PY
run() {   # NAME CONFIG...
    local name=$1; shift
    local t0=$(date +%s)
    snakemake -s "$ROOT/workflows/Snakefile" --cores 2 --directory "$W/$name" --quiet \
        --config bin_dir="$ROOT/bin" dataset="$name" iterations="$IT" threads=2 train_time_limit=900 "$@" >"$W/$name.log" 2>&1
    local secs=$(( $(date +%s) - t0 ))
    /usr/bin/python3 - "$W/$name/results/$name" "$name" "$secs" <<'PY'
import json, sys
r, name, secs = sys.argv[1], sys.argv[2], sys.argv[3]
m = json.load(open(f"{r}/test_metrics.json")); h = json.load(open(f"{r}/history.json"))
best = h["best"]; it = h["iterations"][best["iteration"] - 1]
model = it["steps"]["code"]["output"]["recipe"]["model"]["type"]
print(f"| {name} | {len(h['iterations'])} | {best['iteration']} ({model}) | {m['accuracy']:.4f} | {m['f1_macro']:.4f} | {m['mcc']:.4f} | {m['auroc']:.4f} | {secs} s |")
PY
}
echo "| dataset | iterations | best (model) | test accuracy | macro F1 | MCC | AUROC | wall |"
echo "|---|---|---|---|---|---|---|---|"
G=$S/gue_prom_300_tata
run gue_prom_300_tata "inputs={train: $G/train.csv, valid: $G/dev.csv, test: $G/test.csv}"
N=$S/nrc_rfam_ncrna_13class
run nrc_rfam_ncrna_13class "inputs={train: $N/dataset_Rfam_6320_13classes.fasta, test: $N/dataset_Rfam_validated_2600_13classes.fasta, label_from: 'token:-1'}"
run uci_splice_junction "inputs={train: $W/splice_train.csv, test: $W/splice_test.csv, id_col: id}"
