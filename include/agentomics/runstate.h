/* runstate.h — a run's configuration (run.json) and history
 * (history.json) as typed structures, read and validated once.
 *
 * Every tool that reads a state directory goes through here: the JSON is
 * checked against schemas/run.schema.json and schemas/history.schema.json
 * (compiled into the library, so no installed file is needed to read a
 * state), then against the rules a schema cannot say (consecutive
 * iteration numbers, a best pointer that names a reflected iteration,
 * the lineage seed that belongs to the base seed...). A state that fails
 * any of it is a data error (AO_EDATA, exit 65) naming the file and the
 * JSON path: "STATE/run.json: $.budgets.iterations: expected integer,
 * got string". A state is continued only on the data it started with:
 * ao_run_config_check_data() compares dataset.json's content hash.
 *
 * What stays JSON: the documents that have their own schemas (each
 * step's output, the dataset profile, reflect's feedback, the scorer's
 * metric objects). The control fields (seeds, metric, budgets, split
 * version, best pointer, decisions, run status) are typed.
 */
#ifndef AGENTOMICS_RUNSTATE_H
#define AGENTOMICS_RUNSTATE_H

#include <stdint.h>
#include <jansson.h>
#include "agentomics/error.h"

#define AO_RUNSTATE_FORMAT_VERSION 2   /* run.json */
/* history.json: 3 adds the selection slice's metrics to run records (a
 * format-2 history, which has none, is still read) */
#define AO_HISTORY_FORMAT_VERSION 3
#define AO_METRIC_NAME_MAX 24

enum ao_agent_kind { AO_AGENT_BUILTIN = 0, AO_AGENT_LLM = 1 };

typedef struct ao_budgets {
    int iterations;            /* upper bound on iterations, >= 1 */
    double wall_seconds;       /* the whole run; 0: none */
    double train_time_limit;   /* each train-run; 0: none */
    double train_mem_limit;    /* MB, each train-run's --mem-limit (the code step's smoke run checks proposals against it); 0: none */
    int plateau;               /* iterations without improvement before stopping; 0: never */
    double target;             /* stop when the best value reaches it; NAN: none */
} ao_budgets;

/* The LLM agent's settings (run.json "llm"); strings are owned. */
typedef struct ao_llm_settings {
    char *provider;            /* openai openrouter ollama vllm llamacpp custom */
    char *model, *api_base, *price_file;   /* NULL: not set */
    int max_calls;             /* 0: no limit */
    double max_cost;           /* USD; 0: no limit */
    int max_turns, submit_retries;
    double request_timeout, bash_timeout, mem_limit_mb;
    char *protocol;            /* "tools", "json", "auto"; NULL: the preset's */
    int max_tokens;            /* completion tokens per reply; 0: the preset's */
    long context_tokens;       /* the model's context; 0: asked from the server, else 32768 */
    double step_timeout;       /* wall seconds of one LLM step; 0: none */
    double workspace_mb;       /* workspace quota in MB; 0: the default */
    long workspace_files;      /* workspace quota in entries; 0: the default */
    double sandbox_tmp_mb;     /* the sandbox's /tmp in MB; 0: the default */
} ao_llm_settings;

typedef struct ao_run_config {
    int agent;                 /* enum ao_agent_kind */
    uint64_t base_seed;        /* --seed */
    int lineage;
    uint64_t seed;             /* the lineage's seed: ao_seed_derive(base_seed, AO_SEED_LINEAGE, lineage) */
    char metric[AO_METRIC_NAME_MAX];   /* the ranking metric, resolved (never "auto") */
    int n_classes;             /* of the dataset the run started on */
    char *data_dir;            /* the agent data directory given at the start (informational) */
    char *content_hash;        /* dataset.json's content_hash */
    ao_budgets budgets;
    double valid_fraction;     /* when the agent splits; 0: by data size */
    int baseline;              /* llm mode: 1 when iteration 1 is the builtin baseline */
    int has_llm;               /* llm holds the LLM settings */
    ao_llm_settings llm;
} ao_run_config;

enum ao_decision { AO_DECISION_NONE = 0, AO_DECISION_CONTINUE = 1, AO_DECISION_STOP = 2 };

/* reflect's record of an iteration's train-run */
typedef struct ao_run_record {
    char *run_id;              /* the run directory's name */
    char status[16];           /* ok time_limit diverged failed */
    char *message;             /* NULL: none */
    json_t *train, *valid;     /* the scorer's metrics (owned), NULL when the run kept no model */
    json_t *selection;         /* the same on the selection slice; NULL: no slice or no model */
    double wall_seconds;       /* NAN: unknown */
    double peak_rss_mb;        /* NAN: unknown */
    int epochs;                /* -1: unknown */
} ao_run_record;

typedef struct ao_iteration {
    int number;                /* 1, 2, ... */
    int split_version;         /* the split the iteration is evaluated on (0: none yet) */
    json_t *steps;             /* {"STEP": {"output": {...}, "seconds": S}} (owned) */
    json_t *failure;           /* {"step", "kind", "message", ...} of a failed agent step, else NULL */
    int has_run;
    ao_run_record run;         /* when has_run */
    json_t *feedback;          /* reflect's diagnosis and suggestions, else NULL */
    int decision;              /* enum ao_decision */
    int improved;              /* -1: not reflected yet; 0, 1 */
} ao_iteration;

typedef struct ao_best {
    int iteration;             /* 0: no best yet */
    char *run_id;
    char metric[AO_METRIC_NAME_MAX];
    double value;              /* the ranking value (ao_iteration_rank_value) */
    int split_version;
    int on_selection;          /* value is the selection slice's (history.json "on") */
} ao_best;

typedef struct ao_history {
    int split_version;         /* 0: no split in force yet */
    char split_source[8];      /* "user" or "agent" when split_version > 0 */
    json_t *profile;           /* the dataset profile, NULL before explore */
    ao_best best;
    ao_iteration *iters;
    int n_iters, cap;
    char *stop_reason;         /* reflect's stop reason, NULL while the run goes on */
    int stop_iteration;
} ao_history;

/* ---- run.json ---------------------------------------------------------------- */

/* Parses and validates run.json's content; file names it in messages.
 * AO_EDATA "FILE: $.path: problem" on any violation. */
int ao_run_config_parse(const json_t *j, const char *file, ao_run_config *rc, ao_err *err) AO_WUR;
/* run.json's content (sorted keys when dumped). NULL when out of memory. */
json_t *ao_run_config_to_json(const ao_run_config *rc);
/* AO_OK when data_dir/dataset.json is the dataset the run started on
 * (same content hash and class count); AO_EDATA naming both otherwise;
 * AO_EIO when dataset.json is unreadable. */
int ao_run_config_check_data(const ao_run_config *rc, const char *data_dir, ao_err *err) AO_WUR;
void ao_run_config_clear(ao_run_config *rc);   /* frees the owned fields; zeroes */

/* ---- history.json ------------------------------------------------------------- */

void ao_history_init(ao_history *h);            /* an empty history */
int ao_history_parse(const json_t *j, const char *file, ao_history *h, ao_err *err) AO_WUR;
/* history.json's content; NULL when out of memory. */
json_t *ao_history_to_json(const ao_history *h);
void ao_history_clear(ao_history *h);   /* frees every iteration; an empty history after */

/* The last iteration, or NULL before the first plan step. */
ao_iteration *ao_history_current(const ao_history *h);
/* Iteration number n (1-based), or NULL. */
ao_iteration *ao_history_iteration(const ao_history *h, int n);
/* Appends iteration n_iters + 1 on the split in force; NULL when out of memory. */
ao_iteration *ao_history_new_iteration(ao_history *h);
/* The output of step in it (borrowed), or NULL. */
json_t *ao_iteration_output(const ao_iteration *it, const char *step);
/* Records step's output (stolen) and duration in it. AO_EMEM. */
int ao_iteration_set_step(ao_iteration *it, const char *step, json_t *output, double seconds) AO_WUR;
/* Records an agent failure of step (kind: budget, provider, invalid_output...). */
int ao_iteration_set_failure(ao_iteration *it, const char *step, const char *kind, const char *message) AO_WUR;
/* The run's validation value of metric, NAN when there is none. */
double ao_iteration_valid_value(const ao_iteration *it, const char *metric);
/* The run's selection-slice value of metric, NAN when there is none. */
double ao_iteration_selection_value(const ao_iteration *it, const char *metric);
/* The value iterations are ranked by: the selection slice's when the run
 * was scored on one (the agent never saw it), else the validation value. */
double ao_iteration_rank_value(const ao_iteration *it, const char *metric);
/* The scorer's metrics that value comes from (the selection slice's, else
 * the validation split's, with their row count "n"); NULL without a run. */
const json_t *ao_iteration_rank_scores(const ao_iteration *it);
/* A validation value more than this above the selection slice's (same
 * metric) is flagged "validation over-fit" (reflect's feedback, report.md). */
#define AO_OVERFIT_GAP 0.1

/* What train-run does for an iteration. */
enum ao_iteration_kind {
    AO_ITERATION_BUILTIN = 0,  /* the code step wrote a builtin recipe (workspace/recipe.json) */
    AO_ITERATION_SCRIPT = 1,   /* the code step's output has "entry": "script" */
    AO_ITERATION_FAILED = 2    /* the iteration carries "failure": its agent steps failed */
};
/* it may be NULL (a state without iterations: a builtin recipe). */
enum ao_iteration_kind ao_iteration_kind(const ao_iteration *it);

/* The best pointer as history.json writes it: {"iteration", "run_id",
 * "metric", "value", "split_version", "on"}, or JSON null before the first
 * best; NULL when out of memory. */
json_t *ao_best_json(const ao_best *b);
/* Sets the best pointer to iteration it (which has a run). */
int ao_history_set_best(ao_history *h, const ao_iteration *it, const char *metric, double value) AO_WUR;
/* Recomputes the best pointer under metric: the best ranking value
 * among the reflected iterations on the split in force (ties: the
 * earliest). For a metric changed mid-run. */
int ao_history_rebest(ao_history *h, const char *metric) AO_WUR;
/* Sum of every step's seconds and every run's wall time. */
double ao_history_elapsed(const ao_history *h);

/* ---- a state directory on disk ------------------------------------------------- */

/* Reads DIR/run.json and DIR/history.json (both required). */
int ao_runstate_read(const char *dir, ao_run_config *rc, ao_history *h, ao_err *err) AO_WUR;

/* ---- metric names -------------------------------------------------------------- */

/* Whether name ranks iterations: auroc auprc mcc f1_macro accuracy
 * balanced_accuracy, and "auto" when allow_auto. */
int ao_metric_known(const char *name, int allow_auto);
/* "auto" resolved for a task with n_classes classes: auroc for binary,
 * f1_macro for multiclass; any other known name is returned as is. */
const char *ao_metric_resolve(const char *name, int n_classes);

#endif
