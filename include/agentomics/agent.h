/* agent.h — the agent's steps and its reflection over a state directory.
 *
 * agentomics-agent-step and agentomics-reflect are thin wrappers around
 * these. Each call reads a state (or starts one), runs one or more steps
 * and writes a new state; see state.h for the layout and schemas/ for the
 * JSON schema of every step's structured output.
 */
#ifndef AGENTOMICS_AGENT_H
#define AGENTOMICS_AGENT_H

#include <stdint.h>
#include "agentomics/error.h"

enum ao_agent_kind { AO_AGENT_BUILTIN = 0, AO_AGENT_LLM = 1 };

#define AO_AGENT_MAX_STEPS 16

typedef struct ao_agent_opts {
    const char *steps[AO_AGENT_MAX_STEPS];   /* plan explore split represent architect code analyze */
    int n_steps;
    const char *state_in;      /* NULL: start a new run */
    const char *out;           /* the new state directory */
    const char *data;          /* the agent/ directory of prepare-data */
    const char *run_dir;       /* a train-run output (analyze, reflect) */
    int agent;                 /* enum ao_agent_kind */
    /* configuration of a new run (ignored when continuing a state) */
    uint64_t seed;
    int lineage;
    const char *metric;        /* NULL or "auto": auroc (binary) / f1_macro (multiclass) */
    int iterations;            /* iteration budget */
    double time_budget;        /* wall seconds for the whole run; <= 0: none */
    double train_time_limit;   /* seconds per train-run; <= 0: none */
    int plateau;               /* stop after this many iterations without improvement */
    double target;             /* stop when the validation metric reaches it; NAN: none */
    double valid_fraction;     /* 0: chosen by data size */
    int threads;
    int force;
} ao_agent_opts;

void ao_agent_opts_init(ao_agent_opts *o);
/* Whether name is a step this build knows. */
int ao_agent_step_known(const char *name);
/* Whether name is a validation metric that can rank iterations ("auto"
 * included). */
int ao_agent_metric_known(const char *name);
int ao_agent_run_steps(const ao_agent_opts *o, ao_err *err) AO_WUR;
/* Records the run of the current iteration, moves the best pointer,
 * writes feedback and decision.json (continue/stop). */
int ao_agent_reflect(const ao_agent_opts *o, ao_err *err) AO_WUR;

#endif
