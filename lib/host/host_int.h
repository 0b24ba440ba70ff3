/* host_int.h - what the host domain's files share inside the library. */
#ifndef MG_HOST_INT_H
#define MG_HOST_INT_H

#include "mlgate/host.h"

/* The GPUs of a probe as targets (those with a compute capability or memory), named from the GPU table. */
void mg_targets_from_probe(const mg_gpu_probe *pr, const char *cpu_arch, mg_targets *out);

#endif
