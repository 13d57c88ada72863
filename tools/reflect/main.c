/* agentomics-reflect — record an iteration's run, move the best pointer,
 * diagnose, and decide whether the agent goes on. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "agentomics/agent.h"
#include "agentomics/cli.h"
#include "agentomics/log.h"

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: agentomics-reflect --state IN --run RUNDIR --out OUT [--agent builtin|llm] [options]\n"
"       agentomics-reflect --decide --state IN --out OUT [--iterations N] [--time-budget S]\n"
"\n"
"Adds the run of IN's current iteration to history.json, moves the best pointer\n"
"on a strict improvement of the validation metric (on the current split only),\n"
"writes the diagnosis with the numbers behind it and suggestions per step, and\n"
"OUT/decision.json: continue, or stop on the iteration budget, the wall-time\n"
"budget, a plateau or the target metric.\n"
"\n"
"  --state IN             state after the analyze step\n"
"  --run RUNDIR           the iteration's train-run output\n"
"  --out OUT              the new state directory\n"
"  --data AGENTDIR        the agent/ directory (for the class list of a failed run)\n"
"  --agent builtin|llm    the agent [builtin]\n"
"  --metric NAME          rank iterations by NAME from now on (the best pointer is\n"
"                         recomputed under it; auto: auroc or f1_macro)\n"
"  --iterations N         set the run's iteration budget (run.json) before deciding;\n"
"                         0: none. A run may be extended: a stopped run goes on\n"
"  --time-budget S        set the run's wall-time budget in seconds; 0: none\n"
"  --decide               only re-make the stop decision of IN's last, already\n"
"                         reflected iteration under the budgets (as updated by\n"
"                         --iterations/--time-budget): no run is recorded, no LLM\n"
"                         called; --run is not needed. The workflows run it after\n"
"                         every reflect with their budgets, so that raising them\n"
"                         on a re-run recomputes no finished iteration\n"
"  --force                replace an existing OUT\n"
"  -v, --verbose          more log output; -q, --quiet: errors only\n"
"  -h, --help             this help;  --version: the version, then htslib's\n"
"\n");
    ao_agent_llm_usage(fp);
    fprintf(fp,
"\n"
"In llm mode a step the LLM cannot finish (budget used up, provider down, no\n"
"valid submit) is recorded in history.json (the iteration's \"failure\") and the\n"
"state is written: the run goes on to a failed iteration, not a lost one.\n"
"\n"
"Exit status: 0 ok, 2 usage, 65 invalid state or run (--decide: an iteration not\n"
"reflected on yet), 74 I/O.\n");
}

int main(int argc, char **argv)
{
    enum { O_STATE = 256, O_RUN, O_OUT, O_DATA, O_AGENT, O_METRIC, O_FORCE, O_ITER, O_TBUDGET, O_DECIDE };
    static const struct option lopts[] = {
        {"state", required_argument, 0, O_STATE}, {"run", required_argument, 0, O_RUN}, {"out", required_argument, 0, O_OUT},
        {"data", required_argument, 0, O_DATA}, {"agent", required_argument, 0, O_AGENT}, {"metric", required_argument, 0, O_METRIC},
        {"force", no_argument, 0, O_FORCE}, {"iterations", required_argument, 0, O_ITER},
        {"time-budget", required_argument, 0, O_TBUDGET}, {"decide", no_argument, 0, O_DECIDE},
        AO_CLI_LONGOPTS, AO_AGENT_LLM_LONGOPTS, {0, 0, 0, 0}};
    ao_agent_opts o;
    ao_cli cli;
    ao_err err;
    int c, st;
    long v;
    double d;

    ao_cli_init(&cli, argv[0], usage);
    ao_agent_opts_init(&o);
    ao_err_init(&err);
    while ((c = getopt_long(argc, argv, AO_CLI_SHORTOPTS, lopts, NULL)) != -1) {
        switch (c) {
        case O_STATE: o.state_in = optarg; break;
        case O_RUN: o.run_dir = optarg; break;
        case O_OUT: o.out = optarg; break;
        case O_DATA: o.data = optarg; break;
        case O_AGENT:
            if (!strcmp(optarg, "builtin")) o.agent = AO_AGENT_BUILTIN;
            else if (!strcmp(optarg, "llm")) o.agent = AO_AGENT_LLM;
            else return ao_cli_usage_error("--agent expects builtin or llm, got '%s'", optarg);
            break;
        case O_METRIC:
            if (!ao_metric_known(optarg, 1)) return ao_cli_usage_error("--metric: unknown metric '%s'", optarg);
            o.metric = optarg;
            break;
        case O_FORCE: o.force = 1; break;
        case O_ITER:
            if (ao_cli_int(optarg, 0, 10000, &v) < 0) return ao_cli_usage_error("--iterations expects an integer in 0..10000 (0: none), got '%s'", optarg);
            o.iterations = (int)v;
            o.budgets_given |= AO_BUDGET_ITERATIONS;
            break;
        case O_TBUDGET:
            if (ao_cli_double(optarg, &d) < 0 || d < 0) return ao_cli_usage_error("--time-budget expects seconds >= 0, got '%s'", optarg);
            o.time_budget = d;
            o.budgets_given |= AO_BUDGET_TIME;
            break;
        case O_DECIDE: o.decide_only = 1; break;
        default:
            if (c >= AO_AGENT_LLM_OPT_BASE) {
                char msg[256];
                if (ao_agent_llm_option(&o, c, optarg, msg, sizeof msg) < 0) return ao_cli_usage_error("%s", msg);
                break;
            }
            if ((st = ao_cli_option(&cli, c)) != AO_CLI_GO_ON) return st;
        }
    }
    if (optind < argc) return ao_cli_usage_error("unexpected argument '%s'", argv[optind]);
    if (o.decide_only) {
        if (!o.state_in || !o.out) return ao_cli_usage_error("--decide needs --state and --out");
        if (o.run_dir || o.metric) return ao_cli_usage_error("--decide takes no --run or --metric: it only re-decides under the budgets");
        ao_cli_start(&cli);
        return ao_cli_finish(&cli, ao_agent_decide(&o, &err), &err);
    }
    if (!o.state_in || !o.run_dir || !o.out) return ao_cli_usage_error("--state, --run and --out are required");
    ao_cli_start(&cli);
    return ao_cli_finish(&cli, ao_agent_reflect(&o, &err), &err);
}
