/* file.h - files as mlgate reads and publishes them: bounded reads, read-only maps, atomic writes. */
#ifndef MG_CORE_FILE_H
#define MG_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* A directory that other users can write (or own) is refused unless this flag is given. */
#define MG_FILE_SHARED_OK 1

/*
 * Writes data to path atomically: a new hidden temp file beside it (".NAME.tmp.PID.N": O_EXCL,
 * O_NOFOLLOW, mode 0644 whatever the umask), fsync, rename over the target, then the directory fsynced; stale temp files a killed run
 * of ours left are removed first. A reader sees the old file or the new one, whole; on any failure
 * (a full disk) the old file is kept and err says so. Refused: a target that is not a regular file
 * (a symlink), a directory that is another user's symlink, or (unless MG_FILE_SHARED_OK) a directory
 * another user owns or every user may write.
 */
int mg_write_atomic(const char *path, const void *data, size_t len, int flags, char *err, size_t errlen);

/* Whether a file could be published at path, by the same rules, and a file is really created and
 * removed in its directory (permissions, read-only filesystems). MG_E_IO with err otherwise. */
int mg_check_writable(const char *path, int flags, char *err, size_t errlen);

/* The whole file, at most max bytes (MG_E_LIMIT beyond), NUL-terminated in a new buffer (free it);
 * the buffer is the file's size, not max. Only regular files with data (open_regular's rules). */
int mg_read_all(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

/* "/proc", "sysfs", ... when fd lies on a pseudo filesystem (no data, sizes that lie, reads that
 * block): files there are not read as files, nor walked. NULL otherwise. */
const char *mg_pseudo_fs(int fd);

/* The file mapped read-only (munmap it with its size); MG_E_IO with err when it cannot be opened,
 * MG_E_FORMAT when it is empty or cannot be mapped. */
int mg_map_file(const char *path, const uint8_t **map, uint64_t *size, char *err, size_t errlen);
void mg_unmap_file(const uint8_t *map, uint64_t size);

/* The library a dlopen loads: `given`, else $env when set, else `dflt` (tests point these at stand-ins). */
const char *mg_lib_path(const char *given, const char *env, const char *dflt);

#endif
