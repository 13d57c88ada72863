#!/bin/bash
# agentomics-prepare-data on real slices of every input shape, plus a
# corpus of malformed inputs (each: exit 65, FILE:LINE message, no output).
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"

# ---- standard behaviour ---------------------------------------------------
expect_exit 0 "--help exits 0" "$P" --help
grep -q -- "--train" "$TMP/.out" && ok "--help goes to stdout" || not_ok "--help goes to stdout"
expect_exit 0 "--version exits 0" "$P" --version
head -1 "$TMP/.out" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' && ok "--version: a bare version on line 1" || not_ok "--version: a bare version on line 1"
expect_exit 2 "no arguments is a usage error" "$P"
stderr_has "Try .*--help" "usage error points to --help"
expect_exit 2 "unknown option is a usage error" "$P" --bogus
expect_exit 2 "bad --threads is a usage error" "$P" --train x --out y --threads zero

# ---- real inputs --------------------------------------------------------------
O=$TMP/gue
check "GUE TATA CSV train/dev/test" "$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$O"
for f in agent/train.tsv agent/valid.tsv agent/dataset.json heldout/test.tsv heldout/test.json; do
    [ -s "$O/$f" ] && ok "writes $f" || not_ok "writes $f"
done
[ "$(head -1 "$O/agent/train.tsv")" = "$(printf 'id\tsequence\tlabel')" ] && ok "normalised header" || not_ok "normalised header"
[ "$(J "$O/agent/dataset.json" "d['splits']['train']['n_records']")" = 400 ] && ok "train record count" || not_ok "train record count"
[ "$(J "$O/agent/dataset.json" "d['task'], d['classes'], d['positive_class']")" = "('binary', ['0', '1'], '1')" ] && ok "binary task, classes, positive" || not_ok "binary task, classes, positive"
[ "$(J "$O/agent/dataset.json" "sorted(d['splits']['test'].keys())")" = "['n_records']" ] && ok "agent sees only the size of the test split" || not_ok "agent sees only the size of the test split"
! ls "$O/agent" | grep -q test && ok "no test file under agent/" || not_ok "no test file under agent/"
[ "$(J "$O/agent/dataset.json" "d['splits']['train']['columns']['sequence']['length']['median']")" = 300.0 ] && ok "length median" || not_ok "length median"
# Statistics against an independent computation
exp=$(/usr/bin/python3 -c "
import csv; r=list(csv.DictReader(open('$DATA/gue_tata_train.csv')))
seqs=[x['sequence'].upper() for x in r]; print(len(seqs)-len(set(seqs)))")
[ "$(J "$O/agent/dataset.json" "d['exact_duplicates']['train']['duplicate_records']")" = "$exp" ] && ok "duplicate count matches python ($exp)" || not_ok "duplicate count matches python ($exp)"
exp=$(/usr/bin/python3 -c "
import csv; r=list(csv.DictReader(open('$DATA/gue_tata_train.csv')))
s=''.join(x['sequence'].upper() for x in r if x['label']=='1'); print(round((s.count('G')+s.count('C'))/len(s),9))")
[ "$(J "$O/agent/dataset.json" "round(d['splits']['train']['columns']['sequence']['gc_fraction_by_class']['1'],9)")" = "$exp" ] && ok "GC fraction of class 1 matches python" || not_ok "GC fraction of class 1 matches python"
cp -r "$O" "$TMP/gue_copy"
check "same inputs give identical outputs" "$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/gue2"
diff -r "$O" "$TMP/gue2" >/dev/null && ok "deterministic output" || not_ok "deterministic output"
expect_exit 2 "existing output directory is refused" "$P" --train "$DATA/gue_tata_train.csv" --out "$O"
check "--force replaces it" "$P" --train "$DATA/gue_tata_train.csv" --out "$O" --force
[ ! -e "$O/heldout" ] && ok "--force replaced the whole directory" || not_ok "--force replaced the whole directory"

O=$TMP/nontata
check "gzip CSV with 'class' and N, description, from stdin" sh -c "zcat '$DATA/nontata_sample.csv.gz' | '$P' --train - --out '$O' --description '$DATA/nontata_description.md'"
cmp -s "$O/agent/description.md" "$DATA/nontata_description.md" && ok "description.md copied" || not_ok "description.md copied"
[ "$(J "$O/agent/dataset.json" "'N' in d['splits']['train']['columns']['sequence']['alphabet']")" = True ] && ok "N symbols kept and counted" || not_ok "N symbols kept and counted"
check "gzip CSV read directly" "$P" --train "$DATA/nontata_sample.csv.gz" --out "$TMP/nontata2"
cmp -s "$O/agent/train.tsv" "$TMP/nontata2/agent/train.tsv" && ok "stdin and file give the same rows" || not_ok "stdin and file give the same rows"

O=$TMP/splice
check "CSV with extra columns, ambiguity codes, wide header" "$P" --train "$DATA/splice_sample.csv" --id-col instance --keep-col instance --out "$O"
stderr_has "header names 62 columns but data rows have 3" "wide header is reported"
[ "$(head -1 "$O/agent/train.tsv")" = "$(printf 'id\tsequence\tinstance\tlabel')" ] && ok "kept column in output" || not_ok "kept column in output"
[ "$(J "$O/agent/dataset.json" "d['task'], len(d['classes'])")" = "('multiclass', 3)" ] && ok "3-class task" || not_ok "3-class task"

O=$TMP/ecoli
check "mixed-case CSV, 'labels' column" "$P" --train "$DATA/ecoli_sample.csv" --out "$O"
! tail -n +2 "$O/agent/train.tsv" | cut -f2 | grep -q '[a-z]' && ok "sequences upper-cased" || not_ok "sequences upper-cased"

O=$TMP/nrc
check "FASTA with label as header token" "$P" --train "$DATA/nrc_train.fasta" --test "$DATA/nrc_test.fasta" --label-from token:2 --out "$O"
[ "$(J "$O/agent/dataset.json" "len(d['classes'])")" = 13 ] && ok "13 ncRNA classes" || not_ok "13 ncRNA classes"
check "token counted from the end" "$P" --train "$DATA/nrc_train.fasta" --label-from token:-1 --out "$TMP/nrc2"
cmp -s "$O/agent/train.tsv" "$TMP/nrc2/agent/train.tsv" && ok "token:2 == token:-1 here" || not_ok "token:2 == token:-1 here"

O=$TMP/enh
check "one FASTA per class" "$P" --class enhancer="$DATA/ienhancer_enhancer.fa" --class non_enhancer="$DATA/ienhancer_non_enhancer.fa" \
    --test-class enhancer="$DATA/ienhancer_enhancer_ind.fa" --test-class non_enhancer="$DATA/ienhancer_non_enhancer_ind.fa" --out "$O"
[ "$(J "$O/agent/dataset.json" "d['positive_class']")" = enhancer ] && ok "non_* class is the negative one" || not_ok "non_* class is the negative one"
[ "$(J "$O/heldout/test.json" "d['class_counts']")" = "{'non_enhancer': 20, 'enhancer': 20}" ] && ok "test class counts in heldout/test.json" || not_ok "test class counts in heldout/test.json"
check "--positive overrides" "$P" --class a="$DATA/ienhancer_enhancer.fa" --class b="$DATA/ienhancer_non_enhancer.fa" --positive a --out "$TMP/enh2"
[ "$(J "$TMP/enh2/agent/dataset.json" "d['classes']")" = "['b', 'a']" ] && ok "positive class is index 1" || not_ok "positive class is index 1"

# --selection-fraction 0: every record stays in train.tsv, so the formats compare record for record
for src in ex1.bam ex1.sam.gz; do
    check "$src with a side label table" "$P" --train "$DATA/$src" --labels "$DATA/ex1_labels.tsv" --label-col label_locus --selection-fraction 0 --out "$TMP/$src"
done
check "CRAM with --reference" "$P" --train "$DATA/ex1.cram" --reference "$DATA/ex1.fa" --labels "$DATA/ex1_labels.tsv" --label-col label_locus --selection-fraction 0 --out "$TMP/cram"
cmp -s <(sort "$TMP/ex1.bam/agent/train.tsv") <(sort "$TMP/cram/agent/train.tsv") && ok "CRAM == BAM records" || not_ok "CRAM == BAM records"
cmp -s <(sort "$TMP/ex1.bam/agent/train.tsv") <(sort "$TMP/ex1.sam.gz/agent/train.tsv") && ok "header-less SAM == BAM records" || not_ok "header-less SAM == BAM records"
n=$(samtools fasta "$DATA/ex1.bam" 2>/dev/null | grep -c '^>')
[ "$(tail -n +2 "$TMP/ex1.bam/agent/train.tsv" | wc -l)" = "$n" ] && ok "BAM record count equals samtools fasta ($n)" || not_ok "BAM record count equals samtools fasta ($n)"
cmp -s <(samtools fasta "$DATA/ex1.bam" 2>/dev/null | paste - - | sed 's/^>//' | sort) <(tail -n +2 "$TMP/ex1.bam/agent/train.tsv" | cut -f1,2 | sort) \
    && ok "BAM ids and sequences equal samtools fasta" || not_ok "BAM ids and sequences equal samtools fasta"
for src in ex1_reads.fastq ex1_reads.fastq.gz; do
    check "FASTQ ($src) with side labels" "$P" --train "$DATA/$src" --labels "$DATA/ex1_labels.tsv" --label-col label_locus --out "$TMP/$src"
done
cmp -s "$TMP/ex1_reads.fastq/agent/train.tsv" "$TMP/ex1_reads.fastq.gz/agent/train.tsv" && ok "BGZF FASTQ == plain FASTQ" || not_ok "BGZF FASTQ == plain FASTQ"
[ "$(J "$TMP/ex1_reads.fastq/agent/dataset.json" "d['splits']['train']['ids_renamed']")" = 0 ] && not_ok "mates with one name are made unique" || ok "mates with one name are made unique"
printf 'id,sequence,label\nr1,ACGU,a\nr2,UUGG,b\n' > "$TMP/rna.csv"
check "--u-to-t" "$P" --train "$TMP/rna.csv" --u-to-t --out "$TMP/rna"
[ "$(cut -f2 "$TMP/rna/agent/train.tsv" | tr '\n' ' ')" = "sequence ACGT TTGG " ] && ok "U converted to T" || not_ok "U converted to T"
check "without --u-to-t U is kept" "$P" --train "$TMP/rna.csv" --out "$TMP/rna2"
grep -q ACGU "$TMP/rna2/agent/train.tsv" && ok "U kept" || not_ok "U kept"
printf 'mirna,target,label,score\nUGAGGUAGUAGGUUGUAUAGUU,AAACTATACAACCTACTACCTCAA,1,0.5\nUAGCUUAUCAGACUGAUGUUGA,GGGGGGCCCCCCAAAATTTTGGGG,0,0.1\n' > "$TMP/pair.csv"
check "two sequence columns and a kept feature" "$P" --train "$TMP/pair.csv" --seq-col mirna --seq-col target --keep-col score --out "$TMP/pair"
[ "$(head -1 "$TMP/pair/agent/train.tsv")" = "$(printf 'id\tmirna\ttarget\tscore\tlabel')" ] && ok "pair header" || not_ok "pair header"
printf '"id","sequence","note","label"\r\n"a ""quoted"" id","ACGT","x, y","x"\r\n"b","ACGG","two\r\nlines","y"\r\n' > "$TMP/quoted.csv"
check "RFC 4180 quoting and CRLF" "$P" --train "$TMP/quoted.csv" --keep-col note --out "$TMP/quoted" -q
[ "$(sed -n 2p "$TMP/quoted/agent/train.tsv")" = "$(printf 'a "quoted" id\tACGT\tx, y\tx')" ] && ok "quoted field unescaped" || not_ok "quoted field unescaped"
[ "$(sed -n 3p "$TMP/quoted/agent/train.tsv")" = "$(printf 'b\tACGG\ttwo lines\ty')" ] && ok "quoted newline becomes a space in TSV" || not_ok "quoted newline becomes a space in TSV"

# ---- malformed inputs -------------------------------------------------------
B=$TMP/bad
mkdir -p "$B"
: > "$B/empty.fa"
printf 'sequence,label\n' > "$B/header_only.csv"
printf '>a label=x\n>b label=y\nACGT\n' > "$B/no_seq.fa"
printf '>a label=x\nACGT\n>b label=y\nACGZT\n' > "$B/bad_symbol.fa"
printf 'sequence,label\nACGT,0\nACG*T,1\n' > "$B/bad_symbol.csv"
printf 'sequence,label\nACGT,0\nACGA,0\n' > "$B/single_class.csv"
printf 'sequence,label\nACGT,0\nACGA,1,extra\n' > "$B/ragged.csv"
printf 'sequence,label\nACGT,0\nACGA,\nACGG,1\n' > "$B/missing_label.csv"
printf '@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIII\n' > "$B/qual_mismatch.fq"
printf '@r1\nACGT\n+\nIIII\n@r2\nACGT\n' > "$B/no_plus.fq"
printf 'sequence,label\nACGT,0\n"ACGA,1\n' > "$B/unterminated.csv"
printf 'sequence,label\nACGT,0\nAC"GA,1\n' > "$B/stray_quote.csv"
printf '>a\nACGT\n>b\nACGA\n' > "$B/no_label.fa"
printf '>a x\nACGT\n' > "$B/few_tokens.fa"
printf '@HD\tVN:1.6\nr1\t0\tchr1\t1\n' > "$B/short.sam"
printf 'sequence,label\nACGT,0\nACGA,1\n\000\001\002,1\n' > "$B/nul.csv"
printf ',label\nACGT,0\n' > "$B/noname.csv"
printf 'name,label\nfoo,0\nbar,1\n' > "$B/no_seq_col.csv"
head -c 3000 "$DATA/nontata_sample.csv.gz" > "$B/truncated.csv.gz"
head -c 4000 "$DATA/ex1_reads.fastq.gz" > "$B/truncated.fq.gz"
head -c 50000 "$DATA/ex1.bam" > "$B/truncated.bam"
head -c 4096 /dev/urandom > "$B/garbage.bin" 2>/dev/null || dd if=/dev/zero of="$B/garbage.bin" bs=1024 count=4 2>/dev/null
printf 'sequence,label\nACGT,a\nACGA,b\n' > "$B/train_ab.csv"
printf 'sequence,label\nACGT,c\n' > "$B/test_c.csv"
printf 'id\tlabel\nr1\ta\nr1\tb\n' > "$B/conflict_labels.tsv"
printf 'id,sequence\nr1,ACGT\n' > "$B/r1.csv"

# bad FILE LINE DESC ARGS... : exit 65, "FILE:LINE:" (LINE may be "" for whole-file faults), no output left
bad() {
    f=$1; line=$2; d=$3; shift 3
    rm -rf "$TMP/badout"
    expect_exit 65 "$d" "$P" "$@" --out "$TMP/badout"
    if [ -n "$line" ]; then stderr_has "$(basename "$f"):$line: " "$d: message names $(basename "$f"):$line"
    else stderr_has "$(basename "$f")(:[0-9]+)?: " "$d: message names $(basename "$f")"; fi
    if ls -d "$TMP"/badout* >/dev/null 2>&1; then not_ok "$d: no output left"; else ok "$d: no output left"; fi
}
bad "$B/empty.fa" "" "empty file" --train "$B/empty.fa"
bad "$B/header_only.csv" 1 "header without rows" --train "$B/header_only.csv"
bad "$B/no_seq.fa" 1 "record without sequence" --train "$B/no_seq.fa"
bad "$B/bad_symbol.fa" 4 "non-IUPAC symbol in FASTA (the line that holds it)" --train "$B/bad_symbol.fa"
bad "$B/bad_symbol.csv" 3 "non-IUPAC symbol in CSV" --train "$B/bad_symbol.csv"
bad "$B/single_class.csv" "" "single class" --train "$B/single_class.csv"
bad "$B/ragged.csv" 3 "ragged CSV row" --train "$B/ragged.csv"
bad "$B/single_class.csv" 1 "missing label column" --train "$B/single_class.csv" --label-col target
bad "$B/missing_label.csv" 3 "missing label value" --train "$B/missing_label.csv"
bad "$B/qual_mismatch.fq" 5 "FASTQ quality length mismatch" --class a="$B/qual_mismatch.fq" --class b="$B/qual_mismatch.fq"
bad "$B/no_plus.fq" 5 "truncated FASTQ record" --class a="$B/no_plus.fq" --class b="$B/no_plus.fq"
bad "$B/unterminated.csv" 3 "unterminated quote" --train "$B/unterminated.csv"
bad "$B/stray_quote.csv" 3 "stray quote" --train "$B/stray_quote.csv"
bad "$B/no_label.fa" 1 "FASTA record without label" --train "$B/no_label.fa"
bad "$B/few_tokens.fa" 1 "label token out of range" --train "$B/few_tokens.fa" --label-from token:4
bad "$B/short.sam" 2 "SAM line with too few fields" --train "$B/short.sam" --label-tag XX
bad "$B/nul.csv" 4 "NUL bytes in a text file" --train "$B/nul.csv"
bad "$B/noname.csv" 1 "header column without a name" --train "$B/noname.csv"
bad "$B/no_seq_col.csv" 2 "no sequence column" --train "$B/no_seq_col.csv"
bad "$B/truncated.csv.gz" "" "truncated gzip" --train "$B/truncated.csv.gz"
bad "$B/truncated.fq.gz" "" "truncated BGZF" --train "$B/truncated.fq.gz" --labels "$DATA/ex1_labels.tsv"
bad "$B/truncated.bam" "" "truncated BAM" --train "$B/truncated.bam" --labels "$DATA/ex1_labels.tsv"
bad "$B/garbage.bin" "" "binary garbage" --train "$B/garbage.bin"
bad "$B/test_c.csv" 2 "test label unseen in train" --train "$B/train_ab.csv" --test "$B/test_c.csv"
bad "$B/train_ab.csv" 3 "label outside --classes" --train "$B/train_ab.csv" --classes a,c
bad "$B/conflict_labels.tsv" 3 "side table with two labels for one id" --train "$B/r1.csv" --labels "$B/conflict_labels.tsv"
bad "$B/r1.csv" 2 "record missing from the side table" --train "$B/r1.csv" --labels "$DATA/ex1_labels.tsv"
bad "$DATA/gue_tata_test.csv" "" "--strict leakage" --train "$DATA/gue_tata_train.csv" --test "$DATA/gue_tata_test.csv" --test "$DATA/gue_tata_train.csv" --strict
expect_exit 74 "unreadable input is an I/O error" "$P" --train "$B/does_not_exist.csv" --out "$TMP/x"
done_testing
