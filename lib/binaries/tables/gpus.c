/*
 * gpus.c - the GPU table: marketing name -> compute capability, family and memory.
 *
 * The single source of truth for GPU names. Sources: NVIDIA's "CUDA GPU Compute
 * Capability" pages (see ../shared research, docs/fatbin-format.md). mem_mib is the
 * memory of the most common model, 0 where CPU and GPU share one pool (Jetson, GB10).
 * To add a GPU, add a row; aliases are '|'-separated and matched the same way as names. The last
 * column, where there is one, is the only CPU the GPU comes with (Grace, Jetson: aarch64).
 */
#include "mlgate/binaries.h"

static const mg_gpu_info gpus[] = {
    /* name                      aliases                                   cc  family       MiB    host */
    {"Jetson Nano",              NULL,                                     53, "Maxwell",   0, "aarch64"},
    {"Tesla P100",               "P100",                                   60, "Pascal",    16384, NULL},
    {"GTX 1080 Ti",              "1080 Ti|GTX 1080Ti",                     61, "Pascal",    11264, NULL},
    {"GTX 1080",                 "1080",                                   61, "Pascal",    8192, NULL},
    {"GTX 1070",                 NULL,                                     61, "Pascal",    8192, NULL},
    {"TITAN Xp",                 NULL,                                     61, "Pascal",    12288, NULL},
    {"Tesla P40",                "P40",                                    61, "Pascal",    24576, NULL},
    {"Tesla P4",                 "P4",                                     61, "Pascal",    8192, NULL},
    {"Jetson TX2",               "TX2",                                    62, "Pascal",    0, "aarch64"},
    {"V100",                     "Tesla V100|V100 SXM2|V100 PCIe|V100 16GB", 70, "Volta",   16384, NULL},
    {"V100 32GB",                "V100 SXM2 32GB|V100 PCIe 32GB",          70, "Volta",     32768, NULL},
    {"TITAN V",                  NULL,                                     70, "Volta",     12288, NULL},
    {"Jetson AGX Xavier",        "Xavier|Jetson Xavier NX|Xavier NX",      72, "Volta",     0, "aarch64"},
    {"T4",                       "Tesla T4",                               75, "Turing",    15360, NULL},
    {"RTX 2080 Ti",              "2080 Ti",                                75, "Turing",    11264, NULL},
    {"RTX 2080",                 "2080",                                   75, "Turing",    8192, NULL},
    {"TITAN RTX",                NULL,                                     75, "Turing",    24576, NULL},
    {"Quadro RTX 8000",          "RTX 8000",                               75, "Turing",    49152, NULL},
    {"A100",                     "A100 80GB|A100 SXM4 80GB|A100 PCIe 80GB",80, "Ampere",    81920, NULL},
    {"A100 40GB",                "A100 SXM4 40GB|A100 PCIe 40GB",          80, "Ampere",    40960, NULL},
    {"A30",                      NULL,                                     80, "Ampere",    24576, NULL},
    {"A10",                      NULL,                                     86, "Ampere",    24576, NULL},
    {"A10G",                     NULL,                                     86, "Ampere",    24576, NULL},
    {"A40",                      NULL,                                     86, "Ampere",    49152, NULL},
    {"A16",                      NULL,                                     86, "Ampere",    16384, NULL},
    {"A2",                       NULL,                                     86, "Ampere",    16384, NULL},
    {"RTX A6000",                "A6000",                                  86, "Ampere",    49152, NULL},
    {"RTX A5000",                "A5000",                                  86, "Ampere",    24576, NULL},
    {"RTX A4000",                "A4000",                                  86, "Ampere",    16384, NULL},
    {"RTX 3090",                 "3090|RTX 3090 Ti|3090 Ti",               86, "Ampere",    24576, NULL},
    {"RTX 3080",                 "3080|RTX 3080 Ti",                       86, "Ampere",    10240, NULL},
    {"RTX 3070",                 "3070",                                   86, "Ampere",    8192, NULL},
    {"RTX 3060",                 "3060",                                   86, "Ampere",    12288, NULL},
    {"Jetson AGX Orin",          "Jetson Orin|Orin|Jetson Orin NX|Jetson Orin Nano", 87, "Ampere", 0, "aarch64"},
    {"L4",                       NULL,                                     89, "Ada",       24576, NULL},
    {"L40",                      NULL,                                     89, "Ada",       49152, NULL},
    {"L40S",                     NULL,                                     89, "Ada",       49152, NULL},
    {"RTX 6000 Ada",             "RTX 6000 Ada Generation",                89, "Ada",       49152, NULL},
    {"RTX 4090",                 "4090",                                   89, "Ada",       24576, NULL},
    {"RTX 4080",                 "4080|RTX 4080 SUPER",                    89, "Ada",       16384, NULL},
    {"RTX 4070 Ti",              "4070 Ti|RTX 4070 Ti SUPER",              89, "Ada",       12288, NULL},
    {"RTX 4070",                 "4070",                                   89, "Ada",       12288, NULL},
    {"RTX 4060 Ti",              "4060 Ti",                                89, "Ada",       8192, NULL},
    {"RTX 4060",                 "4060",                                   89, "Ada",       8192, NULL},
    {"H100",                     "H100 SXM|H100 80GB HBM3|H100 PCIe|H800", 90, "Hopper",    81920, NULL},
    {"H100 NVL",                 NULL,                                     90, "Hopper",    95830, NULL},
    {"H200",                     "H200 SXM|H200 NVL|H20",                  90, "Hopper",    143771, NULL},
    {"GH200",                    "GH200 480GB|Grace Hopper",               90, "Hopper",    97871, "aarch64"},
    {"B200",                     "HGX B200|B100",                          100, "Blackwell", 183359, NULL},
    {"GB200",                    "GB200 NVL72",                            100, "Blackwell", 189471, "aarch64"},
    {"B300",                     "HGX B300|Blackwell Ultra",               103, "Blackwell", 275040, NULL},
    {"GB300",                    "GB300 NVL72",                            103, "Blackwell", 284208, "aarch64"},
    {"Jetson Thor",              "Thor|Jetson AGX Thor|Jetson T5000|Jetson T4000", 110, "Blackwell", 0, "aarch64"},
    {"RTX 5090",                 "5090",                                   120, "Blackwell", 32607, NULL},
    {"RTX 5080",                 "5080",                                   120, "Blackwell", 16303, NULL},
    {"RTX 5070 Ti",              "5070 Ti",                                120, "Blackwell", 16303, NULL},
    {"RTX 5070",                 "5070",                                   120, "Blackwell", 12227, NULL},
    {"RTX 5060 Ti",              "5060 Ti",                                120, "Blackwell", 16311, NULL},
    {"RTX 5060",                 "5060",                                   120, "Blackwell", 8151, NULL},
    {"RTX PRO 6000 Blackwell",   "RTX PRO 6000|RTX PRO 6000 Blackwell Workstation Edition|"
                                 "RTX PRO 6000 Blackwell Server Edition|RTX PRO 6000 Blackwell Max-Q Workstation Edition",
                                                                           120, "Blackwell", 97887, NULL},
    {"RTX PRO 5000 Blackwell",   "RTX PRO 5000",                           120, "Blackwell", 48935, NULL},
    {"RTX PRO 4500 Blackwell",   "RTX PRO 4500",                           120, "Blackwell", 32623, NULL},
    {"RTX PRO 4000 Blackwell",   "RTX PRO 4000",                           120, "Blackwell", 24467, NULL},
    {"GB10",                     "DGX Spark|ASUS Ascent GX10|Spark",       121, "Blackwell", 0, "aarch64"},
};

const mg_gpu_info *mg_gpu_table(size_t *n)
{
    *n = sizeof gpus / sizeof gpus[0];
    return gpus;
}

/*
 * PCI device ids (vendor 0x10de) of the GPUs above, for the PCI fallback when
 * the driver is missing or broken. From the PCI ID repository; ids marked
 * [K] are from memory and unverified. H100 SXM5 (0x2330) was read on the GPU machine.
 */
static const struct { uint16_t id; const char *name; } pci_ids[] = {
    {0x1b06, "GTX 1080 Ti"}, {0x1b80, "GTX 1080"}, {0x1b81, "GTX 1070"}, {0x15f8, "Tesla P100"},
    {0x1b38, "Tesla P40"},   {0x1db1, "V100"},     {0x1db4, "V100"},     {0x1db5, "V100 32GB"},
    {0x1db6, "V100 32GB"},   {0x1eb8, "T4"},       {0x1e04, "RTX 2080 Ti"}, {0x1e07, "RTX 2080 Ti"},
    {0x20b0, "A100 40GB"},   {0x20f1, "A100 40GB"}, {0x20b2, "A100"},    {0x20b5, "A100"},
    {0x20b7, "A30"},         {0x2236, "A10"},      {0x2237, "A10G"},     {0x2235, "A40"},
    {0x2230, "RTX A6000"},   {0x2204, "RTX 3090"}, {0x2203, "RTX 3090"}, {0x2206, "RTX 3080"},
    {0x2684, "RTX 4090"},    {0x2704, "RTX 4080"}, {0x27b8, "L4"},       {0x26b5, "L40"},
    {0x26b9, "L40S"},        {0x26b1, "RTX 6000 Ada"}, {0x2330, "H100"}, {0x2331, "H100"},
    {0x2321, "H100 NVL"},    {0x2335, "H200"},     {0x2342, "GH200"},
    {0x2901, "B200"} /* [K] */, {0x2b85, "RTX 5090"} /* [K] */, {0x2c02, "RTX 5080"} /* [K] */,
    {0x2bb1, "RTX PRO 6000 Blackwell"} /* [K] */, {0x2e12, "GB10"} /* [K] */,
};

const mg_gpu_info *mg_gpu_by_pci(uint16_t device)
{
    for (size_t i = 0; i < sizeof pci_ids / sizeof pci_ids[0]; i++)
        if (pci_ids[i].id == device)
            return mg_gpu_find(pci_ids[i].name);
    return NULL;
}
