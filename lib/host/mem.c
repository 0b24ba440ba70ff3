/* mem.c - RAM, swap, huge pages, the cgroup limit of a container, and NUMA nodes with their memory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlgate/binaries.h"
#include "mlgate/host.h"
#include "core/arith.h"
#include "host/sysfs.h"

static uint64_t kib(const char *text, const char *key)
{
    char v[64];
    if (mg_field(text, key, v, sizeof v) != 0)
        return 0;
    unsigned long long n = strtoull(v, NULL, 10);
    return strstr(v, "kB") ? mg_sat_mul(n, 1024) : (uint64_t)n;
}

/* Counts CPUs in a cpulist like "0-15,32-47". */
static int cpulist_count(const char *s)
{
    int n = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s)
            break;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        if (a >= 0 && b >= a && b - a < 100000)
            n += (int)(b - a + 1);
        s = *end == ',' ? end + 1 : end;
        if (*s == '\n')
            break;
    }
    return n;
}

static int by_id(const void *a, const void *b)
{
    return ((const mg_numa_node *)a)->id - ((const mg_numa_node *)b)->id;
}

int mg_memory_read(const mg_host_paths *hp, mg_memory *out)
{
    memset(out, 0, sizeof *out);
    const char *root = hp && hp->root ? hp->root : "";
    char txt[16384];
    if (mg_read_file(root, "/proc/meminfo", txt, sizeof txt) <= 0)
        return MG_E_IO;
    out->total = kib(txt, "MemTotal");
    out->available = kib(txt, "MemAvailable");
    out->swap_total = kib(txt, "SwapTotal");
    out->swap_free = kib(txt, "SwapFree");
    out->hugepages_total = kib(txt, "HugePages_Total");
    out->hugepage_size = kib(txt, "Hugepagesize");
    /* cgroup v2, then v1; "max" and v1's huge "unlimited" value mean no limit. */
    int64_t lim = mg_read_num(root, "/sys/fs/cgroup/memory.max");
    if (lim < 0)
        lim = mg_read_num(root, "/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (lim > 0 && (uint64_t)lim < (1ull << 60))
        out->cgroup_limit = (uint64_t)lim;

    char dir[1024];
    snprintf(dir, sizeof dir, "%s/sys/devices/system/node", root);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL && out->nnodes < MG_MAX_NUMA) {
            char *end;
            if (strncmp(de->d_name, "node", 4) != 0)
                continue;
            long id = strtol(de->d_name + 4, &end, 10);
            if (end == de->d_name + 4 || *end || id < 0 || id > 4096)
                continue;
            mg_numa_node *nd = &out->nodes[out->nnodes++];
            nd->id = (int)id;
            char path[128], buf[4096];
            snprintf(path, sizeof path, "/sys/devices/system/node/node%ld/meminfo", id);
            if (mg_read_file(root, path, buf, sizeof buf) > 0) {
                /* "Node 0 MemTotal:       65536 kB" */
                char key[32];
                snprintf(key, sizeof key, "Node %ld MemTotal", id);
                nd->mem_total = kib(buf, key);
            }
            snprintf(path, sizeof path, "/sys/devices/system/node/node%ld/cpulist", id);
            if (mg_read_file(root, path, buf, sizeof buf) > 0)
                nd->ncpus = cpulist_count(buf);
        }
        closedir(d);
        qsort(out->nodes, out->nnodes, sizeof out->nodes[0], by_id);
    }
    return MG_OK;
}
