#!/bin/bash
# tests/cli/test_conventions.sh — what every tool and the repository share:
# --version on two lines (the bare version, then the htslib in use, as
# samtools prints it), a man page per tool generated from its --help
# (present, up to date, SYNOPSIS = the help's usage line, rendering without
# groff warnings, installed by make install), LICENSE, CITATION.cff and
# CHANGELOG.md, and VERSION wherever another file states the version.
. "$(dirname "$0")/lib.sh"
VERSION=$(cat "$ROOT/VERSION")
MAN=${AO_TEST_MAN:-$ROOT/build/man/man1}
TOOLS=$(cd "$ROOT/tools" && for d in */main.c; do echo "${d%/main.c}"; done)
[ "$(echo "$TOOLS" | wc -l)" -ge 8 ] && ok "8 tools found" || not_ok "8 tools found ($TOOLS)"

# ---- --version ---------------------------------------------------------------------
hts=""
command -v samtools >/dev/null && hts=$(samtools --version | sed -n 's/^Using htslib //p')
for t in $TOOLS; do
    out=$("$BIN/agentomics-$t" --version 2>"$TMP/.err"); rc=$?
    l1=$(printf '%s\n' "$out" | sed -n 1p); l2=$(printf '%s\n' "$out" | sed -n 2p)
    if [ "$rc" = 0 ] && [ "$l1" = "$VERSION" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 2 ] && printf '%s\n' "$l2" | grep -Eq '^Using htslib [0-9]+\.[0-9]+'; then
        ok "agentomics-$t --version: '$l1' then '$l2'"
    else not_ok "agentomics-$t --version (exit $rc): $(printf '%s' "$out" | tr '\n' '|')"; fi
    if [ -n "$hts" ]; then
        [ "$l2" = "Using htslib $hts" ] && ok "agentomics-$t: the same htslib as samtools ($hts)" || not_ok "agentomics-$t: htslib '$l2', samtools has $hts"
    fi
done
[ -n "$hts" ] || ok "htslib version compared with samtools # SKIP no samtools on PATH"
# scripts read the first line: the workflows' versions.yml
if grep -h 'agentomics-[a-z-]*: \\$(agentomics-[a-z-]* --version' "$ROOT"/workflows/modules/*.nf | grep -v -- '--version | head -1)' | grep -q .; then
    not_ok "the Nextflow modules record only --version's first line"
else ok "the Nextflow modules record only --version's first line"; fi

# ---- man pages -----------------------------------------------------------------------
for t in $TOOLS; do
    p="$MAN/agentomics-$t.1"
    if [ ! -s "$p" ]; then not_ok "man page agentomics-$t.1 (missing in $MAN: run make)"; continue; fi
    sh "$ROOT/tools/mkman.sh" "$BIN/agentomics-$t" "$ROOT/tools/$t/main.c" "$VERSION" > "$TMP/$t.1" 2>"$TMP/.err"
    cmp -s "$p" "$TMP/$t.1" && ok "agentomics-$t.1 is up to date with --help" || not_ok "agentomics-$t.1 is up to date with --help (make man)"
    usage=$("$BIN/agentomics-$t" --help | sed -n '1s/^Usage: //p')
    syn=$(sed -n '/^\.SH SYNOPSIS/,/^\.fi/p' "$p" | sed -n 3p | sed 's/\\-/-/g; s/\\e/\\/g')
    [ -n "$usage" ] && [ "$syn" = "$usage" ] && ok "agentomics-$t.1: SYNOPSIS is the help's usage line" || not_ok "agentomics-$t.1: SYNOPSIS '$syn' vs usage '$usage'"
    grep -q "^agentomics-$t \\\\- [a-z]" "$p" && ok "agentomics-$t.1: NAME line" || not_ok "agentomics-$t.1: NAME line"
    if command -v groff >/dev/null; then
        w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
        [ -z "$w" ] && ok "agentomics-$t.1 renders without groff warnings" || { not_ok "agentomics-$t.1 renders without groff warnings"; printf '%s\n' "$w" | head -3 | sed 's/^/#   /'; }
    fi
done
command -v groff >/dev/null || ok "man pages rendered # SKIP no groff (apt-get install groff-base)"
if make -s -C "$ROOT" install DESTDIR="$TMP/inst" PREFIX=/usr >"$TMP/.out" 2>&1 && [ "$(ls "$TMP/inst/usr/share/man/man1" 2>/dev/null | wc -l)" = "$(echo "$TOOLS" | wc -l)" ]; then
    ok "make install puts a man page per tool in PREFIX/share/man/man1"
else not_ok "make install puts a man page per tool in PREFIX/share/man/man1"; tail -3 "$TMP/.out" | sed 's/^/#   /'; fi

# ---- LICENSE, CITATION.cff, CHANGELOG.md ----------------------------------------------------
head -1 "$ROOT/LICENSE" | grep -qx "MIT License" && grep -q "Permission is hereby granted, free of charge" "$ROOT/LICENSE" \
    && ok "LICENSE: MIT" || not_ok "LICENSE: MIT"
check "CITATION.cff: valid, the software (version $VERSION, MIT) and the Agentomics-ML paper (arXiv:2506.05542)" /usr/bin/python3 - "$ROOT/CITATION.cff" "$VERSION" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
for k in ("cff-version", "message", "title", "authors", "version", "license"):
    assert c.get(k), f"no {k}"
assert c["cff-version"] == "1.2.0" and c["type"] == "software"
assert str(c["version"]) == sys.argv[2], f"version {c['version']} is not VERSION's {sys.argv[2]}"
assert c["license"] == "MIT"
paper = [r for r in c.get("references", []) if "Agentomics-ML" in r.get("title", "")]
assert paper, "no reference to the Agentomics-ML paper"
p = paper[0]
assert p["type"] == "article" and p["authors"][0]["family-names"] == "Martinek" and p["year"] == 2025
assert any("2506.05542" in str(i["value"]) for i in p["identifiers"]), "no arXiv identifier"
PY
# the version wherever a file states it (VERSION is the source)
bad=""
grep -q "^ARG VERSION=$VERSION\$" "$ROOT/containers/Dockerfile" || bad="$bad containers/Dockerfile(ARG VERSION)"
grep -q "org.opencontainers.image.version $VERSION\$" "$ROOT/containers/agentomics.def" || bad="$bad containers/agentomics.def"
grep -q "version *= '$VERSION'" "$ROOT/workflows/nextflow.config" || bad="$bad nextflow.config(manifest)"
grep -q "container *= 'agentomics:$VERSION'" "$ROOT/workflows/nextflow.config" || bad="$bad nextflow.config(container)"
grep -q "^container: \"docker-daemon://agentomics:$VERSION\"" "$ROOT/workflows/config.yaml" || bad="$bad config.yaml(container)"
grep -q "or \"docker-daemon://agentomics:$VERSION\"$" "$ROOT/workflows/Snakefile" || bad="$bad Snakefile(container)"
[ -z "$bad" ] && ok "VERSION ($VERSION) everywhere a file states it (image, Apptainer labels, Nextflow manifest and container, Snakemake container)" \
    || not_ok "VERSION ($VERSION) is not stated in:$bad"
grep -q '^## \[Unreleased\]' "$ROOT/CHANGELOG.md" && grep -q "^## \[$VERSION\]" "$ROOT/CHANGELOG.md" \
    && ok "CHANGELOG.md: an Unreleased section and one for $VERSION" || not_ok "CHANGELOG.md: an Unreleased section and one for $VERSION"
done_testing
