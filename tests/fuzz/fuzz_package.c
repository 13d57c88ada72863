/* fuzz_package.c — package verification and extraction (package.h) on
 * any bytes: gzip check, tar members, the manifest, path and directory
 * bounds, hashes. Whatever it extracts goes to a private directory under
 * $TMPDIR that ao_pkg_tmp_destroy removes. */
#include "fuzz.h"   /* first: it sets _GNU_SOURCE */
#include "agentomics/log.h"
#include "agentomics/package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    ao_pkg_tmp *t;
    ao_err err;
    int fd;
    ao_log_setup("fuzz", AO_LOG_ERROR);
    if ((fd = fuzz_file(data, size, path, sizeof path)) < 0) return 0;
    ao_err_init(&err);
    t = ao_package_open(path, &err);
    ao_pkg_tmp_destroy(t);
    close(fd);
    return 0;
}
