/* fatbin.h - what mlgate finds inside a host binary: fat binaries and their code images. */
#ifndef MLGATE_FATBIN_H
#define MLGATE_FATBIN_H

#include <stdint.h>
#include "mlgate/arch.h"

/* Kind of a code image, from the fatbin entry header (docs/fatbin-format.md). */
typedef enum mg_kind {
    MG_KIND_UNKNOWN = 0,
    MG_KIND_SASS = 1,   /* cubin: machine code for one sm */
    MG_KIND_PTX = 2,    /* PTX text, JIT-compiled by the driver */
    MG_KIND_LTOIR = 3,  /* NVVM IR for link-time optimisation, not loadable */
    MG_KIND_COUNT
} mg_kind;

typedef enum mg_codec {
    MG_CODEC_NONE = 0,
    MG_CODEC_LZ4,       /* raw LZ4 block (flag 0x2000; --compress-mode=speed) */
    MG_CODEC_ZSTD,      /* zstd frame (flag 0x8000; default, size, balance) */
    MG_CODEC_UNKNOWN
} mg_codec;

/* Where a fatbin sits in the host ELF. */
typedef enum mg_where {
    MG_IN_NV_FATBIN = 0,    /* .nv_fatbin: registered with the runtime at load */
    MG_IN_RELFATBIN,        /* __nv_relfatbin: relocatable, for device linking */
    MG_IN_EMBEDDED,         /* another section (.rodata, .data): loaded by the library itself */
    MG_IN_RAW_CUBIN         /* a bare cubin in another section, not wrapped in a fatbin */
} mg_where;

/* One code image of a fatbin. */
typedef struct mg_entry {
    uint64_t off;           /* payload offset in the scanned buffer */
    uint64_t size;          /* payload bytes as stored */
    uint64_t usize;         /* bytes once decompressed (== size when stored plainly) */
    mg_arch arch;
    uint8_t kind;           /* mg_kind */
    uint8_t codec;          /* mg_codec */
    uint8_t relocatable;    /* cubin is ET_REL (-rdc) or the fatbin is in __nv_relfatbin */
    uint8_t cubin_sm_ok;    /* 0 not read, 1 cubin header agrees, 2 disagrees */
    uint16_t version;       /* PTX: ISA major*10+minor (90 = 9.0); cubin: code version */
    uint16_t cubin_sm;      /* SM from the cubin's own ELF header, 0 when not read */
} mg_entry;

/* One fat binary (or bare cubin) found in the file. */
typedef struct mg_fatbin {
    uint64_t off, size;     /* extent in the scanned buffer */
    uint32_t first, count;  /* its entries: report->entries[first .. first+count) */
    uint8_t where;          /* mg_where */
    int32_t nkernels;       /* kernels in its images; -1 until counted */
} mg_fatbin;

const char *mg_kind_str(mg_kind k);
const char *mg_codec_str(mg_codec c);
const char *mg_where_str(mg_where w);

#endif
