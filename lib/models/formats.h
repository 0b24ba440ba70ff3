/* formats.h - the model parsers (lib/models/gguf.c, safetensors.c) and remote byte ranges (remote.c): internal. */
#ifndef MG_MODELS_FORMATS_H
#define MG_MODELS_FORMATS_H

#include "core/arena.h"
#include "core/json.h"
#include "mlgate/models.h"

/*
 * Parses the GGUF header in buf (the whole file, or at least its header).
 * Returns MG_OK, MG_E_TRUNCATED when buf ends inside the header (need more
 * bytes: *need says how many if known), or another error with err filled.
 */
int mg_gguf_parse(const uint8_t *buf, size_t len, mg_arena *a, mg_gguf *out, uint64_t *need, char *err,
                  size_t errlen);
/*
 * The same for buf holding the first len bytes of a file of file_size bytes (a remote read): counts
 * are held against the whole file, entries against the bytes at hand, so *need grows with what the
 * header really holds, not with what it declares.
 */
int mg_gguf_parse_part(const uint8_t *buf, size_t len, uint64_t file_size, mg_arena *a, mg_gguf *out,
                       uint64_t *need, char *err, size_t errlen);

/* file_size 0: unknown (remote header only). MG_E_TRUNCATED with *need when buf is short. */
int mg_safetensors_parse(const uint8_t *buf, size_t len, uint64_t file_size, mg_arena *a, mg_safetensors *out,
                         uint64_t *need, char *err, size_t errlen);

/*
 * The same over a whole file mapped read-only and private (mg_map_file; its first byte page-aligned):
 * the pages the parse has read are given back as it goes, so however long the header, only a few
 * MiB of it are resident at once. Never on memory that is not such a mapping (it would be zeroed).
 */
int mg_safetensors_parse_mapped(const uint8_t *map, size_t len, mg_arena *a, mg_safetensors *out, char *err,
                                size_t errlen);

/* The largest header (or index) mlgate fetches over HTTP: a 262k-token vocabulary with its merges is about 16 MB. */
#define MG_REMOTE_MAX (48ull << 20)

/*
 * Reads [off, off+len) of url into a new buffer (*out, free it). With Range support
 * the server sends just that; without it, a read from 0 takes the first len bytes and
 * stops the transfer. Bearer token from MLGATE_TOKEN or HF_TOKEN. Never follows to
 * non-HTTP schemes; times out on stalls and slow drips, after 120 s, and at deadline_at
 * (an mg_now() time; 0: none) with MG_E_TIMEOUT.
 */
int mg_remote_read(const char *url, uint64_t off, uint64_t len, double deadline_at, uint8_t **out, size_t *got,
                   uint64_t *total, mg_fetch_stats *st, char *err, size_t errlen);

/* "Content-Range: bytes 0-99/12345" (a header line as libcurl gives it: not NUL-terminated) -> 12345
 * in *total; 0 when the line is not one or the size does not fit. */
int mg_content_range_total(const char *line, size_t len, uint64_t *total);

/*
 * A GGUF header over HTTP into s (s->path is the URL): the first `first` bytes (0: 4 MiB), then as
 * much more as the parser asks for, up to MG_REMOTE_MAX (lib/models/model.c). With keep, a parsed
 * header's bytes (at least s->g.header_bytes of them) are handed over in *keep / *kept (free them).
 */
void mg_gguf_read_remote(mg_gguf_file *s, mg_arena *a, mg_fetch_stats *st, double until, uint64_t first,
                         uint8_t **keep, size_t *kept);
/* The first read of a split GGUF's later shards: they hold tensor infos, not the vocabulary (a
 * DeepSeek-V3 shard's ~1,000 tensors take ~100 KiB), so 4 MiB would be mostly tensor data. */
#define MG_SHARD_FIRST_READ (512u << 10)
/* A parsed shard whose tensors reach past s->size: MG_E_TRUNCATED in s->err with why. */
void mg_gguf_check_size(mg_gguf_file *s);

/*
 * The bearer token for url, or NULL: MLGATE_TOKEN for any URL mlgate is given, HF_TOKEN only for
 * the hub's own origin (HF_ENDPOINT, else https://huggingface.co), never for another host.
 */
const char *mg_remote_token(const char *url);
/* scheme://host[:port] of a and b are the same (host compared without case; default ports filled in). */
int mg_same_origin(const char *a, const char *b);
/* HF_ENDPOINT without a trailing '/', else "https://huggingface.co", into buf. */
const char *mg_hub_endpoint(char *buf, size_t n);

/* One file of a hub repository as the tree API lists it (lib/models/hub.c). */
typedef struct mg_hub_file {
    char path[512];
    uint64_t size;
    char oid[72];           /* lfs.oid (the content's sha256), else the git blob's oid */
} mg_hub_file;

typedef struct mg_hub_files {
    mg_hub_file *f;         /* n of them (free f); cap allocated */
    size_t n, cap;
} mg_hub_files;

/*
 * Appends the files of one page of the tree API ([{"type": "file", "path", "size", "oid", "lfs":
 * {"oid", ...}}, {"type": "directory", ...}]) to l: directories and paths longer than 511 bytes
 * left out. MG_E_FORMAT when it is not such an array, MG_E_LIMIT past MG_HUB_MAX_FILES, MG_E_NOMEM.
 */
int mg_hub_tree_parse(const char *buf, size_t len, mg_hub_files *l, char *err, size_t errlen);
/* A "Link:" header line (not NUL-terminated, as libcurl gives it) -> the URL of its rel="next" entry
 * into out (NUL-terminated, shorter than n); 0 when it has none that fits. */
int mg_link_next(const char *line, size_t len, char *out, size_t n);

/* http:// or https:// */
int mg_is_url(const char *path);

/* Beside a model in the same llama.cpp process (lib/models/fit.c, for mg_fit): a draft model's placement
 * at the same context and split, per GPU less the CUDA runtime the process has already, and in RAM; a
 * clip projector's weights and its compute allowance. */
void mg_fit_draft_need(const mg_fit_model *draft, const mg_target *dev, size_t nd, const mg_fit_opts *o,
                       uint64_t n_ctx, uint64_t *gpu, uint64_t *ram);
int mg_fit_mmproj_need(const mg_gguf_model *m, uint64_t *weights, uint64_t *compute);

/* A pipeline component's identity in JSON: name, library, class, variant (inspect_json.c; fit's JSON too). */
void mg_component_json(jw *w, const mg_st_component *c);

#endif
