/* agentomics-agent-step — run one or more agent steps on a state directory. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agentomics/agent.h"
#include "agentomics/cli.h"
#include "agentomics/log.h"

static void usage(FILE *fp)
{
    char steps[256];
    ao_agent_step_names(steps, sizeof steps);
    fprintf(fp,
"Usage: agentomics-agent-step --step STEP|--steps A,B,... --out OUT --data AGENTDIR [--state IN] [options]\n"
"\n"
"Runs agent steps on the state IN (none: start a new run) and writes the new\n"
"state OUT; IN is never modified. Steps: %s\n"
"(plan starts an iteration; analyze needs --run RUNDIR). Each writes its\n"
"structured output to OUT/steps/STEP.json and OUT/history.json (schemas/).\n"
"\n"
"  --step STEP            one step\n"
"  --steps A,B,...        several steps in order, in one process; 'iteration' is\n"
"                         every step before train-run (plan up to code)\n"
"  --state IN             the state to continue (omit to start a new run)\n"
"  --out OUT              the new state directory (created whole, or not at all)\n"
"  --data AGENTDIR        the agent/ directory of agentomics-prepare-data\n"
"  --run RUNDIR           a train-run output (for analyze)\n"
"  --agent builtin|llm    the agent [builtin]\n"
"New run configuration (stored in run.json; with --state only --iterations and\n"
"--time-budget count: they replace the run's budgets, e.g. to extend a run):\n"
"  --seed N               base seed [1]\n"
"  --lineage N            lineage number; every seed of the lineage derives from\n"
"                         (seed, N) (README: Seeds) [0]\n"
"  --metric NAME          validation metric ranking iterations: auroc, auprc, mcc,\n"
"                         f1_macro, accuracy, balanced_accuracy [auto: auroc for\n"
"                         binary, f1_macro for multiclass tasks]\n"
"  --iterations N         iteration budget; 0: none [5]\n"
"  --time-budget S        wall-time budget of the whole run in seconds; 0: none [none]\n"
"  --train-time-limit S   time limit of each train-run in seconds [600]\n"
"  --train-mem-limit MB   each train-run's --mem-limit: the code step refuses, by the\n"
"                         learner's estimate on the whole split, proposals that\n"
"                         train-run would refuse, and runs the baseline instead [none]\n"
"  --plateau K            stop after K iterations without improvement [3]\n"
"  --target X             stop when the validation metric reaches X [none]\n"
"  --valid-fraction F     validation share when the agent splits [by size: 0.2,\n"
"                         0.15 from 5000, 0.1 from 50000 sequences]\n"
"Other:\n"
"  --threads N            worker threads [1]\n"
"  --force                replace an existing OUT\n"
"  -v, --verbose          more log output; -q, --quiet: errors only\n"
"  -h, --help             this help;  --version: the version, then htslib's\n"
"\n", steps);
    ao_agent_llm_usage(fp);
    fprintf(fp,
"\n"
"In llm mode a step the LLM cannot finish (budget used up, provider down, no\n"
"valid submit) is recorded in history.json (the iteration's \"failure\") and the\n"
"state is written: the run goes on to a failed iteration, not a lost one.\n"
"\n"
"Exit status: 0 ok, 2 usage, 65 invalid state or data (or a state continued on\n"
"another dataset), 74 I/O.\n");
}

int main(int argc, char **argv)
{
    enum { O_STEP = 256, O_STEPS, O_STATE, O_OUT, O_DATA, O_RUN, O_AGENT, O_SEED, O_LINEAGE, O_METRIC, O_ITER, O_TBUDGET,
           O_TLIMIT, O_MLIMIT, O_PLATEAU, O_TARGET, O_VFRAC, O_THREADS, O_FORCE };
    static const struct option lopts[] = {
        {"step", required_argument, 0, O_STEP}, {"steps", required_argument, 0, O_STEPS}, {"state", required_argument, 0, O_STATE},
        {"out", required_argument, 0, O_OUT}, {"data", required_argument, 0, O_DATA}, {"run", required_argument, 0, O_RUN},
        {"agent", required_argument, 0, O_AGENT}, {"seed", required_argument, 0, O_SEED}, {"lineage", required_argument, 0, O_LINEAGE},
        {"metric", required_argument, 0, O_METRIC}, {"iterations", required_argument, 0, O_ITER},
        {"time-budget", required_argument, 0, O_TBUDGET}, {"train-time-limit", required_argument, 0, O_TLIMIT},
        {"train-mem-limit", required_argument, 0, O_MLIMIT},
        {"plateau", required_argument, 0, O_PLATEAU}, {"target", required_argument, 0, O_TARGET},
        {"valid-fraction", required_argument, 0, O_VFRAC}, {"threads", required_argument, 0, O_THREADS},
        {"force", no_argument, 0, O_FORCE}, AO_CLI_LONGOPTS, AO_AGENT_LLM_LONGOPTS, {0, 0, 0, 0}};
    ao_agent_opts o;
    ao_cli cli;
    ao_err err;
    int c, rc, st;
    long v;
    double d;

    ao_cli_init(&cli, argv[0], usage);
    ao_agent_opts_init(&o);
    ao_err_init(&err);
    while ((c = getopt_long(argc, argv, AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        switch (c) {
        case O_STEP: case O_STEPS: {
            /* the parser keeps the step table's names, not the buffer's:
             * freed at once, so no later usage error can leak it */
            char *steps_buf = strdup(optarg);
            int prc;
            if (!steps_buf) return AO_EXIT_OSERR;
            prc = ao_agent_parse_steps(steps_buf, &o, &err);
            free(steps_buf);
            if (prc < 0) return ao_cli_usage_error("%s", err.msg);
            break;
        }
        case O_STATE: o.state_in = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_DATA: o.data = optarg; break;
        case O_RUN: o.run_dir = optarg; break;
        case O_AGENT:
            if (!strcmp(optarg, "builtin")) o.agent = AO_AGENT_BUILTIN;
            else if (!strcmp(optarg, "llm")) o.agent = AO_AGENT_LLM;
            else return ao_cli_usage_error("--agent expects builtin or llm, got '%s'", optarg);
            break;
        case O_SEED:
            if (ao_cli_int(optarg, 0, 2147483647L, &v) < 0) return ao_cli_usage_error("--seed expects a non-negative integer, got '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        case O_LINEAGE:
            if (ao_cli_int(optarg, 0, 100000, &v) < 0) return ao_cli_usage_error("--lineage expects a non-negative integer, got '%s'", optarg);
            o.lineage = (int)v;
            break;
        case O_METRIC:
            if (!ao_metric_known(optarg, 1)) return ao_cli_usage_error("--metric: unknown metric '%s'", optarg);
            o.metric = optarg;
            break;
        case O_ITER:
            if (ao_cli_int(optarg, 0, 10000, &v) < 0) return ao_cli_usage_error("--iterations expects an integer in 0..10000 (0: none), got '%s'", optarg);
            o.iterations = (int)v;
            o.budgets_given |= AO_BUDGET_ITERATIONS;
            break;
        case O_TBUDGET: case O_TLIMIT:
            if (ao_cli_double(optarg, &d) < 0 || d < 0) return ao_cli_usage_error("%s expects seconds >= 0, got '%s'", c == O_TBUDGET ? "--time-budget" : "--train-time-limit", optarg);
            if (c == O_TBUDGET) { o.time_budget = d; o.budgets_given |= AO_BUDGET_TIME; } else o.train_time_limit = d;
            break;
        case O_MLIMIT:
            if (ao_cli_double(optarg, &d) < 0 || d < 0 || d > 1e9) return ao_cli_usage_error("--train-mem-limit expects megabytes in 0..1e9, got '%s'", optarg);
            o.train_mem_limit = d;
            break;
        case O_PLATEAU:
            if (ao_cli_int(optarg, 0, 10000, &v) < 0) return ao_cli_usage_error("--plateau expects an integer >= 0, got '%s'", optarg);
            o.plateau = (int)v;
            break;
        case O_TARGET:
            if (ao_cli_double(optarg, &d) < 0) return ao_cli_usage_error("--target expects a number, got '%s'", optarg);
            o.target = d;
            break;
        case O_VFRAC:
            if (ao_cli_double(optarg, &d) < 0 || d <= 0 || d >= 0.9) return ao_cli_usage_error("--valid-fraction expects a number in (0, 0.9), got '%s'", optarg);
            o.valid_fraction = d;
            break;
        case O_THREADS:
            if (ao_cli_int(optarg, 1, 1024, &v) < 0) return ao_cli_usage_error("--threads expects an integer >= 1, got '%s'", optarg);
            o.threads = (int)v;
            break;
        case O_FORCE: o.force = 1; break;
        default:
            if (c >= AO_AGENT_LLM_OPT_BASE) {
                char msg[256];
                if (ao_agent_llm_option(&o, c, optarg, msg, sizeof msg) == 0) break;
                return ao_cli_usage_error("%s", msg);
            }
            if ((st = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) return st;
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (!o.n_steps || !o.out || !o.data) return ao_cli_usage_error("--step (or --steps), --out and --data are required");
    ao_cli_start(&cli);
    rc = ao_agent_run_steps(&o, &err);
    return ao_cli_finish(&cli, rc, &err);
}
