"""Helpers shared by the benchmark scripts (run with Debian's /usr/bin/python3)."""
import shlex
import subprocess

import numpy as np

# A, C, G, T (either case) -> 0..3, anything else -1: for k-mer indices.
LUT = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(b"ACGT"):
    LUT[_c] = _i
    LUT[_c + 32] = _i   # lower case


def load_csv(path):
    """Sequences and integer labels of a `sequence,label` CSV."""
    seqs, labels = [], []
    with open(path) as fh:
        header = fh.readline().strip().split(",")
        si, li = header.index("sequence"), header.index("label")
        for line in fh:
            f = line.rstrip("\n").split(",")
            seqs.append(f[si])
            labels.append(int(f[li]))
    return seqs, np.array(labels, dtype=np.int32)


def pkg_libs():
    """Link flags for a driver built against build/libagentomics.a."""
    try:
        out = subprocess.run(
            ["pkg-config", "--libs", "htslib", "jansson", "libarchive", "libcurl", "zlib", "openblas"],
            check=True, capture_output=True, text=True).stdout
        return shlex.split(out)
    except (OSError, subprocess.CalledProcessError):
        return ["-lhts", "-ljansson", "-larchive", "-lcurl", "-lz", "-lopenblas"]
