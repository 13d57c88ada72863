/* learner.c — the learner table (see learner.h): which rows exist, the
 * name <-> kind mapping, and the few helpers every row shares. The rows
 * themselves live with their adapters in learner_NAME.c. */
#include <stdio.h>
#include <string.h>
#include "agentomics/learner.h"
#include "agentomics/log.h"

const ao_learner *ao_learner_get(enum ao_learner_kind kind)
{
    /* the table; no default, so -Wswitch names a kind without a row */
    switch (kind) {
    case AO_LEARNER_LOGREG: return &ao_learner_logreg;
    case AO_LEARNER_GBDT: return &ao_learner_gbdt;
    case AO_LEARNER_CNN: return &ao_learner_cnn;
    }
    return NULL;
}

const ao_learner *ao_learner_find(const char *name)
{
    const ao_learner *l;
    int k;
    for (k = 0; name && (l = ao_learner_get((enum ao_learner_kind)k)); k++)
        if (strcmp(l->name, name) == 0) return l;
    return NULL;
}

void ao_learner_names(char *buf, size_t size, const char *last_sep)
{
    const ao_learner *l;
    size_t len = 0;
    int k;
    if (size == 0) return;
    buf[0] = '\0';
    for (k = 0; (l = ao_learner_get((enum ao_learner_kind)k)) && len < size; k++) {
        const char *sep = k == 0 ? "" : ao_learner_get((enum ao_learner_kind)(k + 1)) ? ", " : last_sep;
        len += (size_t)snprintf(buf + len, size - len, "%s\"%s\"", sep, l->name);
    }
}

const char *ao_model_type_name(int kind)
{
    const ao_learner *l = ao_learner_get((enum ao_learner_kind)kind);
    return l ? l->name : "unknown";
}

const char *ao_train_status_name(int status)
{
    static const char *n[] = {"ok", "time_limit", "diverged", "failed"};
    return status >= 0 && status <= 3 ? n[status] : "unknown";
}

int ao_fit_over_time(const ao_fit_opts *o)
{
    return o->time_limit > 0 && ao_now() - o->t0 > o->time_limit;
}

int ao_fit_extended_cap(int cap, int factor)
{
    /* a recipe may ask for up to 100000 epochs or rounds; the product is
     * formed in 64 bits and bounded so a cap never overflows */
    long long h = (long long)cap * (factor > 1 ? factor : 1);
    if (h > 1000000) h = cap > 1000000 ? cap : 1000000;
    return (int)h;
}
