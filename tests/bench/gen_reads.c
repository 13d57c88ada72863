/* gen_reads — benchmark input generator: FASTQ reads cut at random
 * positions and strands from real sequences (one per input line, e.g.
 * the sequence column of the bundled fixtures), with Illumina-like
 * qualities and a label token "XL:Z:<class>" in the header that
 * `samtools import -T '*'` turns into a BAM aux tag.
 *   gen_reads SOURCE.txt N_READS READ_LEN SEED > reads.fastq */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/rng.h"

int main(int argc, char **argv)
{
    FILE *fp;
    char *genome = NULL, line[65536], *rd, *ql;
    size_t glen = 0, gcap = 0;
    long n, len, i, j;
    ao_rng rng;
    if (argc != 5) { fprintf(stderr, "usage: gen_reads SOURCE N READ_LEN SEED\n"); return 2; }
    if (!(fp = fopen(argv[1], "r"))) { perror(argv[1]); return 1; }
    while (fgets(line, sizeof line, fp)) {
        size_t l = strcspn(line, "\r\n");
        if (glen + l + 1 > gcap) { gcap = (glen + l + 1) * 2; genome = realloc(genome, gcap); }
        for (size_t k = 0; k < l; k++) if (strchr("ACGT", line[k])) genome[glen++] = line[k];
    }
    fclose(fp);
    n = atol(argv[2]);
    len = atol(argv[3]);
    ao_rng_seed(&rng, (uint64_t)atol(argv[4]));
    if (glen < (size_t)len * 2) { fprintf(stderr, "source too short\n"); return 1; }
    rd = malloc((size_t)len + 1);
    ql = malloc((size_t)len + 1);
    for (i = 0; i < n; i++) {
        size_t pos = (size_t)ao_rng_below(&rng, glen - (size_t)len);
        int rc = (int)ao_rng_below(&rng, 2), q = 38;
        for (j = 0; j < len; j++) {
            char c = genome[pos + (size_t)j];
            if (rc) c = c == 'A' ? 'T' : c == 'C' ? 'G' : c == 'G' ? 'C' : 'A';
            rd[rc ? len - 1 - j : j] = ao_rng_below(&rng, 500) ? c : 'N';
            /* qualities drift down along the read with small random steps */
            q += (int)ao_rng_below(&rng, 5) - 2 - (j > len / 2 && !ao_rng_below(&rng, 8));
            if (q < 2) q = 2;
            if (q > 41) q = 41;
            ql[j] = (char)(33 + q);
        }
        rd[len] = ql[len] = '\0';
        printf("@bench:%ld XL:Z:%s\n%s\n+\n%s\n", i + 1, ao_rng_below(&rng, 2) ? "pos" : "neg", rd, ql);
    }
    free(rd); free(ql); free(genome);
    return 0;
}
