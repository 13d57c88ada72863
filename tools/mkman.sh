#!/bin/sh
# tools/mkman.sh TOOL_BINARY MAIN_C VERSION — writes the tool's man page
# (roff, section 1) to stdout, generated from its --help, so the page can
# never disagree with the tool. The NAME line is the summary in the opening
# comment of MAIN_C ("/* agentomics-NAME — summary ... */"); the SYNOPSIS is
# the help's "Usage:" line; the rest of the help is the DESCRIPTION, kept
# as laid out (no-fill), since the help is already formatted for 80 columns.
# The page carries no date, so the same sources give the same bytes.
# Used by the Makefile (`make man`, part of `make`); help2man is not needed.
set -eu
bin=$1 src=$2 version=$3
name=$(basename "$bin")
upper=$(printf '%s' "$name" | tr 'a-z' 'A-Z')
help=$("$bin" --help) || { echo "mkman.sh: $bin --help failed" >&2; exit 1; }
# the whole opening comment, joined, without the name and the final period
summary=$(awk 'NR == 1 && !/^\/\*/ { exit } { sub(/^\/\* */, ""); sub(/^ *\* */, ""); done = sub(/ *\*\/.*$/, "");
                printf "%s%s", (NR > 1 ? " " : ""), $0; if (done) exit }' "$src" | sed 's#^[^ ]* *— *##; s#\. *$##')
[ -n "$summary" ] || { echo "mkman.sh: $src: no '/* $name — summary' first line" >&2; exit 1; }

# roff escapes: backslash first, then a leading . or ' (a request), then -
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/-/\\-/g'; }

printf '.TH %s 1 "" "agentomics %s" "User Commands"\n' "$upper" "$version"
printf '.SH NAME\n%s \\- %s\n' "$name" "$(printf '%s' "$summary" | esc)"
printf '.SH SYNOPSIS\n.nf\n'
printf '%s\n' "$help" | sed -n '1s/^Usage: //p' | esc
printf '.fi\n.SH DESCRIPTION\n.nf\n'
# everything after the usage line and the blank line that follows it
printf '%s\n' "$help" | sed '1,2d' | esc
printf '.fi\n.SH VERSION\n'
printf '%s\n' "\\fB$name \\-\\-version\\fR prints the version (agentomics $version) on its first line and the" \
              "htslib it runs with on the second (\\fIUsing htslib X.Y\\fR), as samtools does;" \
              "scripts read the first line."
printf '.SH SEE ALSO\n'
printf '%s\n' "agentomics\\-prepare\\-data(1), agentomics\\-agent\\-step(1), agentomics\\-train\\-run(1)," \
              "agentomics\\-reflect(1), agentomics\\-select(1), agentomics\\-package\\-model(1)," \
              "agentomics\\-predict(1), agentomics\\-evaluate(1); the README and docs/ARCHITECTURE.md" \
              "of the agentomics sources."
