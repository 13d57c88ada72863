#!/bin/bash
# tests/cli/test_hardening.sh — the data path against hostile input and
# hostile surroundings (issue 13): outputs to devices, FIFOs and links,
# signals, model files that lie about their shapes, packages with
# unbounded directories, memory and line bounds, truncated BAM, invalid
# UTF-8 and the smaller refusals. Each case fails without its fix.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; T="$BIN/agentomics-train-run"; PR="$BIN/agentomics-predict"; E="$BIN/agentomics-evaluate"
"$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q || exit 1
A="$TMP/d/agent"
recipe_state "$A" "$TMP/lr" '{"seed": 3, "representation": {"type": "kmer", "k": [2, 3]}, "model": {"type": "logreg", "C": 1.0}}'
"$T" --state "$TMP/lr" --data "$A" --out "$TMP/run_lr" -q || exit 1
M="$TMP/run_lr/model"
tail -n +2 "$TMP/d/heldout/test.tsv" | awk -F'\t' '{print ">" $1 "\n" $2}' > "$TMP/test.fa"
"$PR" --model "$M" --input "$TMP/test.fa" --output "$TMP/pred.tsv" || exit 1
# pkg DIR OUT [EXTRA...]: a package of model directory DIR (manifest first,
# members hashed); EXTRA are python expressions adding hostile members
pkg() {
    /usr/bin/python3 - "$@" <<'EOF'
import hashlib, io, json, os, sys, tarfile
src, out, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
members = {}
for root, _, files in os.walk(src):
    for f in sorted(files):
        p = os.path.join(root, f)
        members["model/" + os.path.relpath(p, src)] = open(p, "rb").read()
man = {"format_version": 1, "model_entry": "model/", "files": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}}
dirs = []
for e in extra: exec(e)
with tarfile.open(out, "w:gz") as t:
    def add(name, data, kind=tarfile.REGTYPE):
        i = tarfile.TarInfo(name); i.type = kind; i.size = len(data) if kind == tarfile.REGTYPE else 0; i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    add("manifest.json", json.dumps(man).encode())
    for d in dirs: add(d, b"", tarfile.DIRTYPE)
    for k, v in sorted(members.items()): add(k, v)
EOF
}
pkg "$M" "$TMP/good.tar.gz" || exit 1
TD="$TMP/tmpdir"; mkdir -p "$TD"
check "a hand-made package predicts" env TMPDIR="$TD" "$PR" --model "$TMP/good.tar.gz" --input "$TMP/test.fa" --output "$TMP/pred_pkg.tsv"
cmp -s "$TMP/pred.tsv" "$TMP/pred_pkg.tsv" && ok "package and directory predict alike" || not_ok "package and directory predict alike"

# ---- outputs that are not regular files are written through ----------------------
mkfifo "$TMP/fifo"
cat "$TMP/fifo" > "$TMP/fifo.got" & reader=$!
check "evaluate --out FIFO" "$E" --predictions "$TMP/pred.tsv" --labels "$TMP/d/heldout/test.tsv" --out "$TMP/fifo"
wait "$reader"
[ -p "$TMP/fifo" ] && ok "the FIFO is still a FIFO" || not_ok "the FIFO is still a FIFO"
grep -q '"auroc"' "$TMP/fifo.got" && ok "the FIFO's reader got the metrics" || not_ok "the FIFO's reader got the metrics"
mkfifo "$TMP/fifo2"
cat "$TMP/fifo2" > "$TMP/fifo2.got" & reader=$!
check "predict --output FIFO" "$PR" --model "$M" --input "$TMP/test.fa" --output "$TMP/fifo2"
wait "$reader"
cmp -s "$TMP/fifo2.got" "$TMP/pred.tsv" && [ -p "$TMP/fifo2" ] && ok "the FIFO's reader got every prediction" || not_ok "the FIFO's reader got every prediction"
# a stand-in for /dev/null (never the real one): a character device node of our own
if mknod "$TMP/null" c 1 3 2>/dev/null; then
    check "evaluate --out CHARDEV" "$E" --predictions "$TMP/pred.tsv" --labels "$TMP/d/heldout/test.tsv" --out "$TMP/null"
    [ -c "$TMP/null" ] && ok "the character device is still a device" || not_ok "the character device is still a device"
    check "predict --output CHARDEV" "$PR" --model "$M" --input "$TMP/test.fa" --output "$TMP/null"
    [ -c "$TMP/null" ] && ok "the character device survives predict" || not_ok "the character device survives predict"
else
    ok "# SKIP character device: mknod needs root"; ok "# SKIP"; ok "# SKIP"; ok "# SKIP"
fi
ln -s /proc/self/fd/1 "$TMP/stdout_link"
"$PR" --model "$M" --input "$TMP/test.fa" --output "$TMP/stdout_link" 2>"$TMP/.err" | cat > "$TMP/link.got"
cmp -s "$TMP/link.got" "$TMP/pred.tsv" && [ -L "$TMP/stdout_link" ] && ok "a link to /proc/self/fd/1 (a pipe) is written through" || not_ok "a link to /proc/self/fd/1 (a pipe) is written through"
cp "$TMP/pred.tsv" "$TMP/target.tsv"; ln -s target.tsv "$TMP/file_link"
check "evaluate --out LINK-TO-FILE" "$E" --predictions "$TMP/pred.tsv" --labels "$TMP/d/heldout/test.tsv" --out "$TMP/file_link"
[ -L "$TMP/file_link" ] && grep -q auroc "$TMP/target.tsv" && ok "a link to a regular file stays a link; its target is replaced" || not_ok "a link to a regular file stays a link; its target is replaced"
ls "$TMP" | grep -q '\.tmp\.' && not_ok "no temporaries left beside the outputs" || ok "no temporaries left beside the outputs"
expect_exit 2 "prepare-data --out '' is a usage error" "$P" --train "$DATA/gue_tata_train.csv" --out ''
expect_exit 2 "predict --output '' is a usage error" "$PR" --model "$M" --input "$TMP/test.fa" --output ''
expect_exit 2 "evaluate --out '' is a usage error" "$E" --predictions "$TMP/pred.tsv" --labels "$TMP/d/heldout/test.tsv" --out ''
expect_exit 2 "two inputs from standard input are a usage error" "$P" --train - --test - --out "$TMP/two"
stderr_has "standard input" "the message names standard input"
expect_exit 65 "a failed run ..." "$P" --train "$TMP/test.fa" --out "$TMP/made/a/b/out"
[ ! -e "$TMP/made" ] && ok "... leaves no parent directories it created" || not_ok "... leaves no parent directories it created"

# ---- model files that lie about their shapes (65, never a crash) -----------------
# aom IN OUT PYTHON: rewrites a model.aom's sections (dict tag -> bytes in
# `sec`, META as `meta`, a dict) with the python statements, checksum renewed
aom() {
    /usr/bin/python3 - "$@" <<'EOF'
import hashlib, json, struct, sys
src, dst, code = sys.argv[1], sys.argv[2], sys.argv[3]
raw = open(src, "rb").read()[:-32]
ver, n = struct.unpack_from("<II", raw, 8); pos = 16; order = []; sec = {}
for _ in range(n):
    tag = raw[pos:pos + 4].decode(); ln, = struct.unpack_from("<Q", raw, pos + 4); sec[tag] = raw[pos + 12:pos + 12 + ln]; order.append(tag); pos += 12 + ln
meta = json.loads(sec["META"][4:])
def put(b, off, fmt, v): return b[:off] + struct.pack(fmt, v) + b[off + struct.calcsize(fmt):]
exec(code)
m = json.dumps(meta).encode(); sec["META"] = struct.pack("<I", len(m)) + m
out = raw[:8] + struct.pack("<II", ver, len(order)) + b"".join(t.encode() + struct.pack("<Q", len(sec[t])) + sec[t] for t in order)
open(dst, "wb").write(out + hashlib.sha256(out).digest())
EOF
}
recipe_state "$A" "$TMP/gb" '{"seed": 3, "representation": {"type": "kmer", "k": [2, 3]}, "model": {"type": "gbdt", "n_estimators": 5}}'
recipe_state "$A" "$TMP/cn" '{"seed": 3, "representation": {"type": "onehot"}, "model": {"type": "cnn", "epochs": 1, "blocks": [{"filters": 8, "width": 9, "pool": "max", "pool_size": 4}]}}'
"$T" --state "$TMP/gb" --data "$A" --out "$TMP/run_gb" -q && "$T" --state "$TMP/cn" --data "$A" --out "$TMP/run_cn" -q || exit 1
# bad_model NAME RUN PATTERN PYTHON: the edited model is refused with 65 naming PATTERN
bad_model() {
    mkdir -p "$TMP/bm/$1" && cp "$TMP/$2/model/recipe.json" "$TMP/bm/$1/" && aom "$TMP/$2/model/model.aom" "$TMP/bm/$1/model.aom" "$4" || { not_ok "$1: edit"; return; }
    expect_exit 65 "model file: $1 is refused" "$PR" --model "$TMP/bm/$1" --input "$TMP/test.fa" --output "$TMP/bm/$1.tsv"
    stderr_has "$3" "model file: $1: the message names it"
}
# (before: heap overflow writing K probabilities into a buffer sized for META's classes)
bad_model logreg-classes run_lr 'logreg learner has 2 classes, the model description names 3' 'meta["classes"].append("extra")'
bad_model gbdt-classes run_gb 'gbdt learner has 2 classes, the model description names 3' 'meta["classes"].append("extra")'
bad_model cnn-classes run_cn 'cnn learner has 2 classes, the model description names 3' 'meta["classes"].append("extra")'
# (before: gather read past the one-hot tensor: SIGSEGV, or exit 0 with garbage)
bad_model cnn-columns run_cn 'reads 4 channels x [0-9]+ positions, the one-hot representation of 2 sequence column' 'meta["sequence_columns"].append("other")'
bad_model cnn-length run_cn 'the one-hot representation of 1 sequence column\(s\) gives 4 x' 'meta["onehot"]["length"] -= 7'
# (before: the GBDT read features past the featurizer's row)
bad_model gbdt-features run_gb 'gbdt learner reads [0-9]+ features, the representation gives' 'sec["FEAT"] = put(sec["FEAT"], 16, "<i", 1)'
bad_model logreg-columns run_lr 'featurizer reads 1 sequence column' 'meta["sequence_columns"].append("other")'
# (before: a use after free in the error path; make test-asan runs this file)
bad_model cnn-param-count run_cn 'model has [0-9]+ parameters, architecture needs' 'sec["LRNR"] = put(sec["LRNR"], 60, "<Q", struct.unpack_from("<Q", sec["LRNR"], 60)[0] - 1)'
bad_model cnn-channels run_cn 'parameters, architecture needs' 'sec["LRNR"] = put(sec["LRNR"], 4, "<i", 8)'
bad_model cnn-huge-shape run_cn 'input shape .* too large' 'sec["LRNR"] = put(sec["LRNR"], 4, "<i", 2**31 - 1)'
bad_model cnn-nan-weight run_cn 'non-finite weight' 'sec["LRNR"] = put(sec["LRNR"], len(sec["LRNR"]) - 4, "<f", float("nan"))'
bad_model logreg-nan-weight run_lr 'non-finite weight' 'sec["LRNR"] = put(sec["LRNR"], len(sec["LRNR"]) - 16, "<d", float("nan"))'
bad_model scale-nan run_lr 'feature scale [0-9]+ is not a finite positive' 'sec["SCAL"] = put(sec["SCAL"], 8, "<f", float("nan"))'
bad_model classes-twice run_lr 'classes: a name given twice' 'meta["classes"][1] = meta["classes"][0]'
bad_model onehot-pad run_cn 'invalid one-hot description' 'meta["onehot"]["pad"] = 7'
bad_model gbdt-nan-base run_gb 'non-finite base score' 'sec["LRNR"] = put(sec["LRNR"], 48, "<d", float("nan"))'
# a decision threshold (README: Decision thresholds) that is not a finite number in (0, 1)
bad_model threshold-above-1 run_lr 'threshold must be a finite number in \(0, 1\)' 'meta["threshold"] = 1.5'
bad_model threshold-zero run_gb 'threshold must be a finite number in \(0, 1\)' 'meta["threshold"] = 0'
bad_model threshold-huge run_cn 'threshold must be a finite number in \(0, 1\)' 'meta["threshold"] = 1e308'
bad_model threshold-string run_lr 'threshold must be a finite number in \(0, 1\)' 'meta["threshold"] = "0.4"'
bad_model threshold-multiclass run_lr 'threshold must be a finite number in \(0, 1\) of a two-class model' 'meta["threshold"] = 0.4; meta["classes"].append("extra")'
mkdir -p "$TMP/bm/th-ok" && cp "$TMP/run_lr/model/recipe.json" "$TMP/bm/th-ok/" && aom "$TMP/run_lr/model/model.aom" "$TMP/bm/th-ok/model.aom" 'meta["threshold"] = 0.999'
check "a model with threshold 0.999 predicts" "$PR" --model "$TMP/bm/th-ok" --input "$TMP/test.fa" --output "$TMP/bm/th-ok.tsv"
[ "$(head -1 "$TMP/bm/th-ok.tsv" | cut -f5)" = threshold ] && ok "its predictions carry the threshold column" || not_ok "its predictions carry the threshold column"
# a prediction file whose threshold differs between rows
sed '$s/\t0\.999$/\t0.9995/' "$TMP/bm/th-ok.tsv" > "$TMP/bm/th-mixed.tsv"
expect_exit 65 "evaluate: thresholds that differ between rows are refused" "$E" --predictions "$TMP/bm/th-mixed.tsv" --labels "$TMP/d/heldout/test.tsv"
stderr_has 'th-mixed.tsv:[0-9]+: threshold 0.9995 differs from the first row' "evaluate names the line"
mkdir -p "$TMP/bm/pkg" && cp "$TMP/bm/logreg-classes/"* "$TMP/bm/pkg/" && pkg "$TMP/bm/pkg" "$TMP/bm/lying.tar.gz"
expect_exit 65 "a lying model inside a package that verifies is refused" "$PR" --model "$TMP/bm/lying.tar.gz" --input "$TMP/test.fa" --output "$TMP/bm/pkg.tsv"
stderr_has "has 2 classes, the model description names 3" "the package's model is checked like any model"

# ---- the data path: memory, bounds, truncation, encodings --------------------------
X="$TMP/x"; mkdir -p "$X"
# lim KB CMD...: CMD under an address-space limit (OpenBLAS's server thread
# cannot start under a small RLIMIT_AS, so one BLAS thread). AddressSanitizer
# reserves terabytes of shadow address space, so under make test-asan the
# limit is left off: the refusals are still checked, the OOM cases skipped.
ASAN=0; grep -qa __asan_init "$P" && ASAN=1
lim() { ( [ "$ASAN" = 1 ] || ulimit -v "$1"; shift; OPENBLAS_NUM_THREADS=1 exec timeout 120 "$@" ); }
oom_case() { if [ "$ASAN" = 1 ]; then ok "# SKIP $2 (no address-space limit under ASan)"; [ -n "$3" ] && ok "# SKIP $3"; return 1; fi; return 0; }
# a 100 Mbp record in 1,000 lines: more than 130 MB of address space allows
{ echo ">big label=a"; head -c 100000000 /dev/zero | tr '\0' 'A' | fold -w 100000; echo; echo ">s label=b"; echo ACGT; } > "$X/big.fa"
if oom_case x "a record larger than memory is exit 71" "the OOM message names FILE:LINE"; then
    expect_exit 71 "a record larger than memory is exit 71 (before: kept shorter, exit 0)" lim 130000 "$P" --train "$X/big.fa" --out "$X/big"
    stderr_has "big.fa:[0-9]+: out of memory" "the OOM message names FILE:LINE"
fi
[ ! -e "$X/big" ] && ok "no output after OOM" || not_ok "no output after OOM"
oom_case x "predict: the same record is exit 71" "" && expect_exit 71 "predict: the same record is exit 71" lim 130000 "$PR" --model "$M" --input "$X/big.fa" --output "$X/big.tsv"
check "with enough memory the record is read whole" "$P" --train "$X/big.fa" --out "$X/big2" -q
[ "$(awk -F'\t' 'NR==2 {print length($2)}' "$X/big2/agent/train.tsv")" = 100000000 ] && ok "all 100,000,000 bases kept" || not_ok "all 100,000,000 bases kept"
rm -rf "$X/big2" "$X/big.fa"
expect_exit 65 "/dev/zero: binary data within the first block (before: GBs of memory)" lim 100000 "$P" --train /dev/zero --out "$X/z"
stderr_has "/dev/zero:1: binary data" "binary data named"
expect_exit 65 "evaluate: /dev/zero is refused at its first block" lim 100000 "$E" --predictions /dev/zero --labels "$TMP/d/heldout/test.tsv"
expect_exit 65 "a side label table from /dev/zero is refused at its first block" lim 100000 "$P" --train "$DATA/gue_tata_train.csv" --labels /dev/zero --out "$X/z"
{ echo "id,sequence,label"; echo "a,ACGT,x"; head -c 50000000 /dev/zero | tr '\0' ','; echo; } > "$X/commas.csv"
expect_exit 65 "a 50 MB row of commas fails at its 4th field (before: 3.2 GB)" lim 200000 "$P" --train "$X/commas.csv" --out "$X/c"
stderr_has "commas.csv:3: ragged row: more than 3 fields" "the ragged row is named at once"
head -c 3000 /dev/zero | tr '\0' 'A' > "$X/long.fa.body"; { echo ">a label=x"; cat "$X/long.fa.body"; echo; echo ">b label=y"; echo ACGT; } > "$X/long.fa"
check "AGENTOMICS_MAX_LINE_MB=0 is ignored (the default applies)" env AGENTOMICS_MAX_LINE_MB=0 "$P" --train "$X/long.fa" --out "$X/l" -q
printf '>a label=x\nACGT\n' > "$X/ok.fa"; head -c 2000000 /dev/zero | tr '\0' 'C' >> "$X/ok.fa"; printf '\n>b label=y\nACGT\n' >> "$X/ok.fa"
expect_exit 65 "AGENTOMICS_MAX_LINE_MB=1: a 2 MB line is refused" env AGENTOMICS_MAX_LINE_MB=1 "$P" --train "$X/ok.fa" --out "$X/l2"
stderr_has "line longer than 1 MB \(set AGENTOMICS_MAX_LINE_MB" "the message names the limit and how to raise it"
printf 'id,sequence,label\ra,ACGT,x\rb,GGCC,y\r' > "$X/cr.csv"
expect_exit 65 "CR-only line ends are refused ..." "$P" --train "$X/cr.csv" --out "$X/cr"
stderr_has "CR-only" "... naming the real cause, not binary data"
printf '>a label=x\nACGT\nACGT\nACXT\n>b label=y\nACGT\n' > "$X/sym.fa"
expect_exit 65 "a FASTA symbol error ..." "$P" --train "$X/sym.fa" --out "$X/sym"
stderr_has "sym.fa:4: symbol 'X' at position 11 of the sequence \(column 3 of this line\)" "... names the line holding the symbol"
# BAM cut at a BGZF block boundary: all of its blocks but the last two (data and EOF)
/usr/bin/python3 -c "
import struct, sys
raw = open(sys.argv[1], 'rb').read(); pos = 0; ends = []
while pos < len(raw): pos += struct.unpack_from('<H', raw, pos + 16)[0] + 1; ends.append(pos)
open(sys.argv[2], 'wb').write(raw[:ends[-3]]); open(sys.argv[3], 'wb').write(raw[:ends[-3] + 100])" "$DATA/ex1.bam" "$X/cut.bam" "$X/cutmid.bam"
expect_exit 0 "a BAM cut at a block boundary is read ..." "$P" --train "$X/cut.bam" --labels "$DATA/ex1_labels.tsv" --label-col label_locus --out "$X/cut"
stderr_has "cut.bam: no end-of-file marker: the bam file may be truncated" "... with a warning naming the file"
expect_exit 65 "a BAM cut inside a block is an error" "$P" --train "$X/cutmid.bam" --labels "$DATA/ex1_labels.tsv" --label-col label_locus --out "$X/cut2"
printf 'id,sequence,label\na,ACGT,caf\xe9\nb,GGCC,the\n' > "$X/latin1.csv"
expect_exit 65 "a Latin-1 label is refused (before: dropped from dataset.json)" "$P" --train "$X/latin1.csv" --out "$X/l1"
stderr_has "latin1.csv:2: label 'caf\\\\xe9' is not valid UTF-8 \(byte 0xe9 at position 4\)" "the message names FILE:LINE and the byte (escaped)"
printf 'id,sequence,label\na,ACGT,caf\xc3\xa9\nb,GGCC,the\n' > "$X/utf8.csv"
check "the same label in UTF-8 is fine" "$P" --train "$X/utf8.csv" --out "$X/u8" -q
[ "$(J "$X/u8/agent/dataset.json" "len(d['classes'])")" = 2 ] && ok "both classes in dataset.json" || not_ok "both classes in dataset.json"
printf 'id,sequence,not\xe9,label\na,ACGT,1,x\nb,GGCC,2,y\n' > "$X/latin1col.csv"
expect_exit 65 "a Latin-1 name of a kept column is refused" "$P" --train "$X/latin1col.csv" --keep-col "$(printf 'not\xe9')" --out "$X/l2"
# BAM B-array aux tags become SAM text, not label 0
printf '@SQ\tSN:r\tLN:100\nq1\t4\t*\t0\t0\t*\t*\t0\t0\tACGTACGT\t*\tXB:B:c,1,2\nq2\t4\t*\t0\t0\t*\t*\t0\t0\tGGGGCCCC\t*\tXB:B:c,3,4\nq3\t4\t*\t0\t0\t*\t*\t0\t0\tTTTTAAAA\t*\tXB:B:f,0.5\n' > "$X/barr.sam"
samtools view -b -o "$X/barr.bam" "$X/barr.sam" 2>/dev/null
check "B-array tag labels" "$P" --train "$X/barr.bam" --label-tag XB --out "$X/barr" -q
[ "$(J "$X/barr/agent/dataset.json" "d['classes']")" = "['c,1,2', 'c,3,4', 'f,0.5']" ] && ok "B arrays are formatted as SAM text (three classes, not one '0')" || not_ok "B arrays are formatted as SAM text (got $(J "$X/barr/agent/dataset.json" "d['classes']"))"
expect_exit 65 "--label-from rg on a BAM without read groups" "$P" --train "$DATA/ex1.bam" --label-from rg --out "$X/rg"
stderr_has "no read groups" "says there are no read groups (before: missing label)"
samtools view -b -F 4 -o "$X/mapped.bam" "$DATA/ex1.bam"
check "--label-from ref labels reads by their reference" "$P" --train "$X/mapped.bam" --label-from ref --out "$X/ref" -q
[ "$(J "$X/ref/agent/dataset.json" "d['classes']")" = "['chr1', 'chr2']" ] && ok "classes are the references" || not_ok "classes are the references"
expect_exit 65 "--label-from ref with unmapped reads" "$P" --train "$DATA/ex1.bam" --label-from ref --out "$X/ref2"
stderr_has "unmapped.*samtools view -F 4" "unmapped reads are named, with the remedy"
expect_exit 65 "--keep-col sequence would write two 'sequence' columns" "$P" --train "$DATA/gue_tata_train.csv" --keep-col sequence --out "$X/kc"
stderr_has "would appear twice" "the duplicate column is named"
printf 'id,sequence,label\na,ACGT,"x\tz"\nb,GGCC,x z\nc,TTTT,y\n' > "$X/tabs.csv"
check "labels 'x<TAB>z' and 'x z' ..." "$P" --train "$X/tabs.csv" --out "$X/tabs"
stderr_has "also spelled with tabs or line breaks" "... merging is said"
seq 1 1001 | awk 'BEGIN {print "id,sequence,label"} {print "r" $1 ",ACGT,c" $1}' > "$X/many.csv"
expect_exit 65 "more than 1000 labels" "$P" --train "$X/many.csv" --out "$X/many"
stderr_has "many.csv:1002: more than 1000 distinct labels" "the message names FILE:LINE"

# ---- packages: directory entries and member names are bounded ---------------------
TD="$TMP/pkgtd"; mkdir -p "$TD"
pkg "$M" "$X/deep.tar.gz" 'dirs.append("/".join(["d"] * 3000) + "/")'
expect_exit 65 "a 3,000-level directory entry is refused" env TMPDIR="$TD" "$PR" --model "$X/deep.tar.gz" --input "$TMP/test.fa" --output "$X/p.tsv"
stderr_has "path longer than 1024 bytes" "the path bound is named"
pkg "$M" "$X/extra.tar.gz" 'dirs.append("extra/")'
expect_exit 65 "a directory entry no listed member needs is refused" env TMPDIR="$TD" "$PR" --model "$X/extra.tar.gz" --input "$TMP/test.fa" --output "$X/p.tsv"
stderr_has "a directory no listed member needs" "unlisted directories are named"
pkg "$M" "$X/wide.tar.gz" 'dirs.extend("x%d/" % i for i in range(50000))'
expect_exit 65 "50,000 unlisted directory entries are refused at the first (before: minutes)" timeout 20 env TMPDIR="$TD" "$PR" --model "$X/wide.tar.gz" --input "$TMP/test.fa" --output "$X/p.tsv"
pkg "$M" "$X/dirok.tar.gz" 'dirs.append("model/")'
check "the directory of a listed member may have its entry" env TMPDIR="$TD" "$PR" --model "$X/dirok.tar.gz" --input "$TMP/test.fa" --output "$X/p.tsv"
pkg "$M" "$X/long.tar.gz" 'members["model/" + "a" * 300] = b"x"; man["files"]["model/" + "a" * 300] = hashlib.sha256(b"x").hexdigest()'
expect_exit 65 "a member name longer than NAME_MAX is a data error (before: 74)" env TMPDIR="$TD" "$PR" --model "$X/long.tar.gz" --input "$TMP/test.fa" --output "$X/p.tsv"
stderr_has "longer than NAME_MAX" "the long component is named"
pkg "$M" "$X/deepfile.tar.gz" 'n = "model/" + "/".join(["d"] * 40) + "/f"; members[n] = b"x"; man["files"][n] = hashlib.sha256(b"x").hexdigest()'
expect_exit 65 "a listed member 41 levels deep is refused" env TMPDIR="$TD" "$PR" --model "$X/deepfile.tar.gz" --input "$TMP/test.fa" --output "$X/p.tsv"
stderr_has "more than 32 path components" "the depth bound is named"
[ -z "$(ls "$TD")" ] && ok "no extraction tree left in TMPDIR" || { not_ok "no extraction tree left in TMPDIR"; ls "$TD" | head -3 | sed 's/^/#   /'; }

# ---- training limits: memory estimated whole, time checked inside a batch ---------
recipe_state "$A" "$TMP/huge" '{"representation": {"type": "onehot"}, "model": {"type": "cnn", "blocks": [{"filters": 4096, "width": 1024}], "hidden": 65536}}'
expect_exit 65 "--mem-limit counts weights, optimizer state and activations (before: only the input)" timeout 60 "$T" --state "$TMP/huge" --data "$A" --out "$X/huge" --mem-limit 2000
stderr_has "\\\$\.model: the network's weights, optimizer state and activations needs about [0-9]+ MB, over 80% of the 2000 MB" "the estimate names what drives it"
recipe_state "$A" "$TMP/slowbatch" '{"representation": {"type": "onehot"}, "model": {"type": "cnn", "epochs": 3, "batch_size": 400, "blocks": [{"filters": 256, "width": 31}, {"filters": 256, "width": 31}]}}'
t0=$(date +%s)
check "a CNN whose one batch takes minutes ..." timeout 120 "$T" --state "$TMP/slowbatch" --data "$A" --out "$X/slowbatch" --time-limit 3
t1=$(date +%s)
[ $((t1 - t0)) -le 20 ] && ok "... stops within the time limit inside the batch ($((t1 - t0)) s for --time-limit 3)" || not_ok "... stops within the time limit inside the batch (took $((t1 - t0)) s)"
[ "$(J "$X/slowbatch/metrics.json" "d['status']")" = failed ] && grep -q "before the first epoch ended" "$X/slowbatch/metrics.json" && ok "no epoch finished: a failed run saying why" || not_ok "no epoch finished: a failed run saying why"

# ---- signals: SIGTERM, SIGINT, SIGHUP remove the temporaries ----------------------
# blocked SIG WATCHDIR CMD...: runs CMD with its input a FIFO held open
# without data (so it blocks), sends SIG once WATCHDIR holds its
# temporary, and returns CMD's exit status
blocked() {
    sig=$1; watch=$2; shift 2
    rm -f "$TMP/in.fifo"; mkfifo "$TMP/in.fifo"
    sleep 60 > "$TMP/in.fifo" & holder=$!
    "$@" & pid=$!
    for _ in $(seq 100); do [ -n "$(ls "$watch")" ] && break; sleep 0.1; done
    sleep 0.5
    kill -s "$sig" "$pid"; wait "$pid"; rc=$?
    kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
    return $rc
}
for sig in TERM INT HUP; do
    rm -rf "$TMP/sig"; mkdir -p "$TMP/sig/td"
    mkdir -p "$TMP/sig/p"
    # (bash starts background jobs with SIGINT ignored; env restores the default)
    blocked $sig "$TMP/sig/p" env --default-signal=$sig "$P" --train "$TMP/in.fifo" --out "$TMP/sig/p/prep" -q; rc=$?
    [ "$(kill -l $rc 2>/dev/null)" = "$sig" ] && ok "prepare-data dies of SIG$sig" || not_ok "prepare-data dies of SIG$sig (exit $rc)"
    [ -z "$(ls "$TMP/sig/p")" ] && ok "SIG$sig: no OUT.tmp.PID left by prepare-data" || { not_ok "SIG$sig: no OUT.tmp.PID left by prepare-data"; ls "$TMP/sig/p" | sed 's/^/#   /'; }
    blocked $sig "$TMP/sig/td" env --default-signal=$sig TMPDIR="$TMP/sig/td" "$PR" --model "$TMP/good.tar.gz" --input "$TMP/in.fifo" --output "$TMP/sig/pred.tsv" -q; rc=$?
    [ "$(kill -l $rc 2>/dev/null)" = "$sig" ] && ok "predict dies of SIG$sig" || not_ok "predict dies of SIG$sig (exit $rc)"
    [ -z "$(ls "$TMP/sig/td")" ] && ok "SIG$sig: no TMPDIR/agentomics-model.* left by predict" || { not_ok "SIG$sig: no TMPDIR/agentomics-model.* left by predict"; ls "$TMP/sig/td" | sed 's/^/#   /'; }
done
recipe_state "$A" "$TMP/slow" '{"representation": {"type": "onehot"}, "model": {"type": "cnn", "epochs": 100000, "patience": 0, "blocks": [{"filters": 32, "width": 15}]}}'
rm -rf "$TMP/sig"; mkdir -p "$TMP/sig"
"$T" --state "$TMP/slow" --data "$A" --out "$TMP/sig/run" -q & pid=$!
for _ in $(seq 100); do [ -e "$TMP/sig/run.tmp.$pid/train.log" ] && break; sleep 0.1; done
sleep 1; kill -TERM $pid; wait $pid; rc=$?
[ "$(kill -l $rc 2>/dev/null)" = TERM ] && ok "train-run dies of SIGTERM" || not_ok "train-run dies of SIGTERM (exit $rc)"
[ -z "$(ls "$TMP/sig")" ] && ok "SIGTERM: no RUN.tmp.PID left by train-run" || { not_ok "SIGTERM: no RUN.tmp.PID left by train-run"; ls "$TMP/sig" | sed 's/^/#   /'; }

done_testing
