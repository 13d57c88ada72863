#!/usr/bin/env python3
"""check_leakage.py RESULTS_DIR [PATH...]

Leakage check by content: no file staged for the agent (agentomics-agent-step,
-train-run, -reflect) contains a held-out test sequence or a sequence of the
selection slice. Reads the test sequences from RESULTS_DIR/data/heldout/test.tsv
and the slice's from RESULTS_DIR/data/selection/selection.tsv when there is one
(every sequence column) and
searches every file under RESULTS_DIR/data/agent and RESULTS_DIR/lineage*/
(states, workspaces, runs, models; gzip members decompressed), or under the
PATHs given. Test sequences that also occur verbatim in the agent's own
training or validation data (an overlap in the user's inputs, which
prepare-data reports) are left out and counted; sequences under 20 symbols
are left out as too short to be evidence. Exit 0 clean, 1 leak found, 2 usage.
"""
import csv
import glob
import gzip
import os
import sys

MIN_LEN = 20


def sequences(tsv):
    """Every value of the sequence columns of a normalised TSV."""
    out = set()
    with open(tsv, newline="") as fp:
        rows = csv.reader(fp, delimiter="\t")
        header = next(rows, [])
        cols = [i for i, name in enumerate(header) if name not in ("id", "label")]
        # normalised TSVs: id, sequence column(s), optional extra columns, label;
        # extra columns are kept only when they look like sequences
        for row in rows:
            for i in cols:
                if i < len(row) and row[i] and set(row[i].upper()) <= set("ACGTUNRYKMSWBDHV"):
                    out.add(row[i].upper())
    return out


def read(path):
    with open(path, "rb") as fp:
        data = fp.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data += b"\n" + gzip.decompress(data)
        except (OSError, EOFError):
            pass
    return data.upper()


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = argv[1]
    test = sequences(os.path.join(results, "data", "heldout", "test.tsv"))
    sel_tsv = os.path.join(results, "data", "selection", "selection.tsv")
    n_sel = 0
    if os.path.exists(sel_tsv):
        sel = sequences(sel_tsv)
        n_sel = len(sel - test)
        test |= sel
    own = set()
    for split in ("train.tsv", "valid.tsv"):
        p = os.path.join(results, "data", "agent", split)
        if os.path.exists(p):
            own |= sequences(p)
    overlap = test & own
    needles = sorted(s.encode() for s in test - overlap if len(s) >= MIN_LEN)
    roots = argv[2:] or [os.path.join(results, "data", "agent")] + sorted(glob.glob(os.path.join(results, "lineage*")))
    files = []
    for root in roots:
        if os.path.isfile(root):
            files.append(root)
        for d, _, names in os.walk(root):
            files += [os.path.join(d, n) for n in sorted(names)]
    leaks = []
    for f in files:
        if os.path.islink(f) or not os.path.isfile(f):
            continue
        data = read(f)
        hits = [n for n in needles if n in data]
        if hits:
            leaks.append((f, len(hits)))
    print(f"# {len(needles)} held-out test and selection-slice ({n_sel}) sequences searched in {len(files)} files"
          f" ({len(overlap)} also in the agent's own data, left out)")
    for f, n in leaks:
        print(f"LEAK: {f}: {n} held-out test or selection-slice sequence(s)")
    if not needles:
        print("no held-out test sequence to search for", file=sys.stderr)
        return 1
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
