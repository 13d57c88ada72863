#!/bin/bash
# make quality — the builtin agent's quality on the real datasets of the
# shared data folder (not bundled; give its path): the whole Snakemake
# workflow per dataset with the default settings (one lineage, the
# 15-minute time budget, the iteration bound), the held-out split scored,
# one Markdown table written to tests/bench/quality.md (QUALITY_OUT to
# change it) and printed.
#   tests/bench/quality.sh ../shared/data [DATASET...]
# Datasets (default: all with an official or a seeded split): gue_tf_1,
# gue_mouse_2, gue_prom_300_tata, nrc_rfam_ncrna_13class, ienhancer2l_layer1,
# uci_splice_junction (stratified 80/20, seed 1), ecoli_promoter_regulondb_v9d3
# (likewise). GUE sets are ranked by MCC (their published metric), the
# others by the default (auto). QUALITY_CONFIG adds --config settings to
# every run after those (e.g. "time_budget=300" or "metric=auroc"); QUALITY_DIR keeps the runs (default: a temporary folder).
set -euo pipefail
S=$(cd "${1:?usage: quality.sh SHARED_DATA_DIR [DATASET...]}" && pwd)
shift
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${QUALITY_OUT:-$ROOT/tests/bench/quality.md}
SMK=${SNAKEMAKE:-snakemake}
W=${QUALITY_DIR:-$(mktemp -d /tmp/agentomics-quality.XXXXXX)}
mkdir -p "$W"
[ "$#" -gt 0 ] || set -- gue_tf_1 gue_mouse_2 gue_prom_300_tata nrc_rfam_ncrna_13class ienhancer2l_layer1 uci_splice_junction ecoli_promoter_regulondb_v9d3
# The sets without a split: stratified 80/20, seed 1 (the same rows every time)
/usr/bin/python3 - "$S" "$W" <<'PY'
import csv, random, sys
S, W = sys.argv[1], sys.argv[2]
def split(rows, header, label, name):
    by = {}
    for r in rows: by.setdefault(r[label], []).append(r)
    tr, te = [], []
    rng = random.Random(1)
    for k in sorted(by):
        g = by[k]; rng.shuffle(g); n = round(len(g) * 0.2); te += g[:n]; tr += g[n:]
    for part, rows_ in (("train", tr), ("test", te)):
        with open(f"{W}/{name}_{part}.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n"); w.writerow(header); w.writerows(rows_)
# UCI splice: the header names 62 columns, the rows hold 3 (class, instance, sequence)
rows = list(csv.reader(open(f"{S}/uci_splice_junction/splice.data.txt")))[1:]
split([r[:3] for r in rows], ["class", "id", "sequence"], 0, "splice")
rows = list(csv.reader(open(f"{S}/ecoli_promoter_regulondb_v9d3/v9d3.csv")))
split(rows[1:], rows[0], rows[0].index("labels"), "ecoli")
PY
inputs() {   # DATASET -> the --config inputs of its official or seeded split
    case $1 in
    gue_*) echo "inputs={train: $S/$1/train.csv, valid: $S/$1/dev.csv, test: $S/$1/test.csv}" ;;
    nrc_rfam_ncrna_13class) echo "inputs={train: $S/$1/dataset_Rfam_6320_13classes.fasta, test: $S/$1/dataset_Rfam_validated_2600_13classes.fasta, label_from: 'token:-1'}" ;;
    ienhancer2l_layer1) local d=$S/$1
        echo "inputs={class: {enhancer: $d/original_enhancer_train.txt, non_enhancer: $d/original_non_enhancer_train.txt}, test_class: {enhancer: $d/original_enhancer_ind.txt, non_enhancer: $d/original_non_enhancer_ind.txt}}" ;;
    uci_splice_junction) echo "inputs={train: $W/splice_train.csv, test: $W/splice_test.csv, id_col: id}" ;;
    ecoli_promoter_regulondb_v9d3) echo "inputs={train: $W/ecoli_train.csv, test: $W/ecoli_test.csv}" ;;
    *) echo "quality.sh: unknown dataset '$1'" >&2; return 1 ;;
    esac
}
# The ranking metric: a benchmark's own where it has one (GUE reports MCC,
# so a user comparing with it ranks by MCC, which also gives binary models
# their decision threshold), else the workflow's default (auto)
metric() { case $1 in gue_*) echo mcc ;; *) echo auto ;; esac; }
# Published test anchors (fine-tuned; GUE table of the DNABERT-2 paper, arXiv 2306.15006; MCC)
anchor() {
    case $1 in
    gue_tf_1) echo "DNABERT-2 0.761, NT-2.5B-multi 0.703" ;;
    gue_mouse_2) echo "DNABERT-2 0.793, NT-2.5B-multi 0.715" ;;
    gue_prom_300_tata) echo "NT-2.5B-multi 0.794, DNABERT-2 0.716" ;;
    *) echo "-" ;;
    esac
}
{
echo "| dataset | ranked by | test MCC | AUROC | macro F1 | anchors (MCC) | iterations | packaged model | threshold | wall |"
echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$W/table.md"
for name in "$@"; do
    cfg=$(inputs "$name")
    t0=$(date +%s)
    # shellcheck disable=SC2086
    if ! "$SMK" -s "$ROOT/workflows/Snakefile" --cores 2 --directory "$W/$name" --quiet \
        --config bin_dir="$ROOT/bin" dataset="$name" threads=2 "$cfg" metric="$(metric "$name")" ${QUALITY_CONFIG:-} >"$W/$name.log" 2>&1; then
        echo "| $name | $(metric "$name") | failed (see $W/$name.log) | | | | | | | |" >> "$W/table.md"
        continue
    fi
    /usr/bin/python3 - "$W/$name/results/$name" "$name" "$(( $(date +%s) - t0 ))" "$(anchor "$name")" >> "$W/table.md" <<'PY'
import json, sys, tarfile
r, name, secs, anchor = sys.argv[1:]
m = json.load(open(f"{r}/test_metrics.json")); h = json.load(open(f"{r}/history.json"))
man = json.load(tarfile.open(f"{r}/model.tar.gz").extractfile("manifest.json"))
kinds = {i["iteration"]: i["steps"]["code"]["output"]["recipe"]["model"]["type"] for i in h["iterations"] if i["steps"].get("code", {}).get("output", {}).get("recipe")}
ens = man.get("ensemble") or {}
if ens.get("kept"):
    model = "ensemble of " + " + ".join(f"{kinds.get(x['iteration'], '?')} (it {x['iteration']}, {x['weight']:.2f})" for x in ens["members"])
else:
    model = f"{kinds.get(man['best_iteration'], man.get('model_kind'))} (it {man['best_iteration']})"
stop = (h.get("stop") or {}).get("reason", "")
th = man.get("threshold")
print(f"| {name} | {man.get('metric')} | {m['mcc']:.4f} | {m['auroc']:.4f} | {m['f1_macro']:.4f} | {anchor} | {len(h['iterations'])} ({stop}) | {model} | {'-' if th is None else f'{th:.3f}'} | {secs} s |")
PY
done
cp "$W/table.md" "$OUT"
cat "$OUT"
echo "quality: runs kept in $W" >&2
