/* modelfile.c — the checksummed, versioned, little-endian container of
 * builtin models (modelfile.h): byte buffers to write sections, cursors
 * that read them back with every length checked. */
#include <stdlib.h>
#include <string.h>
#include "agentomics/fileio.h"
#include "agentomics/hash.h"
#include "agentomics/modelfile.h"

static const char MAGIC[8] = {'A', 'O', 'M', 'O', 'D', 'E', 'L', '\0'};

void ao_buf_free(ao_buf *b)
{
    if (!b) return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

void ao_buf_put(ao_buf *b, const void *p, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        unsigned char *nd;
        while (cap < b->len + n) cap *= 2;
        if (!(nd = realloc(b->data, cap))) { b->oom = 1; return; }
        b->data = nd;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ao_buf_u64(ao_buf *b, uint64_t v)
{
    unsigned char x[8];
    int i;
    for (i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
    ao_buf_put(b, x, 8);
}

void ao_buf_u32(ao_buf *b, uint32_t v)
{
    unsigned char x[4];
    int i;
    for (i = 0; i < 4; i++) x[i] = (unsigned char)(v >> (8 * i));
    ao_buf_put(b, x, 4);
}

void ao_buf_i32(ao_buf *b, int32_t v) { ao_buf_u32(b, (uint32_t)v); }

void ao_buf_f32(ao_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    ao_buf_u32(b, u);
}

void ao_buf_f64(ao_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    ao_buf_u64(b, u);
}

void ao_buf_f32s(ao_buf *b, const float *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) ao_buf_f32(b, v[i]);
}

void ao_buf_f64s(ao_buf *b, const double *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) ao_buf_f64(b, v[i]);
}

void ao_buf_str(ao_buf *b, const char *s)
{
    size_t n = strlen(s);
    ao_buf_u32(b, (uint32_t)n);
    ao_buf_put(b, s, n);
}

int ao_cur_get(ao_cursor *c, void *p, size_t n)
{
    if (n > c->len - c->pos) return AO_EDATA;
    if (n) memcpy(p, c->p + c->pos, n);
    c->pos += n;
    return AO_OK;
}

int ao_cur_u64(ao_cursor *c, uint64_t *v)
{
    unsigned char x[8];
    int i;
    if (ao_cur_get(c, x, 8) < 0) return AO_EDATA;
    for (*v = 0, i = 7; i >= 0; i--) *v = (*v << 8) | x[i];
    return AO_OK;
}

int ao_cur_u32(ao_cursor *c, uint32_t *v)
{
    unsigned char x[4];
    if (ao_cur_get(c, x, 4) < 0) return AO_EDATA;
    *v = (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
    return AO_OK;
}

int ao_cur_i32(ao_cursor *c, int32_t *v)
{
    uint32_t u;
    if (ao_cur_u32(c, &u) < 0) return AO_EDATA;
    *v = (int32_t)u;
    return AO_OK;
}

int ao_cur_f32(ao_cursor *c, float *v)
{
    uint32_t u;
    if (ao_cur_u32(c, &u) < 0) return AO_EDATA;
    memcpy(v, &u, 4);
    return AO_OK;
}

int ao_cur_f64(ao_cursor *c, double *v)
{
    uint64_t u;
    if (ao_cur_u64(c, &u) < 0) return AO_EDATA;
    memcpy(v, &u, 8);
    return AO_OK;
}

int ao_cur_f32s(ao_cursor *c, float *v, size_t n)
{
    size_t i;
    if (n > (c->len - c->pos) / 4) return AO_EDATA;
    for (i = 0; i < n; i++)
        if (ao_cur_f32(c, &v[i]) < 0) return AO_EDATA;
    return AO_OK;
}

int ao_cur_f64s(ao_cursor *c, double *v, size_t n)
{
    size_t i;
    if (n > (c->len - c->pos) / 8) return AO_EDATA;
    for (i = 0; i < n; i++)
        if (ao_cur_f64(c, &v[i]) < 0) return AO_EDATA;
    return AO_OK;
}

int ao_cur_str(ao_cursor *c, char **s)
{
    uint32_t n;
    *s = NULL;
    if (ao_cur_u32(c, &n) < 0 || n > c->len - c->pos) return AO_EDATA;
    if (!(*s = malloc((size_t)n + 1))) return AO_EMEM;
    memcpy(*s, c->p + c->pos, n);
    (*s)[n] = '\0';
    c->pos += n;
    return AO_OK;
}

typedef struct section {
    char tag[4];
    size_t off, len;     /* within m->raw for read files, within data for built ones */
    unsigned char *data;
} section;

struct ao_modelfile {
    section *s;
    int n, m;
    unsigned char *raw;  /* file contents when read */
};

ao_modelfile *ao_modelfile_create(void) { return calloc(1, sizeof(ao_modelfile)); }

void ao_modelfile_destroy(ao_modelfile *m)
{
    int i;
    if (!m) return;
    for (i = 0; i < m->n; i++) free(m->s[i].data);
    free(m->s);
    free(m->raw);
    free(m);
}

static section *new_section(ao_modelfile *m)
{
    if (m->n == m->m) {
        int nm = m->m ? m->m * 2 : 8;
        section *ns = realloc(m->s, sizeof *ns * (size_t)nm);
        if (!ns) return NULL;
        m->s = ns;
        m->m = nm;
    }
    memset(&m->s[m->n], 0, sizeof m->s[0]);
    return &m->s[m->n++];
}

int ao_modelfile_add(ao_modelfile *m, const char tag[4], const ao_buf *payload)
{
    section *s;
    if (payload->oom) return AO_EMEM;
    if (!(s = new_section(m))) return AO_EMEM;
    memcpy(s->tag, tag, 4);
    s->len = payload->len;
    if (!(s->data = malloc(s->len ? s->len : 1))) { m->n--; return AO_EMEM; }
    if (s->len) memcpy(s->data, payload->data, s->len);
    return AO_OK;
}

int ao_modelfile_write(const ao_modelfile *m, const char *path, ao_err *err)
{
    ao_buf b = {0};
    ao_sha256 h;
    unsigned char digest[32];
    ao_outfile *of = NULL;
    int i, rc;
    ao_buf_put(&b, MAGIC, 8);
    ao_buf_u32(&b, AO_MODELFILE_VERSION);
    ao_buf_u32(&b, (uint32_t)m->n);
    for (i = 0; i < m->n; i++) {
        ao_buf_put(&b, m->s[i].tag, 4);
        ao_buf_u64(&b, m->s[i].len);
        ao_buf_put(&b, m->s[i].data ? m->s[i].data : m->raw + m->s[i].off, m->s[i].len);
    }
    if (b.oom) { rc = ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    ao_sha256_init(&h);
    ao_sha256_update(&h, b.data, b.len);
    ao_sha256_final(&h, digest);
    ao_buf_put(&b, digest, 32);
    if (!(of = ao_outfile_open(path, err))) { rc = err->code; goto ERROR; }
    if (fwrite(b.data, 1, b.len, of->fp) != b.len) { rc = ao_err_set(err, AO_EIO, "%s: write error", path); goto ERROR; }
    if ((rc = ao_outfile_commit(of, err)) < 0) goto ERROR;
    ao_outfile_destroy(of);
    ao_buf_free(&b);
    return AO_OK;
ERROR:
    ao_outfile_destroy(of);
    ao_buf_free(&b);
    return rc;
}

ao_modelfile *ao_modelfile_read(const char *path, ao_err *err)
{
    ao_modelfile *m = NULL;
    size_t len = 0;
    unsigned char *raw = (unsigned char *)ao_read_file(path, &len, err), digest[32];
    ao_cursor c;
    uint32_t version, n, i;
    ao_sha256 h;
    if (!raw) return NULL;
    if (len < 8 + 8 + 32 || memcmp(raw, MAGIC, 8) != 0) { ao_err_set(err, AO_EDATA, "%s: not an agentomics model file", path); goto ERROR; }
    ao_sha256_init(&h);
    ao_sha256_update(&h, raw, len - 32);
    ao_sha256_final(&h, digest);
    if (memcmp(digest, raw + len - 32, 32) != 0) { ao_err_set(err, AO_EDATA, "%s: checksum mismatch (corrupt or modified model file)", path); goto ERROR; }
    c.p = raw; c.len = len - 32; c.pos = 8;
    if (ao_cur_u32(&c, &version) < 0 || ao_cur_u32(&c, &n) < 0) { ao_err_set(err, AO_EDATA, "%s: truncated model header", path); goto ERROR; }
    if (version != AO_MODELFILE_VERSION) { ao_err_set(err, AO_EDATA, "%s: unsupported model format version %u (this build reads %u)", path, version, AO_MODELFILE_VERSION); goto ERROR; }
    if (!(m = ao_modelfile_create())) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR; }
    m->raw = raw;
    for (i = 0; i < n; i++) {
        section *s = new_section(m);
        uint64_t sl;
        if (!s) { ao_err_set(err, AO_EMEM, "out of memory"); goto ERROR_M; }
        if (ao_cur_get(&c, s->tag, 4) < 0 || ao_cur_u64(&c, &sl) < 0 || sl > c.len - c.pos) {
            ao_err_set(err, AO_EDATA, "%s: truncated model section %u", path, i);
            goto ERROR_M;
        }
        s->off = c.pos;
        s->len = (size_t)sl;
        c.pos += (size_t)sl;
    }
    return m;
ERROR_M:
    ao_modelfile_destroy(m);
    return NULL;
ERROR:
    free(raw);
    return NULL;
}

int ao_modelfile_section(const ao_modelfile *m, const char tag[4], ao_cursor *c)
{
    int i;
    for (i = 0; i < m->n; i++)
        if (memcmp(m->s[i].tag, tag, 4) == 0) {
            c->p = m->s[i].data ? m->s[i].data : m->raw + m->s[i].off;
            c->len = m->s[i].len;
            c->pos = 0;
            return AO_OK;
        }
    return AO_EDATA;
}
