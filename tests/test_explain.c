/* test_explain.c - lib/explain: mg_explain_match, the knowledge base's rows, the numbers and names read from a match, the checks against named GPUs, and hostile input (16 MiB, a FIFO, binary bytes, a 1 MB line) ending fast in bounded memory. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "lcg.h"
#include "mlgate/mlgate.h"

static const char *match_id(const char *text)
{
    const mg_kb_entry *e = mg_explain_match(text, strlen(text));
    return e ? mg_kb_id(e) : "none";
}

/* Runs explain on text (no check unless gpus is given) and returns the result; aborts the test on error. */
static mg_explain *run(const char *text, size_t len, const char *gpus)
{
    mg_explain_opts o = {0};
    o.no_check = gpus == NULL;
    o.gpus = gpus;
    mg_explain *x = NULL;
    char err[256];
    int rc = mg_explain_run(text, len, &o, &x, err, sizeof err);
    if (rc)
        fail_msg("mg_explain_run: %s", err);
    return x;
}

static const mg_explain_fact *fact(const mg_explain_hit *h, const char *key)
{
    for (size_t i = 0; h && i < h->nfacts; i++)
        if (!strcmp(h->facts[i].key, key))
            return &h->facts[i];
    fail_msg("no fact '%s'", key);
    return NULL;
}

static double now(void) { return mg_now(); }

static void best_match(void **state)
{
    (void)state;
    static const struct { const char *text, *id; } cases[] = {
        {"RuntimeError: CUDA error: no kernel image is available for execution on the device", "cuda-no-kernel-image"},
        {"cudaGetDeviceProperties returned 35\n-> CUDA driver version is insufficient for CUDA runtime version",
         "cuda-driver-too-old"},
        {"Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 570.124",
         "nvml-version-mismatch"},
        /* a cause before its consequence, whatever the order in the log */
        {"RuntimeError: CUDA error: no kernel image is available for execution on the device\n"
         "NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch installation.",
         "torch-gpu-not-supported"},
        {"ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9866.00 MiB on device 1: cudaMalloc failed: out of "
         "memory\nCUDA error: out of memory", "llama-cuda-alloc"},
        {"docker: Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]].",
         "docker-no-gpu-driver"},
        {"OCI runtime exec failed: exec failed: unable to start container process: exec: \"curl\": executable file "
         "not found in $PATH", "healthcheck-curl-missing"},
        {"[2026-01-26 23:16:07] Exit code: -9", "process-oom-killed"},
        {"bash: line 1:  1773 Killed                  python convert.py\n", "process-oom-killed"},
        {"Killed\n", "process-oom-killed"},
        {"TRAPS: memgraph[186102] general protection fault ip:78715935a9a2 sp:7ffcd5f47010 error:0 in libc.so.6",
         "glibc-avx512-zen5"},
        {"case does not matter: NO KERNEL IMAGE IS AVAILABLE FOR EXECUTION ON THE DEVICE", "cuda-no-kernel-image"},
        /* word ends: 350 is not 35, 1000 not 100; "killed" inside a sentence is not the shell's line */
        {"CUDA error 350 at x.cu:12", "none"},
        {"cuda error 1000", "none"},
        {"the task was killed by the user and restarted", "none"},
        {"the job was Killed\n", "none"},   /* "^killed$": the whole line, not its end */
        {"CUDA error: device-side assert triggered", "none"},
        {"KeyError: 'model.layers.0.weight'", "none"},
        /* '*' stays on one line: pieces on two lines do not make a match */
        {"with CUDA capability sm_120\nis not compatible with the current PyTorch installation", "none"},
        /* "A @ B": A counts only with B somewhere */
        {"CUDA error 100 at /mnt/c/ws/llama.cpp/ggml-cuda.cu:485: no CUDA-capable device is detected", "wsl-libcuda"},
        {"CUDA error 100 at /home/u/llama.cpp/ggml-cuda.cu:485: no CUDA-capable device is detected", "cuda-no-device"},
        {"", "none"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = match_id(cases[i].text);
        if (strcmp(got, cases[i].id))
            fail_msg("'%s': got %s, want %s", cases[i].text, got, cases[i].id);
    }
    assert_null(mg_explain_match(NULL, 10));
}

static void table_rows(void **state)
{
    (void)state;
    size_t n = mg_kb_count();
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        const mg_kb_entry *e = mg_kb_at(i);
        const char *id = mg_kb_id(e);
        assert_non_null(id);
        for (const char *p = id; *p; p++)
            if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
                fail_msg("id '%s' is not kebab-case", id);
        assert_true(strlen(mg_kb_title(e)) > 10);
        assert_true(strlen(mg_kb_cause(e)) > 20);
        assert_true(strlen(mg_kb_fix(e)) > 20);
        assert_true(!strncmp(mg_kb_reference(e), "https://", 8));
        assert_ptr_equal(mg_kb_find(id), e);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(mg_kb_id(mg_kb_at(j)), id))
                fail_msg("id '%s' twice", id);
    }
    assert_null(mg_kb_at(n));
    assert_null(mg_kb_find("no-such-id"));
    /* the field-report registry entries a tool can recognise point at their rows */
    static const char *const field[][2] = {{"F-001", "cuda-no-kernel-image"}, {"F-008", "llama-unknown-arch"},
                                           {"F-010", "glibc-avx512-zen5"},    {"F-012", "nvcc-unsupported-arch"},
                                           {"F-018", "python-extension-missing"}, {"F-020", "torch-cuda-oom"},
                                           {"F-021", "healthcheck-curl-missing"}, {"F-022", "process-oom-killed"},
                                           {"F-027", "torch-abi-mismatch"},   {"F-006", "image-platform-missing"}};
    for (size_t i = 0; i < sizeof field / sizeof field[0]; i++) {
        mg_explain *x = run(mg_kb_id(mg_kb_find(field[i][1])), 0, NULL);   /* no text: nothing matches */
        assert_int_equal(mg_explain_count(x), 0);
        mg_explain_free(x);
        FILE *f;
        char *buf = NULL;
        size_t len = 0;
        assert_non_null(f = open_memstream(&buf, &len));
        /* the JSON of a match carries the registry id */
        const char *probe[] = {
            "CUDA error: no kernel image is available for execution on device",
            "llama_model_load: error loading model architecture: unknown model architecture: 'deepseek3_2'",
            "traps: memgraph[1] general protection fault ip:1 sp:2 error:0 in libc.so.6",
            "nvcc fatal: Unsupported gpu architecture 'compute_120'",
            "ModuleNotFoundError: No module named 'sched_ext'",
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 7.03 GiB.",
            "exec: \"curl\": executable file not found in $PATH",
            "[2026-01-26 23:16:07] Exit code: -9",
            "undefined symbol: _ZN3c104cuda29c10_cuda",
            "Error response from daemon: no matching manifest for linux/amd64 in the manifest list entries",
        };
        x = run(probe[i], strlen(probe[i]), NULL);
        assert_int_equal(mg_explain_count(x), 1);
        assert_string_equal(mg_kb_id(mg_explain_at(x, 0)->entry), field[i][1]);
        mg_explain_json(f, x);
        fclose(f);
        char want[32];
        snprintf(want, sizeof want, "\"%s\"", field[i][0]);
        if (!strstr(buf, want))
            fail_msg("%s: no %s in its JSON", field[i][1], field[i][0]);
        free(buf);
        mg_explain_free(x);
    }
}

/* A consequence is listed under its cause, not as a match of its own; the same id once. */
static void consequences(void **state)
{
    (void)state;
    const char *t = "NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
                    "installation.\nRuntimeError: CUDA error: no kernel image is available for execution on the device\n"
                    "RuntimeError: CUDA error: no kernel image is available for execution on the device\n"
                    "[rank0] exit code 137\n";
    mg_explain *x = run(t, strlen(t), NULL);
    assert_int_equal(mg_explain_count(x), 2);
    const mg_explain_hit *h = mg_explain_at(x, 0);
    assert_string_equal(mg_kb_id(h->entry), "torch-gpu-not-supported");
    assert_int_equal(h->nalso, 1);
    assert_string_equal(mg_kb_id(h->also[0]), "cuda-no-kernel-image");
    assert_string_equal(mg_kb_id(mg_explain_at(x, 1)->entry), "process-oom-killed");
    assert_int_equal(mg_explain_at(x, 1)->line_no, 4);
    mg_explain_free(x);
    /* SIGILL exits 132: an OOM kill (137) beside it is a failure of its own, not its consequence */
    t = "Illegal instruction (core dumped)\nworker exited with exit code 137\n";
    x = run(t, strlen(t), NULL);
    assert_int_equal(mg_explain_count(x), 2);
    assert_string_equal(mg_kb_id(mg_explain_at(x, 0)->entry), "cpu-isa-unsupported");
    assert_int_equal(mg_explain_at(x, 0)->nalso, 0);
    assert_string_equal(mg_kb_id(mg_explain_at(x, 1)->entry), "process-oom-killed");
    mg_explain_free(x);
}

static void numbers(void **state)
{
    (void)state;
    const char *t = "load...\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 7.03 GiB. \n"
                    "GPU 0 has a total capacity of 94.97 GiB of which 5.74 GiB is free. \n"
                    "Including non-PyTorch memory, this process has 88.54 GiB memory in use.";
    mg_explain *x = run(t, strlen(t), NULL);
    assert_int_equal(mg_explain_count(x), 1);
    const mg_explain_hit *h = mg_explain_at(x, 0);
    assert_string_equal(mg_kb_id(h->entry), "torch-cuda-oom");
    assert_int_equal(h->line_no, 2);
    assert_int_equal(h->offset, 8);   /* where "torch.OutOfMemoryError" starts */
    assert_true(fact(h, "tried")->num == (uint64_t)(7.03 * 1073741824.0));
    assert_string_equal(fact(h, "tried")->text, "7.03 GiB");
    assert_true(fact(h, "total")->num == (uint64_t)(94.97 * 1073741824.0));
    assert_true(fact(h, "free")->num == (uint64_t)(5.74 * 1073741824.0));
    assert_int_equal(fact(h, "gpu")->num, 0);
    assert_int_equal(h->check_status, MG_CHECK_SKIPPED);
    mg_explain_free(x);

    t = "RuntimeError: CUDA out of memory. Tried to allocate 288.00 MiB (GPU 1; 14.62 GiB total capacity; 13.28 GiB "
        "already allocated; 243.38 MiB free; 13.50 GiB reserved in total by PyTorch)";
    x = run(t, strlen(t), NULL);
    h = mg_explain_at(x, 0);
    assert_int_equal(fact(h, "tried")->num, 288ull << 20);
    assert_int_equal(fact(h, "gpu")->num, 1);
    assert_true(fact(h, "total")->num == (uint64_t)(14.62 * 1073741824.0));
    assert_true(fact(h, "free")->num == (uint64_t)(243.38 * 1048576.0));
    assert_true(fact(h, "reserved")->num == (uint64_t)(13.50 * 1073741824.0));
    assert_true(fact(h, "allocated")->num == (uint64_t)(13.28 * 1073741824.0));
    mg_explain_free(x);

    t = "deep-seek-1  | ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9866.00 MiB on device 1: cudaMalloc "
        "failed: out of memory";
    x = run(t, strlen(t), NULL);
    h = mg_explain_at(x, 0);
    assert_string_equal(mg_kb_id(h->entry), "llama-cuda-alloc");
    assert_int_equal(fact(h, "tried")->num, 9866ull << 20);
    assert_int_equal(fact(h, "gpu")->num, 1);
    mg_explain_free(x);

    static const struct { const char *text, *key, *value; } words[] = {
        {"CUDA error at bandwidthTest.cu:256 code=802(cudaErrorSystemNotReady)", "code", "802"},
        {"RuntimeError: cuda runtime error (35) : CUDA driver version is insufficient for CUDA runtime version", "code",
         "35"},
        {"  NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
         "installation.\n  The current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 "
         "sm_90.", "sm", "120"},
        {"  NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch installation.",
         "gpu", "NVIDIA GeForce RTX 5090"},
        {"NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch installation.\n"
         "The current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.",
         "supported", "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"},
        {"Found GPU0 NVIDIA GB10 which is of cuda capability 12.1. Minimum and Maximum cuda capability supported by this "
         "version of PyTorch is (8.0) - (12.0)", "sm", "121"},
        {"llama_model_load: error loading model: error loading model architecture: unknown model architecture: "
         "'deepseek3_2'", "arch", "deepseek3_2"},
        {"ModuleNotFoundError: No module named 'vllm._C'", "module", "vllm._C"},
        {"ImportError: /v/site-packages/flash_attn_2_cuda.cpython-310-x86_64-linux-gnu.so: undefined symbol: "
         "_ZN3c104cuda20CUDACachingAllocator9allocatorE", "demangled", "c10::cuda::CUDACachingAllocator::allocator"},
        {"ImportError: /v/site-packages/flash_attn_2_cuda.cpython-310-x86_64-linux-gnu.so: undefined symbol: "
         "_ZN3c105ErrorC2ENS_14SourceLocationE", "demangled", "c10::Error::Error"},
        {"ImportError: /v/site-packages/flash_attn_2_cuda.cpython-310-x86_64-linux-gnu.so: undefined symbol: "
         "_ZNK3c105Error4whatEv", "library", "flash_attn_2_cuda.cpython-310-x86_64-linux-gnu.so"},
        {"RuntimeError: Found Tesla P100-PCIE-16GB which is too old to be supported by the triton GPU compiler, which "
         "is used as the backend. Triton only supports devices of CUDA Capability >= 7.0, but your device is of CUDA "
         "capability 6.0.", "cc", "60"},
        {"RuntimeError: Found Tesla P100-PCIE-16GB which is too old to be supported by the triton GPU compiler", "gpu",
         "Tesla P100-PCIE-16GB"},
        {"nvcc fatal   : Unsupported gpu architecture 'compute_120'", "sm", "120"},
        {"ptxas fatal   : Value 'sm_120' is not defined for option 'gpu-name'", "sm", "120"},
        {"ValueError: The checkpoint you are trying to load has model type `deepseek_v32` but Transformers does not "
         "recognize this architecture.", "model_type", "deepseek_v32"},
        {"Could not load library libcudnn_cnn_infer.so.8. Error: libcuda.so: cannot open shared object file: No such "
         "file or directory", "library", "libcuda.so"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        x = run(words[i].text, strlen(words[i].text), NULL);
        if (!mg_explain_count(x))
            fail_msg("no match: %s", words[i].text);
        const mg_explain_fact *f = fact(mg_explain_at(x, 0), words[i].key);
        if (strcmp(f->text, words[i].value))
            fail_msg("%s: %s is '%s', want '%s'", words[i].text, words[i].key, f->text, words[i].value);
        mg_explain_free(x);
    }
}

/* Checks against named GPUs: no dependence on this machine's. */
static void checks(void **state)
{
    (void)state;
    const char *t = "NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
                    "installation.";
    mg_explain *x = run(t, strlen(t), "H100");
    const mg_explain_hit *h = mg_explain_at(x, 0);
    assert_int_equal(h->check_status, MG_CHECK_RAN);
    assert_non_null(strstr(h->check, "H100: sm_90"));
    assert_non_null(strstr(h->check, "the text is from an sm_120 GPU; none of these is one"));
    mg_explain_free(x);

    t = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 7.03 GiB. GPU 0 has a total capacity of 94.97 "
        "GiB of which 5.74 GiB is free.";
    x = run(t, strlen(t), "H100");
    h = mg_explain_at(x, 0);
    assert_int_equal(h->check_status, MG_CHECK_RAN);
    assert_non_null(strstr(h->check, "the allocation would fit now"));
    assert_non_null(strstr(h->check, "the text's GPU had 95.0 GiB total: it is another GPU than H100"));
    mg_explain_free(x);

    t = "RuntimeError: Found NVIDIA GeForce GTX 1080 Ti which is too old to be supported by the triton GPU compiler";
    x = run(t, strlen(t), "GTX 1080 Ti,RTX 4090");
    h = mg_explain_at(x, 0);
    assert_non_null(strstr(h->check, "GTX 1080 Ti: sm_61 is below 7.0"));
    assert_non_null(strstr(h->check, "RTX 4090: sm_89 is at least 7.0"));
    mg_explain_free(x);

    t = "llama_model_load: error loading model architecture: unknown model architecture: 'llama'";
    x = run(t, strlen(t), "H100");
    h = mg_explain_at(x, 0);
    assert_non_null(strstr(h->check, "llama.cpp knows 'llama' since b"));
    mg_explain_free(x);
    t = "unknown model architecture: 'deepseek3_2'";
    x = run(t, strlen(t), "H100");
    assert_non_null(strstr(mg_explain_at(x, 0)->check, "llama.cpp knows 'deepseek32' (since b"));
    assert_non_null(strstr(mg_explain_at(x, 0)->check, "not 'deepseek3_2'"));
    mg_explain_free(x);
    t = "unknown model architecture: 'frobnicator9'";
    x = run(t, strlen(t), "H100");
    assert_non_null(strstr(mg_explain_at(x, 0)->check, "none of the llama.cpp builds mlgate has read"));
    mg_explain_free(x);

    /* a check that cannot run says so; an entry without a check has none */
    t = "exec: \"curl\": executable file not found in $PATH";
    x = run(t, strlen(t), "H100");
    assert_int_equal(mg_explain_at(x, 0)->check_status, MG_CHECK_NONE);
    mg_explain_free(x);
}

/* --path scans for code for the GPUs; --model reads the GGUF; a saved tree's driver module against its libnvidia-ml. */
static void checks_with_files(void **state)
{
    (void)state;
    const char *paths[] = {FIXTURES "/libpartial.so", FIXTURES "/sass_90.o"};
    mg_explain_opts o = {0};
    o.gpus = "RTX 5090";
    o.paths = paths;
    o.npaths = 2;
    mg_explain *x = NULL;
    char err[256];
    const char *t = "CUDA error: no kernel image is available for execution on the device";
    assert_int_equal(mg_explain_run(t, strlen(t), &o, &x, err, sizeof err), MG_OK);
    const mg_explain_hit *h = mg_explain_at(x, 0);
    assert_int_equal(h->check_status, MG_CHECK_RAN);
    assert_non_null(strstr(h->check, "libpartial.so: none on RTX 5090 (its SASS: sm_80 sm_90)"));
    assert_non_null(strstr(h->check, "sass_90.o: none on RTX 5090"));
    assert_non_null(strstr(h->check, "scanned 2 files with CUDA code: 2 without code for this GPU"));
    mg_explain_free(x);
    o.gpus = "H100";
    assert_int_equal(mg_explain_run(t, strlen(t), &o, &x, err, sizeof err), MG_OK);
    h = mg_explain_at(x, 0);
    assert_non_null(strstr(h->check, "libpartial.so: partial on H100"));
    assert_null(strstr(h->check, "sass_90.o:"));   /* it runs there */
    mg_explain_free(x);

    mg_explain_opts m = {0};
    m.gpus = "H100";
    m.model = FIXTURES "/tiny.gguf";
    t = "llama_model_load: error loading model architecture: unknown model architecture: 'llama'";
    assert_int_equal(mg_explain_run(t, strlen(t), &m, &x, err, sizeof err), MG_OK);
    assert_non_null(strstr(mg_explain_at(x, 0)->check, "tiny.gguf: general.architecture 'llama'; loads with llama.cpp b"));
    mg_explain_free(x);

    /* a saved tree: kernel module 570.124.06, user-space library 570.124.04 */
    char root[] = "/tmp/test_explain_root.XXXXXX", p[512];
    assert_non_null(mkdtemp(root));
    const char *dirs[] = {"/proc", "/proc/driver", "/proc/driver/nvidia", "/usr", "/usr/lib", "/usr/lib/x86_64-linux-gnu"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
    }
    snprintf(p, sizeof p, "%s/proc/driver/nvidia/version", root);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.124.06  Release Build  (dvs-builder@U16)\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.570.124.04", root);
    assert_non_null(f = fopen(p, "w"));
    fclose(f);
    mg_host_paths hp = {.root = root, .nvml_lib = "/nonexistent/libnvidia-ml.so.1", .cuda_lib = "/nonexistent/libcuda.so.1"};
    mg_explain_opts n = {0};
    n.host = &hp;
    t = "Failed to initialize NVML: Driver/library version mismatch";
    assert_int_equal(mg_explain_run(t, strlen(t), &n, &x, err, sizeof err), MG_OK);
    h = mg_explain_at(x, 0);
    assert_int_equal(h->check_status, MG_CHECK_RAN);
    assert_non_null(strstr(h->check, "kernel module (/proc/driver/nvidia/version): 570.124.06"));
    assert_non_null(strstr(h->check, "libnvidia-ml.so.570.124.04"));
    assert_non_null(strstr(h->check, "they differ"));
    mg_explain_free(x);
    remove(p);
    snprintf(p, sizeof p, "%s/proc/driver/nvidia/version", root);
    remove(p);
    for (size_t i = sizeof dirs / sizeof dirs[0]; i > 0; i--) {   /* deepest first */
        snprintf(p, sizeof p, "%s%s", root, dirs[i - 1]);
        rmdir(p);
    }
    rmdir(root);
}

static void *thread_match(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        if (strcmp(match_id("x\nRuntimeError: CUDA error: an illegal memory access was encountered\n"),
                   "cuda-illegal-address"))
            return (void *)1;
    return NULL;
}

static void threads(void **state)
{
    (void)state;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_match, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
}

static void hostile(void **state)
{
    (void)state;
    size_t big = MG_EXPLAIN_MAX_INPUT;
    char *b = malloc(big + 2);
    assert_non_null(b);

    /* 16 MiB of one character: no match, fast, memory that does not grow with the input */
    memset(b, 'a', big);
    mg_fail_alloc_at(0);   /* resets the counters: none fails */
    double t0 = now();
    mg_explain *x = run(b, big, NULL);
    double dt = now() - t0;
    assert_int_equal(mg_explain_count(x), 0);
    mg_explain_free(x);
    assert_true(dt < 2.0);
    assert_true(mg_alloc_bytes() < 1u << 20);
    /* one byte more is refused */
    mg_explain_opts o = {.no_check = 1};
    char err[256];
    assert_int_equal(mg_explain_run(b, big + 1, &o, &x, err, sizeof err), MG_E_LIMIT);
    assert_null(x);

    /* 16 MiB of a pattern's first piece over and over, never completed: still linear */
    const char *rep = "unable to allocate cuda ";
    for (size_t i = 0; i < big; i++)
        b[i] = rep[i % strlen(rep)];
    t0 = now();
    x = run(b, big, NULL);
    dt = now() - t0;
    assert_int_equal(mg_explain_count(x), 0);
    mg_explain_free(x);
    assert_true(dt < 2.0);

    /* binary bytes (NULs, high bytes) around a real line: found, and the line shown is clean UTF-8 */
    unsigned s = 12345;
    for (size_t i = 0; i < 1 << 20; i++) {
        s = lcg_next(s);
        b[i] = (char)(s >> 24);
    }
    const char *line = "\nCUDA error: an illegal memory access was encountered\xff\x01\n";
    memcpy(b + 500000, line, strlen(line));
    x = run(b, 1 << 20, NULL);
    assert_true(mg_explain_count(x) >= 1);
    int found = 0;
    for (size_t i = 0; i < mg_explain_count(x); i++) {
        const mg_explain_hit *h = mg_explain_at(x, i);
        found |= !strcmp(mg_kb_id(h->entry), "cuda-illegal-address");
        for (const char *p = h->line; *p; p++)
            assert_true((unsigned char)*p >= 0x20);
    }
    assert_true(found);
    mg_explain_free(x);

    /* a 1 MB line with the failure at its end: found at the right offset, the line shown cut around it */
    memset(b, 'x', 1 << 20);
    const char *tail = "no kernel image is available for execution on the device";
    memcpy(b + (1 << 20) - strlen(tail), tail, strlen(tail));
    x = run(b, 1 << 20, NULL);
    assert_int_equal(mg_explain_count(x), 1);
    assert_int_equal(mg_explain_at(x, 0)->offset, (1u << 20) - strlen(tail));
    assert_true(strlen(mg_explain_at(x, 0)->line) < 320);
    assert_non_null(strstr(mg_explain_at(x, 0)->line, "no kernel image"));
    mg_explain_free(x);
    free(b);

    /* a FIFO is refused at once, not waited on; a directory too */
    char dir[] = "/tmp/test_explain.XXXXXX", fifo[64];
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char *text = NULL;
    size_t len = 0;
    t0 = now();
    assert_int_equal(mg_explain_read(fifo, &text, &len, err, sizeof err), MG_E_IO);
    assert_true(now() - t0 < 1.0);
    assert_null(text);
    assert_int_equal(mg_explain_read(dir, &text, &len, err, sizeof err), MG_E_IO);
    unlink(fifo);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(best_match), cmocka_unit_test(consequences), cmocka_unit_test(table_rows), cmocka_unit_test(numbers),
        cmocka_unit_test(checks), cmocka_unit_test(checks_with_files),     cmocka_unit_test(threads),    cmocka_unit_test(hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
