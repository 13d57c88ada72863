#!/bin/sh
# Re-creates the small real fixtures in tests/data from the datasets in
# ../shared/data (see PROVENANCE.md). Developers run this by hand; tests
# only read its committed outputs. Deterministic: fixed row selections.
set -eu
S=${1:-../../../shared/data}
cd "$(dirname "$0")"
py=/usr/bin/python3
$py - "$S" <<'PY'
import csv, gzip, sys, random
S = sys.argv[1]
def sample_csv(src, dst, n, seed, opener=open):
    rows = list(csv.reader(open(src, newline='')))
    head, body = rows[0], rows[1:]
    random.Random(seed).shuffle(body)
    with opener(dst, 'wt', newline='') as f:
        w = csv.writer(f, lineterminator='\n'); w.writerow(head); w.writerows(body[:n])
sample_csv(f'{S}/gue_prom_300_tata/train.csv', 'gue_tata_train.csv', 400, 1)
sample_csv(f'{S}/gue_prom_300_tata/dev.csv', 'gue_tata_dev.csv', 100, 2)
sample_csv(f'{S}/gue_prom_300_tata/test.csv', 'gue_tata_test.csv', 100, 3)
# nontata: 190 random rows plus the rows that contain N symbols (one in the source)
rows = list(csv.reader(open(f'{S}/gb_human_nontata_promoters/human_nontata_promoters_test.csv', newline='')))
withn = [r for r in rows[1:] if 'N' in r[0]][:10]
rest = [r for r in rows[1:] if 'N' not in r[0]]; random.Random(4).shuffle(rest)
body = rest[:190] + withn; random.Random(4).shuffle(body)
with gzip.open('nontata_sample.csv.gz', 'wt', newline='') as f:
    w = csv.writer(f, lineterminator='\n'); w.writerow(rows[0]); w.writerows(body)
sample_csv(f'{S}/ecoli_promoter_regulondb_v9d3/v9d3.csv', 'ecoli_sample.csv', 200, 5)
# splice: keep the file's own odd header (62 names, 3 real columns)
lines = open(f'{S}/uci_splice_junction/splice.data.txt').read().splitlines()
body = lines[1:]; random.Random(6).shuffle(body)
open('splice_sample.csv', 'w').write('\n'.join([lines[0]] + body[:300]) + '\n')
def fasta(src):
    recs, h, s = [], None, []
    for l in open(src):
        l = l.rstrip('\n')
        if l.startswith('>'):
            if h: recs.append((h, s))
            h, s = l, []
        else: s.append(l)
    if h: recs.append((h, s))
    return recs
def sample_fasta(src, dst, per_class, seed, key=lambda h: h.split()[-1]):
    recs = fasta(src); random.Random(seed).shuffle(recs)
    seen, out = {}, []
    for h, s in recs:
        k = key(h)
        if seen.get(k, 0) < per_class: seen[k] = seen.get(k, 0) + 1; out.append((h, s))
    with open(dst, 'w') as f:
        for h, s in out: f.write(h + '\n' + '\n'.join(s) + '\n')
sample_fasta(f'{S}/nrc_rfam_ncrna_13class/dataset_Rfam_6320_13classes.fasta', 'nrc_train.fasta', 20, 7)
sample_fasta(f'{S}/nrc_rfam_ncrna_13class/dataset_Rfam_validated_2600_13classes.fasta', 'nrc_test.fasta', 6, 8)
for name, src in [('enhancer', 'original_enhancer_train.txt'), ('non_enhancer', 'original_non_enhancer_train.txt'),
                  ('enhancer_ind', 'original_enhancer_ind.txt'), ('non_enhancer_ind', 'original_non_enhancer_ind.txt')]:
    sample_fasta(f'{S}/ienhancer2l_layer1/{src}', f'ienhancer_{name}.fa', 60 if 'ind' not in name else 20, 9, key=lambda h: 'x')
PY
cp "$S/gb_human_nontata_promoters/dataset_description.md" nontata_description.md
P="$S/pysam_ex1_NA18507_reads"
cp "$P/ex1.bam" "$P/ex1.bam.bai" "$P/ex1.cram" "$P/ex1.cram.crai" "$P/ex1.fa" "$P/ex1.fa.fai" "$P/ex1.sam.gz" .
cut -f1,3 "$P/ex1_read_labels.tsv" | awk 'NR==1 || !seen[$0]++' > ex1_labels.tsv
# FASTQ with real reads and qualities (samtools fastq of the BAM), plain and BGZF
samtools fastq -n "$P/ex1.bam" 2>/dev/null > all.fq
{ head -n 1000 all.fq; tail -n 1000 all.fq; } > ex1_reads.fastq
rm -f all.fq
bgzip -c ex1_reads.fastq > ex1_reads.fastq.gz
