/*
 * test_doctor.c - the host audit without a GPU: a fake NVML library (tests/fake_nvml.c)
 * playing several machines, and fake /proc + /sys trees written here.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlgate/mlgate.h"

static char root[64];
/* Only what the test sets up: no environments of this machine, no libcuda. */
static const mg_doctor_opts hermetic = {NULL, 0, NULL, 0, 1, 1, 1};

/* Writes root+path (creating directories), with printf-style content. */
__attribute__((format(printf, 2, 3)))
static void put(const char *path, const char *fmt, ...)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", root, path);
    for (char *p = full + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(full, 0755);
            *p = '/';
        }
    FILE *f = fopen(full, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static void fresh_root(void)
{
    if (root[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
    }
    snprintf(root, sizeof root, "/tmp/mlgate-host-XXXXXX");
    assert_non_null(mkdtemp(root));
}

static mg_gpu_probe nvml_as(const char *scenario)
{
    setenv("FAKE_NVML_SCENARIO", scenario, 1);
    mg_host_paths p = {.root = "", .nvml_lib = FAKE_NVML};
    mg_gpu_probe g;
    mg_gpu_nvml.probe(&p, &g);
    return g;
}

static int has_finding(const mg_doctor *d, int sev, const char *needle)
{
    for (size_t i = 0; i < mg_doctor_nfindings(d); i++) {
        const mg_finding *f = mg_doctor_finding(d, i);
        if (f->severity == sev && (strstr(f->cause, needle) || (f->fix && strstr(f->fix, needle))))
            return 1;
    }
    return 0;
}

/* A fresh audit (the previous one freed). */
static mg_doctor *rerun(mg_doctor *d, const mg_host_paths *p, const mg_doctor_opts *o)
{
    mg_doctor_free(d);
    d = mg_doctor_run(p, o);
    assert_non_null(d);
    return d;
}

static void asymmetric_workstation(void **state)
{
    (void)state;
    mg_gpu_probe g = nvml_as("pro6000_5090");
    assert_true(g.ok);
    assert_int_equal(g.ngpus, 2);
    assert_int_equal(g.driver.major, 580);
    assert_int_equal(g.driver.minor, 95);
    assert_int_equal(g.cuda_version, 13000);
    assert_string_equal(g.gpus[0].name, "NVIDIA RTX PRO 6000 Blackwell Workstation Edition");
    assert_int_equal(g.gpus[0].cc, 120);
    assert_string_equal(g.gpus[0].arch, "Blackwell");
    assert_true(g.gpus[0].mem_total == 97887ull << 20);
    assert_true(g.gpus[0].mem_reserved == 512ull << 20);
    assert_int_equal(g.gpus[0].mig, 0);
    assert_int_equal(g.gpus[0].persistence, 1);
    assert_int_equal(g.gpus[0].bus_type, 2);
    assert_int_equal(g.gpus[0].pci_device, 0x2bb1);
    assert_string_equal(g.gpus[0].pci_bus_id, "00000000:01:00.0");
    assert_string_equal(g.gpus[1].name, "NVIDIA GeForce RTX 5090");
    assert_true(g.gpus[1].mem_total == 32607ull << 20);
    assert_int_equal(g.gpus[1].mig, -1);   /* GeForce: not supported, not "off" */
    assert_false(g.gpus[0].unified_memory);

    /* scan's default targets: both GPUs, with the driver. */
    mg_host_paths p = {.root = "", .nvml_lib = FAKE_NVML};
    mg_target_spec spec = {.detect = 1, .host = &p};
    mg_targets tg;
    char err[256];
    assert_int_equal(mg_targets_make(&spec, &tg, err, sizeof err), MG_OK);
    const mg_target *t = tg.t;
    size_t n = tg.n;
    assert_int_equal(n, 2);
    assert_int_equal(t[0].cc, 120);
    assert_int_equal(t[0].driver.major, 580);
    assert_non_null(strstr(t[0].name, "RTX PRO 6000"));
    assert_non_null(strstr(t[1].name, "RTX 5090"));
}

static void gb10_unified(void **state)
{
    (void)state;
    mg_gpu_probe g = nvml_as("gb10");
    assert_true(g.ok);
    assert_int_equal(g.ngpus, 1);
    assert_int_equal(g.gpus[0].cc, 121);
    assert_true(g.gpus[0].unified_memory);
    assert_int_equal(g.gpus[0].mem_total, 0);
    assert_int_equal(g.gpus[0].bus_type, 3);   /* NVLink-C2C, not PCIe */
}

static void pascal(void **state)
{
    (void)state;
    mg_gpu_probe g = nvml_as("1080ti");
    assert_int_equal(g.gpus[0].cc, 61);
    assert_int_equal(g.cuda_version, 12090);
    assert_int_equal(g.driver.major, 575);
}

static void broken_drivers(void **state)
{
    (void)state;
    mg_gpu_probe g = nvml_as("mismatch");
    assert_false(g.ok);
    assert_int_equal(g.code, 18);
    assert_non_null(strstr(g.error, "without a reboot"));
    g = nvml_as("noload");
    assert_false(g.ok);
    assert_int_equal(g.code, 9);
    g = nvml_as("nogpu");
    assert_true(g.ok);
    assert_int_equal(g.ngpus, 0);
    mg_host_paths p = {.root = "", .nvml_lib = "/nonexistent/libnvidia-ml.so.1"};
    mg_gpu_nvml.probe(&p, &g);
    assert_false(g.ok);
    assert_int_equal(g.code, 12);
}

static void garbage_from_nvml(void **state)
{
    (void)state;
    mg_gpu_probe g = nvml_as("garbage");
    assert_true(g.ok);
    assert_int_equal(g.ngpus, 3);
    assert_true(strlen(g.gpus[0].name) < sizeof g.gpus[0].name);   /* terminated despite NVML */
    assert_null(strchr(g.gpus[0].name, '\033'));                    /* control bytes dropped */
    assert_int_equal(g.gpus[0].cc, 0);                              /* 99.-7 is no capability */
    assert_int_equal(g.gpus[0].mem_free, 0);                        /* free > total: not trusted */
    assert_non_null(strstr(g.gpus[2].name, "fallen off the bus"));  /* its handle failed */
}

/* A 96-core Threadripper: cpuinfo with 192 threads, AVX-512, and 1 or 4 NUMA nodes. */
static void threadripper(int nodes)
{
    fresh_root();
    char *cpuinfo = malloc(1 << 20);
    size_t w = 0;
    for (int i = 0; i < 192; i++)
        w += (size_t)snprintf(cpuinfo + w, (1 << 20) - w,
                              "processor\t: %d\nmodel name\t: AMD Ryzen Threadripper PRO 7995WX 96-Cores\n"
                              "physical id\t: 0\ncore id\t\t: %d\n"
                              "flags\t\t: fpu sse sse2 avx avx2 fma f16c avx512f avx512bw avx512cd avx512dq "
                              "avx512vl avx512_bf16 avx512_vnni\n\n", i, i % 96);
    put("/proc/cpuinfo", "%s", cpuinfo);
    free(cpuinfo);
    put("/proc/meminfo", "MemTotal:       395182080 kB\nMemAvailable:   380000000 kB\nSwapTotal: 0 kB\n"
                         "SwapFree: 0 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n");
    for (int n = 0; n < nodes; n++) {
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", n);
        put(path, "Node %d MemTotal:       %llu kB\nNode %d MemFree: 1 kB\n", n, 395182080ull / (unsigned)nodes, n);
        snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", n);
        put(path, "%d-%d,%d-%d\n", n * 96 / nodes, (n + 1) * 96 / nodes - 1, 96 + n * 96 / nodes,
            96 + (n + 1) * 96 / nodes - 1);
    }
}

static void cpu_and_numa(void **state)
{
    (void)state;
    for (int nodes = 1; nodes <= 4; nodes += 3) {
        threadripper(nodes);
        mg_host_paths p = {.root = root, .nvml_lib = "/nonexistent/libnvidia-ml.so.1"};
        mg_doctor *d = NULL;
        d = rerun(d, &p, &hermetic);
        assert_true(mg_doctor_facts(d)->cpu_ok);
        assert_string_equal(mg_doctor_facts(d)->cpu.arch, "x86_64");
        assert_int_equal(mg_doctor_facts(d)->cpu.logical, 192);
        assert_int_equal(mg_doctor_facts(d)->cpu.physical, 96);
        assert_true(mg_doctor_facts(d)->cpu.features & MG_CPU_AVX512BF16);
        assert_false(mg_doctor_facts(d)->cpu.features & MG_CPU_AMX_TILE);
        assert_int_equal(mg_doctor_facts(d)->mem.nnodes, (size_t)nodes);
        assert_int_equal(mg_doctor_facts(d)->mem.nodes[0].ncpus, 192 / nodes);
        assert_true(mg_doctor_facts(d)->mem.total == 395182080ull * 1024);
        assert_int_equal(has_finding(d, MG_SEV_WARN, "NUMA nodes"), nodes > 1);
        assert_true(has_finding(d, MG_SEV_WARN, "no NVIDIA GPU"));
        mg_doctor_free(d);
    }
}

static void arm_and_pci_fallback(void **state)
{
    (void)state;
    fresh_root();
    put("/proc/cpuinfo", "processor\t: 0\nBogoMIPS\t: 2000.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 "
                         "crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp sve i8mm bf16 sve2\n"
                         "CPU implementer\t: 0x41\nCPU part\t: 0xd85\n\nprocessor\t: 1\n");
    put("/proc/meminfo", "MemTotal: 128000000 kB\nMemAvailable: 120000000 kB\n");
    /* The driver is not loaded, but the bus shows an RTX 5090 (and its audio function). */
    put("/sys/bus/pci/devices/0000:01:00.0/vendor", "0x10de\n");
    put("/sys/bus/pci/devices/0000:01:00.0/device", "0x2b85\n");
    put("/sys/bus/pci/devices/0000:01:00.0/class", "0x030000\n");
    put("/sys/bus/pci/devices/0000:01:00.1/vendor", "0x10de\n");
    put("/sys/bus/pci/devices/0000:01:00.1/device", "0x22e8\n");
    put("/sys/bus/pci/devices/0000:01:00.1/class", "0x040300\n");
    put("/sys/bus/pci/devices/0000:02:00.0/vendor", "0x8086\n");
    put("/sys/bus/pci/devices/0000:02:00.0/class", "0x030000\n");
    put("/.dockerenv", "\n");
    setenv("FAKE_NVML_SCENARIO", "noload", 1);
    mg_host_paths p = {.root = root, .nvml_lib = FAKE_NVML};
    mg_doctor *d = NULL;
    d = rerun(d, &p, &hermetic);
    assert_string_equal(mg_doctor_facts(d)->cpu.arch, "aarch64");
    assert_int_equal(mg_doctor_facts(d)->cpu.logical, 2);
    assert_true(mg_doctor_facts(d)->cpu.features & MG_CPU_SVE2);
    assert_true(mg_doctor_facts(d)->cpu.features & MG_CPU_I8MM);
    assert_true(mg_doctor_facts(d)->cpu.features & MG_CPU_NEON);
    assert_false(mg_doctor_facts(d)->nvml.ok);
    assert_int_equal(mg_doctor_facts(d)->pci.ngpus, 1);
    assert_string_equal(mg_doctor_facts(d)->pci.gpus[0].name, "RTX 5090");
    assert_int_equal(mg_doctor_facts(d)->pci.gpus[0].cc, 120);
    /* In a container without /dev/nvidia*: the finding says how to give it the GPU. */
    assert_true(mg_doctor_facts(d)->in_container);
    assert_true(has_finding(d, MG_SEV_FAIL, "--gpus all"));
    assert_int_equal(mg_doctor_worst(d), MG_SEV_FAIL);
    mg_doctor_free(d);
}

static void mismatch_and_mig(void **state)
{
    (void)state;
    threadripper(1);
    mg_host_paths p = {.root = root, .nvml_lib = FAKE_NVML};
    mg_doctor *d = NULL;
    setenv("FAKE_NVML_SCENARIO", "mismatch", 1);
    d = rerun(d, &p, &hermetic);
    assert_true(has_finding(d, MG_SEV_FAIL, "reboot"));
    setenv("FAKE_NVML_SCENARIO", "mig_busy", 1);
    d = rerun(d, &p, &hermetic);
    assert_true(has_finding(d, MG_SEV_WARN, "MIG enabled"));
    assert_true(has_finding(d, MG_SEV_WARN, "something else holds its memory"));
    setenv("FAKE_NVML_SCENARIO", "1080ti", 1);
    d = rerun(d, &p, &hermetic);
    assert_true(has_finding(d, MG_SEV_WARN, "sm_61"));
    assert_true(has_finding(d, MG_SEV_OK, "CUDA 12.9"));
    setenv("FAKE_NVML_SCENARIO", "nolibcuda", 1);
    d = rerun(d, &p, &hermetic);
    assert_true(has_finding(d, MG_SEV_WARN, "libcuda.so.1 was not found"));
    setenv("FAKE_NVML_SCENARIO", "gb10", 1);
    d = rerun(d, &p, &hermetic);
    assert_true(has_finding(d, MG_SEV_OK, "shares system memory"));
    mg_doctor_free(d);
}

static void hostile_trees(void **state)
{
    (void)state;
    fresh_root();
    /* Binary junk, absurd numbers, missing files: readers say "unknown", nothing crashes. */
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 131 + 7);
    junk[sizeof junk - 1] = 0;
    put("/proc/cpuinfo", "%s", junk);
    put("/proc/meminfo", "MemTotal: 99999999999999999999999 kB\nMemAvailable: -5 kB\n");
    put("/sys/devices/system/node/node0/cpulist", "5-2,,-,99999999999-\n");
    put("/sys/devices/system/node/nodeX/meminfo", "nothing\n");
    put("/sys/bus/pci/devices/bad/vendor", "0x10de\n");
    put("/sys/bus/pci/devices/bad/class", "0x030000\n");
    put("/sys/bus/pci/devices/bad/device", "0xfffffffff\n");
    put("/sys/fs/cgroup/memory.max", "max\n");
    mg_host_paths p = {.root = root, .nvml_lib = "/nonexistent/libnvidia-ml.so.1"};
    mg_doctor *d = NULL;
    d = rerun(d, &p, &hermetic);
    assert_int_equal(mg_doctor_facts(d)->mem.cgroup_limit, 0);
    assert_true(mg_doctor_facts(d)->mem.total == UINT64_MAX);   /* 10^23 kB saturates, never wraps */
    assert_int_equal(mg_doctor_facts(d)->mem.nnodes, 1);
    assert_int_equal(mg_doctor_facts(d)->pci.ngpus, 1);
    assert_int_equal(mg_doctor_facts(d)->pci.gpus[0].cc, 0);   /* an unknown device id is not guessed */
    mg_doctor_free(d);
    /* An empty root: nothing readable at all. */
    fresh_root();
    mg_host_paths q = {.root = root, .nvml_lib = "/nonexistent/libnvidia-ml.so.1"};
    d = NULL;
    d = rerun(d, &q, &hermetic);
    assert_false(mg_doctor_facts(d)->cpu_ok);
    assert_false(mg_doctor_facts(d)->mem_ok);
    assert_true(mg_doctor_nfindings(d) > 0);
    mg_doctor_free(d);
}

/* A venv with a CUDA 12.1 torch whose library stops at sm_90, on an RTX 5090; and a CPU-only torch. */
static void python_envs(void **state)
{
    (void)state;
    threadripper(1);
    put("/venv/lib/python3.12/site-packages/torch/version.py",
        "from typing import Optional\n__version__ = '2.5.1+cu121'\ndebug = False\ncuda: Optional[str] = '12.1'\n");
    char src[400], dst[200], cmd[1024];
    snprintf(src, sizeof src, "%s/libtwo.so", FIXTURES);
    snprintf(dst, sizeof dst, "%s/venv/lib/python3.12/site-packages/torch/lib", root);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/libtorch_cuda.so'", dst, src, dst);
    assert_int_equal(system(cmd), 0);
    put("/cpu/lib/python3.11/site-packages/torch/version.py", "__version__ = '2.9.0+cpu'\ncuda = None\n");
    setenv("FAKE_NVML_SCENARIO", "pro6000_5090", 1);
    char venv[128], cpu[128], py[160];
    snprintf(venv, sizeof venv, "%s/venv", root);
    snprintf(cpu, sizeof cpu, "%s/cpu/lib/python3.11/site-packages", root);
    snprintf(py, sizeof py, "%s/venv/bin/python3", root);
    put("/venv/bin/python3", "#!/bin/false\n");
    const char *pythons[] = {py, cpu};
    mg_doctor_opts o = {NULL, 0, pythons, 2, 1, 0, 1};
    mg_host_paths p = {.root = root, .nvml_lib = FAKE_NVML};
    mg_doctor *d = NULL;
    d = rerun(d, &p, &o);
    assert_int_equal(mg_doctor_facts(d)->npyenvs, 2);
    assert_string_equal(mg_doctor_facts(d)->pyenvs[0].torch_version, "2.5.1+cu121");
    assert_string_equal(mg_doctor_facts(d)->pyenvs[0].torch_cuda, "12.1");
    assert_string_equal(mg_doctor_facts(d)->pyenvs[0].python, "3.12");
    assert_true(mg_doctor_facts(d)->pyenvs[1].has_torch);
    assert_string_equal(mg_doctor_facts(d)->pyenvs[1].torch_cuda, "");
    assert_true(has_finding(d, MG_SEV_FAIL, "no CUDA at all"));
    assert_true(has_finding(d, MG_SEV_FAIL, "torch/lib/libtorch_cuda.so"));   /* sm_80/sm_90 only, GPUs are sm_120 */
    assert_true(has_finding(d, MG_SEV_FAIL, "TORCH_CUDA_ARCH_LIST"));
    /* Disk: the directories given. */
    const char *models[] = {root};
    mg_doctor_opts o2 = {models, 1, NULL, 0, 1, 1, 1};
    d = rerun(d, &p, &o2);
    assert_int_equal(mg_doctor_facts(d)->ndisks, 1);
    assert_true(mg_doctor_facts(d)->disks[0].total > 0);
    mg_doctor_free(d);
}

/* Copies a committed fixture to root+dst (its directory made). */
static void fixture_to(const char *fixture, const char *dst)
{
    char cmd[2048], full[400];
    snprintf(full, sizeof full, "%s%s", root, dst);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\" && cp '%s/%s' '%s'", full, FIXTURES, fixture, full);
    assert_int_equal(system(cmd), 0);
}

/* The findings that name needle, of any severity. */
static size_t count_findings(const mg_doctor *d, int sev, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < mg_doctor_nfindings(d); i++) {
        const mg_finding *f = mg_doctor_finding(d, i);
        n += f->severity == sev && (strstr(f->cause, needle) || (f->fix && strstr(f->fix, needle)));
    }
    return n;
}

/*
 * Frameworks' own rules (issue 12, items 7 and 8): bitsandbytes' unused per-CUDA libraries are no
 * failure beside a cu128 torch; Triton on a GTX 1080 Ti is a warning (eager PyTorch runs there, torch.compile
 * does not), FlashAttention 2 a failure; advice names the last build for sm_61.
 */
static void framework_rules(void **state)
{
    (void)state;
    threadripper(1);
    const char *sp = "/env/lib/python3.12/site-packages";
    char path[256];
    snprintf(path, sizeof path, "%s/torch/version.py", sp);
    put(path, "__version__ = '2.8.0+cu128'\ndebug = False\ncuda: Optional[str] = '12.8'\n");
    snprintf(path, sizeof path, "%s/torch-2.8.0+cu128.dist-info/METADATA", sp);
    put(path, "Name: torch\nVersion: 2.8.0+cu128\n");
    snprintf(path, sizeof path, "%s/torch/lib/libtorch_cuda.so", sp);
    fixture_to("mix_100a_120f.o", path);   /* sm_100a, sm_120f: runs on the RTX PRO 6000 and the RTX 5090 */
    snprintf(path, sizeof path, "%s/bitsandbytes-0.45.5.dist-info/METADATA", sp);
    put(path, "Name: bitsandbytes\nVersion: 0.45.5\n");
    static const char *const old[] = {"118", "120", "121", "122", "123", "124", "125", "126"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {   /* built without sm_120: never loaded beside cu128 */
        snprintf(path, sizeof path, "%s/bitsandbytes/libbitsandbytes_cuda%s.so", sp, old[i]);
        fixture_to("sass_90.o", path);
    }
    snprintf(path, sizeof path, "%s/bitsandbytes/libbitsandbytes_cuda128.so", sp);
    fixture_to("mix_100a_120f.o", path);
    char site[200];
    snprintf(site, sizeof site, "%s%s", root, sp);
    const char *pythons[] = {site};
    mg_doctor_opts o = {NULL, 0, pythons, 1, 1, 0, 1};
    mg_host_paths p = {.root = root, .nvml_lib = FAKE_NVML};
    setenv("FAKE_NVML_SCENARIO", "pro6000_5090", 1);
    mg_doctor *d = NULL;
    d = rerun(d, &p, &o);
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "libbitsandbytes_cuda"), 0);   /* 16 false failures before */
    assert_true(has_finding(d, MG_SEV_OK, "2 libraries with CUDA code, all native"));
    assert_int_not_equal(mg_doctor_worst(d), MG_SEV_FAIL);

    /* The same environment with Triton, on a GTX 1080 Ti: Triton's floor, and advice for sm_61. */
    snprintf(path, sizeof path, "%s/triton-3.4.0.dist-info/METADATA", sp);
    put(path, "Name: triton\nVersion: 3.4.0\n");
    setenv("FAKE_NVML_SCENARIO", "1080ti", 1);
    d = rerun(d, &p, &o);
    assert_true(has_finding(d, MG_SEV_WARN, "Triton needs compute capability 7.0+ (GPU0 GTX 1080 Ti is 6.1): "
                                            "torch.compile and Triton kernels fail; eager PyTorch runs"));
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "Triton"), 0);   /* a failure before: every Pascal torch env */
    assert_true(has_finding(d, MG_SEV_WARN, "TORCHDYNAMO_DISABLE=1"));
    /* torch 2.8 cu128 has no sm_61 code: the fix names the last build that has, never "a newer" one */
    assert_true(has_finding(d, MG_SEV_FAIL, "PyTorch's cu128 build of it has code for sm_70..sm_120"));
    assert_true(has_finding(d, MG_SEV_FAIL, "torch 2.11 with CUDA 12.6 (cu126) is the last build for sm_61"));
    assert_true(has_finding(d, MG_SEV_WARN, "pip install 'torch==2.11.*' --index-url https://download.pytorch.org/whl/cu126"));
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "newer PyTorch"), 0);
    assert_int_equal(count_findings(d, MG_SEV_WARN, "newer PyTorch"), 0);
    /* without the scan (--no-scan) the floor still comes from Triton's dist-info */
    mg_doctor_opts quick = {NULL, 0, pythons, 1, 1, 1, 1};
    d = rerun(d, &p, &quick);
    assert_true(has_finding(d, MG_SEV_WARN, "Triton in"));
    assert_true(has_finding(d, MG_SEV_WARN, "Triton needs compute capability 7.0+ (GPU0 GTX 1080 Ti is 6.1)"));
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "Triton"), 0);
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "libtorch_cuda.so"), 0);   /* nothing scanned */
    /* FlashAttention 2 as pip spells its dist-info, and a second stale one: one failure, found as the scan finds
     * it (a case-sensitive glob for flash_attn-* missed Flash_Attn-*) */
    snprintf(path, sizeof path, "%s/Flash_Attn-2.8.3.dist-info/METADATA", sp);
    put(path, "Name: flash-attn\nVersion: 2.8.3\n");
    snprintf(path, sizeof path, "%s/flash_attn-2.7.0.dist-info/METADATA", sp);
    put(path, "Name: flash-attn\nVersion: 2.7.0\n");
    d = rerun(d, &p, &quick);
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "FlashAttention 2 needs sm_80+"), 1);
    d = rerun(d, &p, &o);   /* the scan: its own report, one, a failure */
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "FlashAttention 2 needs sm_80+"), 1);

    /* A CPU-only torch beside a GB10: the fix is the build with code for sm_121. */
    snprintf(path, sizeof path, "%s/torch/version.py", sp);
    put(path, "__version__ = '2.9.0+cpu'\ncuda: Optional[str] = None\n");
    setenv("FAKE_NVML_SCENARIO", "gb10", 1);
    d = rerun(d, &p, &o);
    assert_true(has_finding(d, MG_SEV_FAIL, "no CUDA at all"));
    assert_true(has_finding(d, MG_SEV_FAIL, "https://download.pytorch.org/whl/cu130"));
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "libbitsandbytes_cuda"), 0);   /* CPU torch loads none */

    /* A dist-info's name reaches findings cleaned: no escape byte from a file name in a cause or a fix. */
    snprintf(path, sizeof path, "%s/flash_attn-2.9.0\033[2J.dist-info/METADATA", sp);
    put(path, "Name: flash-attn\n");
    setenv("FAKE_NVML_SCENARIO", "1080ti", 1);
    d = rerun(d, &p, &o);
    assert_true(has_finding(d, MG_SEV_FAIL, "FlashAttention 2 needs sm_80+"));
    assert_int_equal(count_findings(d, MG_SEV_FAIL, "\033") + count_findings(d, MG_SEV_WARN, "\033") +
                     count_findings(d, MG_SEV_OK, "\033"), 0);
    mg_doctor_free(d);
}

/* The PyTorch build table (lib/binaries/tables/frameworks.c): the facts docs/compat-rules.md cites. */
static void torch_build_table(void **state)
{
    (void)state;
    const mg_torch_build *b = mg_torch_build_of("2.5.1+cu121");
    assert_non_null(b);
    assert_true(mg_torch_build_runs(b, 90) && mg_torch_build_runs(b, 61) && !mg_torch_build_runs(b, 120));
    b = mg_torch_build_of("2.10.0+cu128");   /* sm_70 kept in cu128 up to 2.10 (pytorch#182250) */
    assert_true(b && mg_torch_build_runs(b, 70) && mg_torch_build_runs(b, 120) && !mg_torch_build_runs(b, 61));
    b = mg_torch_build_of("2.11.0+cu128");   /* and dropped in 2.11 */
    assert_true(b && !mg_torch_build_runs(b, 70) && mg_torch_build_runs(b, 75));
    assert_null(mg_torch_build_of("2.9.0+cpu"));
    assert_null(mg_torch_build_of("99999999999.1+cu128"));
    /* the newest build with code for a GPU: cu126 for sm_50..sm_70 (the last ones), cu130 for the rest */
    b = mg_torch_build_for(61);
    assert_true(b && b->cuda == 126 && b->last == 211);
    b = mg_torch_build_for(70);
    assert_true(b && b->cuda == 126);
    b = mg_torch_build_for(121);   /* GB10: sm_120 SASS runs on 12.1 */
    assert_true(b && b->cuda == 130 && b->last == 0);
    assert_null(mg_torch_build_for(37));
    char adv[256];
    assert_string_equal(mg_torch_build_advice(61, adv, sizeof adv),
                        "torch 2.11 with CUDA 12.6 (cu126) is the last build for sm_61: pip install 'torch==2.11.*' "
                        "--index-url https://download.pytorch.org/whl/cu126");
    /* frameworks by their distribution name, however it is spelled */
    assert_non_null(mg_framework_find("Flash-Attn", 10));
    assert_int_equal(mg_framework_find("flash_attn", 10)->min_cc, 80);
    assert_int_equal(mg_framework_find("triton", 6)->min_cc, 70);
    assert_null(mg_framework_find("tritonx", 7));
    /* one finder of dist-infos, one floor test, one CUDA-version parser */
    const char *ver;
    size_t vlen;
    const mg_framework *fw = mg_dist_info("Flash_Attn-2.8.3.dist-info", 26, &ver, &vlen);
    assert_true(fw && !strcmp(fw->dist, "flash_attn") && vlen == 5 && !strncmp(ver, "2.8.3", 5));
    assert_null(mg_dist_info("flash_attn-2.8.3.egg-info", 25, &ver, &vlen));
    assert_null(mg_dist_info("numpy-2.0.dist-info", 19, &ver, &vlen));
    fw = mg_framework_find("triton", 6);
    assert_true(!mg_framework_runs_on(fw, 61) && mg_framework_runs_on(fw, 70) && fw->below_floor == MG_STATUS_PARTIAL);
    fw = mg_framework_find("flash_attn_3", 12);
    assert_true(mg_framework_runs_on(fw, 90) && !mg_framework_runs_on(fw, 120) && fw->below_floor == MG_STATUS_NONE);
    assert_true(mg_framework_runs_on(mg_framework_find("torch", 5), 50));
    assert_int_equal(mg_cuda_tag_parse("cu128"), 128);
    assert_int_equal(mg_cuda_tag_parse("12.8"), 128);
    assert_int_equal(mg_cuda_tag_parse("12.4.131"), 124);
    assert_int_equal(mg_cuda_tag_parse("cu92"), 92);
    assert_int_equal(mg_cuda_tag_parse("cu1280"), 0);
    assert_int_equal(mg_cuda_tag_parse("cpu"), 0);
    assert_int_equal(mg_cuda_tag_parse("4294967297.1"), 0);   /* sscanf made it 1.1 */
    assert_int_equal(mg_cuda_tag_parse("12.10"), 0);
    /* the cu126 line is one row: 2.6 through 2.11 */
    const mg_torch_build *c126 = mg_torch_build_of("2.6.0+cu126");
    assert_true(c126 && c126 == mg_torch_build_of("2.11.0+cu126") && c126->first == 206 && c126->last == 211);
}

static int teardown(void **state)
{
    (void)state;
    if (root[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        return system(cmd);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asymmetric_workstation), cmocka_unit_test(gb10_unified), cmocka_unit_test(pascal),
        cmocka_unit_test(broken_drivers),         cmocka_unit_test(garbage_from_nvml),
        cmocka_unit_test(cpu_and_numa),           cmocka_unit_test(arm_and_pci_fallback),
        cmocka_unit_test(mismatch_and_mig),       cmocka_unit_test(hostile_trees),
        cmocka_unit_test(python_envs),            cmocka_unit_test(framework_rules),
        cmocka_unit_test(torch_build_table),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
