/*
 * zip.c - zip/wheel reader: central directory (with zip64), and inflating a
 * member into memory. Nothing is written to disk.
 */
#include <string.h>
#include <zlib.h>

#include "binaries/fmt.h"
#include "mlgate/binaries.h"
#include "core/rd.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_EOCD64_LOC 0x07064b50u

int mg_zip_is_zip(const uint8_t *buf, size_t len)
{
    return len >= 4 && rd32(buf) == SIG_LOCAL;
}

int mg_zip_open(mg_zip *z, const uint8_t *buf, size_t len, const char **why)
{
    memset(z, 0, sizeof *z);
    z->buf = buf;
    z->len = len;
    if (len < 22) {
        *why = "too short for a zip archive";
        return MG_E_TRUNCATED;
    }
    /* The end record sits in the last 22 + 65535 bytes (its comment may be up to 64 KiB). */
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    size_t eocd = (size_t)-1;
    for (size_t i = len - 22 + 1; i > lo;)   /* not i-- > lo: that steps i past 0 */
        if (rd32(buf + --i) == SIG_EOCD) {
            eocd = i;
            break;
        }
    if (eocd == (size_t)-1) {
        *why = "no zip end-of-central-directory record";
        return MG_E_FORMAT;
    }
    const uint8_t *e = buf + eocd;
    z->count = rd16(e + 10);
    z->cd_size = rd32(e + 12);
    z->cd_off = rd32(e + 16);
    if (eocd >= 20 && rd32(buf + eocd - 20) == SIG_EOCD64_LOC) {
        uint64_t e64 = rd64(buf + eocd - 20 + 8);
        if (!rd_fits(len, e64, 56) || rd32(buf + e64) != SIG_EOCD64) {
            *why = "zip64 end record is missing or out of range";
            return MG_E_FORMAT;
        }
        z->count = rd64(buf + e64 + 32);
        z->cd_size = rd64(buf + e64 + 40);
        z->cd_off = rd64(buf + e64 + 48);
    }
    if (z->count > MG_ZIP_MAX_MEMBERS) {
        *why = "zip has more members than mlgate accepts";
        return MG_E_LIMIT;
    }
    if (!rd_fits(len, z->cd_off, z->cd_size)) {
        *why = "zip central directory lies outside the file";
        return MG_E_TRUNCATED;
    }
    z->cursor = z->cd_off;
    return MG_OK;
}

int mg_zip_next(mg_zip *z, mg_zip_member *m, const char **why)
{
    if (z->index >= z->count)
        return 0;
    uint64_t end = z->cd_off + z->cd_size;
    if (!rd_fits(end, z->cursor, 46) || rd32(z->buf + z->cursor) != SIG_CENTRAL) {
        *why = "zip central directory entry is malformed";
        return -MG_E_FORMAT;
    }
    const uint8_t *c = z->buf + z->cursor;
    uint16_t nlen = rd16(c + 28), xlen = rd16(c + 30), clen = rd16(c + 32);
    if (!rd_fits(end, z->cursor + 46, (uint64_t)nlen + xlen + clen)) {
        *why = "zip central directory entry runs past the directory";
        return -MG_E_TRUNCATED;
    }
    memset(m, 0, sizeof *m);
    m->method = rd16(c + 10);
    m->csize = rd32(c + 20);
    m->usize = rd32(c + 24);
    uint64_t loc = rd32(c + 42);
    m->name = (const char *)c + 46;
    m->namelen = nlen;
    /* zip64 extra field: the 0xffffffff fields, in order usize, csize, offset. */
    const uint8_t *x = c + 46 + nlen, *xend = x + xlen;
    while (x + 4 <= xend) {
        uint16_t id = rd16(x), sz = rd16(x + 2);
        if (sz > xend - x - 4)   /* not x + 4 + sz > xend: that pointer may lie past the buffer */
            break;
        if (id == 1) {
            const uint8_t *v = x + 4, *vend = x + 4 + sz;
            if (m->usize == 0xffffffffu && v + 8 <= vend) { m->usize = rd64(v); v += 8; }
            if (m->csize == 0xffffffffu && v + 8 <= vend) { m->csize = rd64(v); v += 8; }
            if (loc == 0xffffffffu && v + 8 <= vend) { loc = rd64(v); v += 8; }
        }
        x += 4 + sz;
    }
    if (!rd_fits(z->len, loc, 30) || rd32(z->buf + loc) != SIG_LOCAL) {
        *why = "zip member's local header is missing";
        return -MG_E_FORMAT;
    }
    m->data_off = loc + 30 + rd16(z->buf + loc + 26) + rd16(z->buf + loc + 28);
    if (!rd_fits(z->len, m->data_off, m->csize)) {
        *why = "zip member's data lies past the end of the archive";
        return -MG_E_TRUNCATED;
    }
    z->cursor += 46 + (uint64_t)nlen + xlen + clen;
    z->index++;
    return 1;
}

int mg_zip_extract(const mg_zip *z, const mg_zip_member *m, uint8_t *dst, size_t want,
                   const char **why)
{
    if (want > m->usize) {
        *why = "asked for more bytes than the member holds";
        return MG_E_ARG;
    }
    const uint8_t *src = z->buf + m->data_off;
    if (m->method == 0) {
        if (want > m->csize) {
            *why = "stored member is shorter than declared";
            return MG_E_TRUNCATED;
        }
        memcpy(dst, src, want);
        return MG_OK;
    }
    if (m->method != 8) {
        *why = "zip member uses a compression method other than deflate";
        return MG_E_UNSUPPORTED;
    }
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15) != Z_OK) {
        *why = "zlib could not start";
        return MG_E_NOMEM;
    }
    int rc = MG_OK;
    uint64_t in_left = m->csize, out_done = 0;
    const uint8_t *in = src;
    /* zlib counts in uInt: feed and drain in chunks so 4 GiB+ members work. */
    while (out_done < want) {
        if (s.avail_in == 0 && in_left) {
            uInt chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            s.next_in = (Bytef *)(uintptr_t)in;
            s.avail_in = chunk;
            in += chunk;
            in_left -= chunk;
        }
        uint64_t room = want - out_done;
        s.next_out = dst + out_done;
        s.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        uInt before = s.avail_out;
        int zr = inflate(&s, Z_NO_FLUSH);
        out_done += before - s.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && s.avail_out == 0)) {
            *why = "zip member does not inflate";
            rc = MG_E_COMPRESSION;
            break;
        }
        if (s.avail_in == 0 && in_left == 0 && s.avail_out != 0 && before == s.avail_out) {
            *why = "zip member's deflate stream ends early";
            rc = MG_E_TRUNCATED;
            break;
        }
    }
    if (rc == MG_OK && out_done < want) {
        *why = "zip member inflates to fewer bytes than declared";
        rc = MG_E_TRUNCATED;
    }
    inflateEnd(&s);
    return rc;
}
