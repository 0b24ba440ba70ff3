#!/usr/bin/env python3
# tar_ref_test.py - mg_tar (through tests/tar_dump) against Python's tarfile and GNU tar: archives of each format fed in chunks of 1, 7, 512, 513 and 65536 bytes, then hostile ones.
# usage: tar_ref_test.py TAR_DUMP
import hashlib
import io
import os
import random
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

DUMP = sys.argv[1]
CHUNKS = (1, 7, 512, 513, 65536)
BLOCK = 512
failures = []


def fail(label, why):
    failures.append(f"{label}: {why}")
    print(f"FAIL {label}: {why}", file=sys.stderr)


def block(n):
    return (n + BLOCK - 1) // BLOCK * BLOCK


def esc(b):
    """A name as tar_dump prints it: control bytes, bytes from 0x7f, and backslash as \\xNN."""
    return "".join(f"\\x{c:02x}" if c < 0x20 or c >= 0x7f or c == 0x5C else chr(c) for c in b)


def fs(name):
    return name.encode("utf-8", "surrogateescape")


def dump(path, chunk, skip=False, stdin=False):
    """tar_dump's exit code and its lines, split on tabs."""
    args = [DUMP] + (["-s"] if skip else []) + [str(chunk)]
    if stdin:
        with open(path, "rb") as f:
            p = subprocess.run(args, stdin=f, capture_output=True, timeout=240)
    else:
        p = subprocess.run(args + [path], capture_output=True, timeout=240)
    out = p.stdout.decode("ascii")
    if p.returncode not in (0, 1):
        raise RuntimeError(f"tar_dump {chunk} {path}: exit {p.returncode}: {out[-500:]} {p.stderr.decode()[-2000:]}")
    return p.returncode, [line.split("\t") for line in out.splitlines()]


# ---- what tarfile says ----------------------------------------------------------------------

HEADER_ONLY = (tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE)


def kind(m):
    if m.isreg():
        return "file"
    if m.isdir():
        return "dir"
    if m.issym():
        return "symlink"
    if m.islnk():
        return "hardlink"
    return "other"


def compare(label, path, lines):
    """Our entries against tarfile's, one by one."""
    raw = open(path, "rb").read()
    with tarfile.open(path, "r:") as tf:
        members = tf.getmembers()
        end = tf.offset
    if lines[-1] != ["count", str(len(members))]:
        return fail(label, f"last line {lines[-1]}, tarfile has {len(members)} members")
    ours = lines[:-1]
    if len(ours) != len(members):
        return fail(label, f"{len(ours)} entries, tarfile {len(members)}")
    bounds = [m.offset for m in members[1:]] + [end]
    for m, nxt, line in zip(members, bounds, ours):
        typ, size, offset, sparse, sha, name, link = line
        size, offset, sparse = int(size), int(offset), int(sparse)
        what = f"{label}: '{m.name[:60]}'"
        want_link = esc(fs(m.linkname)) if m.issym() or m.islnk() else ""
        if typ != kind(m) or name.rstrip("/") != esc(fs(m.name)).rstrip("/") or link != want_link:
            fail(what, f"{typ} {name[:80]} -> {link[:80]}, tarfile {kind(m)} {m.name[:80]} -> {want_link[:80]}")
            continue
        if sparse != int(m.sparse is not None):
            fail(what, f"sparse {sparse}, tarfile {m.sparse is not None}")
        if offset % BLOCK or offset + block(size) != nxt:
            fail(what, f"content at {offset} + {size} bytes, the next member at {nxt}")
        if sha != hashlib.sha256(raw[offset:offset + size]).hexdigest():
            fail(what, "the content handed over is not the archive's bytes")
        if m.sparse is not None:
            # the stored content: (GNU 1.0) the map, then the data chunks, one after another
            stored = m.offset_data - offset + sum(n for _, n in m.sparse)
            if not (m.offset < offset <= m.offset_data) or size != stored:
                fail(what, f"sparse content at {offset} + {size}, tarfile's data at {m.offset_data} + {stored - (m.offset_data - offset)}")
        elif m.type in HEADER_ONLY or (m.type == tarfile.AREGTYPE and m.isdir()):
            if size != 0 or offset != m.offset_data:
                fail(what, f"a {typ} with {size} bytes at {offset}")
        elif size != m.size or offset != m.offset_data:
            fail(what, f"{size} bytes at {offset}, tarfile {m.size} at {m.offset_data}")


def check(label, path):
    """Every chunk size gives the same lines, skipping gives the same entries, and they are tarfile's."""
    rc, first = dump(path, CHUNKS[-1])
    if rc:
        return fail(label, f"refused: {first[-1]}")
    for chunk in CHUNKS[:-1]:
        _, lines = dump(path, chunk)
        if lines != first:
            return fail(label, f"in {chunk}-byte chunks: {lines[:3]}..., in {CHUNKS[-1]}: {first[:3]}...")
    _, lines = dump(path, 513, stdin=True)
    if lines != first:
        fail(label, "read from stdin differs")
    _, skipped = dump(path, 4096, skip=True)
    if [l[:4] + l[5:] for l in skipped] != [l[:4] + l[5:] for l in first] or any(l[4] != "-" for l in skipped[:-1]):
        fail(label, "skipping the content changes the entries")
    compare(label, path, first)
    print(f"ok {label}: {len(first) - 1} entries, {os.path.getsize(path)} bytes")


def hostile(label, path, code, words, chunks=CHUNKS):
    """The archive is refused with that code and those words, in every chunk size."""
    for chunk in chunks:
        rc, lines = dump(path, chunk)
        last = lines[-1] if lines else []
        if rc != 1 or last[:2] != ["error", str(code)] or words not in last[2]:
            return fail(label, f"in {chunk}-byte chunks: {last}, wanted error {code} '{words}'")
    print(f"ok {label}: {last[2]}")


# ---- archives --------------------------------------------------------------------------------

def info(name, data=b"", type=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname, ti.mode, ti.mtime = type, len(data), link, 0o644, 1700000000
    return ti


def tarfile_archive(path, fmt, members, pax_headers=None):
    with tarfile.open(path, "w", format=fmt, pax_headers=pax_headers or {}) as tf:
        for ti, data in members:
            tf.addfile(ti, None if ti.type in HEADER_ONLY else io.BytesIO(data))


def common_members(rnd):
    files = [(f"f/size-{n}", rnd.randbytes(n)) for n in (0, 1, 511, 512, 513, 100000)]
    out = [(info(name, data), data) for name, data in files]
    out += [(info("f/", type=tarfile.DIRTYPE), b""), (info("f/sym", type=tarfile.SYMTYPE, link="size-1"), b""),
            (info("f/hard", type=tarfile.LNKTYPE, link="f/size-513"), b""),
            (info("f/fifo", type=tarfile.FIFOTYPE), b""), (info("f/chr", type=tarfile.CHRTYPE), b""),
            (info("f/d\u00efr/\u00fcn\u00ef.txt", b"unicode"), b"unicode"),
            (info("f/con\x7ftrol\\back slash", b"x"), b"x")]
    return out


def tarfile_archives(tmp, rnd):
    common = common_members(rnd)
    deep = "/".join(["d" * 40] * 3) + "/" + "n" * 90   # 213 bytes: prefix + name in ustar
    p = os.path.join(tmp, "ustar.tar")
    tarfile_archive(p, tarfile.USTAR_FORMAT, common + [(info(deep, b"deep"), b"deep")])
    check("tarfile ustar (prefix)", p)

    long_name, long_link = "g/" + "L" * 300, "t/" + "K" * 200
    gnu = common + [(info(long_name, b"long"), b"long"), (info("g/sym", type=tarfile.SYMTYPE, link=long_link), b""),
                    (info("g/hard", type=tarfile.LNKTYPE, link=long_name), b"")]
    p = os.path.join(tmp, "gnu.tar")
    tarfile_archive(p, tarfile.GNU_FORMAT, gnu)
    check("tarfile gnu (long names, long links)", p)

    big = rnd.randbytes(3000)
    sized = info("p/pax-size", big)
    sized.pax_headers = {"size": str(len(big))}   # the header's size field 0, the pax size counts
    paxm = common + [(info("p/" + "P" * 3000, b"pax"), b"pax"), (sized, big),
                     (info("p/sym", type=tarfile.SYMTYPE, link="q/" + "Q" * 1000), b""),
                     (info("p/caf\u00e9-\u65e5\u672c", b"utf8"), b"utf8")]
    p = os.path.join(tmp, "pax.tar")
    tarfile_archive(p, tarfile.PAX_FORMAT, paxm, pax_headers={"comment": "a global header, read past"})
    check("tarfile pax (long paths, pax size, a global header)", p)
    with open(p, "rb") as f:
        raw = f.read()
    if b" size=3000\n" not in raw or raw[156:157] != b"g":
        fail("tarfile pax", "the archive does not hold what the test means to check")


def gnu_sparse_header(name, chunks, realsize):
    """An old GNU sparse file ('S') by hand: 4 map entries in the header, the rest in extension blocks of 21."""
    def num(v, n):
        return b"%0*o\0" % (n - 1, v)
    stored = sum(n for _, n in chunks)
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108], h[108:116], h[116:124] = num(0o644, 8), num(0, 8), num(0, 8)
    h[124:136], h[136:148] = num(stored, 12), num(1700000000, 12)
    h[156:157], h[257:265] = b"S", b"ustar  \0"
    entries = [num(o, 12) + num(n, 12) for o, n in chunks]
    for i, e in enumerate(entries[:4]):
        h[386 + 24 * i:386 + 24 * (i + 1)] = e
    rest = entries[4:]
    h[482] = 1 if rest else 0
    h[483:495] = num(realsize, 12)
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    out = bytes(h)
    while rest:
        ext = bytearray(512)
        for i, e in enumerate(rest[:21]):
            ext[24 * i:24 * (i + 1)] = e
        rest = rest[21:]
        ext[504] = 1 if rest else 0
        out += bytes(ext)
    return out


def ustar_header(name, size, type=b"0", magic=b"ustar\x0000", size_field=None):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108], h[108:116], h[116:124] = b"0000644\0", b"0000000\0", b"0000000\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[136:148] = b"14567063021\0"
    h[156:157] = type
    h[257:257 + len(magic)] = magic
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad(b):
    return b + b"\0" * (block(len(b)) - len(b))


def base256(v, n=12):
    return bytes([0x80]) + v.to_bytes(n - 1, "big")


def hand_archives(tmp, rnd):
    # old GNU sparse with two extension blocks: 30 chunks of 1000 bytes, 1 MiB apart
    chunks = [(i << 20, 1000) for i in range(30)]
    data = rnd.randbytes(30 * 1000)
    a = gnu_sparse_header(b"sparse/by-hand", chunks, 30 << 20) + pad(data)
    a += ustar_header(b"after", 3) + pad(b"abc") + b"\0" * 1024
    p = os.path.join(tmp, "gnu-sparse-hand.tar")
    open(p, "wb").write(a)
    check("GNU sparse by hand (2 extension blocks)", p)

    # base-256 sizes (GNU's form past 8 GiB), small enough to be there
    body = rnd.randbytes(1000)
    a = ustar_header(b"b256", 0, magic=b"ustar  \0", size_field=base256(1000)) + pad(body) + b"\0" * 1024
    p = os.path.join(tmp, "base256.tar")
    open(p, "wb").write(a)
    check("base-256 size", p)

    # v7: no magic, a directory as a file named with a slash, '\0' type
    a = ustar_header(b"v7dir/", 0, type=b"\0", magic=b"") + ustar_header(b"v7dir/a", 5, type=b"\0", magic=b"")
    a += pad(b"hello") + ustar_header(b"v7dir/b", 0, type=b"2", magic=b"") + b"\0" * 1024
    p = os.path.join(tmp, "v7-hand.tar")
    open(p, "wb").write(a)
    check("v7 by hand", p)


def gnu_tar_archives(tmp, rnd):
    tar = shutil.which("tar")
    if not tar or b"GNU tar" not in subprocess.run([tar, "--version"], capture_output=True).stdout:
        print("skip: no GNU tar", file=sys.stderr)
        return
    tree = os.path.join(tmp, "tree")
    short, full = os.path.join(tree, "short"), os.path.join(tree, "full")
    for d in (short, full):
        os.makedirs(os.path.join(d, "dir", "empty"))
        for n in (0, 1, 512, 513, 70000):
            open(os.path.join(d, "dir", f"size-{n}"), "wb").write(rnd.randbytes(n))
        os.symlink("size-1", os.path.join(d, "dir", "sym"))
        os.link(os.path.join(d, "dir", "size-513"), os.path.join(d, "dir", "hard"))
    deep = os.path.join(full, "dir", *(["d" * 60] * 3), "n" * 120)   # 320+ bytes
    os.makedirs(os.path.dirname(deep))
    open(deep, "wb").write(b"deep")
    os.symlink("t/" + "T" * 150, os.path.join(full, "dir", "long-sym"))
    # a sparse file: 30 pieces of data 1 MiB apart (GNU format: extension blocks)
    sp = os.path.join(full, "dir", "sparse.img")
    with open(sp, "wb") as f:
        for i in range(30):
            f.seek(i << 20)
            f.write(rnd.randbytes(100))
        f.truncate(31 << 20)
    is_sparse = os.stat(sp).st_blocks * 512 < os.stat(sp).st_size
    runs = [("ustar", short, []), ("v7", short, []), ("gnu", full, []), ("oldgnu", full, ["--sparse"]),
            ("gnu", full, ["--sparse"]), ("posix", full, []), ("posix", full, ["--sparse"]),
            ("posix", full, ["--sparse", "--sparse-version=0.0"]), ("posix", full, ["--sparse", "--sparse-version=0.1"])]
    for fmt, src, extra in runs:
        label = f"GNU tar --format={fmt} {' '.join(extra)}".strip()
        p = os.path.join(tmp, f"gnutar-{fmt}{''.join(extra).replace('-', '')}.tar")
        r = subprocess.run([tar, f"--format={fmt}", "--sort=name", "-cf", p, *extra, "-C", src, "dir"],
                           capture_output=True)
        if r.returncode:
            fail(label, r.stderr.decode()[-300:])
            continue
        check(label, p)
        if "--sparse" in extra and is_sparse:
            with tarfile.open(p, "r:") as tf:
                if not any(m.sparse is not None for m in tf.getmembers()):
                    fail(label, "no sparse member: the test checks nothing of sparse files")


# ---- hostile ones ------------------------------------------------------------------------------

def hostile_archives(tmp, rnd):
    def put(name, data):
        p = os.path.join(tmp, name)
        open(p, "wb").write(data)
        return p

    good = ustar_header(b"good", 4) + pad(b"1234")
    bad = bytearray(ustar_header(b"bad", 0))
    bad[0] ^= 0x20
    hostile("bad checksum", put("h-sum.tar", good + bytes(bad) + b"\0" * 1024), 3, "header checksum mismatch at offset 1024")
    hostile("truncated header", put("h-hdr.tar", good + ustar_header(b"x", 0)[:300]), 4, "inside the header at offset 1024")
    hostile("truncated content", put("h-content.tar", ustar_header(b"c", 1000) + rnd.randbytes(600)), 4,
            "inside the content of 'c' (400 more bytes)")
    hostile("size field of all 7s", put("h-sevens.tar", ustar_header(b"s", 0, size_field=b"7" * 12) + b"\0" * 4096), 4,
            "inside the content of 's'")
    big = ustar_header(b"b", 0, magic=b"ustar  \0", size_field=base256(1 << 63))
    hostile("base-256 size of 2^63", put("h-2e63.tar", big + b"\0" * 4096), 4, "inside the content of 'b'")
    wrap = ustar_header(b"w", 0, magic=b"ustar  \0", size_field=base256((1 << 64) - 1))
    hostile("base-256 size of 2^64 - 1", put("h-wrap.tar", wrap + b"\0" * 1024), 3, "too large")
    neg = ustar_header(b"n", 0, magic=b"ustar  \0", size_field=b"\xff" * 12)
    hostile("negative base-256 size", put("h-neg.tar", neg + b"\0" * 1024), 3, "not a number")

    def pax(records):
        return ustar_header(b"PaxHeaders/x", len(records), type=b"x") + pad(records) + ustar_header(b"e", 0)

    hostile("pax record with a huge LEN", put("h-paxlen.tar", pax(b"99999999999999999999999999999 path=x\n")), 3,
            "longer than the header")
    hostile("pax LEN of 2^64 + 10", put("h-paxwrap.tar", pax(b"18446744073709551626 path=x\n")), 3,
            "longer than the header")
    hostile("pax LEN mismatch", put("h-paxmis.tar", pax(b"11 path=abc\n")), 3, "is not 'LEN key=value\\n'")
    hostile("pax LEN not decimal", put("h-paxhex.tar", pax(b"0x9 path=x\n")), 3, "no decimal length")
    hostile("pax size not decimal", put("h-paxsize.tar", pax(b"12 size=1e3\n")), 3, "pax size")

    gnu_long = ustar_header(b"././@LongLink", 5001, type=b"L", magic=b"ustar  \0") + pad(b"n" * 5000 + b"\0")
    hostile("GNU long name of 5000 bytes", put("h-long.tar", gnu_long + ustar_header(b"x", 0) + b"\0" * 1024), 5,
            "GNU long name of 5001 bytes at offset 0")
    p = os.path.join(tmp, "h-paxlong.tar")
    tarfile_archive(p, tarfile.PAX_FORMAT, [(info("x/" + "y" * 4998, b"z"), b"z")])   # tarfile writes it
    hostile("pax path of 5000 bytes (tarfile's)", p, 5, "pax path of 5000 bytes")
    hostile("lone zero block, then a header", put("h-lone.tar", good + b"\0" * 512 + good), 3, "lone zero block")

    # 100,000 empty entries: every one listed, the count right (memory is bounded in test_tar.c)
    hdr = bytearray(ustar_header(b"e/000000", 0))
    entries = bytearray()
    for i in range(100000):
        h = bytearray(hdr)
        h[2:8] = b"%06d" % i
        h[148:156] = b" " * 8
        h[148:156] = b"%06o\0 " % sum(h)
        entries += h
    p = put("many.tar", bytes(entries) + b"\0" * 1024)
    for chunk in (513, 65536):
        rc, lines = dump(p, chunk, skip=chunk == 513)
        if rc or lines[-1] != ["count", "100000"] or len(lines) != 100001 or lines[99999][5] != "e/099999":
            fail("100,000 empty entries", f"in {chunk}-byte chunks: {lines[-1]}, {len(lines)} lines")
    print("ok 100,000 empty entries")


def main():
    rnd = random.Random(20260101)
    with tempfile.TemporaryDirectory(prefix="mlgate-tar-") as tmp:
        tarfile_archives(tmp, rnd)
        hand_archives(tmp, rnd)
        gnu_tar_archives(tmp, rnd)
        hostile_archives(tmp, rnd)
    if failures:
        print(f"{len(failures)} failures", file=sys.stderr)
        return 1
    print("all ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
