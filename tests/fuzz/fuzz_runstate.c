/* fuzz_runstate.c — the run-state readers (runstate.h: run.json and
 * history.json) on any JSON text, each document read both ways; one that
 * parses is written back and must parse again. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include <string.h>
#include "agentomics/runstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je), *back;
    ao_run_config rc;
    ao_history h;
    ao_err err;
    if (!j) return 0;
    memset(&rc, 0, sizeof rc);
    ao_err_init(&err);
    if (ao_run_config_parse(j, "run.json", &rc, &err) == AO_OK && (back = ao_run_config_to_json(&rc))) {
        ao_run_config rc2;
        memset(&rc2, 0, sizeof rc2);
        ao_err_init(&err);
        if (ao_run_config_parse(back, "run.json", &rc2, &err) != AO_OK) abort();
        ao_run_config_clear(&rc2);
        json_decref(back);
    }
    ao_run_config_clear(&rc);
    ao_history_init(&h);
    ao_err_init(&err);
    if (ao_history_parse(j, "history.json", &h, &err) == AO_OK && (back = ao_history_to_json(&h))) {
        ao_history h2;
        ao_history_init(&h2);
        ao_err_init(&err);
        if (ao_history_parse(back, "history.json", &h2, &err) != AO_OK) abort();
        ao_history_clear(&h2);
        json_decref(back);
    }
    ao_history_clear(&h);
    json_decref(j);
    return 0;
}
