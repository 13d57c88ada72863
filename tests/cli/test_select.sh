#!/bin/bash
# tests/cli/test_select.sh — agentomics-select: the chosen lineage (highest
# best value, ties to the lowest number, the lowest number when none has a
# best, a lineage without a best does not compete), the output format (file
# and stdout), --states forms, refusals (exit 65: differing metrics or
# datasets, a duplicate lineage, malformed state files), I/O errors (74:
# missing state files, an unwritable output),
# usage errors (2), --help/--version. The states are real ones (run.json
# from agentomics-agent-step on a small fake data directory, so the seeds
# are the tool's) with hand-written histories.
. "$(dirname "$0")/lib.sh"
SEL="$BIN/agentomics-select"
S="$TMP/st"

# mkstate DIR LINEAGE VALUE [METRIC [HASH [ITERATIONS]]]: a final state of
# ITERATIONS reflected iterations; VALUE "none" gives best: null, else the
# last iteration is best with VALUE.
mkstate() {
    local d=$1 l=$2 v=$3 m=${4:-auroc} h=${5:-c0ffee} n=${6:-2} best its i
    mkdir -p "$TMP/data-$h"
    echo "{\"classes\": [\"neg\", \"pos\"], \"content_hash\": \"$h\"}" > "$TMP/data-$h/dataset.json"
    rm -rf "$d.start"
    "$BIN/agentomics-agent-step" --step plan --data "$TMP/data-$h" --out "$d.start" --lineage "$l" --metric "$m" -q || return 1
    mkdir -p "$d" && cp "$d.start/run.json" "$d/run.json" && rm -rf "$d.start"
    case "$v" in
        none) best=null ;;
        *) best="{\"iteration\": $n, \"run_id\": \"iter$n\", \"metric\": \"$m\", \"value\": $v, \"split_version\": 1}" ;;
    esac
    its=""
    for i in $(seq 1 "$n"); do
        its="$its${its:+, }{\"iteration\": $i, \"split_version\": 1, \"steps\": {}, \"run\": {\"run_id\": \"iter$i\", \"status\": \"ok\", \"metrics\": {}}, \"decision\": \"$([ "$i" = "$n" ] && echo stop || echo continue)\"}"
    done
    echo "{\"format_version\": 2, \"split\": {\"version\": 1, \"source\": \"agent\"}, \"iterations\": [$its], \"best\": $best, \"stop\": {\"reason\": \"plateau\", \"iteration\": $n}}" > "$d/history.json"
    echo '{"decision": "stop", "reason": "plateau", "iteration": '"$n"'}' > "$d/decision.json"
}
# field FILE EXPR: a Python expression over the parsed JSON j
field() { python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"; }

# --- --help, --version, usage errors -----------------------------------------
expect_exit 0 "--help exits 0" "$SEL" --help
if grep -q '^Usage: agentomics-select --states DIR' "$TMP/.out" && [ ! -s "$TMP/.err" ]; then ok "--help on stdout"; else not_ok "--help on stdout"; fi
expect_exit 0 "--version exits 0" "$SEL" --version
if [ "$(head -1 "$TMP/.out")" = "$(cat "$ROOT/VERSION")" ]; then ok "--version: the bare version on line 1"; else not_ok "--version: the bare version on line 1"; fi
mkstate "$S/a" 1 0.7
expect_exit 2 "no arguments: usage error" "$SEL"
stderr_has "Try 'agentomics-select --help'" "usage error points to --help"
expect_exit 2 "no --states" "$SEL" --out "$TMP/x.json"
stderr_has "--states" "message names --states"
expect_exit 2 "no --out" "$SEL" --states "$S/a"
expect_exit 2 "stray argument before --states" "$SEL" stray --states "$S/a" --out "$TMP/x.json"
stderr_has "unexpected argument 'stray'" "message names the stray argument"
expect_exit 2 "stray argument after --out" "$SEL" --states "$S/a" --out "$TMP/x.json" stray
expect_exit 2 "unknown option" "$SEL" --bogus
[ -e "$TMP/x.json" ] && not_ok "no output after usage errors" || ok "no output after usage errors"

# --- the choice ------------------------------------------------------------------
mkstate "$S/v1" 1 0.71
mkstate "$S/v2" 2 0.83 auroc c0ffee 3
mkstate "$S/v3" 3 0.79
expect_exit 0 "three lineages" "$SEL" --states "$S/v3" "$S/v1" "$S/v2" --out "$TMP/v.json"
if [ "$(field "$TMP/v.json" 'j["chosen"], j["chosen_state"], j["chosen_best"]["value"]')" = "2 $S/v2 0.83" ]; then
    ok "chosen by value: lineage 2 (0.83 > 0.79 > 0.71), its state and best"
else not_ok "chosen by value"; sed 's/^/#   /' "$TMP/v.json"; fi
if [ "$(field "$TMP/v.json" '[(r["lineage"], r["iterations"], r["state"], r["decision"]["decision"]) for r in j["lineages"]]')" = \
     "[(1, 2, '$S/v1', 'stop'), (2, 3, '$S/v2', 'stop'), (3, 2, '$S/v3', 'stop')]" ]; then
    ok "lineages sorted by number, with iterations, state and decision"
else not_ok "lineages sorted by number"; sed 's/^/#   /' "$TMP/v.json"; fi
if [ "$(field "$TMP/v.json" 'j["format_version"], j["metric"], sorted(j), sorted(j["lineages"][0])')" = \
     "1 auroc ['chosen', 'chosen_best', 'chosen_state', 'format_version', 'lineages', 'metric'] ['best', 'decision', 'iterations', 'lineage', 'state']" ]; then
    ok "format: format_version 1, metric, every key"
else not_ok "format"; sed 's/^/#   /' "$TMP/v.json"; fi
# (values that binary floating point holds exactly: jansson prints 17 significant digits)
mkstate "$S/f1" 1 0.75
mkstate "$S/f2" 2 0.875
"$SEL" --states "$S/f1" "$S/f2" --out "$TMP/f.json"
if python3 -c "import json, sys; t = open(sys.argv[1]).read(); j = json.loads(t); sys.exit(0 if t == json.dumps(j, indent=2, sort_keys=True) + '\n' else 1)" "$TMP/f.json"; then
    ok "sorted keys, two-space indent, trailing newline"
else not_ok "sorted keys, two-space indent, trailing newline"; sed 's/^/#   /' "$TMP/f.json"; fi
expect_exit 0 "--states repeated" "$SEL" --states "$S/v1" --states "$S/v2" -q --states "$S/v3" --out "$TMP/v2.json"
if cmp -s "$TMP/v.json" "$TMP/v2.json"; then ok "--states repeated: the same output (order of the arguments does not matter)"; else not_ok "--states repeated: the same output"; fi

mkstate "$S/t1" 1 0.6
mkstate "$S/t2" 2 0.8
mkstate "$S/t3" 3 0.8
expect_exit 0 "a tie" "$SEL" --states "$S/t3" "$S/t2" "$S/t1" --out "$TMP/t.json"
if [ "$(field "$TMP/t.json" 'j["chosen"]')" = 2 ]; then ok "a tie goes to the lowest lineage number (2 of 2, 3)"; else not_ok "a tie goes to the lowest lineage number"; sed 's/^/#   /' "$TMP/t.json"; fi

mkstate "$S/n4" 4 none
mkstate "$S/n7" 7 none
expect_exit 0 "no lineage with a best" "$SEL" --states "$S/n7" "$S/n4" --out "$TMP/n.json"
if [ "$(field "$TMP/n.json" 'j["chosen"], j["chosen_best"], j["chosen_state"].endswith("/n4"), j["metric"]')" = "4 None True auroc" ]; then
    ok "no lineage with a best: the lowest number, chosen_best null, metric from run.json"
else not_ok "no lineage with a best"; sed 's/^/#   /' "$TMP/n.json"; fi

mkstate "$S/z1" 1 none
mkstate "$S/z2" 2 none
mkstate "$S/z3" 3 0.55
expect_exit 0 "lineages without a best and one with" "$SEL" --states "$S/z1" "$S/z2" "$S/z3" --out "$TMP/z.json"
if [ "$(field "$TMP/z.json" 'j["chosen"], j["lineages"][0]["best"]')" = "3 None" ]; then
    ok "a lineage without a best does not compete: lineage 3 (0.55) over 1 and 2"
else not_ok "a lineage without a best does not compete"; sed 's/^/#   /' "$TMP/z.json"; fi
mkstate "$S/neg" 5 -0.4 mcc
mkstate "$S/neg2" 6 -0.2 mcc
expect_exit 0 "negative values (MCC)" "$SEL" --states "$S/neg" "$S/neg2" --out -
if [ "$(python3 -c 'import json, sys; print(json.load(sys.stdin)["chosen"])' < "$TMP/.out")" = 6 ]; then
    ok "negative values compare as numbers (-0.2 > -0.4)"; else not_ok "negative values compare as numbers"; fi

# --- --out -, --force, atomic output -------------------------------------------------
expect_exit 0 "--out - writes to stdout" "$SEL" --states "$S/v1" "$S/v2" "$S/v3" --out -
if cmp -s "$TMP/.out" "$TMP/v.json" && [ ! -e ./- ]; then ok "stdout output equals the file output"; else not_ok "stdout output equals the file output"; fi
expect_exit 2 "an existing output is refused" "$SEL" --states "$S/v1" --out "$TMP/v.json"
stderr_has "already exists .*--force" "message suggests --force"
if cmp -s "$TMP/v.json" "$TMP/v2.json"; then ok "the refused output is untouched"; else not_ok "the refused output is untouched"; fi
expect_exit 0 "--force replaces it" "$SEL" --states "$S/v1" --out "$TMP/v.json" --force
if [ "$(field "$TMP/v.json" 'j["chosen"], len(j["lineages"])')" = "1 1" ]; then ok "--force: the new selection"; else not_ok "--force: the new selection"; fi

# --- refusals: exit 65, naming the file ------------------------------------------------
mkstate "$S/m2" 2 0.9 mcc
expect_exit 65 "differing metrics" "$SEL" --states "$S/v1" "$S/m2" --out "$TMP/bad.json"
stderr_has "^agentomics-select: $S/m2/run.json: metric 'mcc' differs from lineage 1's 'auroc'.*cannot be compared" "message names the file and both metrics"
mkstate "$S/h2" 2 0.9 auroc beef
expect_exit 65 "differing datasets" "$SEL" --states "$S/v1" "$S/h2" --out "$TMP/bad.json"
stderr_has "$S/h2/run.json: dataset content hash differs" "message names the file"
mkstate "$S/b2" 2 0.9
sed -i 's/"metric": "auroc", "value"/"metric": "mcc", "value"/' "$S/b2/history.json"
expect_exit 65 "a best pointer in another metric than its run's" "$SEL" --states "$S/v1" "$S/b2" --out "$TMP/bad.json"
stderr_has "$S/b2/history.json: [$][.]best[.]metric: 'mcc', but the run ranks by 'auroc'" "message names history.json and the JSON path"
mkstate "$S/d1" 1 0.9
expect_exit 65 "the same lineage twice" "$SEL" --states "$S/v1" "$S/v2" "$S/d1" --out "$TMP/bad.json"
stderr_has "run.json: lineage 1 appears twice" "message names the duplicate lineage"
expect_exit 65 "the same directory twice" "$SEL" --states "$S/v1" "$S/v1" --out "$TMP/bad.json"
for f in run.json history.json decision.json; do
    mkstate "$S/x-$f" 2 0.9
    rm "$S/x-$f/$f"
    expect_exit 74 "missing $f" "$SEL" --states "$S/v1" "$S/x-$f" --out "$TMP/bad.json"
    stderr_has "^agentomics-select: $S/x-$f/$f: no such file" "message names the missing $f"
done
expect_exit 74 "a state directory that does not exist" "$SEL" --states "$S/nowhere" --out "$TMP/bad.json"
stderr_has "$S/nowhere/run.json: no such file" "message names its run.json"
# malformed members: FILE, sed expression, expected message (the state's schemas name the JSON path)
bad_cases=(
    "run.json|s/\"lineage\": 2,/\"lineage\": \"2\",/|[$][.]lineage: expected integer, got string"
    "run.json|s/\"lineage\": 2,/\"lineage\": -1,/|[$][.]lineage: -1 is less than the minimum 0"
    "run.json|s/\"metric\": \"auroc\"/\"metric\": 3/|[$][.]metric: "
    "run.json|s/\"content_hash\": \"c0ffee\"/\"hash\": 1/|[$][.]data: "
    "run.json|1s/^{/[{/; \$s/}\$/}]/|[$]: expected object, got array"
    "history.json|s/\"iterations\"/\"its\"/|[$]: "
    "history.json|s/\"best\": {[^}]*}/\"best\": 0.9/|[$][.]best: "
    "history.json|s/\"value\": 0.9/\"value\": \"0.9\"/|[$][.]best"
    "history.json|s/\"value\": 0.9/\"value\": NaN/|invalid JSON"
    "history.json|s/\"value\": 0.9/\"value\": 0.9, \"value\": 1/|invalid JSON: duplicate"
    "decision.json|s/\"decision\": \"stop\"/\"decision\": null/|[$][.]decision: expected \"continue\" or \"stop\""
    "decision.json|s/}/,/|invalid JSON"
)
for c in "${bad_cases[@]}"; do
    IFS='|' read -r f expr msg <<<"$c"
    rm -rf "$S/bad" && mkstate "$S/bad" 2 0.9
    sed -i "$expr" "$S/bad/$f"
    expect_exit 65 "malformed $f: $msg" "$SEL" --states "$S/v1" "$S/bad" --out "$TMP/bad.json"
    stderr_has "^agentomics-select: $S/bad/$f(:[0-9]+)?: $msg" "message names $f"
done
[ -e "$TMP/bad.json" ] && not_ok "no output after data errors" || ok "no output after data errors"
ls "$TMP"/bad.json.tmp.* >/dev/null 2>&1 && not_ok "no temporary file left behind" || ok "no temporary file left behind"

# --- I/O errors: exit 74 ------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
    ok "an unreadable history.json is an I/O error # SKIP root reads every file"
else
    mkstate "$S/unread" 2 0.9 && chmod 000 "$S/unread/history.json"
    expect_exit 74 "an unreadable history.json is an I/O error" "$SEL" --states "$S/v1" "$S/unread" --out "$TMP/bad.json"
    chmod 644 "$S/unread/history.json"
fi
expect_exit 74 "an unwritable output is an I/O error" "$SEL" --states "$S/v1" --out "$TMP/no/such/dir/x.json"
stderr_has "$TMP/no/such/dir/x.json: cannot create" "message names the output"

done_testing
