/* predict.c — agentomics-predict's library side (see predict.h): picks the
 * kind of model directory and runs it. It sits above model.c and
 * scriptmodel.c, which know nothing of each other. */
#include <stdlib.h>
#include <string.h>
#include "agentomics/ensemble.h"
#include "agentomics/fileio.h"
#include "agentomics/log.h"
#include "agentomics/model.h"
#include "agentomics/predfile.h"
#include "agentomics/predict.h"
#include "agentomics/scriptmodel.h"

/* A script model: its inference entry in the sandbox. No time limit: this
 * is the user's own run, on inputs of any size. */
static int predict_script(const char *model_dir, const char *input, const char *output, int threads, ao_err *err)
{
    ao_script_limits lim = {0, 0, threads, 0, 0, NULL};
    ao_script_report rep;
    ao_dataset_info *info = ao_script_model_info(model_dir, err);
    ao_seqset *s = NULL;
    double *proba = NULL, threshold;
    int rc;
    memset(&rep, 0, sizeof rep);
    if (!info) return err->code;
    if ((rc = ao_script_model_threshold(model_dir, &threshold, err)) < 0) goto DONE;
    if (!(s = ao_seqset_read(input, info, 0, threads, err))) { rc = err->code; goto DONE; }
    if (!(proba = malloc(sizeof *proba * (size_t)(s->n * info->n_classes + 1)))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = ao_script_predict(model_dir, s, &lim, proba, &rep, err)) < 0) goto DONE;
    if (!rep.ok) {
        if (rep.output) ao_warn("the inference entry's output:\n%s", rep.output);
        rc = ao_err_set(err, AO_EDATA, "%s: %s", model_dir, rep.message);
        goto DONE;
    }
    rc = ao_predfile_write(output, info, s, proba, threshold, err);
DONE:
    ao_script_report_clear(&rep);
    free(proba);
    ao_seqset_destroy(s);
    ao_dataset_info_destroy(info);
    return rc;
}

/* A builtin model or an ensemble of them (ensemble.h), in this process. */
static int predict_builtin(const char *model_dir, const char *input, const char *output, int threads, ao_err *err)
{
    ao_model *m = NULL;
    ao_ensemble *e = NULL;
    const ao_dataset_info *info;
    ao_seqset *s = NULL;
    double *proba = NULL;
    int rc;
    if (ao_is_dir(model_dir) && ao_ensemble_is(model_dir)) {
        if (!(e = ao_ensemble_load(model_dir, err))) return err->code;
        info = ao_ensemble_info(e);
    } else {
        if (!(m = ao_model_load(model_dir, err))) return err->code;
        info = ao_model_info(m);
    }
    if (!(s = ao_seqset_read(input, info, 0, threads, err))) { rc = err->code; goto DONE; }
    if (!(proba = malloc(sizeof *proba * (size_t)(s->n * info->n_classes)))) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto DONE; }
    if ((rc = e ? ao_ensemble_predict(e, s, threads, proba, err) : ao_model_predict(m, s, threads, proba, err)) < 0) goto DONE;
    rc = ao_predfile_write(output, info, s, proba, e ? ao_ensemble_threshold(e) : ao_model_threshold(m), err);
DONE:
    free(proba);
    ao_seqset_destroy(s);
    ao_ensemble_destroy(e);
    ao_model_destroy(m);
    return rc;
}

int ao_predict_file(const char *model_dir, const char *input, const char *output, int threads, ao_err *err)
{
    if (ao_is_dir(model_dir) && ao_script_model_is(model_dir)) return predict_script(model_dir, input, output, threads, err);
    return predict_builtin(model_dir, input, output, threads, err);
}
