#!/usr/bin/python3
"""JSON Schema validation: ao_jsonschema_validate vs Python's jsonschema (Draft202012Validator).

Instances: 20,000 recipe.json documents generated here from the shapes
schemas/recipe.schema.json allows (every representation and model
family, random subsets of their fields with in-range values), about half
of them then broken by one mutation each (a missing required member, an
unknown member, a value out of range, a wrong type, an enum or const
miss, a pattern miss, duplicate items, too few items, a non-integral
integer, an unknown model type); and a large explore step output
(schemas/explore.schema.json: a profile with 100,000 classes and 100,000
length records, about 12 MB of JSON) once valid and once with its last
length record broken. All instances are written as JSON lines and parsed
by each side before timing (parsing is not timed).

Ours: ao_jsonschema_validate(schema, instance, "schemas", ...) per
instance (tests/bench/jsonschema_bench.c). Peer: jsonschema's
Draft202012Validator built once with a RefResolver over schemas/ (as
tests/cli/test_agent_loop.sh does), is_valid() per instance. The verdicts
must agree instance by instance (else the benchmark fails).

Prints markdown table rows:
| instances | peer | peer instances/s | agentomics instances/s | speed-up |

Run from the repository root after `make` (it needs build/libagentomics.a):
    /usr/bin/python3 tests/bench/jsonschema_bench.py [--recipes 20000] [--repeats 3]
"""
import argparse
import json
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import pkg_libs  # noqa: E402


def maybe(rng, d, key, value, p=0.5):
    if rng.random() < p:
        d[key] = value


def gen_recipe(rng):
    """A recipe valid against schemas/recipe.schema.json."""
    r = {}
    maybe(rng, r, "format_version", 1)
    maybe(rng, r, "name", f"recipe-{rng.randrange(10**6)}")
    maybe(rng, r, "notes", "generated for the benchmark", 0.3)
    maybe(rng, r, "seed", rng.randrange(0, 2**31))
    maybe(rng, r, "early_stopping", rng.choice(["valid", "none"]))
    if rng.random() < 0.5:
        rep = {"type": "kmer"}
        if rng.random() < 0.5:
            rep["k"] = rng.randint(1, 8)
        else:
            rep["k"] = rng.sample(range(1, 9), rng.randint(1, 4))
        for f in ("canonical", "frequencies", "global", "pair"):
            maybe(rng, rep, f, rng.random() < 0.5, 0.3)
        maybe(rng, rep, "gapped", [rng.choice(["1", "11", "101", "1101", "11011"]) for _ in range(rng.randint(0, 4))], 0.3)
    else:
        rep = {"type": "onehot"}
        maybe(rng, rep, "length", rng.choice([rng.randint(1, 100000), "auto"]))
        maybe(rng, rep, "pad", rng.choice(["left", "right", "centre", "center"]))
        maybe(rng, rep, "ambiguity", rng.choice(["zero", "fractional"]))
    r["representation"] = rep
    kind = rng.choice(["logreg", "gbdt", "cnn"])
    m = {"type": kind}
    cw = ("class_weight", lambda: rng.choice(["none", "balanced"]))
    if kind == "logreg":
        fields = [("C", lambda: 10 ** rng.uniform(-4, 4)), ("max_iter", lambda: rng.randint(1, 5000)),
                  ("tol", lambda: 10 ** rng.uniform(-8, -1)), cw]
    elif kind == "gbdt":
        fields = [("n_estimators", lambda: rng.randint(1, 2000)), ("learning_rate", lambda: rng.uniform(0.01, 1)),
                  ("max_depth", lambda: rng.randint(0, 12)), ("max_leaves", lambda: rng.randint(0, 255)),
                  ("lambda", lambda: rng.uniform(0, 10)), ("min_split_gain", lambda: rng.uniform(0, 1)),
                  ("min_child_weight", lambda: rng.uniform(0, 5)), ("min_samples_leaf", lambda: rng.randint(1, 50)),
                  ("max_bins", lambda: rng.randint(2, 255)), ("subsample", lambda: rng.uniform(0.1, 1)),
                  ("colsample", lambda: rng.uniform(0.1, 1)), ("early_stopping_rounds", lambda: rng.randint(0, 50)), cw]
    else:
        def block():
            b = {}
            maybe(rng, b, "filters", rng.choice([16, 32, 64, 128]))
            maybe(rng, b, "width", rng.randint(1, 21))
            maybe(rng, b, "dilation", rng.randint(1, 4))
            maybe(rng, b, "pool", rng.choice(["none", "max", "avg"]))
            maybe(rng, b, "pool_size", rng.randint(1, 8))
            return b
        fields = [("blocks", lambda: [block() for _ in range(rng.randint(1, 4))]),
                  ("global_pool", lambda: rng.choice(["max", "avg", "maxavg", "flatten"])),
                  ("dropout", lambda: rng.uniform(0, 0.9)), ("hidden", lambda: rng.choice([0, 32, 64, 128])),
                  ("hidden_dropout", lambda: rng.uniform(0, 0.9)), ("epochs", lambda: rng.randint(1, 100)),
                  ("batch_size", lambda: rng.choice([16, 32, 64, 128])), ("learning_rate", lambda: 10 ** rng.uniform(-5, -1)),
                  ("weight_decay", lambda: 10 ** rng.uniform(-6, -1)), ("decoupled_weight_decay", lambda: rng.random() < 0.5),
                  ("patience", lambda: rng.randint(0, 20)), ("lr_patience", lambda: rng.randint(0, 10)),
                  ("lr_factor", lambda: rng.uniform(0.1, 1)), ("rc_augment", lambda: rng.random() < 0.5),
                  ("rc_average", lambda: rng.random() < 0.5), cw]
    for name, val in fields:
        maybe(rng, m, name, val(), 0.6)
    r["model"] = m
    return r


def break_recipe(rng, r):
    """One mutation that makes r invalid."""
    rep, m = r["representation"], r["model"]
    muts = [
        lambda: r.pop(rng.choice(["representation", "model"])),
        lambda: r.__setitem__("learning_rate", 0.1),               # unknown top-level member
        lambda: r.__setitem__("format_version", 2),
        lambda: r.__setitem__("seed", -1),
        lambda: r.__setitem__("seed", 1.5),
        lambda: r.__setitem__("early_stopping", "yes"),
        lambda: m.__setitem__("type", "svm"),
        lambda: m.__setitem__("momentum", 0.9),                    # unknown model member
        lambda: rep.__setitem__("type", "bpe"),
        lambda: rep.__setitem__("stride", 2),
    ]
    if rep["type"] == "kmer":
        muts += [lambda: rep.__setitem__("k", 9), lambda: rep.__setitem__("k", [3, 3]),
                 lambda: rep.__setitem__("k", True), lambda: rep.__setitem__("k", list(range(1, 9)) + [1]),
                 lambda: rep.__setitem__("gapped", ["1101", "0110"]), lambda: rep.__setitem__("canonical", "yes")]
    else:
        muts += [lambda: rep.__setitem__("length", "full"), lambda: rep.__setitem__("length", 0),
                 lambda: rep.__setitem__("pad", "middle")]
    if m["type"] == "logreg":
        muts += [lambda: m.__setitem__("C", "1"), lambda: m.__setitem__("C", 0), lambda: m.__setitem__("max_iter", 2.5),
                 lambda: m.__setitem__("tol", 2)]
    elif m["type"] == "gbdt":
        muts += [lambda: m.__setitem__("subsample", 0), lambda: m.__setitem__("max_bins", 256),
                 lambda: m.__setitem__("max_depth", -1), lambda: m.__setitem__("class_weight", "auto")]
    else:
        muts += [lambda: m.__setitem__("blocks", []), lambda: m.__setitem__("dropout", 0.99),
                 lambda: m.__setitem__("blocks", [{"filters": 32, "stride": 2}]),
                 lambda: m.__setitem__("blocks", [{"filters": 0}]), lambda: m.__setitem__("global_pool", "sum"),
                 lambda: m.__setitem__("blocks", [{}] * 9)]
    rng.choice(muts)()
    return r


def large_explore(rng, n):
    """An explore step output (schemas/explore.schema.json) with n classes and n length records."""
    classes = [f"class_{i}" for i in range(n)]
    return {
        "cached": False,
        "profile": {
            "n_train": 50 * n, "n_valid": 10 * n, "n_classes": n, "classes": classes,
            "class_counts": {c: 50 for c in classes},
            "imbalance_ratio": 1.0,
            "length": [{"class": c, "min": 100 + i % 50, "median": 300, "max": 500 + i % 7, "mean": 301.5}
                       for i, c in enumerate(classes)],
            "gc_by_class": {c: round(rng.uniform(0.3, 0.7), 4) for c in classes[:1000]},
            "kmer_enrichment": {f"k{i}": {"kmer": "ACGTAC", "log2_ratio": 0.5} for i in range(4096)},
            "positional_signal": None,
            "duplicates": 0,
        },
    }


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recipes", type=int, default=20000)
    ap.add_argument("--large-n", type=int, default=100000, help="classes and length records of the large explore output")
    ap.add_argument("--large-copies", type=int, default=5, help="copies of each large instance per pass")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes of each side (median reported)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--schemas", default=os.path.join(root, "schemas"))
    ap.add_argument("--lib", default=os.path.join(root, "build", "libagentomics.a"))
    ap.add_argument("--include", default=os.path.join(root, "include"))
    ap.add_argument("--bin", default=os.path.join(root, "build", "bench", "jsonschema_bench"))
    ap.add_argument("--no-build", action="store_true", help="use --bin as it is")
    args = ap.parse_args()

    if not args.no_build:
        if not os.path.exists(args.lib):
            print(f"jsonschema_bench: {args.lib}: not found (run make first)", file=sys.stderr)
            return 74
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsonschema_bench.c")
        os.makedirs(os.path.dirname(args.bin), exist_ok=True)
        cmd = [os.environ.get("CC", "cc"), "-std=gnu11", "-O2", "-Wall", "-Wextra", "-I" + args.include,
               "-o", args.bin, src, args.lib] + pkg_libs() + ["-lm", "-lpthread"]
        subprocess.run(cmd, check=True)

    import importlib.metadata
    import jsonschema
    from jsonschema import Draft202012Validator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from jsonschema import RefResolver
    jsv = importlib.metadata.version("jsonschema")

    sd = pathlib.Path(args.schemas).resolve()
    store = {p.name: json.load(open(p)) for p in sd.glob("*.schema.json")}

    rng = random.Random(args.seed)
    recipes = []
    for i in range(args.recipes):
        r = gen_recipe(rng)
        recipes.append(break_recipe(rng, r) if rng.random() < 0.5 else r)
    big_ok = large_explore(rng, args.large_n)
    big_bad = json.loads(json.dumps(big_ok))
    big_bad["profile"]["length"][-1] = 300          # an item that is not an object, at the very end
    cases = [("recipe.schema.json", recipes,
              f"{args.recipes} recipe.json instances (recipe.schema.json: oneOf, enum, const, pattern, bounds)"),
             ("explore.schema.json", [big_ok, big_bad] * args.large_copies, None)]

    tmp = tempfile.mkdtemp(prefix="ao_jsonschema_bench.")
    rows = []
    try:
        for name, insts, label in cases:
            path = os.path.join(tmp, "instances.jsonl")
            with open(path, "w") as fh:
                for x in insts:
                    fh.write(json.dumps(x, separators=(",", ":")) + "\n")
            mb = os.path.getsize(path) / len(insts) / 1e6
            if label is None:
                label = (f"large explore step output (explore.schema.json), {mb:.1f} MB each, "
                         f"{args.large_n} classes and length records; valid and broken at the last record, "
                         f"{len(insts)} in all")
            vpath = os.path.join(tmp, "verdicts")
            out = subprocess.run([args.bin, str(sd), name, path, str(args.repeats), vpath],
                                 check=True, capture_output=True, text=True).stdout
            res = dict(f.split("=", 1) for f in out.split())
            ao_verdicts = [c == "1" for c in open(vpath).read()]

            with open(path) as fh:
                loaded = [json.loads(line) for line in fh]
            schema = store[name]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                validator = Draft202012Validator(
                    schema, resolver=RefResolver(base_uri=sd.as_uri() + "/", referrer=schema, store=store))
            py_times, py_verdicts = [], None
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                py_verdicts = [validator.is_valid(x) for x in loaded]
                py_times.append(time.perf_counter() - t0)
            if py_verdicts != ao_verdicts:
                bad = [i for i, (a, b) in enumerate(zip(ao_verdicts, py_verdicts)) if a != b] or ["(lengths differ)"]
                print(f"jsonschema_bench: {len(bad)} verdicts differ, first: instance {bad[0]}: "
                      f"{json.dumps(loaded[bad[0]])[:400] if isinstance(bad[0], int) else ''}", file=sys.stderr)
                return 1
            n = len(insts)
            n_valid = sum(ao_verdicts)
            ao_s, py_s = float(res["median_s"]), statistics.median(py_times)
            print(f"# {name}: {n} instances, {n_valid} valid (both agree); agentomics median {ao_s:.4f} s "
                  f"(min {res['min_s']}), jsonschema {jsv} median {py_s:.4f} s (min {min(py_times):.4f})",
                  file=sys.stderr)
            rows.append((f"{label}; {n_valid} valid, verdicts identical", n / py_s, n / ao_s, py_s / ao_s))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"| instances (parsed before timing; 1 thread) | peer | peer instances/s | agentomics instances/s | speed-up |")
    print("|---|---|---|---|---|")
    for label, py_rate, ao_rate, speed in rows:
        print(f"| {label} | jsonschema {jsv} Draft202012Validator (built once, RefResolver over schemas/), is_valid "
              f"| {py_rate:,.1f} | {ao_rate:,.1f} | {speed:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
