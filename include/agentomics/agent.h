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
#include <stdio.h>
#include "agentomics/error.h"
#include "agentomics/runstate.h"

#define AO_AGENT_MAX_STEPS 16

typedef struct ao_agent_opts {
    const char *steps[AO_AGENT_MAX_STEPS];   /* step names (ao_agent_parse_steps) */
    int n_steps;
    const char *state_in;      /* NULL: start a new run */
    const char *out;           /* the new state directory */
    const char *data;          /* the agent/ directory of prepare-data */
    const char *run_dir;       /* a train-run output (analyze, reflect) */
    int agent;                 /* enum ao_agent_kind */
    /* configuration of a new run (ignored when continuing a state) */
    uint64_t seed;
    int lineage;
    const char *metric;        /* NULL or "auto": auroc (binary) / f1_macro (multiclass),
                                * resolved once when the run starts; for reflect: a new
                                * ranking metric for this and later iterations */
    int iterations;            /* iteration budget; 0: none */
    double time_budget;        /* wall seconds for the whole run; <= 0: none */
    double train_time_limit;   /* seconds per train-run; <= 0: none */
    double train_mem_limit;    /* MB per train-run (its --mem-limit); <= 0: none */
    int plateau;               /* stop after this many iterations without improvement */
    double target;             /* stop when the validation metric reaches it; NAN: none */
    double valid_fraction;     /* 0: chosen by data size */
    int threads;
    int force;
    /* Budgets given on the command line (AO_BUDGET_* bits): a continued
     * run takes them into run.json (raising or lowering what it started
     * with), so a workflow can extend a run without recomputing it. */
    int budgets_given;
    int decide_only;           /* reflect: only re-make the last iteration's stop decision */
    /* LLM agent. A new run stores these in run.json ("llm", "baseline");
     * later calls use run.json's values unless given again (NULL / 0 / -1:
     * not given). The key is never an option: AGENTOMICS_API_KEY,
     * OPENAI_API_KEY or OPENROUTER_API_KEY. */
    const char *provider;      /* openai openrouter ollama vllm llamacpp custom */
    const char *model;         /* else $AGENTOMICS_MODEL */
    const char *api_base;      /* else $AGENTOMICS_API_BASE, else the preset's */
    const char *price_file;    /* JSON price table (USD per 1M tokens per model) */
    int max_llm_calls;         /* 0: no limit */
    double max_cost;           /* USD; <= 0: no limit */
    int baseline;              /* 1: iteration 1 is the builtin baseline, 0: none; -1: not given */
    int max_turns;             /* model replies per step [40] */
    int submit_retries;        /* rejected submits tolerated per step [3] */
    double llm_timeout;        /* seconds per LLM request [300] */
    double bash_timeout;       /* seconds per sandboxed command [120] */
    double mem_limit_mb;       /* address-space limit of sandboxed commands [8192] */
    const char *protocol;      /* tools, json or auto; NULL: the preset's */
    int max_tokens;            /* completion tokens per reply; 0: the preset's */
    long context_tokens;       /* the model's context; 0: asked from the server, else 32768 */
    double step_timeout;       /* wall seconds of one LLM step; 0: none */
    double workspace_mb;       /* workspace quota in MB, checked after each command; 0: the default 1024 */
    long workspace_files;      /* workspace quota in entries; 0: the default 20000 */
    double sandbox_tmp_mb;     /* size of the sandbox's /tmp; 0: the default 1024 */
} ao_agent_opts;

#define AO_BUDGET_ITERATIONS 1   /* --iterations was given */
#define AO_BUDGET_TIME 2         /* --time-budget was given */

/* The defaults the help texts state: seed 1, 5 iterations, 600 s per
 * train-run, plateau 3, no target, one thread, baseline not given. */
void ao_agent_opts_init(ao_agent_opts *o);

/* The LLM options that agentomics-agent-step and agentomics-reflect share:
 * put AO_AGENT_LLM_LONGOPTS into the getopt_long table, hand every code >=
 * AO_AGENT_LLM_OPT_BASE to ao_agent_llm_option() (0 ok; -1 with msg for a
 * usage error) and print ao_agent_llm_usage() in --help. */
#define AO_AGENT_LLM_OPT_BASE 1000
#define AO_AGENT_LLM_LONGOPTS \
    {"provider", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 0}, {"model", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 1}, \
    {"api-base", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 2}, {"price-file", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 3}, \
    {"max-llm-calls", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 4}, {"max-cost", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 5}, \
    {"baseline", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 6}, {"max-turns", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 7}, \
    {"submit-retries", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 8}, {"llm-timeout", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 9}, \
    {"bash-timeout", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 10}, {"sandbox-mem", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 11}, \
    {"llm-protocol", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 12}, {"max-tokens", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 13}, \
    {"context-tokens", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 14}, {"step-timeout", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 15}, \
    {"workspace-quota", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 16}, {"workspace-files", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 17}, \
    {"sandbox-tmp", required_argument, 0, AO_AGENT_LLM_OPT_BASE + 18}
int ao_agent_llm_option(ao_agent_opts *o, int code, const char *arg, char *msg, size_t msg_size);
void ao_agent_llm_usage(FILE *fp);   /* the LLM options' help text */
/* Whether name is a step this build knows. */
int ao_agent_step_known(const char *name);
/* "plan, explore, ...": every step, in iteration order (for help texts). */
void ao_agent_step_names(char *buf, size_t n);
/* Fills o->steps from a comma-separated list (modified in place; the
 * names point into it). "iteration" stands for every step of an
 * iteration before analyze (plan..code). AO_EUSAGE for an unknown step
 * (the message lists the known ones) or more than AO_AGENT_MAX_STEPS. */
int ao_agent_parse_steps(char *list, ao_agent_opts *o, ao_err *err) AO_WUR;
/* The whole of agentomics-agent-step: reads o->state_in (or starts a new
 * run from the options and o->data), runs o->steps in order and writes
 * the new state o->out. An LLM step that fails in a way that is the
 * agent's is recorded in the iteration, not returned. AO_OK, AO_EUSAGE,
 * AO_EDATA (invalid state or data; a state continued on other data),
 * AO_EIO, AO_EMEM. */
int ao_agent_run_steps(const ao_agent_opts *o, ao_err *err) AO_WUR;
/* The whole of agentomics-reflect: records the run of the current
 * iteration (o->run_dir's metrics.json), diagnoses it, moves the best
 * pointer on strict improvement on the split in force, and writes
 * feedback and decision.json (continue/stop) into the new state o->out. */
int ao_agent_reflect(const ao_agent_opts *o, ao_err *err) AO_WUR;
/* agentomics-reflect --decide: re-makes the stop decision of the last,
 * already reflected iteration of o->state_in under run.json's budgets as
 * updated by o->budgets_given, and writes the new state o->out (run.json,
 * the iteration's decision, history.json's stop record, decision.json);
 * nothing else changes and no LLM is called. The workflows run it after
 * every reflect with their budgets, so the budgets are in no iteration's
 * inputs and raising them on a re-run recomputes no finished iteration.
 * AO_EDATA when the last iteration is not reflected on yet. */
int ao_agent_decide(const ao_agent_opts *o, ao_err *err) AO_WUR;

#endif
