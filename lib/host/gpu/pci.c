/*
 * pci.c - GPU discovery without any NVIDIA library: NVIDIA display controllers
 * on the PCI bus (sysfs), named through the GPU table. Works when the driver
 * is missing, broken or mismatched; knows no memory, driver or UUID.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/sysfs.h"
#include "mlgate/binaries.h"
#include "mlgate/host.h"

static int by_bus(const void *a, const void *b)
{
    return strcmp(((const mg_host_gpu *)a)->pci_bus_id, ((const mg_host_gpu *)b)->pci_bus_id);
}

static int probe(const mg_host_paths *p, mg_gpu_probe *out)
{
    memset(out, 0, sizeof *out);
    out->backend = "pci";
    const char *root = p && p->root ? p->root : "";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/sys/bus/pci/devices", root);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(out->error, sizeof out->error, "cannot read %.200s (no sysfs here?)", dir);
        return MG_E_IO;
    }
    out->ok = 1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && out->ngpus < MG_MAX_GPUS) {
        if (de->d_name[0] == '.' || strlen(de->d_name) > 64)
            continue;
        char dev_dir[72];   /* "0000:01:00.0" */
        snprintf(dev_dir, sizeof dev_dir, "%.64s", de->d_name);
        char f[160];
        snprintf(f, sizeof f, "/sys/bus/pci/devices/%s/vendor", dev_dir);
        if (mg_read_num(root, f) != 0x10de)
            continue;
        snprintf(f, sizeof f, "/sys/bus/pci/devices/%s/class", dev_dir);
        int64_t cls = mg_read_num(root, f);
        if (cls < 0 || (cls >> 16) != 0x03)   /* display controllers only: not audio, not NVSwitch */
            continue;
        snprintf(f, sizeof f, "/sys/bus/pci/devices/%s/device", dev_dir);
        int64_t dev = mg_read_num(root, f);
        mg_host_gpu *g = &out->gpus[out->ngpus++];
        memset(g, 0, sizeof *g);
        g->mig = g->persistence = g->bus_type = -1;
        snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "%.31s", dev_dir);
        g->pci_device = dev > 0 && dev <= 0xffff ? (uint16_t)dev : 0;
        const mg_gpu_info *known = g->pci_device ? mg_gpu_by_pci(g->pci_device) : NULL;
        if (known) {
            snprintf(g->name, sizeof g->name, "%s", known->name);
            snprintf(g->arch, sizeof g->arch, "%s", known->family);
            g->cc = known->cc;
            g->unified_memory = known->mem_mib == 0;
        } else {
            snprintf(g->name, sizeof g->name, "NVIDIA device 0x%04x", g->pci_device);
        }
    }
    closedir(d);
    qsort(out->gpus, out->ngpus, sizeof out->gpus[0], by_bus);
    for (size_t i = 0; i < out->ngpus; i++)
        out->gpus[i].index = (int)i;
    return MG_OK;
}

const mg_gpu_backend mg_gpu_pci = {"pci", probe};
