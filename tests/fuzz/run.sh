#!/bin/sh
# tests/fuzz/run.sh SECONDS TARGET... — make fuzz: builds the library and
# each target with clang -fsanitize=fuzzer,address,undefined in build-fuzz/
# and runs each for SECONDS on a corpus seeded from tests/data (the formats
# the target reads) and tests/data/fuzz/TARGET (generated seeds and the
# regression inputs of crashes found before). Prints each target's
# executions; exits 1 when any target found a crash (the input is kept in
# build-fuzz/artifacts/TARGET/: add it to tests/data/fuzz/TARGET/ with the
# fix, and make test replays it from then on), 77 when clang is missing.
set -u
cd "$(dirname "$0")/../.." || exit 2
secs=$1; shift
CLANG=${FUZZ_CC:-clang}
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
    "$CLANG" -x c -fsanitize=fuzzer,address,undefined - -o build-fuzz.check >/dev/null 2>&1 ||
    { rm -f build-fuzz.check; echo "fuzz: $CLANG cannot build a libFuzzer target (apt-get install clang libclang-rt-14-dev)" >&2; exit 77; }
rm -f build-fuzz.check
SAN='-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer'
make --no-print-directory -s BUILD=build-fuzz BINDIR=build-fuzz/bin CC="$CLANG" \
    CFLAGS="-O1 -g $SAN -fsanitize=fuzzer-no-link" build-fuzz/libagentomics.a || exit 2
LIBS=$(pkg-config --libs htslib jansson libarchive libcurl zlib) 
BLAS=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
CF="-std=gnu11 -Iinclude -Itests/fuzz $(pkg-config --cflags htslib jansson libarchive libcurl zlib) $(pkg-config --cflags openblas 2>/dev/null)"
fail=0
for t in "$@"; do
    name=${t#fuzz_}
    bin=build-fuzz/$t corpus=build-fuzz/corpus/$name art=build-fuzz/artifacts/$name
    $CLANG $CF -O1 -g $SAN -fsanitize=fuzzer -o "$bin" "tests/fuzz/$t.c" build-fuzz/libagentomics.a $LIBS $BLAS -lm -lpthread || { fail=1; continue; }
    mkdir -p "$corpus" "$art"
    cp tests/data/fuzz/$name/* "$corpus/" 2>/dev/null
    case $name in
    seqreader) cp tests/data/*.fa tests/data/*.fasta tests/data/*.fastq tests/data/*.fastq.gz tests/data/*.sam.gz tests/data/*.bam \
                  tests/data/*.cram tests/data/ecoli_sample.csv tests/data/splice_sample.csv tests/data/nontata_sample.csv.gz tests/data/ex1_labels.tsv "$corpus/" ;;
    tsv) for p in tests/data/metrics/*.pred.tsv; do b=${p%.pred.tsv}; [ -f "$b.labels.tsv" ] && { cat "$p"; printf '\f'; cat "$b.labels.tsv"; } > "$corpus/$(basename "$b")"; done ;;
    recipe) cp tests/data/fuzz/recipe/* "$corpus/" ;;
    jsonschema) for s in schemas/*.json; do { printf '\001'; cat "$s"; } > "$corpus/schema_$(basename "$s")"; done ;;
    esac
    log=build-fuzz/$name.log
    TMPDIR=${TMPDIR:-/tmp} ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        "./$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=3072 -max_len=262144 -print_final_stats=1 \
        -artifact_prefix="$art/" "$corpus" >"$log" 2>&1
    rc=$?
    runs=$(grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $name: ${runs:-?} executions in $secs s, no finding"
    else
        fail=1
        echo "fuzz $name: FINDING after ${runs:-?} executions (exit $rc); input in $art/, log $log:"
        grep -aE 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|SUMMARY' "$log" | head -5
    fi
done
exit $fail
