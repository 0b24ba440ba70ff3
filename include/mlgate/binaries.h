/*
 * binaries.h - the CUDA code inside binaries, directories, wheels: what each file carries, whether
 * each target GPU can run it, what the real driver says (`scan --load`), and the tables behind the
 * verdicts (GPUs, PTX ISA <-> CUDA <-> driver).
 */
#ifndef MLGATE_BINARIES_H
#define MLGATE_BINARIES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlgate/core.h"
#include "mlgate/target.h"

/* ==== Tables (lib/binaries/tables/) ==== */

/* One row of the GPU table (lib/binaries/tables/gpus.c). */
typedef struct mg_gpu_info {
    const char *name;       /* canonical: "RTX PRO 6000 Blackwell" */
    const char *aliases;    /* '|'-separated extra names, or NULL */
    uint16_t cc;            /* compute capability major*10+minor: 120 */
    const char *family;     /* "Blackwell" */
    uint32_t mem_mib;       /* memory of the common model, 0 = shared/unknown */
    const char *host;       /* the only CPU it comes with ("aarch64": GB10, GH200, Jetson), NULL: either */
} mg_gpu_info;

MG_API const mg_gpu_info *mg_gpu_table(size_t *n);
/* Case-, space- and dash-insensitive; "NVIDIA " / "GeForce " / "Tesla " prefixes ignored. */
MG_API const mg_gpu_info *mg_gpu_find(const char *name);
/* The GPU with this PCI device id (vendor 0x10de), or NULL. */
MG_API const mg_gpu_info *mg_gpu_by_pci(uint16_t device);
/* "GPU0 H200": a detected GPU's label, its index and its name in the GPU table (else the name it reported). */
MG_API const char *mg_gpu_label(int index, const char *reported, char *buf, size_t n);
/* Up to `max` names closest to an unknown one, for error messages. */
MG_API size_t mg_gpu_suggest(const char *name, const mg_gpu_info **out, size_t max);

/* PTX ISA / CUDA / driver table (lib/binaries/tables/cuda.c). ISA as major*10+minor (90 = 9.0). */
typedef struct mg_cuda_release {
    mg_cuda cuda;           /* 128 = CUDA 12.8 */
    uint16_t ptx_isa;       /* 87 = PTX ISA 8.7 */
    mg_driver min_driver;   /* Linux x86_64 driver of the GA release */
} mg_cuda_release;

MG_API const mg_cuda_release *mg_cuda_table(size_t *n);
/* The first release whose PTX ISA is >= isa, or NULL when the ISA is newer than the table. */
MG_API const mg_cuda_release *mg_cuda_for_ptx(uint16_t isa);
/* The newest release a driver supports (NULL: older than every row). */
MG_API const mg_cuda_release *mg_cuda_for_driver(mg_driver d);
/* The first release that knows compute capability cc: its driver branch is the first that runs such
 * a GPU. NULL when unknown, older than the table (Pascal) or a Tegra part (drivers numbered apart). */
MG_API const mg_cuda_release *mg_cuda_first_for_cc(uint16_t cc);

/* A CUDA major release as a whole: the oldest GPUs its toolkit and libraries still support, and the
 * driver branch its runtime needs (minor-version compatibility: any driver of that branch or newer). */
typedef struct mg_cuda_generation {
    uint8_t major;          /* 13 */
    uint16_t lowest_cc;     /* 75: CUDA 13 dropped Maxwell, Pascal and Volta */
    uint16_t min_driver;    /* 580: the branch a CUDA 13 runtime needs */
} mg_cuda_generation;

/* The generation of CUDA `major`, or NULL when the table does not know it. */
MG_API const mg_cuda_generation *mg_cuda_generation_of(unsigned major);
/* The CUDA major a toolkit library belongs to, from its soname: "libcudart.so.13" -> 13,
 * "libcufft.so.12" -> 13 (cuFFT runs one major ahead); 0 when the name does not tell. */
MG_API unsigned mg_cuda_major_of_library(const char *soname);

/* ==== What a binary carries (docs/fatbin-format.md) ==== */

/* Kind of a code image, from the fatbin entry header. */
typedef enum mg_image_kind {
    MG_IMAGE_UNKNOWN = 0,
    MG_IMAGE_SASS = 1,      /* cubin: machine code for one sm */
    MG_IMAGE_PTX = 2,       /* PTX text, JIT-compiled by the driver */
    MG_IMAGE_LTOIR = 3,     /* NVVM IR for link-time optimisation, not loadable */
    MG_IMAGE_COUNT
} mg_image_kind;

typedef enum mg_codec {
    MG_CODEC_NONE = 0,
    MG_CODEC_LZ4,           /* raw LZ4 block (flag 0x2000; --compress-mode=speed) */
    MG_CODEC_ZSTD,          /* zstd frame (flag 0x8000; default, size, balance) */
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
    uint8_t kind;           /* mg_image_kind */
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

MG_API const char *mg_image_kind_str(mg_image_kind k);
MG_API const char *mg_codec_str(mg_codec c);
MG_API const char *mg_where_str(mg_where w);

/* ==== Verdicts (docs/compat-rules.md) ==== */

/* Verdict of one file on one target. Ordered from best to worst. */
typedef enum mg_status {
    MG_STATUS_NATIVE = 0,   /* every kernel the file needs has SASS for the target */
    MG_STATUS_JIT,          /* runs, but some code only through PTX JIT (slow first start) */
    MG_STATUS_PARTIAL,      /* some code the file needs has no image: those kernels fail */
    MG_STATUS_NONE          /* nothing in the file runs on the target */
} mg_status;

MG_API const char *mg_status_str(mg_status s);

/* Why a fatbin has no usable image for a target. */
typedef enum mg_why {
    MG_WHY_NO_IMAGE = 0,    /* no SASS for this major/minor and no PTX old enough */
    MG_WHY_ARCH_SPECIFIC,   /* only sm_XYa / sm_XYf code for other GPUs */
    MG_WHY_PTX_DRIVER,      /* PTX would JIT, but the driver is too old for its ISA (error 222) */
    MG_WHY_LTOIR_ONLY,      /* only LTO-IR, which needs nvJitLink */
} mg_why;

/* A fatbin with no image for a target, and the kernels that therefore fail. */
typedef struct mg_missing {
    uint32_t fatbin;        /* index in report->fatbins */
    uint8_t why;            /* mg_why */
    uint32_t nkernels;      /* kernels in the fatbin */
    uint32_t nnames;        /* names kept (capped) */
    const char **names;
} mg_missing;

#define MG_REASON_MAX 200

typedef struct mg_verdict {
    mg_target target;
    uint8_t status;         /* mg_status */
    uint32_t covered;       /* code fatbins the target can run */
    uint32_t total;         /* code fatbins that matter on the target */
    uint32_t jit;           /* of covered, those that run only through PTX JIT */
    uint32_t other_sets;    /* per-architecture kernel sets for other GPUs, not loaded here */
    uint16_t need_isa;      /* newest PTX ISA the JIT needs (0: none) */
    mg_driver need_driver;  /* the driver that ISA needs */
    char reason[MG_REASON_MAX];
    uint32_t nmissing;      /* fatbins without an image (all of them) */
    uint32_t nmissing_kept; /* details kept in `missing` (capped) */
    mg_missing *missing;
    uint32_t missing_kernels;  /* sum of their kernels */
} mg_verdict;

struct mg_arena;

/* Everything mlgate learned about one file (or one member of an archive). */
typedef struct mg_report {
    const char *path;       /* "dir/lib.so", or "pkg.whl!torch/lib/libtorch_cuda.so" */
    int err;                /* mg_err: MG_OK, or why the file could not be read */
    const char *detail;     /* a sentence about err, or NULL */
    uint64_t size;          /* bytes scanned */
    uint16_t machine;       /* host ELF e_machine (62 x86-64, 183 aarch64) */
    uint32_t nfatbins;
    mg_fatbin *fatbins;
    uint32_t nentries;
    mg_entry *entries;
    uint32_t images[MG_IMAGE_COUNT];   /* entries per kind */
    uint32_t nrelocatable;  /* fatbins that need device linking first */
    uint32_t nempty;        /* fatbins found to hold no kernel */
    uint32_t sm_mismatch;   /* cubins whose header disagrees with the fatbin */
    uint8_t cuda_major;     /* the CUDA it was built with (13), 0 when nothing tells */
    const char *cuda_from;  /* what told: "needs libcudart.so.13", "PTX ISA 9.0", "cubin ABI v2 for sm_75" */
    size_t nverdicts;
    mg_verdict *verdicts;   /* one per target, in the order given */
    struct mg_arena *arena; /* owns everything above */
    const char *image;      /* a file of a container image: the image as named, else NULL */
    const char *layer;      /* ... and the digest of the layer that brought it ("sha256:..."; NULL in a flat tar) */
    const char *framework;  /* a framework's own verdict ("torch 2.9.0+cpu", named after its dist-info), else NULL */
    const struct mg_framework *framework_row;   /* with `framework`: its row of the table */
} mg_report;

/* An image's architecture as cuobjdump spells it by kind: sm_90a, compute_120f, lto_90. */
MG_API const char *mg_entry_arch_str(const mg_entry *e, char *buf, size_t n);
/* The images of fatbin i, space-separated ("sm_80 sm_90 compute_90"). */
MG_API const char *mg_fatbin_archs_str(const mg_report *r, uint32_t i, char *buf, size_t n);
/* Distinct architectures of one kind in a report, sorted; returns how many (up to max). */
MG_API size_t mg_report_archs(const mg_report *r, mg_image_kind kind, mg_arch *out, size_t max);
/* The same, space-separated with a prefix ("sm_80 sm_90"), into buf. */
MG_API const char *mg_report_archs_str(const mg_report *r, mg_image_kind kind, const char *prefix, char *buf,
                                       size_t n);
/* How one fatbin alone fares on a target: native, jit or none (no file-level reasoning). */
MG_API mg_status mg_fatbin_status(const mg_report *r, uint32_t i, const mg_target *t);
/* The worst status over all targets (MG_STATUS_NATIVE when there are none). */
MG_API mg_status mg_report_worst(const mg_report *r);

/* ==== The driver's word (`scan --load`, lib/binaries/load.c) ==== */

/* The GPU the driver loads for (device 0 unless asked otherwise). */
typedef struct mg_device {
    int ok;                 /* 0: no driver or no GPU; see err */
    char name[96];
    uint16_t cc;            /* 90 */
    int cuda_version;       /* cuDriverGetVersion: 13000 = CUDA 13.0 */
    mg_driver driver;       /* from /proc/driver/nvidia/version, when readable */
    char err[256];
} mg_device;

/* What happened to one fatbin. */
enum {
    MG_LOAD_NOT_TRIED = -1, /* relocatable / LTO-IR: not loadable directly; or no budget left */
    MG_LOAD_CRASHED = -2,   /* the driver crashed the loading process */
    MG_LOAD_TIMEOUT = -3,   /* the time budget ran out while it loaded (JIT) */
};

typedef struct mg_load_opts {
    int device;             /* ordinal */
    double budget_s;        /* wall-clock budget for this file (0: 120 s) */
} mg_load_opts;

/*
 * Loads every fatbin of r (from the file at r->path) with cuModuleLoadData in a child process,
 * so a crash is reported, not inherited. codes[i] gets the CUresult of fatbin i, or one of the
 * MG_LOAD_* values. Returns MG_OK, or MG_E_DRIVER with dev->err explaining.
 */
MG_API int mg_load_file(const mg_report *r, const mg_load_opts *o, int *codes, mg_device *dev);
/* Device `ordinal`'s facts through the driver (in a child process). */
MG_API int mg_load_device(int ordinal, mg_device *dev);
/* The device as a target: named from the GPU table, its driver (or, unread, the oldest driver of its
 * CUDA version), unless `driver` is given. */
MG_API void mg_device_target(const mg_device *dev, mg_driver driver, mg_target *t);

/* A kernel's name demangled into buf ("scale_kernel(float*)"), cut to n bytes; the name itself when it
 * is not a mangled C++ name or no demangler is at hand (libstdc++'s, opened on first use). Thread-safe. */
MG_API const char *mg_demangle(const char *name, char *buf, size_t n);

MG_API const char *mg_cu_name(int code);
MG_API const char *mg_cu_meaning(int code);

#define MG_LOAD_MAX_DISAGREE 32

/* One file's fatbins as the driver loaded them, compared with the static verdict. */
typedef struct mg_load_result {
    int tried;              /* the file has fatbins and was handed to the driver */
    const char *skipped;    /* why it was not verified, or NULL */
    uint32_t loaded, refused, empty_refused, crashed, timeout, not_tried;
    uint32_t ndisagree;     /* all of them; the first MG_LOAD_MAX_DISAGREE are kept */
    struct { uint32_t fatbin; int status, code; } disagree[MG_LOAD_MAX_DISAGREE];
} mg_load_result;

/* ==== Scanning ==== */

typedef void (*mg_progress_fn)(void *ud, size_t done, size_t total);

typedef struct mg_scan_opts {
    const mg_target *targets;
    size_t ntargets;
    int threads;            /* 0: one per CPU */
    int deep;               /* decompress every image: check every cubin's SM, count all kernels */
    unsigned max_names;     /* kernel names kept per missing fatbin (default 8) */
    unsigned max_missing;   /* missing fatbins detailed per verdict (default 16) */
    uint64_t max_member;    /* largest archive member inflated in memory (default 4 GiB) */
    int keep_all;           /* also report files without CUDA code */
    int load;               /* then load every fatbin with this machine's driver (GPU 0): the GPU becomes
                               the last target, and each report gets a mg_load_result */
    double load_budget;     /* seconds per file for `load` (0: 120) */
    mg_driver load_driver;  /* the driver for the loaded GPU's verdicts (0: read from the kernel module) */
    mg_progress_fn progress;
    void *progress_ud;
    double deadline_at;     /* mg_now() time after which files not yet started are reported as
                               MG_E_TIMEOUT, not scanned (0: none) */
    const char *platform;   /* container images: only this platform of a multi-platform index ("linux/arm64",
                               "linux/arm/v7"); NULL: every platform */
} mg_scan_opts;

/* One layer of a scanned container image. */
typedef struct mg_image_layer {
    const char *digest;     /* "sha256:..." as the manifest names it */
    const char *compression;    /* "none", "gzip", "zstd": by its bytes */
    uint64_t size;          /* bytes stored */
    uint32_t files;         /* regular files of it in the final image */
} mg_image_layer;

/* A container image scanned (one per platform of a multi-platform index). */
typedef struct mg_image_info {
    const char *path;       /* as given */
    const char *format;     /* "docker-save", "oci-archive", "oci-layout", "rootfs-tar" */
    const char *digest;     /* the manifest's digest, NULL when the format does not say */
    const char *id;         /* the config's digest (Docker's image ID), NULL for a flat tar */
    const char *platform;   /* "linux/amd64", NULL when the config does not say */
    const char **tags;      /* repository tags / ref names */
    size_t ntags;
    mg_image_layer *layers; /* base first */
    size_t nlayers;
    uint32_t files;         /* regular files in the final image */
} mg_image_info;

typedef struct mg_scan_result {
    mg_report **reports;    /* files with CUDA code, and files that failed: failing ones first */
    size_t nreports;
    size_t files;           /* regular files examined (archive members included) */
    size_t skipped;         /* special files and symlinks left alone */
    uint64_t bytes;         /* bytes of ELF data examined */
    double seconds;         /* how long it took */
    mg_target *targets;     /* what the verdicts are for (a copy; with `load`, the driver's GPU last) */
    size_t ntargets;
    mg_device device;       /* `load`: the GPU the driver loaded on */
    mg_load_result *load;   /* `load`: one per report, or NULL */
    char error[256];        /* why the scan as a whole failed (the call's return says it failed) */
    mg_image_info *images;  /* the container images among the inputs */
    size_t nimages;
    struct mg_arena *image_arena;   /* owns images */
} mg_scan_result;

/* Scans files, directories (recursively, without following symlinks) and zip/wheel archives.
 * Free *out with mg_scan_result_free whatever it returns. */
MG_API int mg_scan_paths(const mg_scan_opts *o, const char *const *paths, size_t npaths, mg_scan_result *out);
MG_API void mg_scan_result_free(mg_scan_result *r);

/* Counts over a result: files with CUDA code, that fail somewhere (partial/none; frameworks' own reports
 * too), need JIT somewhere, run natively everywhere, could not be read. */
typedef struct mg_scan_summary {
    size_t with_code, failing, jit, native, errors;
    size_t frameworks;      /* reports about frameworks themselves (CPU-only builds, GPU floors), in failing */
} mg_scan_summary;
MG_API void mg_scan_summarize(const mg_scan_result *r, mg_scan_summary *s);
/* 0 when every file runs on every target, 1 when some file does not or could not be read. */
MG_API int mg_scan_exit_status(const mg_scan_result *r);

/* The report as JSON (docs/json.md); `list` adds every fatbin and image. */
MG_API void mg_scan_json(FILE *f, const mg_scan_result *r, int list);

/* Scans one in-memory ELF image. Always returns a report (err set on failure), NULL on OOM. */
MG_API mg_report *mg_scan_buffer(const mg_scan_opts *o, const char *name, const uint8_t *buf, size_t len);
MG_API void mg_report_free(mg_report *r);

/* ==== Frameworks (lib/binaries/tables/frameworks.c, docs/compat-rules.md "Frameworks") ==== */

/* What a framework needs that no fatbin shows; recognised by its dist-info (environment or wheel). */
typedef struct mg_framework {
    const char *dist;           /* distribution name: "torch", "flash_attn" */
    const char *name;           /* as users say it: "FlashAttention 2" */
    const char *code_dirs;      /* '|'-separated import directories its CUDA code lives in, or NULL */
    const char *cuda_via;       /* '|'-separated distributions that, installed beside it, make it a CUDA build */
    uint8_t needs_cuda;         /* a copy with no CUDA code there is a CPU-only build */
    uint16_t min_cc;            /* lowest compute capability it runs on (0: none) */
    uint16_t only_cc;           /* the one compute capability it runs on (0: any) */
    const char *per_cuda_lib;   /* "libbitsandbytes_cuda": one library per CUDA version (XYZ after it); only
                                   the one matching torch's CUDA is loaded */
    const char *fix;            /* what to do: its CUDA build, or a way around the floor (torch: the build table) */
    const char *rule;           /* the floor in words: "Triton needs compute capability 7.0+" */
    uint8_t below_floor;        /* mg_status on a GPU below the floor: PARTIAL when the rest still runs (Triton:
                                   eager PyTorch does), else NONE */
    const char *floor_effect;   /* what fails there, when not everything: "torch.compile and Triton kernels fail" */
} mg_framework;

MG_API const mg_framework *mg_framework_table(size_t *n);
/* The row of a distribution name (len bytes; '-', '.' and case ignored), or NULL. */
MG_API const mg_framework *mg_framework_find(const char *dist, size_t len);
/* The row of a directory name "NAME-VERSION.dist-info" (len bytes), its VERSION in *ver and *vlen; NULL when it is
 * none or the table does not know NAME. The one way the scan and doctor recognise a framework. */
MG_API const mg_framework *mg_dist_info(const char *name, size_t len, const char **ver, size_t *vlen);
/* Whether a framework's capability floor lets it run on compute capability cc (1 for frameworks without one). */
MG_API int mg_framework_runs_on(const mg_framework *fw, uint16_t cc);
/* "Triton needs compute capability 7.0+ (GTX 1080 Ti is 6.1): torch.compile ... fail; eager PyTorch runs" into buf. */
MG_API const char *mg_framework_floor_reason(const mg_framework *fw, const char *gpu, uint16_t cc, char *buf, size_t n);
/* A CUDA version as CUDA tags and version strings spell it: "cu128", "12.8", "12.8.1" -> 128; 0 when none. */
MG_API unsigned mg_cuda_tag_parse(const char *s);

/* One official PyTorch CUDA build line: releases first..last (major*100+minor, last 0: still built). */
typedef struct mg_torch_build {
    uint16_t first, last;
    uint16_t cuda;              /* 126 = CUDA 12.6 (cu126) */
    uint16_t sass[12];          /* sm_XY it carries, 0-terminated */
    uint16_t ptx;               /* compute_XY PTX it also carries (0: none) */
    uint8_t verified;           /* 0: list from a third-party build matrix */
} mg_torch_build;

MG_API const mg_torch_build *mg_torch_builds(size_t *n);
/* Whether a build has code for compute capability cc (SASS of the same major, or PTX). */
MG_API int mg_torch_build_runs(const mg_torch_build *b, uint16_t cc);
/* The newest build with code for cc (latest release, then CUDA), or NULL. */
MG_API const mg_torch_build *mg_torch_build_for(uint16_t cc);
/* The build a version names ("2.5.1+cu121"), or NULL (+cpu, unknown). */
MG_API const mg_torch_build *mg_torch_build_of(const char *version);
/* "torch 2.11 with CUDA 12.6 (cu126) is the last build for sm_61: pip install 'torch==2.11.*' --index-url ...". */
MG_API const char *mg_torch_build_advice(uint16_t cc, char *buf, size_t n);
/* A version.py's `__version__` and `cuda` (torch/version.py): bit 1 when the version was found, bit 2
 * when `cuda` was (cuda "" for `cuda = None`: a CPU-only build). */
MG_API int mg_py_version_file(const char *text, char *version, size_t vn, char *cuda, size_t cn);

#endif
