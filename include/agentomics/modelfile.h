/* modelfile.h — the versioned, little-endian, checksummed container that
 * every builtin model is saved in.
 *
 * Layout: "AOMODEL\0" magic, u32 format version, u32 section count, then
 * per section: 4-byte tag, u64 length, payload; then the SHA-256 of all
 * preceding bytes. Numbers inside payloads are written little-endian by
 * the put/get helpers, whatever the host, so files move between machines.
 */
#ifndef AGENTOMICS_MODELFILE_H
#define AGENTOMICS_MODELFILE_H

#include <stddef.h>
#include <stdint.h>
#include "agentomics/error.h"

#define AO_MODELFILE_VERSION 1u

/* A growable little-endian byte buffer. */
typedef struct ao_buf {
    unsigned char *data;
    size_t len, cap;
    int oom;             /* set once an allocation failed; writes then no-op */
} ao_buf;

/* The writers append; they return nothing because a failed allocation
 * sets b->oom and turns every later write into a no-op, so a caller
 * checks oom once, after the last write (ao_modelfile_add refuses a
 * buffer with oom set). Numbers are written little-endian whatever the
 * host. ao_buf_free releases the memory and zeroes b (NULL-safe data). */
void ao_buf_free(ao_buf *b);
void ao_buf_put(ao_buf *b, const void *p, size_t n);   /* raw bytes */
void ao_buf_u32(ao_buf *b, uint32_t v);
void ao_buf_u64(ao_buf *b, uint64_t v);
void ao_buf_i32(ao_buf *b, int32_t v);
void ao_buf_f32(ao_buf *b, float v);
void ao_buf_f64(ao_buf *b, double v);
void ao_buf_f32s(ao_buf *b, const float *v, size_t n);    /* n values, no count */
void ao_buf_f64s(ao_buf *b, const double *v, size_t n);
void ao_buf_str(ao_buf *b, const char *s);    /* u32 length + bytes */

/* A cursor for reading a payload back; every get returns AO_OK, or
 * AO_EDATA instead of reading past the end, so a truncated or lying
 * payload cannot overrun (after a failure the position is unspecified).
 * The array getters read n values into the caller's v. */
typedef struct ao_cursor {
    const unsigned char *p;
    size_t len, pos;
} ao_cursor;

int ao_cur_get(ao_cursor *c, void *p, size_t n) AO_WUR;
int ao_cur_u32(ao_cursor *c, uint32_t *v) AO_WUR;
int ao_cur_u64(ao_cursor *c, uint64_t *v) AO_WUR;
int ao_cur_i32(ao_cursor *c, int32_t *v) AO_WUR;
int ao_cur_f32(ao_cursor *c, float *v) AO_WUR;
int ao_cur_f64(ao_cursor *c, double *v) AO_WUR;
int ao_cur_f32s(ao_cursor *c, float *v, size_t n) AO_WUR;
int ao_cur_f64s(ao_cursor *c, double *v, size_t n) AO_WUR;
/* A u32 length and that many bytes, as a malloc'd NUL-terminated copy
 * (AO_EMEM when it cannot be allocated). */
int ao_cur_str(ao_cursor *c, char **s) AO_WUR;

/* A model file being assembled in memory: add sections, then write. */
typedef struct ao_modelfile ao_modelfile;

ao_modelfile *ao_modelfile_create(void);     /* NULL when out of memory */
void ao_modelfile_destroy(ao_modelfile *m);  /* NULL-safe */
/* Copies the payload; tag is exactly 4 characters. AO_OK, or AO_EMEM
 * (also for a payload whose oom is set). */
int ao_modelfile_add(ao_modelfile *m, const char tag[4], const ao_buf *payload) AO_WUR;
/* Atomic write (temporary name + rename). AO_OK, AO_EIO. */
int ao_modelfile_write(const ao_modelfile *m, const char *path, ao_err *err) AO_WUR;
/* Reads and verifies magic, version, section lengths and checksum; NULL
 * with AO_EIO (unreadable) or AO_EDATA (corrupt, naming the file). */
ao_modelfile *ao_modelfile_read(const char *path, ao_err *err) AO_WUR;
/* A cursor over the section with this tag; AO_EDATA if absent. */
int ao_modelfile_section(const ao_modelfile *m, const char tag[4], ao_cursor *c) AO_WUR;

#endif
