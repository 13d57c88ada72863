#!/usr/bin/env python3
"""Writes the scripted LLM episode that tests/cli/test_llm_agent.sh plays
against tests/llm/fake_openai.py: two LLM iterations (--baseline none) over
every step. Iteration 1 explores with bash, splits with awk, writes a
training and an inference script (Python + scikit-learn when Debian's
python3 has it, else awk), gets the inference entry rejected for reading a
training file, fixes it and is accepted; iteration 2 answers with a builtin
recipe. Usage: episode.py sklearn|awk [tools|json|text] > script.json

The third argument renders the model's actions for a protocol: tools
(native tool calls, the default); json (one {"action": ...} object per
reply, as under --llm-protocol json); text (one {"name", "arguments"} call
per reply in a ```json fence, as small local models write them, which
--llm-protocol auto takes as calls). The single-action renderings spread a
reply's calls over consecutive turns."""
import json
import sys

variant = sys.argv[1]
protocol = sys.argv[2] if len(sys.argv) > 2 else "tools"


def call(name, **args):
    return {"name": name, "arguments": args}


def rule(step, turn, *calls, content=None):
    return {"match": {"step": step, "turn": turn}, "reply": {"content": content, "tool_calls": list(calls)}}


SK_TRAIN = r'''import pickle, sys
import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

def load(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path)]
    h = rows[0]
    return [r[h.index("sequence")] for r in rows[1:]], [r[h.index("label")] for r in rows[1:]]

train, valid, model_dir = sys.argv[1:4]
x, y = load(train)
pipe = make_pipeline(CountVectorizer(analyzer="char", ngram_range=(3, 4), lowercase=False), LogisticRegression(C=0.5, max_iter=500))
pipe.fit(x, y)
vx, vy = load(valid)
print("validation accuracy %.3f" % pipe.score(vx, vy))
pickle.dump(pipe, open(model_dir + "/model.pkl", "wb"))
'''

SK_PREDICT_LEAKY = r'''import os, pickle, sys
model_dir, inp, out = sys.argv[1:4]
pipe = pickle.load(open(model_dir + "/model.pkl", "rb"))
classes = os.environ["AO_CLASSES"].split(",")
known = set(l.split("\t")[0] for l in open("/data/train.tsv"))
rows = [l.rstrip("\n").split("\t") for l in open(inp)]
h = rows[0]
ids = [r[0] for r in rows[1:]]
seqs = [r[h.index("sequence")] for r in rows[1:]]
p = pipe.predict_proba(seqs)
order = [list(pipe.classes_).index(c) for c in classes]
with open(out, "w") as f:
    f.write("id\tprediction\t" + "\t".join("probability_" + c for c in classes) + "\n")
    for i, row in zip(ids, p):
        q = [row[j] for j in order]
        f.write(i + "\t" + classes[q.index(max(q))] + "\t" + "\t".join("%.6f" % v for v in q) + "\n")
'''

AWK_TRAIN = r'''#!/bin/sh
# per-class mean and variance of GC content
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "sequence") s = i; if ($i == "label") l = i }; next }
{ n = length($s); g = gsub(/[GCgc]/, "", $s); x = g / n; c = $l; cnt[c]++; sum[c] += x; sq[c] += x * x; tot++ }
END { for (c in cnt) { m = sum[c] / cnt[c]; v = sq[c] / cnt[c] - m * m; if (v < 1e-4) v = 1e-4; printf "%s\t%.8f\t%.8f\t%.8f\n", c, cnt[c] / tot, m, v } }' "$1" > "$3/gc_model.tsv"
echo "trained on $(wc -l < "$1") lines"
'''

AWK_PREDICT_LEAKY = r'''#!/bin/sh
# Gaussian class likelihoods of GC content; $1 model dir, $2 input, $3 output
test -r /data/train.tsv && echo "peeking"
awk -F'\t' -v classes="$AO_CLASSES" 'FNR == NR { pr[$1] = $2; mu[$1] = $3; va[$1] = $4; next }
FNR == 1 { for (i = 1; i <= NF; i++) if ($i == "sequence") s = i; k = split(classes, cl, ",");
  printf "id\tprediction"; for (j = 1; j <= k; j++) printf "\tprobability_%s", cl[j]; printf "\n"; next }
{ n = length($s); g = gsub(/[GCgc]/, "", $s); x = g / n; z = 0; best = ""; bp = -1
  for (j = 1; j <= k; j++) { c = cl[j]; lp[j] = log(pr[c]) - 0.5 * log(va[c]) - (x - mu[c]) ^ 2 / (2 * va[c]) }
  mx = lp[1]; for (j = 2; j <= k; j++) if (lp[j] > mx) mx = lp[j]
  for (j = 1; j <= k; j++) { p[j] = exp(lp[j] - mx); z += p[j] }
  line = ""; for (j = 1; j <= k; j++) { p[j] /= z; if (p[j] > bp) { bp = p[j]; best = cl[j] }; line = line sprintf("\t%.6f", p[j]) }
  print $1 "\t" best line }' "$1/gc_model.tsv" "$2" > "$3"
'''

if variant == "sklearn":
    interp, train_name, pred_name = "/usr/bin/python3", "train.py", "predict.py"
    train_src, pred_src = SK_TRAIN, SK_PREDICT_LEAKY
    leak_old = 'known = set(l.split("\\t")[0] for l in open("/data/train.tsv"))\n'
else:
    interp, train_name, pred_name = "/bin/sh", "train.sh", "predict.sh"
    train_src, pred_src = AWK_TRAIN, AWK_PREDICT_LEAKY
    leak_old = 'test -r /data/train.tsv && echo "peeking"\n'

SPLIT = (r"""awk -F'\t' 'NR == 1 { print > "/workspace/s_train.tsv"; print > "/workspace/s_valid.tsv"; next }"""
         r"""{ if (NR % 5 == 0) print > "/workspace/s_valid.tsv"; else print > "/workspace/s_train.tsv" }' /data/train.tsv && wc -l /workspace/s_*.tsv""")

recipe = {"representation": {"type": "kmer", "k": [3, 4, 5], "canonical": False},
          "model": {"type": "logreg", "C": 0.5, "max_iter": 200}}

rules = [
    # ---- iteration 1 ----
    rule("plan", 0, call("submit", goal="a first model: k-mer composition with a linear classifier",
                         approach="explore composition, split 80/20, code a simple pipeline")),
    rule("explore", 0, call("bash", command="head -c 300 /data/train.tsv; echo; cut -f3 /data/train.tsv | sort | uniq -c"),
         content="Looking at the data first."),
    rule("explore", 1, call("list_files", path="/data"), call("read_file", path="/data/dataset.json", first_line=1, last_line=20)),
    rule("explore", 2, call("submit", findings=["sequences are 300 nt and aligned", "two classes, balanced"],
                            recommendations=["k-mers 3-5", "one-hot CNN later"])),
    rule("split", 0, call("bash", command=SPLIT)),
    rule("split", 1, call("submit", method="files", train_file="/workspace/s_train.tsv", valid_file="/workspace/s_valid.tsv",
                          rationale="every 5th row to validation; classes are interleaved so proportions hold")),
    rule("represent", 0, call("submit", representation={"kind": "char n-grams", "description": "counts of 3- and 4-mers"},
                              rationale="composition differs between promoter classes")),
    rule("architect", 0, call("submit", model={"kind": "logistic regression", "description": "L2 logistic regression"},
                              rationale="a strong linear baseline")),
    rule("code", 0, call("write_file", path="/workspace/" + train_name, content=train_src)),
    rule("code", 1, call("write_file", path="/workspace/" + pred_name, content=pred_src),
         call("bash", command="ls -l /workspace")),
    rule("code", 2, call("submit", entry="script", interpreter=interp, train_entry=train_name, inference_entry=pred_name)),
    rule("code", 3, call("replace_in_file", path="/workspace/" + pred_name, old=leak_old, new="")),
    rule("code", 4, call("submit", entry="script", interpreter=interp, train_entry=train_name, inference_entry=pred_name)),
    rule("reflect", 0, call("read_file", path="/workspace/" + train_name, first_line=1, last_line=5)),
    rule("reflect", 1, call("submit", diagnosis="ok", summary="the script model works; try the builtin k-mer logistic regression",
                            instructions={"code": "submit a builtin recipe with k-mers 3-5 and logreg"})),
    # ---- iteration 2 ----
    rule("plan", 0, call("submit", goal="compare with the builtin k-mer logistic regression", approach="builtin recipe")),
    rule("explore", 0, call("submit", findings=["nothing new: the profile is cached"])),
    rule("represent", 0, call("submit", representation=recipe["representation"], rationale="k-mers 3-5")),
    rule("architect", 0, call("submit", model=recipe["model"], rationale="regularised linear model")),
    rule("code", 0, call("submit", entry="builtin", recipe=recipe)),
    rule("reflect", 0, call("submit", diagnosis="ok", summary="both models work", instructions={}, stop_suggested=True)),
]


def single_actions(rules, render):
    """One call per reply, in order: a step's conversation (turns from 0)
    is renumbered as its calls are spread over turns."""
    out, turn, step = [], 0, None
    for r in rules:
        s, t = r["match"]["step"], r["match"]["turn"]
        if s != step or t == 0:
            step, turn = s, 0
        for c in r["reply"]["tool_calls"]:
            out.append({"match": {"step": s, "turn": turn}, "reply": {"content": render(c), "tool_calls": []}})
            turn += 1
    return out


def as_action(c):
    args = c["arguments"]
    return json.dumps({"action": "submit", "output": args} if c["name"] == "submit" else dict({"action": c["name"]}, **args))


def as_text(c):
    return "I will call %s.\n```json\n%s\n```" % (c["name"], json.dumps({"name": c["name"], "arguments": c["arguments"]}))


if protocol == "json":
    rules = single_actions(rules, as_action)
elif protocol == "text":
    rules = single_actions(rules, as_text)
json.dump({"rules": rules}, sys.stdout, indent=1)
