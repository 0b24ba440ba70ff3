/* fuzz_st_config.c - libFuzzer target: any bytes as a checkpoint's config.json beside a real model.safetensors: the shape read, the load fitted, the JSON written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st_common.h"

static void setup(void)
{
    static int done;
    if (done++)
        return;
    fuzz_mkdir("cfg");
    fuzz_buf b = fuzz_tiny_safetensors("model.embed_tokens.weight");
    fuzz_write("cfg/model.safetensors", b.p, b.n);
    free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    fuzz_write("cfg/config.json", data, size);
    char dir[512], file[512];
    fuzz_path("cfg", dir, sizeof dir);
    fuzz_path("cfg/model.safetensors", file, sizeof file);
    fuzz_st_model(size & 1 ? file : dir, dir);   /* the directory, or the file beside config.json */
    return 0;
}
