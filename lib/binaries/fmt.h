/* fmt.h - internal parsers: host/cubin ELF, fatbin, PTX text, zip; all take (buf, len). */
#ifndef MG_FMT_H
#define MG_FMT_H

#include <stddef.h>
#include <stdint.h>
#include "mlgate/binaries.h"

/* ---- ELF (lib/binaries/elf.c): 64-bit little-endian only ---------------------- */

#define MG_EM_X86_64 62
#define MG_EM_AARCH64 183
#define MG_EM_CUDA 190

typedef struct mg_elf {
    const uint8_t *buf;
    size_t len;
    uint8_t osabi, abiver;
    uint16_t type, machine;
    uint32_t flags;
    uint64_t shoff;
    uint32_t shnum;
    uint16_t shentsize;
    uint64_t stroff, strsize;   /* section-name string table */
} mg_elf;

typedef struct mg_elf_sec {
    const char *name;           /* "?" when its offset is out of the string table */
    uint32_t type, link;
    uint64_t flags, addr, off, size, entsize;
} mg_elf_sec;

#define MG_SHT_PROGBITS 1
#define MG_SHT_SYMTAB 2
#define MG_SHT_STRTAB 3
#define MG_SHT_DYNAMIC 6
#define MG_SHT_NOBITS 8
#define MG_DT_NEEDED 1
#define MG_DT_SONAME 14
#define MG_SHF_EXECINSTR 4

int mg_elf_is_elf(const uint8_t *buf, size_t len);
/* MG_OK, or an error with a static explanation in *why. */
int mg_elf_open(mg_elf *e, const uint8_t *buf, size_t len, const char **why);
/* Fills s with section i; its data range is checked to lie in the buffer (NOBITS: size 0). */
int mg_elf_section(const mg_elf *e, uint32_t i, mg_elf_sec *s);
/* Bytes the ELF spans from its start: headers, section table and section data. */
uint64_t mg_elf_extent(const mg_elf *e);
/* Calls fn for each DT_NEEDED / DT_SONAME name of the dynamic section (a non-zero return stops);
 * returns how many it saw. */
typedef int (*mg_dyn_fn)(void *ud, int tag, const char *name);
uint32_t mg_elf_dynamic(const mg_elf *e, mg_dyn_fn fn, void *ud);

/* ---- cubin (lib/binaries/cubin.c) --------------------------------------------- */

typedef struct mg_cubin {
    uint16_t sm;            /* from e_flags, by ABI version */
    uint8_t abi;            /* EI_ABIVERSION: 7 (v1) or 8 (v2) */
    uint8_t relocatable;    /* ET_REL */
    uint8_t arch_specific;  /* .nv.compat says sm_XYa (needs sections) */
} mg_cubin;

/* Reads SM/ABI/ET_REL from the first 64 bytes alone. */
int mg_cubin_header(const uint8_t *hdr, size_t len, mg_cubin *out);
/* Full parse: header + .nv.compat. */
int mg_cubin_info(const uint8_t *buf, size_t len, mg_cubin *out, const char **why);
/* Calls fn for each kernel (STT_FUNC with STO_CUDA_ENTRY); *count gets how many. */
typedef int (*mg_name_fn)(void *ud, const char *name, size_t len);
int mg_cubin_kernels(const uint8_t *buf, size_t len, mg_name_fn fn, void *ud, uint32_t *count,
                     const char **why);

/* ---- PTX text (lib/binaries/ptx.c) -------------------------------------------- */

typedef struct mg_ptx {
    uint16_t isa;           /* .version, major*10+minor; 0 when absent */
    mg_arch target;         /* first .target sm_XY[a|f] */
} mg_ptx;

int mg_ptx_info(const uint8_t *txt, size_t len, mg_ptx *out);
int mg_ptx_kernels(const uint8_t *txt, size_t len, mg_name_fn fn, void *ud, uint32_t *count);

/* ---- fatbin (lib/binaries/fatbin.c) ------------------------------------------- */

#define MG_FATBIN_MAGIC 0xBA55ED50u
#define MG_FATBIN_MAX_ENTRIES 4096u     /* per fatbin; nvcc writes a few per arch */

/* Where parsed entries go: a growable array with a hard cap. */
typedef struct mg_entries {
    mg_entry *v;
    size_t n, cap, max;
} mg_entries;

int mg_entries_push(mg_entries *es, const mg_entry *e);

/*
 * Parses the fatbin whose header is at buf+off, appending its entries to es.
 * On success *end is the offset just past it. On error es is left as it was
 * and *why explains.
 */
int mg_fatbin_parse(const uint8_t *buf, size_t len, uint64_t off, mg_entries *es,
                    uint64_t *end, const char **why);

/* ---- decompression (lib/binaries/decompress.c) ------------------------------------ */

/*
 * `state` holds a decoder context between calls (start it NULL; one per thread;
 * release it with mg_decompress_end).
 * mg_decompress decodes src into exactly dstlen bytes (the recorded uncompressed size);
 * mg_decompress_prefix only the first `want` bytes (LZ4: cheap; ZSTD: up to one block).
 */
int mg_decompress(void **state, mg_codec c, const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen);
int mg_decompress_prefix(void **state, mg_codec c, const uint8_t *src, size_t srclen, uint8_t *dst,
                         size_t want);
void mg_decompress_end(void **state);
/* The most bytes src can decode to, by its format: an LZ4 block expands at most 255-fold; a zstd
 * frame at most 32768-fold (a 128 KiB block from 4 bytes), and no more than the size its header
 * records. A payload that claims more is malformed: nothing is allocated for it. */
uint64_t mg_decompress_bound(mg_codec c, const uint8_t *src, size_t srclen);

/* ---- streams (lib/binaries/decompress.c): wheel members, image layers -------------- */

typedef enum mg_packing {
    MG_PACK_NONE = 0,       /* the bytes as they are */
    MG_PACK_DEFLATE,        /* raw deflate (a zip member) */
    MG_PACK_GZIP,           /* gzip, members one after another */
    MG_PACK_ZSTD,           /* zstd frames */
} mg_packing;

/* What a stream's first bytes say it is: gzip (1f 8b), zstd (28 b5 2f fd), else none. */
mg_packing mg_packing_of(const uint8_t *p, size_t n);
const char *mg_packing_str(mg_packing k);

/* Called with each decoded chunk in order; MG_OK goes on, anything else stops the stream with it. */
typedef int (*mg_sink_fn)(void *ud, const uint8_t *p, size_t n);

/*
 * Decodes src[0..len) through fn in chunks of up to 1 MiB, never holding more than one chunk. At most
 * max_out bytes come out (more: MG_E_LIMIT, a bomb). `mapped`: src is a read-only file mapping whose
 * pages may be given back as they are consumed (never for heap memory). Returns MG_OK, what fn
 * returned, or an error with *why; *out: bytes decoded.
 */
int mg_unpack(mg_packing k, const uint8_t *src, size_t len, int mapped, uint64_t max_out, mg_sink_fn fn, void *ud,
              uint64_t *out, const char **why);
/* Inflates raw deflate src into exactly dstlen bytes with libdeflate (whole buffers: for small members). */
int mg_inflate_whole(const uint8_t *src, size_t len, uint8_t *dst, size_t dstlen, const char **why);
/* Gives back the whole pages of [p, p+n) of a read-only file mapping (they read the same again). */
void mg_drop_pages(const uint8_t *p, size_t n);

/* ---- zip (lib/binaries/zip.c) ------------------------------------------------- */

typedef struct mg_zip {
    const uint8_t *buf;
    size_t len;
    uint64_t cd_off, cd_size, count;
    uint64_t cursor, index;
} mg_zip;

typedef struct mg_zip_member {
    const char *name;       /* not NUL-terminated */
    size_t namelen;
    uint16_t method;        /* 0 stored, 8 deflate */
    uint64_t csize, usize;
    uint64_t data_off;      /* where its data starts in buf */
} mg_zip_member;

#define MG_ZIP_MAX_MEMBERS (1u << 20)

int mg_zip_is_zip(const uint8_t *buf, size_t len);
int mg_zip_open(mg_zip *z, const uint8_t *buf, size_t len, const char **why);
/* 1 with *m filled, 0 at the end, or a negative mg_err with *why. */
int mg_zip_next(mg_zip *z, mg_zip_member *m, const char **why);
/* Inflates the member's first `want` bytes (want <= usize) into dst. */
int mg_zip_extract(const mg_zip *z, const mg_zip_member *m, uint8_t *dst, size_t want,
                   const char **why);

#endif
