/*
 * tar.h - a tar stream read as it comes (pushed in chunks of any size): ustar and GNU headers, GNU long
 * names and links, pax extended headers (path, linkpath, size); every header's checksum and size checked.
 * Nothing is written anywhere; memory is one header block plus the long name / pax record being read.
 */
#ifndef MG_TAR_H
#define MG_TAR_H

#include <stddef.h>
#include <stdint.h>

typedef enum mg_tar_type {
    MG_TAR_FILE = 0,        /* '0', '\0', '7' (contiguous) */
    MG_TAR_DIR,             /* '5' */
    MG_TAR_SYMLINK,         /* '2' */
    MG_TAR_HARDLINK,        /* '1' */
    MG_TAR_OTHER            /* devices, FIFOs, GNU volume labels...: never content for mlgate */
} mg_tar_type;

typedef struct mg_tar_entry {
    const char *name;       /* NUL-terminated, as the archive spells it (pax path / GNU long name / ustar
                               prefix + name applied); valid during the entry callback only */
    const char *link;       /* symlink or hardlink target ("" for others); same lifetime */
    uint8_t type;           /* mg_tar_type */
    uint8_t sparse;         /* a GNU ('S') or pax (GNU.sparse.*) sparse file: its content is not the file's */
    uint32_t mode;
    uint64_t size;          /* content bytes that follow the header (pax size applied) */
    uint64_t offset;        /* where the content starts in the stream (bytes fed before it) */
} mg_tar_entry;

typedef struct mg_tar_cb {
    /* A new entry. Return 1 to be handed its content through data(), 0 to have it skipped, or a negative
     * mg_err to stop the stream (mg_tar_feed returns that error, positive). */
    int (*entry)(void *ud, const mg_tar_entry *e);
    /* The next chunk of the current entry's content (never beyond e->size); negative mg_err stops. */
    int (*data)(void *ud, const uint8_t *p, size_t n);
    /* The current entry's content is complete (called only for entries whose entry() returned 1). */
    int (*end)(void *ud);
    void *ud;
} mg_tar_cb;

typedef struct mg_tar mg_tar;

#define MG_TAR_MAX_NAME 4096u       /* longest path or link accepted (GNU long name, pax path) */
#define MG_TAR_MAX_PAX (1u << 20)   /* largest pax extended header read */

mg_tar *mg_tar_new(const mg_tar_cb *cb);
/* Feeds the next n bytes of the stream. MG_OK, or an mg_err (MG_E_FORMAT for a bad header or checksum,
 * MG_E_LIMIT for a name or pax header over the caps, or what a callback returned) with mg_tar_error(). After
 * an error every further feed returns the same error. */
int mg_tar_feed(mg_tar *t, const uint8_t *p, size_t n);
/* The stream ended: MG_OK at an entry boundary (the two zero blocks are optional, and what follows them is
 * ignored), MG_E_TRUNCATED inside a header or an entry's content. */
int mg_tar_finish(mg_tar *t);
/* A sentence about the last error ("header checksum mismatch at offset 1536"), "" when none. */
const char *mg_tar_error(const mg_tar *t);
/* Entries seen so far (pax and GNU long-name pseudo-entries not counted). */
uint64_t mg_tar_count(const mg_tar *t);
/* Whether buf (at least 512 bytes) starts with a valid tar header (checksum right). */
int mg_tar_is_tar(const uint8_t *buf, size_t len);
void mg_tar_free(mg_tar *t);

#endif
