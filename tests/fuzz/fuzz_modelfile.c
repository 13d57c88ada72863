/* fuzz_modelfile.c — model files (model.h, modelfile.h) on any bytes:
 * the container, META, the featurizer, the scales and every learner's
 * payload are loaded, and a model that loads predicts a few sequences of
 * each length class, so a shape the loader let through that would read
 * or write out of bounds shows up here. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include <stdlib.h>
#include <string.h>
#include "agentomics/log.h"
#include "agentomics/model.h"

static const char *seqs[] = {"ACGTACGTAC", "A", "NNNNRYACGTTTGACCA", "ACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    ao_model *m;
    ao_err err;
    int fd;
    ao_log_setup("fuzz", AO_LOG_ERROR);
    if ((fd = fuzz_file(data, size, path, sizeof path)) < 0) return 0;
    ao_err_init(&err);
    if ((m = ao_model_load(path, &err))) {
        const ao_dataset_info *info = ao_model_info(m);
        int64_t n = 4;
        int c, i;
        ao_seqset s;
        char *ids[4] = {"a", "b", "c", "d"}, **col = calloc((size_t)(n * info->n_seq_cols), sizeof *col);
        double *proba = malloc(sizeof *proba * (size_t)(n * info->n_classes));
        if (col && proba) {
            for (i = 0; i < n; i++)
                for (c = 0; c < info->n_seq_cols; c++) col[i * info->n_seq_cols + c] = (char *)seqs[i];
            memset(&s, 0, sizeof s);
            s.n = n;
            s.n_seq = info->n_seq_cols;
            s.ids = ids;
            s.seqs = col;
            if (ao_model_predict(m, &s, 1, proba, &err) == AO_OK)
                for (i = 0; i < n * info->n_classes; i++)
                    if (!(proba[i] >= 0 && proba[i] <= 1)) abort();   /* a loaded model predicts probabilities */
        }
        free(col);
        free(proba);
        ao_model_destroy(m);
    }
    close(fd);
    return 0;
}
