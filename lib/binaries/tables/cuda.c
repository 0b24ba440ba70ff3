/*
 * cuda.c - the PTX ISA <-> CUDA toolkit <-> minimum Linux driver table.
 *
 * One row per CUDA release: the PTX ISA version its compiler writes and the
 * Linux x86_64 driver of its GA release (NVIDIA release notes, "CUDA Toolkit and
 * Corresponding Driver Versions"; PTX ISA release table). A driver can JIT PTX up
 * to the ISA of the newest release it supports. Rows are in ascending order.
 */
#include <string.h>

#include "mlgate/binaries.h"

static const mg_cuda_release rel[] = {
    /* CUDA  PTX  driver */
    {90,  60, {384, 81, 0}},
    {91,  61, {387, 26, 0}},
    {92,  62, {396, 26, 0}},
    {100, 63, {410, 48, 0}},
    {101, 64, {418, 39, 0}},
    {102, 65, {440, 33, 1}},
    {110, 70, {450, 36, 6}},
    {111, 71, {455, 23, 0}},
    {112, 72, {460, 27, 3}},
    {113, 73, {465, 19, 1}},
    {114, 74, {470, 42, 1}},
    {115, 75, {495, 29, 5}},
    {116, 76, {510, 39, 1}},
    {117, 77, {515, 43, 4}},
    {118, 78, {520, 61, 5}},
    {120, 80, {525, 60, 13}},
    {121, 81, {530, 30, 2}},
    {122, 82, {535, 54, 3}},
    {123, 83, {545, 23, 6}},
    {124, 84, {550, 54, 14}},
    {125, 85, {555, 42, 2}},
    {126, 85, {560, 28, 3}},
    {128, 87, {570, 26, 0}},   /* PTX 8.6 (sm_100 in "12.7") first shipped in 12.8 */
    {129, 88, {575, 51, 3}},
    {130, 90, {580, 65, 6}},
    {131, 91, {590, 44, 1}},
    {132, 92, {595, 45, 4}},
};

#define NREL (sizeof rel / sizeof rel[0])

/*
 * The first CUDA release that knows each compute capability (NVIDIA's CUDA release notes and the
 * PTX ISA table: the ISA that first named the target). A driver older than that release's GA
 * driver branch does not know the GPU at all: no driver before 570 runs an RTX 5090, GB10 needs 580.
 * Tegra capabilities (5.3, 6.2, 7.2, 8.7, 10.1, 11.0) are left out: their drivers come with the
 * board's L4T release and are numbered apart. Pascal (6.0/6.1) came with CUDA 8, older than the table.
 */
static const struct { uint16_t cc; mg_cuda cuda; } first_cuda[] = {
    {70, 90},  {75, 100}, {80, 110}, {86, 111}, {89, 118}, {90, 118},
    {100, 128}, {103, 129}, {120, 128}, {121, 130},
};

const mg_cuda_release *mg_cuda_first_for_cc(uint16_t cc)
{
    for (size_t i = 0; i < sizeof first_cuda / sizeof first_cuda[0]; i++)
        if (first_cuda[i].cc == cc)
            for (size_t k = 0; k < NREL; k++)
                if (rel[k].cuda == first_cuda[i].cuda)
                    return &rel[k];
    return NULL;
}

const mg_cuda_release *mg_cuda_table(size_t *n)
{
    *n = NREL;
    return rel;
}

const mg_cuda_release *mg_cuda_for_ptx(uint16_t isa)
{
    for (size_t i = 0; i < NREL; i++)
        if (rel[i].ptx_isa >= isa)
            return &rel[i];
    return NULL;
}

const mg_cuda_release *mg_cuda_for_driver(mg_driver d)
{
    const mg_cuda_release *best = NULL;
    for (size_t i = 0; i < NREL; i++)
        if (mg_driver_cmp(rel[i].min_driver, d) <= 0)
            best = &rel[i];
    return best;
}

/*
 * CUDA major releases (docs/compat-rules.md "CUDA generations"): the oldest compute capability the
 * toolkit and its libraries support (CUDA 12.0 dropped Kepler, 13.0 Maxwell, Pascal and Volta), and
 * the driver branch its runtime needs under minor-version compatibility (NVIDIA "CUDA Compatibility",
 * Table 1; cuda-pathfinder's {11: 450, 12: 525, 13: 580}).
 */
static const mg_cuda_generation gens[] = {
    /* major  lowest cc  driver branch */
    {10, 30, 410},
    {11, 35, 450},
    {12, 50, 525},
    {13, 75, 580},
};

const mg_cuda_generation *mg_cuda_generation_of(unsigned major)
{
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++)
        if (gens[i].major == major)
            return &gens[i];
    return NULL;
}

/*
 * Toolkit libraries whose soname major tells the CUDA major: most carry it as their own (cuBLAS 13
 * ships with CUDA 13), cuFFT runs one ahead (libcufft.so.12 is CUDA 13's). cuSPARSE (.12 in 12 and
 * 13), cuSOLVER (.11 in 11 and 12) and cuRAND (.10 in all) do not tell, so they are not here.
 */
static const struct { const char *stem; int offset; } toolkit_libs[] = {
    {"libcudart.so.", 0},   {"libcublas.so.", 0}, {"libcublasLt.so.", 0}, {"libnvrtc.so.", 0},
    {"libnvJitLink.so.", 0}, {"libnvblas.so.", 0}, {"libcupti.so.", 0},  {"libnppc.so.", 0},
    {"libcufft.so.", 1},
};

unsigned mg_cuda_major_of_library(const char *soname)
{
    for (size_t i = 0; i < sizeof toolkit_libs / sizeof toolkit_libs[0]; i++) {
        size_t l = strlen(toolkit_libs[i].stem);
        if (strncmp(soname, toolkit_libs[i].stem, l))
            continue;
        const char *p = soname + l;
        unsigned v = 0;
        while (*p >= '0' && *p <= '9' && v < 100)
            v = v * 10 + (unsigned)(*p++ - '0');
        if (p == soname + l || (*p && *p != '.'))
            return 0;
        v += (unsigned)toolkit_libs[i].offset;
        return mg_cuda_generation_of(v) ? v : 0;
    }
    return 0;
}
