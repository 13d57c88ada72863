/* fuzz.h — what the libFuzzer targets in tests/fuzz share: the entry
 * point every target defines, and a file holding the input (the readers
 * under test take paths). Each target is one file, built two ways: with
 * clang -fsanitize=fuzzer (make fuzz) and with the normal compiler
 * against tests/fuzz/replay.c, which calls the entry on stored inputs
 * (make test replays tests/data/fuzz/TARGET/ with it). */
#ifndef AGENTOMICS_FUZZ_H
#define AGENTOMICS_FUZZ_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a file: an anonymous memory file reached through
 * /proc/self/fd (no disk, nothing to remove). Writes its path into path
 * and returns the descriptor to close, or -1. */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create("fuzz-input", MFD_CLOEXEC);
    size_t off = 0;
    if (fd < 0) return -1;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) { close(fd); return -1; }
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) { close(fd); return -1; }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
