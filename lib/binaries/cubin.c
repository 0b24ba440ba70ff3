/* cubin.c - a cubin's own ELF header, .nv.compat attributes and kernel symbols. */
#include <string.h>

#include "binaries/fmt.h"
#include "mlgate/binaries.h"
#include "core/rd.h"

#define STO_CUDA_ENTRY 0x10     /* st_other bit nvcc sets on __global__ functions */
#define MAX_SYMBOLS (1u << 22)
#define COMPAT_ARCH_SPECIFIC 0x09   /* .nv.compat attribute: 1 = built for sm_XYa */

int mg_cubin_header(const uint8_t *h, size_t len, mg_cubin *out)
{
    memset(out, 0, sizeof *out);
    if (len < 64 || !mg_elf_is_elf(h, len) || h[4] != 2 || h[5] != 1 || rd16(h + 18) != MG_EM_CUDA)
        return MG_E_FORMAT;
    uint32_t flags = rd32(h + 48);
    out->abi = h[8];
    /* ABI v2 (EI_ABIVERSION 8, OSABI 0x41; all CUDA 13 cubins) keeps the SM in bits 8-15. */
    out->sm = out->abi >= 8 || h[7] == 0x41 ? (flags >> 8) & 0xff : flags & 0xff;
    out->relocatable = rd16(h + 16) == 1;
    return MG_OK;
}

/*
 * .nv.compat holds .nv.info-style records: u8 format, u8 attribute, then for
 * format 4 a u16 length and that many bytes, for the others a 2-byte value.
 */
static void read_compat(const uint8_t *p, size_t n, mg_cubin *out)
{
    size_t i = 0;
    while (i + 4 <= n) {
        uint8_t fmt = p[i], attr = p[i + 1];
        if (fmt == 0)
            break;
        if (fmt == 4) {
            i += 4 + (size_t)rd16(p + i + 2);
            continue;
        }
        if (attr == COMPAT_ARCH_SPECIFIC && fmt == 2)
            out->arch_specific = p[i + 2] == 1;
        i += 4;
    }
}

int mg_cubin_info(const uint8_t *buf, size_t len, mg_cubin *out, const char **why)
{
    if (mg_cubin_header(buf, len, out)) {
        *why = "not a cubin (ELF with e_machine EM_CUDA)";
        return MG_E_FORMAT;
    }
    mg_elf e;
    int rc = mg_elf_open(&e, buf, len, why);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < e.shnum; i++) {
        mg_elf_sec s;
        if (mg_elf_section(&e, i, &s) == MG_OK && strcmp(s.name, ".nv.compat") == 0)
            read_compat(buf + s.off, s.size, out);
    }
    return MG_OK;
}

int mg_cubin_kernels(const uint8_t *buf, size_t len, mg_name_fn fn, void *ud, uint32_t *count,
                     const char **why)
{
    mg_elf e;
    *count = 0;
    int rc = mg_elf_open(&e, buf, len, why);
    if (rc)
        return rc;
    /* The cap is on all symbol tables together: sections may share their data, and 2^20 of them over
     * one table of 2^22 symbols counted 2^42 kernels in a uint32_t. */
    uint64_t total = 0;
    for (uint32_t i = 0; i < e.shnum; i++) {
        mg_elf_sec sym, str;
        if (mg_elf_section(&e, i, &sym) || sym.type != MG_SHT_SYMTAB)
            continue;
        if (mg_elf_section(&e, sym.link, &str)) {
            *why = "cubin symbol table has no valid string table";
            return MG_E_FORMAT;
        }
        uint64_t nsym = sym.size / 24;
        total += nsym;   /* <= 2^20 sections x the cap: no wrap */
        if (nsym > MAX_SYMBOLS || total > MAX_SYMBOLS) {
            *why = "cubin has more symbols than mlgate accepts";
            return MG_E_LIMIT;
        }
        for (uint64_t k = 0; k < nsym; k++) {
            const uint8_t *s = buf + sym.off + k * 24;
            if ((s[4] & 0xf) != 2 || !(s[5] & STO_CUDA_ENTRY))
                continue;
            uint32_t name = rd32(s);
            if (name >= str.size)
                continue;
            const char *n = (const char *)buf + str.off + name;
            const char *z = memchr(n, 0, str.size - name);
            if (!z)
                continue;
            (*count)++;
            if (fn && fn(ud, n, (size_t)(z - n)))
                return MG_OK;
        }
    }
    return MG_OK;
}
