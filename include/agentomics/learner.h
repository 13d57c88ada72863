/* learner.h — the builtin learners as a table: one row per learner.
 *
 * A row says everything the rest of the project needs to know about a
 * learner: its name (in recipes, model files and metrics), the input it
 * reads, its recipe parameters (defaults, strict parsing of the recipe's
 * "model" object, and that object back from a parameter block), how to
 * shrink it for a smoke run, how much memory it needs, and how to fit,
 * predict, save, load (and report the shape of) and destroy a fitted
 * learner. recipe.c and model.c
 * dispatch through the rows; they never test for a particular learner.
 *
 * Adding a learner: its kind in enum ao_learner_kind, its parameter block
 * in ao_learner_params, its row (declared below, defined with its adapter
 * in tools/lib/learner_NAME.c beside the learner's own module), one case
 * in ao_learner_get (learner.c), and its "model" alternative in
 * schemas/recipe.schema.json. The compiler flags a kind without a row
 * (-Wswitch: no switch over kinds has a default).
 */
#ifndef AGENTOMICS_LEARNER_H
#define AGENTOMICS_LEARNER_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "agentomics/cnn.h"
#include "agentomics/error.h"
#include "agentomics/gbdt.h"
#include "agentomics/logreg.h"
#include "agentomics/matrix.h"
#include "agentomics/modelfile.h"

/* Numbered from 0 without gaps, in table order. */
enum ao_learner_kind {
    AO_LEARNER_LOGREG = 0,   /* L2 logistic regression */
    AO_LEARNER_GBDT = 1,     /* gradient-boosted trees */
    AO_LEARNER_CNN = 2       /* 1-D convolutional network */
};

/* What a learner reads; model.c builds it from the recipe's representation. */
enum ao_learner_input {
    /* A sparse feature matrix (ao_csr): k-mer spectra with global and pair
     * features, or the one-hot matrix flattened into positional features. */
    AO_INPUT_FEATURES = 0,
    /* The one-hot tensor [n][4 x sequence columns][length]; only the
     * "onehot" representation gives it. */
    AO_INPUT_ONEHOT = 1
};

/* Everything a recipe sets for a CNN. */
typedef struct ao_cnn_spec {
    ao_cnn_arch arch;
    ao_cnn_train_params train;
} ao_cnn_spec;

/* One parameter block per learner; the member in use is named by the
 * learner's kind, which the owner keeps beside it (ao_recipe.model). The
 * seed is not part of a block: fit takes the recipe's. */
typedef union ao_learner_params {
    ao_logreg_params logreg;
    ao_gbdt_params gbdt;
    ao_cnn_spec cnn;
} ao_learner_params;

/* How training ended. */
enum ao_train_status {
    AO_TRAIN_OK = 0,          /* converged, early-stopped or ran its budget of epochs/rounds */
    AO_TRAIN_TIME_LIMIT = 1,  /* cut by the time limit; best checkpoint kept */
    AO_TRAIN_DIVERGED = 2,    /* a NaN/inf loss; best checkpoint kept if there was one */
    AO_TRAIN_FAILED = 3       /* no usable model */
};

/* "ok", "time_limit", "diverged", "failed" ("unknown" for other values). */
const char *ao_train_status_name(int status);

typedef struct ao_train_report {
    int status;               /* enum ao_train_status */
    int epochs;               /* epochs (CNN), rounds (GBDT) or iterations (logreg) run */
    int best;                 /* best epoch / round kept (0 when not applicable) */
    double seconds;
    int n_features;           /* representation width (feature-matrix learners) */
    int input_length;         /* one-hot length (one-hot representations) */
    char message[384];        /* why it stopped, in words */
    /* "" or, when training stopped at a cap while it was still improving
     * or without converging, that fact in words: metrics.json's
     * `warnings` (a run with a warning is still `ok`) */
    char warning[256];
} ao_train_report;

/* Adaptive training caps. A recipe's iteration, epoch or round count is a
 * soft cap: past it a learner goes on while it still improves, up to a
 * fixed multiple of the cap and always within the time limit, and it
 * warns (ao_train_report.warning) when it stops at the hard bound still
 * improving or, for L-BFGS, not converged. Every rule reads numbers the
 * fit computes deterministically, so a seed and thread count still give
 * one model. Without a validation set the CNN and GBDT do not extend
 * (early stopping and the extension read the validation loss only). */
/* L-BFGS: past max_iter, while the objective fell by more than
 * AO_LOGREG_PLATEAU (relative to max(|f|, 1)) over the last
 * AO_LOGREG_WINDOW iterations; at most AO_LOGREG_EXTEND x max_iter. */
#define AO_LOGREG_EXTEND 4
#define AO_LOGREG_PLATEAU 1e-5
#define AO_LOGREG_WINDOW 10
/* CNN: past `epochs`, while the best validation epoch is the last one or
 * the one before; at most AO_CNN_EXTEND x epochs (patience still stops
 * it earlier). */
#define AO_CNN_EXTEND 2
/* GBDT: past n_estimators, while the best validation round is among the
 * last AO_GBDT_WINDOW rounds; at most AO_GBDT_EXTEND x n_estimators. */
#define AO_GBDT_EXTEND 2
#define AO_GBDT_WINDOW 10

/* cap * factor, within [cap, 1000000]: the hard bound of a soft cap. */
int ao_fit_extended_cap(int cap, int factor);

/* A learner's input rows, as its row's input says. */
typedef struct ao_learner_data {
    int64_t n;                /* rows */
    const int *y;             /* n labels in [0, n_classes) when fitting; NULL when predicting */
    const ao_csr *X;          /* AO_INPUT_FEATURES: n x features (scaled if the row says so) */
    const float *onehot;      /* AO_INPUT_ONEHOT: n x channels x length */
    int channels, length;     /* AO_INPUT_ONEHOT */
} ao_learner_data;

/* The size of a learner's input before it is built (memory estimates). */
typedef struct ao_learner_shape {
    int64_t n_rows;           /* training and validation rows */
    int64_t n_valid;          /* of which validation rows */
    int64_t n_features;       /* AO_INPUT_FEATURES: columns */
    int64_t channels, length; /* AO_INPUT_ONEHOT */
    int n_classes;
    int threads;
} ao_learner_shape;

/* The shape a fitted learner was built for, as its own data says: a
 * model file is checked against it before use (model.c compares it with
 * META's classes and the representation's width or one-hot shape). */
typedef struct ao_learner_io {
    int n_classes;            /* probabilities per row */
    int64_t n_features;       /* AO_INPUT_FEATURES: columns it reads */
    int channels, length;     /* AO_INPUT_ONEHOT: the tensor it reads */
} ao_learner_io;

/* What fit gets besides its parameters and data. */
typedef struct ao_fit_opts {
    int n_classes;
    uint64_t seed;            /* the recipe's seed */
    int threads;
    double t0;                /* ao_now() when training started (representation included) */
    double time_limit;        /* seconds after t0; <= 0: none */
    FILE *log;                /* one progress line per epoch, round or iteration block; may be NULL */
    struct ao_progress *progress;   /* the same records for learning_curve.tsv and stderr (progress.h); may be NULL */
} ao_fit_opts;

/* 1 when o's time limit has passed, else 0 (for progress callbacks). */
int ao_fit_over_time(const ao_fit_opts *o);

typedef struct ao_learner {
    const char *name;                /* "logreg": $.model.type, the model file's META, metrics */
    enum ao_learner_kind kind;
    enum ao_learner_input input;
    int scaled;                      /* 1: features are scaled to unit variance on the training
                                        rows before fitting (the scale is saved with the model) */

    /* The parameter block a recipe gets when its "model" object sets nothing. */
    void (*defaults)(ao_learner_params *p);
    /* Reads the recipe's "model" object (its "type" already checked) over
     * the block in p (defaults first): strict, AO_EDATA with
     * "FILE: $.model.KEY: ..." for an unknown key, a wrong type or an
     * out-of-range value. Returns AO_OK or AO_EDATA. */
    int (*parse)(const json_t *model, const char *file, ao_learner_params *p, ao_err *err);
    /* The complete "model" object for p, "type" included, every parameter
     * explicit: parse(to_json(p)) gives p back. New reference; NULL when
     * out of memory or when p holds a value no recipe can say. */
    json_t *(*to_json)(const ao_learner_params *p);
    /* Makes p a quick version of itself for a smoke run (few iterations,
     * rounds or epochs); everything else stays. */
    void (*shrink)(ao_learner_params *p);
    /* Bytes training needs for input of shape s, all of it estimated up
     * front: the input the learner reads, its parameters, its optimizer
     * state and its working memory (activations); model.c refuses a
     * recipe whose estimate passes the memory limit before anything is
     * built. *what names the recipe path that drives it and the structure
     * ("$.representation.k: the dense feature matrix ..."). */
    double (*memory)(const ao_learner_params *p, const ao_learner_shape *s, const char **what);

    /* Fits on train; valid (NULL: none) drives early stopping where the
     * learner has it. Progress lines go to o->log. Returns AO_OK with
     * rep's status, epochs, best and message set and *model the fitted
     * learner (NULL when training produced nothing usable: a diverged
     * start); < -1 on bad parameters for this input (AO_EUSAGE), bad
     * data or memory, with err set and *model NULL. */
    int (*fit)(const ao_learner_params *p, const ao_learner_data *train, const ao_learner_data *valid,
               const ao_fit_opts *o, void **model, ao_train_report *rep, ao_err *err);
    /* proba: x->n x n_classes, row-major. Returns AO_OK or < -1 with err set. */
    int (*predict_proba)(const void *model, const ao_learner_data *x, int threads, double *proba, ao_err *err);
    /* Appends the fitted learner to b (the model file's learner section).
     * Returns AO_OK or AO_EMEM. */
    int (*save)(const void *model, ao_buf *b);
    /* Reads what save wrote, checking every count against the payload's
     * size before allocating and every value for consistency (finite
     * weights, indices in range). Returns AO_OK with *model set, or
     * AO_EDATA (AO_EMEM when a consistent model does not fit in memory). */
    int (*load)(ao_cursor *c, void **model, ao_err *err);
    /* The shape a fitted learner reads and writes (see ao_learner_io). */
    void (*io)(const void *model, ao_learner_io *io);
    void (*destroy)(void *model);    /* NULL-safe */
} ao_learner;

/* The rows, each defined with its adapter in tools/lib/learner_NAME.c;
 * reach them through ao_learner_get and ao_learner_find. */
extern const ao_learner ao_learner_logreg;
extern const ao_learner ao_learner_gbdt;
extern const ao_learner ao_learner_cnn;

/* The row of a kind; NULL for a value that is no kind. Kinds run from 0
 * without gaps, so `for (k = 0; (l = ao_learner_get(k)); k++)` visits
 * every row. */
const ao_learner *ao_learner_get(enum ao_learner_kind kind);
/* The row named name; NULL when no learner has that name. */
const ao_learner *ao_learner_find(const char *name);
/* The learners' names for messages, quoted and joined by ", " with
 * last_sep before the last one: "\"logreg\", \"gbdt\" or \"cnn\"". Writes
 * at most size bytes, NUL-terminated. */
void ao_learner_names(char *buf, size_t size, const char *last_sep);
/* The name of a kind, or "unknown". */
const char *ao_model_type_name(int kind);

#endif
