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
"Exit status: 0 ok, 2 usage, 65 invalid state or run, 74 I/O.\n");
}

int main(int argc, char **argv)
{
    enum { O_STATE = 256, O_RUN, O_OUT, O_DATA, O_AGENT, O_METRIC, O_FORCE };
    static const struct option lopts[] = {
        {"state", required_argument, 0, O_STATE}, {"run", required_argument, 0, O_RUN}, {"out", required_argument, 0, O_OUT},
        {"data", required_argument, 0, O_DATA}, {"agent", required_argument, 0, O_AGENT}, {"metric", required_argument, 0, O_METRIC},
        {"force", no_argument, 0, O_FORCE}, AO_CLI_LONGOPTS, AO_AGENT_LLM_LONGOPTS, {0, 0, 0, 0}};
    ao_agent_opts o;
    ao_cli cli;
    ao_err err;
    int c, st;

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
    if (!o.state_in || !o.run_dir || !o.out) return ao_cli_usage_error("--state, --run and --out are required");
    ao_cli_start(&cli);
    return ao_cli_finish(&cli, ao_agent_reflect(&o, &err), &err);
}
