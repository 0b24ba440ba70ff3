/* elf.c - minimal bounds-checked ELF64 reader for host binaries and cubins. */
#include <string.h>

#include "binaries/fmt.h"
#include "mlgate/binaries.h"
#include "core/rd.h"

#define MAX_SECTIONS (1u << 20)

int mg_elf_is_elf(const uint8_t *buf, size_t len)
{
    return len >= 4 && memcmp(buf, "\177ELF", 4) == 0;
}

int mg_elf_open(mg_elf *e, const uint8_t *buf, size_t len, const char **why)
{
    memset(e, 0, sizeof *e);
    if (len < 64 || !mg_elf_is_elf(buf, len)) {
        *why = "not an ELF file (or shorter than an ELF header)";
        return MG_E_FORMAT;
    }
    if (buf[4] != 2 || buf[5] != 1) {
        *why = "only 64-bit little-endian ELF is supported";
        return MG_E_UNSUPPORTED;
    }
    e->buf = buf;
    e->len = len;
    e->osabi = buf[7];
    e->abiver = buf[8];
    e->type = rd16(buf + 16);
    e->machine = rd16(buf + 18);
    e->flags = rd32(buf + 48);
    e->shoff = rd64(buf + 40);
    e->shentsize = rd16(buf + 58);
    e->shnum = rd16(buf + 60);
    uint32_t shstrndx = rd16(buf + 62);
    if (e->shoff == 0) {
        e->shnum = 0;   /* no section table (stripped of it): nothing to find */
        return MG_OK;
    }
    if (e->shentsize < 64) {
        *why = "ELF section header entries are too small";
        return MG_E_FORMAT;
    }
    if (!rd_fits(len, e->shoff, 64)) {
        *why = "ELF section table lies past the end of the file";
        return MG_E_TRUNCATED;
    }
    const uint8_t *s0 = buf + e->shoff;
    if (e->shnum == 0) /* extended numbering: the count is in section 0 */
        e->shnum = rd64(s0 + 32) > MAX_SECTIONS ? MAX_SECTIONS + 1 : (uint32_t)rd64(s0 + 32);
    if (shstrndx == 0xffff)
        shstrndx = rd32(s0 + 40);
    if (e->shnum > MAX_SECTIONS) {
        *why = "ELF declares more sections than mlgate accepts";
        return MG_E_LIMIT;
    }
    if (!rd_fits(len, e->shoff, (uint64_t)e->shnum * e->shentsize)) {
        *why = "ELF section table lies past the end of the file";
        return MG_E_TRUNCATED;
    }
    if (shstrndx < e->shnum) {
        const uint8_t *ss = buf + e->shoff + (uint64_t)shstrndx * e->shentsize;
        uint64_t off = rd64(ss + 24), size = rd64(ss + 32);
        if (rd32(ss + 4) != MG_SHT_NOBITS && rd_fits(len, off, size)) {
            e->stroff = off;
            e->strsize = size;
        }
    }
    return MG_OK;
}

int mg_elf_section(const mg_elf *e, uint32_t i, mg_elf_sec *s)
{
    if (i >= e->shnum)
        return MG_E_ARG;
    const uint8_t *h = e->buf + e->shoff + (uint64_t)i * e->shentsize;
    uint32_t name = rd32(h);
    s->type = rd32(h + 4);
    s->flags = rd64(h + 8);
    s->addr = rd64(h + 16);
    s->off = rd64(h + 24);
    s->size = rd64(h + 32);
    s->link = rd32(h + 40);
    s->entsize = rd64(h + 56);
    s->name = "?";
    if (name < e->strsize) {
        const char *n = (const char *)e->buf + e->stroff + name;
        if (memchr(n, 0, e->strsize - name))
            s->name = n;
    }
    if (s->type == MG_SHT_NOBITS)
        s->size = 0;
    if (!rd_fits(e->len, s->off, s->size))
        return MG_E_TRUNCATED;
    return MG_OK;
}

uint64_t mg_elf_extent(const mg_elf *e)
{
    uint64_t end = 64;
    if (e->shnum) {
        end = e->shoff + (uint64_t)e->shnum * e->shentsize;
        for (uint32_t i = 0; i < e->shnum; i++) {
            mg_elf_sec s;
            if (mg_elf_section(e, i, &s) == MG_OK && s.off + s.size > end)
                end = s.off + s.size;
        }
    }
    return end;
}

/*
 * The dynamic section's DT_NEEDED and DT_SONAME names (the libraries a shared object loads, and its
 * own name), through fn(ud, tag, name). Names are NUL-terminated inside the string table the
 * section links to; entries past the section, names past the table and more than 4096 entries are
 * left alone. Returns how many names fn saw.
 */
uint32_t mg_elf_dynamic(const mg_elf *e, mg_dyn_fn fn, void *ud)
{
    uint32_t seen = 0;
    for (uint32_t i = 0; i < e->shnum; i++) {
        mg_elf_sec d, str;
        if (mg_elf_section(e, i, &d) || d.type != MG_SHT_DYNAMIC || mg_elf_section(e, d.link, &str) ||
            str.type != MG_SHT_STRTAB)
            continue;
        uint64_t n = d.size / 16;
        for (uint64_t k = 0; k < n && k < 4096; k++) {
            const uint8_t *ent = e->buf + d.off + k * 16;
            uint64_t tag = rd64(ent), val = rd64(ent + 8);
            if (tag == 0)
                break;  /* DT_NULL ends the table */
            if ((tag != MG_DT_NEEDED && tag != MG_DT_SONAME) || val >= str.size)
                continue;
            const char *name = (const char *)e->buf + str.off + val;
            if (!memchr(name, 0, str.size - val))
                continue;
            seen++;
            if (fn(ud, (int)tag, name))
                return seen;
        }
        break;  /* one dynamic section per object */
    }
    return seen;
}
