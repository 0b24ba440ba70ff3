/* sysfs.h - small readers for /proc and /sys files under a configurable root (tests use fake trees). */
#ifndef MG_SYSFS_H
#define MG_SYSFS_H

#include <stddef.h>
#include <stdint.h>

/* Reads at most n-1 bytes of root+path into buf; returns bytes read or -1. */
long mg_read_file(const char *root, const char *path, char *buf, size_t n);
/* A number from a file ("0x10de", "1234", "max" -> -1); -1 when unreadable. */
int64_t mg_read_num(const char *root, const char *path);
/* The value after "key:" in a "key: value" text (cpuinfo, meminfo), copied into out. */
int mg_field(const char *text, const char *key, char *out, size_t n);

#endif
