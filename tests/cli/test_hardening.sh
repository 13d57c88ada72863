#!/bin/bash
# tests/cli/test_hardening.sh — the data path against hostile input and
# hostile surroundings (issue 13): outputs to devices, FIFOs and links,
# signals, model files that lie about their shapes, packages with
# unbounded directories, memory and line bounds, truncated BAM, invalid
# UTF-8 and the smaller refusals. Each case fails without its fix.
. "$(dirname "$0")/lib.sh"
P="$BIN/agentomics-prepare-data"; T="$BIN/agentomics-train-run"; PR="$BIN/agentomics-predict"; E="$BIN/agentomics-evaluate"
J() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
"$P" --train "$DATA/gue_tata_train.csv" --valid "$DATA/gue_tata_dev.csv" --test "$DATA/gue_tata_test.csv" --out "$TMP/d" -q || exit 1
A="$TMP/d/agent"
state() {   # state DIR RECIPE_JSON: a run's first iteration (plan) with a hand-written recipe
    "$BIN/agentomics-agent-step" --step plan --data "$A" --out "$1" -q && mkdir -p "$1/workspace" && printf '%s\n' "$2" > "$1/workspace/recipe.json"
}
state "$TMP/lr" '{"seed": 3, "representation": {"type": "kmer", "k": [2, 3]}, "model": {"type": "logreg", "C": 1.0}}'
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
state "$TMP/gb" '{"seed": 3, "representation": {"type": "kmer", "k": [2, 3]}, "model": {"type": "gbdt", "n_estimators": 5}}'
state "$TMP/cn" '{"seed": 3, "representation": {"type": "onehot"}, "model": {"type": "cnn", "epochs": 1, "blocks": [{"filters": 8, "width": 9, "pool": "max", "pool_size": 4}]}}'
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
mkdir -p "$TMP/bm/pkg" && cp "$TMP/bm/logreg-classes/"* "$TMP/bm/pkg/" && pkg "$TMP/bm/pkg" "$TMP/bm/lying.tar.gz"
expect_exit 65 "a lying model inside a package that verifies is refused" "$PR" --model "$TMP/bm/lying.tar.gz" --input "$TMP/test.fa" --output "$TMP/bm/pkg.tsv"
stderr_has "has 2 classes, the model description names 3" "the package's model is checked like any model"

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
state "$TMP/slow" '{"representation": {"type": "onehot"}, "model": {"type": "cnn", "epochs": 100000, "patience": 0, "blocks": [{"filters": 32, "width": 15}]}}'
rm -rf "$TMP/sig"; mkdir -p "$TMP/sig"
"$T" --state "$TMP/slow" --data "$A" --out "$TMP/sig/run" -q & pid=$!
for _ in $(seq 100); do [ -e "$TMP/sig/run.tmp.$pid/train.log" ] && break; sleep 0.1; done
sleep 1; kill -TERM $pid; wait $pid; rc=$?
[ "$(kill -l $rc 2>/dev/null)" = TERM ] && ok "train-run dies of SIGTERM" || not_ok "train-run dies of SIGTERM (exit $rc)"
[ -z "$(ls "$TMP/sig")" ] && ok "SIGTERM: no RUN.tmp.PID left by train-run" || { not_ok "SIGTERM: no RUN.tmp.PID left by train-run"; ls "$TMP/sig" | sed 's/^/#   /'; }

done_testing
