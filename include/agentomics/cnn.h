/* cnn.h — a 1-D convolutional network for one-hot (or other per-position)
 * encoded sequences, trained with Adam on CPU; the heavy products are
 * single-precision BLAS calls (cblas_sgemm, OpenBLAS).
 *
 * Input layout: X is n samples of [C][L] floats (channel-major per sample,
 * C = in_channels, L = in_len, fixed per model). For reverse-complement
 * augmentation and test-time averaging the channels are read as groups of
 * four, A, C, G, T (one group per sequence for multi-sequence inputs such
 * as 8 channels for a pair): every position is reversed and each group is
 * complemented (c -> 3 - c within the group); trailing channels after the
 * last whole group (C % 4 of them) are only reversed.
 *
 * Network (from ao_cnn_arch):
 *   for each block: conv1d (filters, width, dilation, 'same' zero padding,
 *                   left pad = dilation*(width-1)/2 as in PyTorch) + bias
 *                   -> ReLU -> optional max/avg pooling (window = stride
 *                   = pool_size, ceil mode: a short last window is kept)
 *   -> global max / avg / max+avg (concatenated) pooling over positions,
 *      or flatten (positions x channels, keeps position information)
 *   -> dropout -> optional dense hidden layer + ReLU (+ dropout)
 *   -> dense output, softmax over n_classes.
 * Convolutions are im2col + sgemm over whole micro-batches (all samples x
 * positions as the rows of one product) in a channels-last layout; the
 * backward pass is three sgemm per layer plus col2im. Weights: He
 * (Kaiming) normal init from the seeded ao_rng (LeCun normal for the
 * output layer), biases 0.
 *
 * Memory: a training micro-batch keeps its im2col buffers (about 4 MB per
 * layer); long inputs use smaller micro-batches, down to one sample.
 *
 * Determinism: the same arch, data, seeds and thread count give a
 * byte-identical model and predictions. All randomness (init, shuffling,
 * dropout masks, RC augmentation) comes from ao_rng, drawn in sample
 * order independently of the thread count; a different thread count only
 * changes the float summation order of the gradients (not bit-identical).
 */
#ifndef AGENTOMICS_CNN_H
#define AGENTOMICS_CNN_H

#include <stdint.h>
#include "agentomics/error.h"
#include "agentomics/modelfile.h"

#define AO_CNN_MAX_BLOCKS 8
#define AO_CNN_MAX_THREADS 256

enum ao_cnn_pool { AO_CNN_POOL_NONE = 0, AO_CNN_POOL_MAX = 1, AO_CNN_POOL_AVG = 2 };

enum ao_cnn_global {
    AO_CNN_GLOBAL_MAX = 0,     /* max over positions: F features */
    AO_CNN_GLOBAL_AVG = 1,     /* mean over positions: F features */
    AO_CNN_GLOBAL_MAXAVG = 2,  /* max then mean, concatenated: 2F features */
    AO_CNN_FLATTEN = 3         /* all positions: L_last * F features */
};

typedef struct ao_cnn_block {
    int filters;     /* output channels, >= 1 */
    int width;       /* kernel width, >= 1 */
    int dilation;    /* >= 1 */
    int pool;        /* enum ao_cnn_pool */
    int pool_size;   /* window and stride; ignored for AO_CNN_POOL_NONE */
} ao_cnn_block;

typedef struct ao_cnn_arch {
    int n_blocks;                          /* 1..AO_CNN_MAX_BLOCKS */
    ao_cnn_block blocks[AO_CNN_MAX_BLOCKS];
    int global_pool;                       /* enum ao_cnn_global */
    float dropout;                         /* on the pooled features, [0, 1) */
    int hidden;                            /* dense hidden units; 0 = none */
    float hidden_dropout;                  /* on the hidden layer, [0, 1) */
} ao_cnn_arch;

/* The tuned default (see cnn.c for the numbers behind it). */
void ao_cnn_arch_default(ao_cnn_arch *a);
/* 0 if the arch is usable for inputs of length in_len, else AO_EUSAGE
 * with the reason in err. */
int ao_cnn_arch_check(const ao_cnn_arch *a, int in_channels, int in_len, int n_classes, ao_err *err);

enum ao_cnn_class_weight {
    AO_CNN_CW_NONE = 0,        /* every sample weighs 1 */
    AO_CNN_CW_BALANCED = 1,    /* n / (K * count_k), as scikit-learn */
    AO_CNN_CW_EXPLICIT = 2     /* class_weights[k] */
};

/* Why training stopped (ao_cnn_train_result.status). */
enum ao_cnn_status {
    AO_CNN_MAX_EPOCHS = 0,     /* ran max_epochs */
    AO_CNN_EARLY_STOP = 1,     /* validation loss did not improve for `patience` epochs */
    AO_CNN_TIME_LIMIT = 2,     /* time_limit passed: checked after each epoch and inside
                                  every batch and validation pass, whose partial work
                                  is dropped (the best checkpoint is kept) */
    AO_CNN_DIVERGED = 3,       /* a non-finite (or exploded, > 1e4 nats) mini-batch
                                  loss or weights: stopped at once */
    AO_CNN_CANCELLED = 4       /* the progress callback returned non-zero */
};

/* Learning-rate schedule (ao_cnn_train_params.schedule). */
enum ao_cnn_schedule {
    AO_CNN_SCHED_PLATEAU = 0,  /* constant lr, reduced on plateaus (lr_patience, lr_factor) */
    AO_CNN_SCHED_ONECYCLE = 1, /* one cycle over max_epochs (Smith 2018, PyTorch's OneCycleLR
                                  defaults): cosine warm-up from lr/25 to lr over the first
                                  30% of the steps, cosine annealing to lr/25e4 over the rest */
    AO_CNN_SCHED_COSINE = 2    /* cosine annealing from lr to 0 over max_epochs */
};

typedef struct ao_cnn_epoch_info {
    int epoch;                 /* 1-based */
    double train_loss;         /* mean weighted training loss over the epoch (with dropout) */
    double valid_loss;         /* weighted validation loss; NAN without validation data */
    double valid_acc;          /* NAN without validation data */
    double lr;                 /* learning rate of the epoch's last step */
    double seconds;            /* wall time of this epoch, validation included */
    int improved;              /* 1 if this epoch became the best checkpoint */
} ao_cnn_epoch_info;

typedef struct ao_cnn_train_params {
    double lr;                 /* Adam step size (1e-3) */
    double beta1, beta2, eps;  /* 0.9, 0.999, 1e-8 */
    /* Weight decay on weights (not biases), default 0: decoupled when
     * decoupled_wd is 1 (the default; AdamW as in PyTorch: w *= 1 - lr*wd
     * before the Adam step, lr being the current, possibly reduced, rate),
     * else classic L2 (wd*w added to the gradient before the moments). */
    double weight_decay;
    int decoupled_wd;
    int batch_size;            /* 32 */
    int max_epochs;            /* 60 */
    int patience;              /* early-stopping patience in epochs, 8 (<= 0: never stop early) */
    double min_delta;          /* improvement needed to count as better (0) */
    /* Reduce-on-plateau: after lr_patience epochs without improvement the
     * learning rate is multiplied by lr_factor (lr_patience <= 0: off;
     * defaults 3 and 0.3). */
    int lr_patience;
    double lr_factor;
    /* enum ao_cnn_schedule (AO_CNN_SCHED_PLATEAU). The one-cycle and
     * cosine schedules set the rate per mini-batch step over max_epochs
     * whole epochs (fewer when the time limit would cut them: see
     * ao_cnn_train_result.schedule_epochs); reduce-on-plateau is off with
     * them, and early stopping (patience) still applies. Why: a rate annealed to ~0 over a fixed
     * budget converges to a flatter optimum than a constant rate cut on
     * plateaus, in fewer epochs (measured in policy.c's motif CNN). */
    int schedule;
    /* Exponential moving average of the weights (Polyak averaging) with
     * this decay per step (e.g. 0.999; 0: off). When on, validation,
     * early stopping and the kept checkpoint use the averaged weights. */
    double ema;
    int rc_augment;            /* reverse-complement each sample with p = 0.5 per epoch (1) */
    int rc_average;            /* predictions average forward and reverse complement (1);
                                  stored in the model, used by ao_cnn_predict_proba */
    int class_weight;          /* enum ao_cnn_class_weight */
    const double *class_weights; /* n_classes values for AO_CNN_CW_EXPLICIT */
    uint64_t seed;             /* shuffling, dropout and augmentation */
    /* Threads (1..AO_CNN_MAX_THREADS; clamped): each mini-batch is split
     * into `threads` data-parallel shards run on pthreads, each calling
     * BLAS single-threaded (openblas_set_num_threads(1) for the duration,
     * restored after); their gradients are summed in a fixed order. */
    int threads;
    double time_limit;         /* seconds of wall time, checked down to each micro-batch; <= 0: none */
    /* Called after every epoch; a non-zero return stops training
     * (AO_CNN_CANCELLED, best checkpoint kept). May be NULL. */
    int (*progress)(void *ctx, const ao_cnn_epoch_info *e);
    void *progress_ctx;
} ao_cnn_train_params;

/* The tuned default schedule (Adam, batch 32, early stopping on the
 * validation loss); recipes override single fields. */
void ao_cnn_train_params_default(ao_cnn_train_params *p);

typedef struct ao_cnn_train_result {
    int status;                /* enum ao_cnn_status */
    int epochs;                /* epochs completed (a diverged one not counted) */
    int best_epoch;            /* 0 = the initial weights were never beaten */
    double best_valid_loss;    /* NAN without validation data */
    double best_valid_acc;
    double last_train_loss;
    double seconds;            /* total wall time */
    double seconds_per_epoch;  /* mean over completed epochs */
    int schedule_epochs;       /* the epochs an annealing schedule spanned: max_epochs, or fewer
                                  when the time limit would have cut it (re-planned after each
                                  epoch to the epochs that fit 90% of the time left at the pace
                                  so far) */
} ao_cnn_train_result;

typedef struct ao_cnn ao_cnn;

/* A new network with He-initialised weights drawn from `seed`.
 * NULL on error (bad arch: AO_EUSAGE; memory: AO_EMEM) with err set. */
ao_cnn *ao_cnn_create(const ao_cnn_arch *a, int in_channels, int in_len, int n_classes,
                      uint64_t seed, ao_err *err);
void ao_cnn_destroy(ao_cnn *m);

/* Bytes ao_cnn_train needs besides its input tensors, from the same code
 * that allocates them: the weights and their copies (gradient per thread,
 * Adam's two moments, best checkpoint, EMA), every shard's workspace of
 * activations and im2col buffers with their gradients, and the validation
 * passes' workspaces and probabilities for n_valid samples. -1 when the
 * arch does not fit the input; INFINITY when a micro-batch would not fit
 * the int products BLAS takes. */
double ao_cnn_train_bytes(const ao_cnn_arch *a, int in_channels, int in_len, int n_classes, int batch_size,
                          int threads, int64_t n_valid);

/* Trains m in place on X [n][C][L], y[n] in 0..n_classes-1; early stopping
 * on the validation set (Xv, yv, nv; nv = 0 / NULL: no early stopping and
 * the last weights are kept). On return m holds the best checkpoint (the
 * lowest validation loss, or the initial weights if no epoch beat them).
 * Returns >= 0 when training ran (see res->status: a divergence or a hit
 * time limit is success with a status), < -1 on bad input or memory. */
int ao_cnn_train(ao_cnn *m, const ao_cnn_train_params *p,
                 const float *X, const int *y, int64_t n,
                 const float *Xv, const int *yv, int64_t nv,
                 ao_cnn_train_result *res, ao_err *err) AO_WUR;

/* Class probabilities proba[n][n_classes] (row-major, rows sum to 1);
 * averages forward and reverse complement if the model was trained with
 * rc_average (see ao_cnn_set_rc_average). Chunks of samples run on
 * `threads` pthreads with single-threaded BLAS; the result does not depend
 * on `threads`. Returns 0, AO_EMEM, or AO_EUSAGE for NULL arguments. */
int ao_cnn_predict_proba(const ao_cnn *m, const float *X, int64_t n, int threads, double *proba) AO_WUR;

/* Serialisation into / from a model-file section payload (little-endian,
 * own version number inside). */
int ao_cnn_save(const ao_cnn *m, ao_buf *b) AO_WUR;
int ao_cnn_load(ao_cursor *c, ao_cnn **out, ao_err *err) AO_WUR;

/* Accessors. */
int ao_cnn_in_channels(const ao_cnn *m);
int ao_cnn_in_len(const ao_cnn *m);
int ao_cnn_n_classes(const ao_cnn *m);
const ao_cnn_arch *ao_cnn_get_arch(const ao_cnn *m);
int ao_cnn_rc_average(const ao_cnn *m);
void ao_cnn_set_rc_average(ao_cnn *m, int on);

/* For tests and tools: the flat parameter vector and its length. Order:
 * per block W [filters][width][in_channels] then b [filters]; then the
 * hidden W [hidden][G], b (if any); then the output W [n_classes][G or
 * hidden], b. G is the pooled feature count (flatten: position-major,
 * [L_last][filters]). */
float *ao_cnn_params(ao_cnn *m, int64_t *n_params);

/* For gradient checks: the weighted mean cross-entropy of a batch X[n]
 * (n <= 4096) in training mode (dropout drawn from dropout_seed; no
 * augmentation) and, if grad != NULL, its gradient with respect to
 * ao_cnn_params() (n_params floats, overwritten). sample_w may be NULL
 * (all 1). Returns 0 or < -1. */
int ao_cnn_loss_grad(ao_cnn *m, const float *X, const int *y, const double *sample_w, int n,
                     uint64_t dropout_seed, double *loss, float *grad) AO_WUR;

#endif
