/* scan_int.h - what the scan's files share: reports (scan.c), the walk over paths (walk.c), the driver check (load.c). */
#ifndef MG_SCAN_INT_H
#define MG_SCAN_INT_H

#include "mlgate/binaries.h"

mg_report *mg_report_new(const char *name);
void mg_report_fail(mg_report *r, int err, const char *detail);

/* ---- a file streamed (stream.c feeds scan.c) ---- */

/* The scan of one file whose bytes go by: buf is the whole file's extent (len bytes) with only what
 * stream.c holds present; every candidate is read while it is held. */
typedef struct mg_scanning mg_scanning;
mg_scanning *mg_scanning_new(const mg_scan_opts *o, const char *name, const uint8_t *buf, size_t len);
/* A fatbin magic (cubin 0) or an ELF header (cubin 1) at off, its bytes held in buf now: read it;
 * *end: past it, 0 when it is not one. MG_OK, or a fatal MG_E_NOMEM / MG_E_LIMIT. */
int mg_scanning_try(mg_scanning *s, uint64_t off, int cubin, uint64_t *end);
/* One that spans [off, end) but is too large to hold: counted as unread where it matters. */
int mg_scanning_skip(mg_scanning *s, uint64_t off, uint64_t end, int cubin);
/* The stream ended (err: it failed, detail why; else detail a note or NULL): the section table
 * decides which candidates count, as a scan of the whole buffer would; judged. Frees s. */
mg_report *mg_scanning_end(mg_scanning *s, int err, const char *detail);

/* One ELF file streamed: its bytes fed in order, size the file's (declared) length. Holds its headers,
 * its first and last few MiB, its dynamic section and strings, and each fatbin while it goes by. */
typedef struct mg_stream mg_stream;
mg_stream *mg_stream_new(const mg_scan_opts *o, const char *name, uint64_t size);
/* MG_OK; a failure is kept for the report (and later feeds are ignored). */
int mg_stream_feed(mg_stream *s, const uint8_t *p, size_t n);
/* The report (NULL: out of memory); err/detail: the stream itself failed (inflate, truncated). Frees s. */
mg_report *mg_stream_end(mg_stream *s, int err, const char *detail);

/* Walks the paths and scans every file on worker threads into out->reports (in walk order); fills
 * files, skipped and bytes. */
int mg_walk_scan(const mg_scan_opts *o, const char *const *paths, size_t npaths, mg_scan_result *out);

/* ---- the frameworks a walk finds (installs.c) ---- */

/* One framework in one place (a directory or a wheel), from its dist-info(s) and torch's version.py. */
typedef struct mg_install mg_install;

#define MG_MAX_INSTALLS 64  /* frameworks judged per scan: (directory or wheel, framework) pairs */

typedef struct mg_installs {
    mg_install *v;          /* room for MG_MAX_INSTALLS once the first is added: pointers into it stay valid */
    size_t n;
    int capped;             /* more places than MG_MAX_INSTALLS were seen */
} mg_installs;

/* A directory entry or a wheel's top-level directory `name` (len bytes) under `where` ("env/site-packages/",
 * "x.whl!"): a framework's dist-info is recorded, one install per (where, framework); *at: it, else NULL.
 * MG_E_LIMIT the first time one does not fit (report it once), MG_E_NOMEM. */
int mg_installs_add(mg_installs *s, const char *where, const char *name, size_t len, mg_install **at);
/* Moves from's installs into s (merging those of the same place); from is left empty. MG_E_LIMIT as above. */
int mg_installs_merge(mg_installs *s, mg_installs *from);
/* The torch installed at where, or NULL; whether x is a torch. */
mg_install *mg_installs_torch(mg_installs *s, const char *where);
int mg_install_is_torch(const mg_install *x);
/* torch/version.py's text: the build's version and CUDA ("" when `cuda = None`: CPU-only), cleaned. */
void mg_install_torch_version(mg_install *x, const char *text);
/* The frameworks' own rules over out's reports: CPU-only builds and GPU floors become reports of their own
 * (out->reports must have room for 2 more per install), bitsandbytes' unused per-CUDA libraries go. */
int mg_installs_apply(const mg_scan_opts *o, mg_installs *s, mg_scan_result *out);
void mg_installs_free(mg_installs *s);

/* ---- container images (image.c) ---- */

struct mg_arena;
typedef struct mg_image mg_image;
/* An image tarball (docker save, OCI archive, a flat rootfs tar, maybe compressed) mapped at map: its
 * manifests read, its layers listed. *out is set whatever it returns (its problems are kept as
 * reports); MG_E_NOMEM only is fatal. The mapping must outlive the image. */
int mg_image_open_file(const mg_scan_opts *o, const char *path, const uint8_t *map, uint64_t len, mg_image **out);
/* An OCI image layout directory (dirfd: taken over). */
int mg_image_open_dir(const mg_scan_opts *o, const char *path, int dirfd, mg_image **out);
size_t mg_image_layers(const mg_image *im);
/* Layer i decoded and scanned (its results kept in im; one thread per layer). Returns NULL. */
mg_report *mg_image_scan_layer(mg_image *im, size_t i);
/* All layers in: applied base to top; the reports of the final image's files (and the errors) are
 * appended to *out, its frameworks to in, one info per manifest (strings in a). */
int mg_image_finish(mg_image *im, mg_report ***out, size_t *nout, mg_installs *in, mg_image_info **infos,
                    size_t *ninfos, struct mg_arena *a);
/* ELF files and bytes its layers read (added to *files, *bytes). */
void mg_image_counts(const mg_image *im, size_t *files, uint64_t *bytes);
void mg_image_free(mg_image *im);

/* Loads the fatbins of every report with the driver and compares with the verdicts for t. */
int mg_load_check(mg_report *const *rs, size_t n, const mg_target *t, double budget, mg_load_result *out);

#endif
