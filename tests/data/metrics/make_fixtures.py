#!/usr/bin/python3
"""Writes the metric fixtures for tests/unit/test_metrics.c.

Run with a Python that has scikit-learn (Debian: /usr/bin/python3):

    /usr/bin/python3 tests/data/metrics/make_fixtures.py

For every case it writes CASE.pred.tsv (id, prediction, probability_<class>
...; rows shuffled relative to the labels, plus an ignored extra column),
CASE.labels.tsv (id, sequence, label) and the expected metrics, computed by
scikit-learn, into expected.json. The C test reads only the generated files,
so Python is not needed at test time. Deterministic (fixed seed).
"""
import gzip
import json
import math
import os
import random
import sys

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, average_precision_score,
                             balanced_accuracy_score, confusion_matrix,
                             f1_score, log_loss, matthews_corrcoef,
                             precision_recall_fscore_support, roc_auc_score)
from sklearn.preprocessing import label_binarize

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20240611)


def nan_to_none(x):
    x = float(x)
    return None if math.isnan(x) else x


def try_auc(y, s):
    try:
        return float(roc_auc_score(y, s))
    except ValueError:          # one class only: undefined
        return None


def expected(y, P):
    """sklearn's values for integer labels y (0..K-1) and probabilities P."""
    y = np.asarray(y)
    P = np.asarray(P, dtype=np.float64)
    K = P.shape[1]
    yhat = np.argmax(P, axis=1)          # first maximum on ties
    labels = list(range(K))
    prec, rec, f1, sup = precision_recall_fscore_support(
        y, yhat, labels=labels, zero_division=0)
    cls_auc = [try_auc((y == k).astype(int), P[:, k]) for k in labels]
    cls_ap = [float(average_precision_score((y == k).astype(int), P[:, k])) for k in labels]
    if K == 2:
        auroc = try_auc(y, P[:, 1])
        auprc = float(average_precision_score(y, P[:, 1]))
    else:
        try:
            auroc = float(roc_auc_score(y, P, multi_class="ovr", average="macro", labels=labels))
        except ValueError:      # a class without positives: undefined
            auroc = None
        auprc = float(average_precision_score(label_binarize(y, classes=labels), P, average="macro"))
    cm = confusion_matrix(y, yhat, labels=labels)
    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, yhat)),
        "balanced_accuracy": float(balanced_accuracy_score(y, yhat)),
        "auroc": auroc,
        "auprc": auprc,
        "f1_macro": float(f1_score(y, yhat, average="macro", zero_division=0)),
        "mcc": float(matthews_corrcoef(y, yhat)),
        "log_loss": float(log_loss(y, P, labels=labels)),
        "per_class": [{
            "precision": float(prec[k]), "recall": float(rec[k]), "f1": float(f1[k]),
            "support": int(sup[k]), "predicted": int(np.sum(yhat == k)),
            "auroc": cls_auc[k], "auprc": cls_ap[k]} for k in labels],
        "confusion_matrix": cm.tolist(),
    }


def write_case(name, classes, y, P, gz_labels=False):
    n = len(y)
    ids = ["%s_%03d" % (name, i) for i in range(n)]
    order = list(range(n))
    rng.shuffle(order)
    with open(os.path.join(HERE, name + ".pred.tsv"), "w") as f:
        f.write("id\tprediction\t" + "\t".join("probability_" + c for c in classes) + "\tnote\n")
        for i in order:
            # the prediction column is informational: write a deliberately
            # non-argmax class on some rows to prove the metrics ignore it
            pred = classes[(int(np.argmax(P[i])) + (i % 5 == 0)) % len(classes)]
            f.write("%s\t%s\t%s\tx%d\n" % (ids[i], pred, "\t".join(repr(float(p)) for p in P[i]), i))
    lab_name = name + ".labels.tsv" + (".gz" if gz_labels else "")
    opener = gzip.open if gz_labels else open
    with opener(os.path.join(HERE, lab_name), "wt") as f:
        f.write("id\tsequence\tlabel\n")
        for i in range(n):
            f.write("%s\t%s\t%s\n" % (ids[i], "".join(rng.choice("ACGT") for _ in range(8)), classes[y[i]]))
    e = expected(y, P)
    e["classes"] = classes
    return {"name": name, "predictions": name + ".pred.tsv", "labels": lab_name, "expected": e}


def binary_rows(scores):
    return [[1.0 - s, s] for s in scores]


def normalise(w):
    t = float(sum(w))
    return [x / t for x in w]


def main():
    cases = []
    # 1. binary, many ties (scores on a 0.1 grid), correlated with the label
    y = [rng.random() < 0.4 for _ in range(40)]
    y = [int(v) for v in y]
    s = [min(1.0, max(0.0, round(0.5 + (0.25 if v else -0.2) + rng.gauss(0, 0.25), 1))) for v in y]
    cases.append(write_case("binary_ties", ["neg", "pos"], y, binary_rows(s)))
    # 2. a single positive
    y = [0] * 11 + [1]
    s = [0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.05, 0.2, 0.7, 0.3, 0.1, 0.55]
    rng.shuffle(s)
    cases.append(write_case("binary_single_pos", ["neg", "pos"], y, binary_rows(s)))
    # 3. a perfect ranking with hard 0/1 probabilities (log-loss clipping)
    y = [0, 0, 0, 0, 1, 1, 1, 0, 1, 1]
    s = [0.0, 0.2, 0.1, 0.3, 1.0, 0.9, 0.8, 0.0, 1.0, 0.7]
    cases.append(write_case("binary_perfect", ["neg", "pos"], y, binary_rows(s)))
    # 4. an inverted ranking, confidently wrong (hard 0/1 included)
    s = [1.0 - v for v in s]
    cases.append(write_case("binary_inverted", ["neg", "pos"], y, binary_rows(s)))
    # 5. every score tied (argmax ties go to the first class)
    y = [0, 1, 1, 0, 1, 0, 0, 1]
    cases.append(write_case("binary_all_tied", ["neg", "pos"], y, binary_rows([0.5] * 8)))
    # 6. labels of one class only: AUROC undefined; class names not sorted
    y = [1] * 6
    s = [0.9, 0.4, 0.6, 0.6, 0.2, 0.8]
    cases.append(write_case("binary_one_class", ["yes", "no"], y, binary_rows(s)))
    # 7. three classes with ties (small integer weights), file order != sorted
    y = [rng.randrange(3) for _ in range(45)]
    P = []
    for v in y:
        w = [rng.randint(0, 3) for _ in range(3)]
        w[v] += rng.randint(0, 3)
        if sum(w) == 0:
            w[v] = 1
        P.append(normalise(w))
    cases.append(write_case("multi3_ties", ["zeta", "alpha", "mid"], y, P))
    # 8. four classes, one never predicted (its probability is never the max)
    y = [rng.randrange(4) for _ in range(60)]
    P = []
    for v in y:
        w = [rng.random() + (1.0 if k == v else 0.0) for k in range(4)]
        w[2] = min(w) * 0.5
        P.append(normalise(w))
    cases.append(write_case("multi4_nopred", ["A", "B", "C", "D"], y, P))
    # 9. three classes, one absent from the labels (but predicted sometimes)
    y = [rng.choice([0, 2]) for _ in range(30)]
    P = []
    for v in y:
        w = [rng.random() + (0.8 if k == v else 0.0) for k in range(3)]
        P.append(normalise(w))
    cases.append(write_case("multi3_absent", ["c0", "c1", "c2"], y, P))
    # 10. five classes, 400 rows, continuous probabilities, gzip'd labels
    nprng = np.random.default_rng(7)
    y = [int(v) for v in nprng.integers(0, 5, 400)]
    P = []
    for v in y:
        a = np.ones(5)
        a[v] += 1.5
        P.append([float(x) for x in nprng.dirichlet(a)])
    cases.append(write_case("multi5_random", ["k1", "k2", "k3", "k4", "k5"], y, P, gz_labels=True))
    # 11. perfect multiclass with hard probabilities
    y = [0, 1, 2, 0, 1, 2, 2]
    P = [[1.0 if k == v else 0.0 for k in range(3)] for v in y]
    cases.append(write_case("multi3_perfect", ["x", "y", "z"], y, P))

    doc = {"generator": "tests/data/metrics/make_fixtures.py",
           "sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote %d cases" % len(cases), file=sys.stderr)


if __name__ == "__main__":
    main()
