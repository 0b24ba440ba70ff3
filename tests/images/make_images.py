#!/usr/bin/env python3
"""make_images.py - the container images tests/image_test.py scans, written by hand (Python's tarfile, gzip,
hashlib; zstd through the `zstandard` package or the `zstd` command, else frames written here), per the OCI
image spec (image-layout.md, manifest.md, config.md, image-index.md, layer.md: whiteouts) and Docker's
`docker save` format (image spec v1.2's manifest.json; Docker 25+'s OCI layout beside it; the containerd
image store's nested index), and, where Debian's umoci and skopeo are installed, by those real tools.

usage: make_images.py OUTDIR FIXTURES [--set core|tools|all]
  OUTDIR    a directory (made if absent) that receives the images and catalog.json
  FIXTURES  tests/fixtures: the nvcc-built ELF files put into the images
  --set     core: the images written here (default all); tools: only umoci/skopeo's (catalog says
            "tools": false when either is missing)

catalog.json: {"tools": bool, "zstd": "zstandard"|"cli"|"frames", "images": {NAME: {...}}}, one entry per
image file or directory: path (relative to OUTDIR), format, what its writer put there (tags, manifest and
config digests, platforms, layer digests and compressions) and, for the hostile ones, what is wrong
("hostile": a word; "bad_layer": the digest the manifest names for the layer that is wrong). The test reads
the images with a reader of its own and only checks its reader against the catalog; the verdicts come
from mlgate.

The CUDA code is the committed fixtures' (tests/fixtures/README.md): mix_100a_120f.o (sm_100a, sm_120f:
native on an RTX 5090, none on an H100), sass_100a_120.o (native on an RTX 5090), ptx_120.o (JIT on an RTX
5090), sass_90.o, sass_90a.o, libtwo.so (H100 only). There are no aarch64 fixtures: the arm64 images carry
copies whose ELF e_machine is rewritten to AArch64 (183) - the fatbins are untouched, which is all that
mlgate's verdict reads besides e_machine (an x86-64 file on a GB10 is none, the same code as aarch64 is
native there).
"""
import gzip, hashlib, io, json, os, shutil, struct, subprocess, sys, tarfile, zlib

MTIME = 1700000000            # every tar entry's time: the same bytes, the same digests, every run
MiB = 1 << 20
TEN_GB = 10 << 30
AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}
ARM64V8 = {"os": "linux", "architecture": "arm64", "variant": "v8"}

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MT_DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA = {"none": MT_TAR, "gzip": MT_GZIP, "zstd": MT_ZSTD}
SITE = "usr/lib/python3/site-packages"


def plat_name(p):
    return "/".join(x for x in (p["os"], p["architecture"], p.get("variant")) if x)


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def jdump(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()


# ---- tar: entries to bytes (segments: bytes, or Zeros for long runs never held in memory) ----

class Zeros:
    def __init__(self, n):
        self.n = n


def F(name, data, mode=0o755):
    return ("file", name, data, mode)


def D(name):
    return ("dir", name)


def L(name, target):
    return ("symlink", name, target)


def WH(path):
    """A whiteout for path: .wh.NAME beside it (an empty regular file, as Docker and umoci write it)."""
    head, _, base = path.rpartition("/")
    return ("file", (head + "/" if head else "") + ".wh." + base, b"", 0o644)


def OPQ(dirpath):
    return ("file", dirpath.rstrip("/") + "/.wh..wh..opq", b"", 0o644)


def RAW(b):
    return ("raw", b)


def tarinfo(e):
    kind, name = e[0], e[1]
    t = tarfile.TarInfo(name)
    t.mtime, t.uid, t.gid, t.uname, t.gname = MTIME, 0, 0, "root", "root"
    if kind == "file":
        data = e[2]
        t.type, t.mode = tarfile.REGTYPE, e[3]
        t.size = data.n if isinstance(data, Zeros) else len(data)
        return t, data
    if kind == "dir":
        t.type, t.mode = tarfile.DIRTYPE, 0o755
        return t, b""
    if kind == "symlink":
        t.type, t.mode, t.linkname = tarfile.SYMTYPE, 0o777, e[2]
        return t, b""
    if kind == "hardlink":
        t.type, t.mode, t.linkname = tarfile.LNKTYPE, 0o644, e[2]
        return t, b""
    raise ValueError(kind)


def tar_segments(entries, fmt=tarfile.PAX_FORMAT, end=True, pad_last=True):
    """The tar stream of entries as a list of bytes and Zeros. pad_last=False, end=False: the last entry's
    content not padded to 512 and no end-of-archive blocks, as umoci 0.4.7's `insert` writes its layers."""
    segs = []
    for i, e in enumerate(entries):
        if e[0] == "raw":
            segs.append(e[1])
            continue
        t, data = tarinfo(e)
        segs.append(t.tobuf(fmt, "utf-8", "surrogateescape"))
        segs.append(data)
        if pad_last or i < len(entries) - 1:
            segs.append(b"\0" * (-t.size % 512))
    if end:
        segs.append(b"\0" * 1024)
    return merge(segs)


def merge(segs):
    out = []
    for s in segs:
        if isinstance(s, Zeros):
            if s.n:
                out.append(s)
        elif s:
            if out and isinstance(out[-1], bytearray):
                out[-1] += s
            else:
                out.append(bytearray(s))
    return [bytes(s) if isinstance(s, bytearray) else s for s in out]


def flat(segs):
    return b"".join(s if isinstance(s, bytes) else b"\0" * s.n for s in segs)


def tar_bytes(entries, **kw):
    return flat(tar_segments(entries, **kw))


def octal(n, width):
    return (b"%0*o" % (width - 1, n)) + b"\0"


def num12(n):
    """A 12-byte tar number: octal when it fits in 11 digits, else GNU base-256."""
    return octal(n, 12) if n < 8 ** 11 else b"\x80" + n.to_bytes(11, "big")


def gnu_sparse(name, realsize, chunks):
    """An old-GNU sparse member (typeflag 'S'): chunks [(offset, bytes)] of a realsize-byte file, the map
    in the header (at most 4 chunks), only the chunks' bytes stored."""
    assert len(chunks) <= 4
    stored = sum(len(d) for _, d in chunks)
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = octal(0o644, 8)
    h[108:116] = octal(0, 8)
    h[116:124] = octal(0, 8)
    h[124:136] = num12(stored)
    h[136:148] = num12(MTIME)
    h[156:157] = b"S"
    h[257:265] = b"ustar  \0"
    h[265:269] = b"root"
    h[297:301] = b"root"
    for i, (off, d) in enumerate(chunks):
        h[386 + 24 * i:398 + 24 * i] = num12(off)
        h[398 + 24 * i:410 + 24 * i] = num12(len(d))
    h[482] = 0
    h[483:495] = num12(realsize)
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    data = b"".join(d for _, d in chunks)
    return bytes(h) + data + b"\0" * (-len(data) % 512)


def pax_sparse(name, realsize, chunks):
    """A PAX 1.0 sparse member (GNU.sparse.major=1): a pax header naming the real file, then a regular
    member GNUSparseFile.0/NAME whose content is the decimal map (a 512-byte block) and the chunks."""
    head, _, base = name.rpartition("/")
    m = ("%d\n" % len(chunks) + "".join("%d\n%d\n" % (o, len(d)) for o, d in chunks)).encode()
    m += b"\0" * (-len(m) % 512)
    data = m + b"".join(d for _, d in chunks)
    t = tarfile.TarInfo(head + "/GNUSparseFile.0/" + base)
    t.mtime, t.mode, t.size = MTIME, 0o644, len(data)
    t.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
                     "GNU.sparse.realsize": str(realsize)}
    return t.tobuf(tarfile.PAX_FORMAT) + data + b"\0" * (-len(data) % 512)


# ---- compression: gzip and zstd of segments, long zero runs without holding them ----

def _gf2_times(mat, vec):
    s, i = 0, 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _gf2_square(mat):
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1, crc2, len2):
    """zlib's crc32_combine: the CRC-32 of A+B from those of A and B and B's length."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << (n - 1) for n in range(1, 32)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


_ZCRC = {}


def crc32_zeros(n):
    """CRC-32 of n zero bytes, by doubling from 1 MiB."""
    if n in _ZCRC:
        return _ZCRC[n]
    if n <= MiB:
        c = zlib.crc32(b"\0" * n)
    else:
        half = n // 2
        c = crc32_combine(crc32_zeros(half), crc32_zeros(n - half), n - half)
    _ZCRC[n] = c
    return c


def _deflate_flushed(data):
    """Raw deflate of data from a fresh compressor, ending byte-aligned (Z_FULL_FLUSH): such pieces
    refer to nothing before them, so they may be repeated and concatenated into one stream."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


_ZMIB = None


def deflate_segments(segs, marks=None):
    """(raw deflate stream, crc32, length) of the segments; marks, if a list, gets the offset in the
    deflate stream where each segment's compressed bytes begin (each begins a fresh block)."""
    global _ZMIB
    out, crc, total = bytearray(), 0, 0
    for s in segs:
        if marks is not None:
            marks.append(len(out))
        if isinstance(s, Zeros):
            full, rest = divmod(s.n, MiB)
            if full:
                if _ZMIB is None:
                    _ZMIB = _deflate_flushed(b"\0" * MiB)
                out += _ZMIB * full
            if rest:
                out += _deflate_flushed(b"\0" * rest)
            crc = crc32_combine(crc, crc32_zeros(s.n), s.n)
            total += s.n
        else:
            out += _deflate_flushed(s)
            crc = zlib.crc32(s, crc)
            total += len(s)
    out += b"\x03\x00"          # the final block: fixed Huffman, empty
    return bytes(out), crc, total


def gzip_segments(segs, fname=None, marks=None):
    """A gzip member (RFC 1952) of the segments; fname sets FNAME as the gzip command does."""
    flags = 0x08 if fname else 0
    hdr = b"\x1f\x8b\x08" + bytes([flags]) + struct.pack("<I", 0) + b"\x02\xff"
    if fname:
        hdr += fname.encode() + b"\0"
    body, crc, total = deflate_segments(segs, marks)
    if marks is not None:
        marks[:] = [len(hdr) + m for m in marks]
    return hdr + body + struct.pack("<II", crc & 0xFFFFFFFF, total & 0xFFFFFFFF)


ZSTD_BLOCK = 128 * 1024


def zstd_frame_segments(segs):
    """A zstd frame (RFC 8878) written here: raw blocks for bytes, RLE blocks for Zeros, no content size
    or checksum, window 128 KiB. What a compressor may write too; decoders read it as any frame."""
    out = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")
    blocks = []
    for s in segs:
        if isinstance(s, Zeros):
            n = s.n
            while n:
                k = min(n, ZSTD_BLOCK)
                blocks.append((1, k, b"\0"))
                n -= k
        else:
            for i in range(0, len(s), ZSTD_BLOCK):
                piece = s[i:i + ZSTD_BLOCK]
                blocks.append((0, len(piece), piece))
    if not blocks:
        blocks.append((0, 0, b""))
    for i, (typ, size, payload) in enumerate(blocks):
        last = 1 if i == len(blocks) - 1 else 0
        out += ((size << 3) | (typ << 1) | last).to_bytes(3, "little") + payload
    return bytes(out)


try:
    import zstandard
    ZSTD_HOW = "zstandard"
except ImportError:
    zstandard = None
    ZSTD_HOW = "cli" if shutil.which("zstd") else "frames"


def zstd_compress(data, checksum=True):
    """Real zstd compression (the zstandard package, else the zstd command, else raw frames)."""
    if zstandard is not None:
        return zstandard.ZstdCompressor(level=3, write_checksum=checksum).compress(data)
    if ZSTD_HOW == "cli":
        return subprocess.run(["zstd", "-q", "-3", "-c"] + (["-C"] if checksum else ["--no-check"]),
                              input=data, stdout=subprocess.PIPE, check=True).stdout
    return zstd_frame_segments([data])


def compress(segs, how, fname=None):
    if how == "none":
        return flat(segs)
    if how == "gzip":
        if any(isinstance(s, Zeros) and s.n > 4 * MiB for s in segs):
            return gzip_segments(segs, fname)
        buf = io.BytesIO()
        with gzip.GzipFile(filename=fname or "", mode="wb", fileobj=buf, mtime=0) as g:
            g.write(flat(segs))
        return buf.getvalue()
    if how == "zstd":
        if any(isinstance(s, Zeros) and s.n > 4 * MiB for s in segs):
            return zstd_frame_segments(segs)
        return zstd_compress(flat(segs))
    raise ValueError(how)


# ---- OCI: blobs, configs, manifests, indexes; writers for a layout directory, an archive, docker save ----

class Blobs:
    def __init__(self):
        self.data = {}

    def add(self, b, media):
        d = sha(b)
        self.data[d] = b
        return {"mediaType": media, "digest": d, "size": len(b)}


def layer(blobs, entries, how="gzip", media=None, fmt=tarfile.PAX_FORMAT, **kw):
    """Adds a layer blob; returns (descriptor, diff_id, info for the catalog)."""
    segs = tar_segments(entries, fmt=fmt, **kw)
    blob = compress(segs, how, fname="layer.tar" if how == "gzip" else None)
    desc = blobs.add(blob, media or MEDIA[how])
    zeros = sum(s.n for s in segs if isinstance(s, Zeros))
    if zeros == 0:
        diff = sha(flat(segs))
    elif zeros > 1 << 30:
        # a bomb's 10 GiB are not hashed here (5 s each): its diff_id is a placeholder that only a reader
        # that inflated all of it could find wrong - and that is an error too
        diff = "sha256:" + "0" * 64
    else:               # long zero runs: the uncompressed digest, streamed
        h, z = hashlib.sha256(), b"\0" * MiB
        for s in segs:
            if isinstance(s, Zeros):
                n = s.n
                while n:
                    k = min(n, MiB)
                    h.update(z[:k])
                    n -= k
            else:
                h.update(s)
        diff = "sha256:" + h.hexdigest()
    return desc, diff, {"digest": desc["digest"], "compression": how, "mediaType": desc["mediaType"]}


def config_blob(blobs, platform, diff_ids, history=None):
    cfg = {"created": "2023-11-14T22:13:20Z", "architecture": platform["architecture"], "os": platform["os"]}
    if platform.get("variant"):
        cfg["variant"] = platform["variant"]
    cfg["config"] = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    cfg["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    cfg["history"] = history or [{"created": "2023-11-14T22:13:20Z", "created_by": "make_images.py"}
                                 for _ in diff_ids]
    b = jdump(cfg)
    return blobs.add(b, MT_OCI_CONFIG), b


def manifest_blob(blobs, config_desc, layer_descs, annotations=None):
    m = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "config": config_desc, "layers": layer_descs}
    if annotations:
        m["annotations"] = annotations
    b = jdump(m)
    return blobs.add(b, MT_OCI_MANIFEST)


def build(blobs, layers_spec, platform=AMD64):
    """layers_spec: [(entries, how[, media[, extra kwargs]])] -> (manifest descriptor, config descriptor,
    config bytes, [layer catalog info], [diff_ids], [uncompressed tar bytes or None])."""
    descs, diffs, infos = [], [], []
    for spec in layers_spec:
        entries, how = spec[0], spec[1]
        media = spec[2] if len(spec) > 2 else None
        kw = spec[3] if len(spec) > 3 else {}
        d, diff, info = layer(blobs, entries, how, media, **kw)
        descs.append(d)
        diffs.append(diff)
        infos.append(info)
    cdesc, cbytes = config_blob(blobs, platform, diffs)
    mdesc = manifest_blob(blobs, cdesc, descs)
    return mdesc, cdesc, cbytes, infos, diffs


def index_doc(manifests):
    return {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": manifests}


def write_oci_dir(path, blobs, index, only=None):
    """An OCI image layout directory: oci-layout, index.json, blobs/sha256/HEX (only: the digests to write)."""
    os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(path, "oci-layout"), "wb") as f:
        f.write(b'{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "wb") as f:
        f.write(index if isinstance(index, bytes) else jdump(index))
    for d, b in blobs.data.items():
        if only is None or d in only:
            with open(os.path.join(path, "blobs", "sha256", d[7:]), "wb") as f:
                f.write(b)


def tar_file(path, members, fmt=tarfile.PAX_FORMAT):
    """A tarball of members [(name, bytes) | (name, None) for a directory | (name, ('symlink', target))]."""
    with tarfile.open(path, "w", format=fmt) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.uid, ti.gid = MTIME, 0, 0
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif isinstance(data, tuple):
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, data[1], 0o777
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o444
                t.addfile(ti, io.BytesIO(data))


def write_oci_archive(path, blobs, index, index_last=True):
    """An OCI archive: a tar of oci-layout, index.json and blobs/ only (here blobs first, as skopeo does
    not, so that a reader cannot rely on the order)."""
    blob_members = [("blobs/", None), ("blobs/sha256/", None)] + \
                   [("blobs/sha256/" + d[7:], b) for d, b in sorted(blobs.data.items())]
    meta = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("index.json", index if isinstance(index, bytes) else jdump(index))]
    tar_file(path, blob_members + meta[::-1] if index_last else meta + blob_members)


def write_docker_v1(path, layers_tar, cfg_bytes, repo_tags, manifest=None):
    """docker save as Docker before 25 wrote it: <v1 id>/{VERSION,json,layer.tar} (uncompressed layers),
    <config hex>.json, manifest.json [{Config, RepoTags, Layers}] and repositories, manifest.json last.
    The v1 ids are not the layers' digests (they never were)."""
    members, names, parent = [], [], None
    for i, lt in enumerate(layers_tar):
        v1 = hashlib.sha256(b"v1 id %d of %s" % (i, hashlib.sha256(lt).digest())).hexdigest()
        v1json = {"id": v1, "created": "2023-11-14T22:13:20Z", "container_config": {"Cmd": None}, "os": "linux"}
        if parent:
            v1json["parent"] = parent
        members += [(v1 + "/", None), (v1 + "/VERSION", b"1.0"), (v1 + "/json", jdump(v1json)),
                    (v1 + "/layer.tar", lt)]
        names.append(v1 + "/layer.tar")
        parent = v1
    chex = hashlib.sha256(cfg_bytes).hexdigest()
    members.append((chex + ".json", cfg_bytes))
    man = manifest if manifest is not None else jdump([{"Config": chex + ".json", "RepoTags": repo_tags,
                                                        "Layers": names}])
    members.append(("manifest.json", man))
    repos = {}
    for t in repo_tags:
        repo, _, tag = t.rpartition(":")
        repos.setdefault(repo, {})[tag] = parent
    members.append(("repositories", jdump(repos)))
    tar_file(path, members)


def write_docker_oci(path, blobs, mdesc, cdesc, layer_descs, repo_tags, containerd=False):
    """docker save with the OCI layout inside: Docker 25+ (uncompressed layers, LayerSources,
    repositories, index.json -> the manifest) or, containerd=True, the containerd image store's (gzip
    layers, no LayerSources nor repositories, index.json -> an image index -> the manifest)."""
    name = repo_tags[0]
    repo, _, tag = name.rpartition(":")
    ann = {"io.containerd.image.name": "docker.io/library/" + name, "org.opencontainers.image.ref.name": tag}
    top = dict(mdesc, annotations=ann)
    if containerd:
        inner = jdump(index_doc([dict(mdesc, platform=AMD64)]))
        idesc = blobs.add(inner, MT_OCI_INDEX)
        top = dict(idesc, annotations=ann)
    man = {"Config": "blobs/sha256/" + cdesc["digest"][7:], "RepoTags": repo_tags,
           "Layers": ["blobs/sha256/" + d["digest"][7:] for d in layer_descs]}
    if not containerd:
        man["LayerSources"] = {d["digest"]: d for d in layer_descs}
    members = [("blobs/", None), ("blobs/sha256/", None)] + \
              [("blobs/sha256/" + d[7:], b) for d, b in sorted(blobs.data.items())]
    members += [("index.json", jdump(index_doc([top]))), ("manifest.json", jdump([man])),
                ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')]
    if not containerd:
        members.append(("repositories", jdump({repo: {tag: cdesc["digest"][7:]}})))
    tar_file(path, members)


def aarch64(elf):
    """The same ELF file with e_machine = EM_AARCH64 (183)."""
    b = bytearray(elf)
    assert b[:4] == b"\x7fELF" and b[4] == 2 and b[5] == 1
    struct.pack_into("<H", b, 18, 183)
    return bytes(b)


# ---- the images ----

def core(out, fx, cat):
    fxb = {n: open(os.path.join(fx, n), "rb").read() for n in (
        "mix_100a_120f.o", "sass_100a_120.o", "ptx_120.o", "sass_90.o", "sass_90a.o", "libtwo.so",
        "libstub75.so")}
    MIX, S120, PTX120 = fxb["mix_100a_120f.o"], fxb["sass_100a_120.o"], fxb["ptx_120.o"]
    S90, S90A, TWO = fxb["sass_90.o"], fxb["sass_90a.o"], fxb["libtwo.so"]

    def entry(name, path, fmt, **kw):
        e = {"path": path, "format": fmt}
        e.update(kw)
        cat["images"][name] = e
        return e

    # (a) PyTorch-like: torch's libraries and dist-info in the base layer; the upper layer deletes
    # libflash_attn.so (whiteout), replaces libc10_cuda.so and adds libcustom_kernels.so, which has no
    # code for an RTX 5090 (sm_90a only).
    tl = SITE + "/torch/lib/"
    di = SITE + "/torch-2.9.1.dist-info/"
    base = [D("usr/"), D("usr/lib/"), D("usr/lib/python3/"), D(SITE + "/"), D(SITE + "/torch/"), D(tl),
            F("usr/bin/python3", b"#!/bin/sh\necho not python\n"),
            F(SITE + "/torch/__init__.py", b"# torch\n" * 20, 0o644),
            F(SITE + "/torch/version.py", b"from typing import Optional\n__version__ = '2.9.1+cu128'\n"
              b"debug = False\ncuda: Optional[str] = '12.8'\n", 0o644),
            F(tl + "libtorch_cuda.so", MIX),          # sm_100a + sm_120f: native on RTX 5090
            F(tl + "libc10_cuda.so", S120),           # replaced above
            F(tl + "libflash_attn.so", S90),          # deleted above; none on RTX 5090
            D(di), F(di + "METADATA", b"Metadata-Version: 2.1\nName: torch\nVersion: 2.9.1\n", 0o644),
            F(di + "WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\n", 0o644),
            F(di + "RECORD", b"torch/lib/libtorch_cuda.so,,\n", 0o644),
            L("usr/lib/libtorch_cuda.so", "python3/site-packages/torch/lib/libtorch_cuda.so")]
    upper = [D(tl), WH(tl + "libflash_attn.so"),
             F(tl + "libcustom_kernels.so", S90A),    # sm_90a only: none on RTX 5090
             F(tl + "libc10_cuda.so", PTX120)]        # now PTX for compute_120: jit on RTX 5090
    expect_pt = {"absent": [tl + "libflash_attn.so"],
                 "present": {tl + "libtorch_cuda.so": 0, tl + "libc10_cuda.so": 1, tl + "libcustom_kernels.so": 1},
                 "verdicts": {"RTX 5090": {tl + "libtorch_cuda.so": "native", tl + "libc10_cuda.so": "jit",
                                           tl + "libcustom_kernels.so": "none"},
                              "H100": {tl + "libtorch_cuda.so": "none", tl + "libc10_cuda.so": "none",
                                       tl + "libcustom_kernels.so": "native"}}}
    tags = ["pytorch-like:2.9.1"]

    def oci_pt(how):
        b = Blobs()
        m, c, cb, infos, diffs = build(b, [(base, how), (upper, how)])
        return b, m, c, cb, infos, diffs

    # (a)+(d) the OCI layout directory, gzip layers
    b, m, c, cb, infos, _ = oci_pt("gzip")
    write_oci_dir(os.path.join(out, "pytorch-like.oci"), b,
                  index_doc([dict(m, annotations={"org.opencontainers.image.ref.name": "2.9.1"})]))
    entry("pytorch-like", "pytorch-like.oci", "oci-layout", tags=["2.9.1"], digest=m["digest"],
          id=c["digest"], platforms=["linux/amd64"], layers=infos, expect=expect_pt)
    # (d) an OCI archive, gzip layers, index.json and oci-layout after the blobs
    write_oci_archive(os.path.join(out, "pytorch-like-oci.tar"), b,
                      index_doc([dict(m, annotations={"org.opencontainers.image.ref.name": "2.9.1"})]))
    entry("pytorch-like-oci-archive", "pytorch-like-oci.tar", "oci-archive", tags=["2.9.1"], digest=m["digest"],
          id=c["digest"], platforms=["linux/amd64"], layers=infos, expect=expect_pt)
    # (d) docker save, before Docker 25: <id>/layer.tar, uncompressed
    b, m, c, cb, infos, diffs = oci_pt("none")
    lts = [b.data[i["digest"]] for i in infos]
    write_docker_v1(os.path.join(out, "pytorch-like-docker-v1.tar"), lts, cb, tags)
    entry("pytorch-like-docker-v1", "pytorch-like-docker-v1.tar", "docker-save", tags=tags, digest=None,
          id=c["digest"], platforms=["linux/amd64"], layers=infos, expect=expect_pt)
    # (d) docker save, Docker 25+: the OCI layout inside, uncompressed layers under blobs/sha256
    write_docker_oci(os.path.join(out, "pytorch-like-docker25.tar"), b, m, c,
                     [{"mediaType": i["mediaType"], "digest": i["digest"], "size": len(b.data[i["digest"]])}
                      for i in infos], tags)
    entry("pytorch-like-docker25", "pytorch-like-docker25.tar", "docker-save", tags=tags, digest=m["digest"],
          id=c["digest"], platforms=["linux/amd64"], layers=infos, expect=expect_pt)
    # (d) docker save from the containerd image store: gzip layers, a nested index
    b, m, c, cb, infos, _ = oci_pt("gzip")
    write_docker_oci(os.path.join(out, "pytorch-like-containerd.tar"), b, m, c,
                     [{"mediaType": i["mediaType"], "digest": i["digest"], "size": len(b.data[i["digest"]])}
                      for i in infos], tags, containerd=True)
    entry("pytorch-like-containerd", "pytorch-like-containerd.tar", "docker-save", tags=tags, digest=m["digest"],
          id=c["digest"], platforms=["linux/amd64"], layers=infos, expect=expect_pt)
    # (d) flat root filesystems (docker export): the final tree, plain, gzip (./-prefixed names, as
    # `tar -C root .` writes them) and zstd; one gzip one named .tar (bytes tell, not names)
    final = [e for e in base if e[1] not in (tl + "libflash_attn.so", tl + "libc10_cuda.so")] + \
            [F(tl + "libcustom_kernels.so", S90A), F(tl + "libc10_cuda.so", PTX120),
             F(".dockerenv", b"", 0o755), D("proc/"), D("dev/"), F("etc/hostname", b"0123456789ab\n", 0o644)]
    expect_flat = dict(expect_pt, present={p: None for p in expect_pt["present"]})
    dotted = [(e[0], "./" + e[1]) + tuple(e[2:]) for e in final]
    for name, fn, entries, how in (("rootfs-tar", "pytorch-like-rootfs.tar", final, "none"),
                                   ("rootfs-tar-gz", "pytorch-like-rootfs.tar.gz", [D("./")] + dotted, "gzip"),
                                   ("rootfs-tar-zst", "pytorch-like-rootfs.tar.zst", final, "zstd"),
                                   ("rootfs-gzip-named-tar", "pytorch-like-rootfs-gz.tar", final, "gzip")):
        with open(os.path.join(out, fn), "wb") as f:
            f.write(compress(tar_segments(entries), how))
        entry(name, fn, "rootfs-tar", tags=[], digest=None, id=None, platforms=[None], layers=[],
              compression=how, expect=expect_flat)

    # (b) opaque directories: dir/ hidden (marker first, as Docker writes it), dir2/ hidden by a marker
    # written after the new file of its own layer (which it does not hide: OCI layer.md), gone/ deleted
    # whole by a whiteout of the directory. Everything left runs on an RTX 5090: exit 0 only if all hid.
    b = Blobs()
    app = "opt/app/"
    lower = [D(app), D(app + "dir/"), F(app + "dir/a.so", S90), F(app + "dir/b.so", TWO), D(app + "dir/sub/"),
             F(app + "dir/sub/d.so", S90), D(app + "dir2/"), F(app + "dir2/e.so", S90), D(app + "gone/"),
             F(app + "gone/x.so", S90), D(app + "gone/sub/"), F(app + "gone/sub/y.so", TWO),
             F(app + "keep.so", MIX)]
    upper_o = [D(app + "dir/"), OPQ(app + "dir"), F(app + "dir/c.so", MIX),
               D(app + "dir2/"), F(app + "dir2/c2.so", S120), OPQ(app + "dir2"), WH(app + "gone")]
    m, c, cb, infos, _ = build(b, [(lower, "gzip"), (upper_o, "gzip")])
    write_oci_dir(os.path.join(out, "opaque.oci"), b, index_doc([dict(m, annotations={
        "org.opencontainers.image.ref.name": "opaque"})]))
    entry("opaque", "opaque.oci", "oci-layout", tags=["opaque"], digest=m["digest"], id=c["digest"],
          platforms=["linux/amd64"], layers=infos, expect={
              "absent": [app + p for p in ("dir/a.so", "dir/b.so", "dir/sub/d.so", "dir2/e.so", "gone/x.so",
                                           "gone/sub/y.so")],
              "present": {app + "keep.so": 0, app + "dir/c.so": 1, app + "dir2/c2.so": 1},
              "exit": {"RTX 5090": 0}})

    # (c) gzip, zstd and uncompressed layers in one image, their mediaTypes misleading for two: the
    # gzip layer says plain tar, the plain one says gzip. libB.so deleted by the zstd layer and added
    # again (other code) by the plain one, whose names start with ./
    b = Blobs()
    ul = "usr/local/lib/"
    l0 = [D("usr/"), D("usr/local/"), D(ul), F(ul + "libA.so", MIX), F(ul + "libB.so", S90),
          D("usr/local/cuda/"), D("usr/local/cuda/lib64/"), F("usr/local/cuda/lib64/libC.so", S120)]
    l1 = [WH(ul + "libB.so"), F(ul + "libD.so", PTX120)]
    l2 = [D("./"), D("./" + ul), F("./" + ul + "libB.so", MIX)]
    m, c, cb, infos, _ = build(b, [(l0, "gzip", MT_TAR), (l1, "zstd", MT_ZSTD), (l2, "none", MT_DOCKER_GZIP)])
    write_oci_dir(os.path.join(out, "mixed.oci"), b, index_doc([dict(m, annotations={
        "org.opencontainers.image.ref.name": "mixed"})]))
    entry("mixed", "mixed.oci", "oci-layout", tags=["mixed"], digest=m["digest"], id=c["digest"],
          platforms=["linux/amd64"], layers=infos, expect={
              "absent": [], "present": {ul + "libA.so": 0, "usr/local/cuda/lib64/libC.so": 0, ul + "libD.so": 1,
                                        ul + "libB.so": 2},
              "exit": {"RTX 5090": 0}})

    # tar dialects: a ustar name split into prefix/name (150 bytes), a GNU long name (300 bytes), a pax path
    # with UTF-8 (300 bytes), and a last layer that ends right after its last file's content - no
    # padding, no end blocks - as umoci 0.4.7's `insert` writes layers (Go's tar reader takes it).
    b = Blobs()
    p150 = "opt/" + "/".join(["d" * 20] * 6) + "/ustar.so"
    p300 = "opt/" + "/".join(["g" * 40] * 7) + "/gnu.so"
    pu = "opt/" + "/".join(["p" * 40] * 6) + "/ünïcode-é.so"
    m, c, cb, infos, _ = build(b, [([F(p150, MIX)], "gzip", None, {"fmt": tarfile.USTAR_FORMAT}),
                                   ([F(p300, S120)], "gzip", None, {"fmt": tarfile.GNU_FORMAT}),
                                   ([F(pu, MIX)], "none", None, {"fmt": tarfile.PAX_FORMAT}),
                                   ([D("opt/"), F("opt/unpadded.so", PTX120)], "gzip", None,
                                    {"pad_last": False, "end": False})])
    write_oci_dir(os.path.join(out, "tar-dialects.oci"), b, index_doc([m]))
    entry("tar-dialects", "tar-dialects.oci", "oci-layout", tags=[], digest=m["digest"], id=c["digest"],
          platforms=["linux/amd64"], layers=infos, expect={
              "absent": [], "present": {p150: 0, p300: 1, pu: 2, "opt/unpadded.so": 3}, "exit": {"RTX 5090": 0}})

    # a CPU-only torch (a framework report, named after its dist-info) beside a CUDA library
    b = Blobs()
    dc = SITE + "/torch-2.9.1+cpu.dist-info/"
    m, c, cb, infos, _ = build(b, [([F(SITE + "/torch/version.py", b"__version__ = '2.9.1+cpu'\ncuda = None\n",
                                       0o644), F(dc + "METADATA", b"Name: torch\nVersion: 2.9.1+cpu\n", 0o644)],
                                    "gzip"),
                                   ([F("usr/lib/libother.so", MIX)], "gzip")])
    write_oci_dir(os.path.join(out, "torch-cpu.oci"), b, index_doc([m]))
    entry("torch-cpu", "torch-cpu.oci", "oci-layout", tags=[], digest=m["digest"], id=c["digest"],
          platforms=["linux/amd64"], layers=infos, expect={"absent": [], "present": {"usr/lib/libother.so": 1},
                                                           "framework": "torch 2.9.1+cpu"})

    # (e) multi-platform: linux/amd64 and linux/arm64 manifests sharing a text-only layer; the arm64 layer
    # carries the same code as aarch64 ELF files (e_machine rewritten: no aarch64 fixtures exist).
    def multi(b, arm):
        shared = [D("etc/"), F("etc/os-release", b"ID=mlgate-test\n", 0o644)]
        res = {}
        for plat, conv in ((AMD64, lambda x: x), (arm, aarch64)):
            own = [D("usr/"), D("usr/lib/"), F("usr/lib/libk.so", conv(MIX)), F("usr/lib/libp.so", conv(PTX120))]
            res[plat_name(plat)] = build(b, [(shared, "gzip"), (own, "gzip")], plat) + (plat,)
        return res

    def mexp(arm):
        a = plat_name(arm)
        return {"absent": [], "present": {"usr/lib/libk.so": None, "usr/lib/libp.so": None},
                "verdicts_by_platform": {
                    "linux/amd64": {"GB10": {"usr/lib/libk.so": "none", "usr/lib/libp.so": "none"},
                                    "RTX 5090": {"usr/lib/libk.so": "native", "usr/lib/libp.so": "jit"}},
                    a: {"GB10": {"usr/lib/libk.so": "native", "usr/lib/libp.so": "jit"},
                        "RTX 5090": {"usr/lib/libk.so": "none", "usr/lib/libp.so": "none"}}}}

    def per_platform(r):
        return {p: {"digest": v[0]["digest"], "id": v[1]["digest"], "layers": v[3]} for p, v in r.items()}
    b = Blobs()
    r = multi(b, ARM64)
    mans = [dict(v[0], platform=v[5], annotations={"org.opencontainers.image.ref.name": "1.0"}) for v in r.values()]
    write_oci_dir(os.path.join(out, "multiarch.oci"), b, index_doc(mans))
    entry("multiarch", "multiarch.oci", "oci-layout", tags=["1.0"], platforms=list(r),
          per_platform=per_platform(r), expect=mexp(ARM64))
    # as buildx and the containerd store write it: an OCI archive whose index.json names an image index,
    # arm64 with its variant v8, and an attestation manifest (in-toto, platform unknown/unknown) beside them
    b = Blobs()
    r = multi(b, ARM64V8)
    statement = jdump({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "https://spdx.dev/Document",
                       "subject": [{"name": "pkg:docker/multiarch@1.0", "digest": {"sha256": "0" * 64}}]})
    att_layer = b.add(statement, "application/vnd.in-toto+json")
    att_cfg, _ = config_blob(b, {"os": "unknown", "architecture": "unknown"}, [att_layer["digest"]])
    att = manifest_blob(b, att_cfg, [att_layer])
    inner = jdump(index_doc([dict(v[0], platform=v[5]) for v in r.values()] + [dict(
        att, platform={"architecture": "unknown", "os": "unknown"},
        annotations={"vnd.docker.reference.digest": r["linux/amd64"][0]["digest"],
                     "vnd.docker.reference.type": "attestation-manifest"})]))
    idesc = b.add(inner, MT_OCI_INDEX)
    write_oci_archive(os.path.join(out, "multiarch-nested.tar"), b,
                      index_doc([dict(idesc, annotations={"org.opencontainers.image.ref.name": "1.0"})]))
    entry("multiarch-nested", "multiarch-nested.tar", "oci-archive", tags=["1.0"], platforms=list(r),
          per_platform=per_platform(r), expect=mexp(ARM64V8))

    # bounded memory on a legitimate image: 320 MiB of zeros before a library, in a gzip layer and in a
    # zstd layer (written as repeated flushed deflate pieces / RLE blocks: small blobs, quick to write)
    b = Blobs()
    big = 320 * MiB
    m, c, cb, infos, _ = build(b, [([D("usr/"), F("usr/big.bin", Zeros(big), 0o644), F("usr/after-big.so", MIX)],
                                    "gzip"),
                                   ([F("usr/big2.bin", Zeros(big), 0o644), F("usr/after-big2.so", S120)], "zstd")])
    write_oci_dir(os.path.join(out, "big-member.oci"), b, index_doc([m]))
    entry("big-member", "big-member.oci", "oci-layout", tags=[], digest=m["digest"], id=c["digest"],
          platforms=["linux/amd64"], layers=infos, no_reference=True,
          expect={"absent": [], "present": {"usr/after-big.so": 0, "usr/after-big2.so": 1},
                  "exit": {"RTX 5090": 0}})

    hostile(out, fx, cat, entry, MIX, S90, S120)


def hostile(out, fx, cat, entry, MIX, S90, S120):
    """(f) each a file of its own; every one but the unreadable manifests has a good base layer with
    usr/lib/good.so (native on an RTX 5090)."""
    good = [D("usr/"), D("usr/lib/"), F("usr/lib/good.so", MIX)]

    def oci(name, upper_specs, hostile_word, mutate=None, **kw):
        b = Blobs()
        m, c, cb, infos, _ = build(b, [(good, "gzip")] + upper_specs)
        path = name + ".oci"
        only = None
        bad = kw.pop("bad_layer_index", None)
        if mutate:
            m, only = mutate(b, m, c, infos)
        write_oci_dir(os.path.join(out, path), b, index_doc([m]) if not isinstance(m, bytes) else m, only)
        e = entry(name, path, "oci-layout", tags=[], digest=m["digest"] if isinstance(m, dict) else None,
                  id=c["digest"], platforms=["linux/amd64"], layers=infos, hostile=hostile_word,
                  good_layer=infos[0]["digest"], **kw)
        if bad is not None:
            e["bad_layer"] = infos[bad]["digest"]
        return b, m, infos

    # `..` escaping the root, among good entries of the same layer
    oci("h-dotdot", [([F("usr/lib/ok1.so", MIX), F("../../../../tmp/evil1.so", S90),
                       F("usr/../../evil2.so", S90), F("usr/lib/ok2.so", S120)], "gzip")], "dotdot",
        bad_layer_index=1, expect={"present": ["usr/lib/good.so", "usr/lib/ok1.so", "usr/lib/ok2.so"],
                                   "never": ["evil1", "evil2"]})

    # symlinks: absolute and relative ones pointing at the host's fixtures (files and the directory) that
    # must never be followed; whiteouts through symlinked parents that resolve inside the image root: an
    # absolute link to a directory in the image, an absolute link whose target is also a host directory,
    # a relative one with more .. than the root has (clamped at the root, as a chroot would)
    fxabs = os.path.abspath(fx)
    inroot = fxabs.lstrip("/")      # the host's fixtures directory's path, also made inside the image
    parts = inroot.split("/")
    dirs = [D("/".join(parts[:i]) + "/") for i in range(1, len(parts) + 1)]
    lower = [L("usr/lib/libhost.so", fxabs + "/sass_90.o"),
             L("usr/lib/librel.so", "../" * 12 + inroot + "/libtwo.so"),
             L("usr/lib/hostdir", fxabs), L("usr/lib/hostroot", "/"), L("usr/lib/self", "self"),
             D("real/"), D("real/dir/"), F("real/dir/x.so", S90), F("real/dir/y.so", MIX), L("link", "/real")] + \
        dirs + [F(inroot + "/victim.so", S90), F(inroot + "/victim2.so", S90), F(inroot + "/kept.so", MIX),
                L("evil", fxabs), L("esc", "../../../../../../../../" + inroot)]
    # only the whiteouts: a directory entry "link/" would replace the symlink itself (as a runtime does)
    upper = [WH("link/dir/x.so"), WH("evil/victim.so"), WH("esc/victim2.so")]
    oci("h-symlinks", [(lower, "gzip"), (upper, "gzip")], "symlinks", expect={
        "present": ["usr/lib/good.so", "real/dir/y.so", inroot + "/kept.so"],
        "absent": ["real/dir/x.so", inroot + "/victim.so", inroot + "/victim2.so"],
        "host_fixtures": sorted(os.listdir(fx)), "exit": {"RTX 5090": 0}})

    # 10 GB sparse members: old GNU ('S', sizes in base-256) and PAX 1.0; the stored bytes are not an ELF
    chunks = [(0, b"A" * 512), (TEN_GB - 512, b"B" * 512)]
    oci("h-sparse-gnu", [([RAW(gnu_sparse("usr/lib/libsparse.so", TEN_GB, chunks))], "gzip")], "sparse",
        expect={"present": ["usr/lib/good.so"], "member": "usr/lib/libsparse.so"})
    oci("h-sparse-pax", [([RAW(pax_sparse("usr/lib/libsparse1.so", TEN_GB, chunks))], "gzip")], "sparse",
        expect={"present": ["usr/lib/good.so"], "member": "libsparse1.so"})

    # tar bombs: a member declaring 10 GiB whose layer is a small gzip (10 MB: a GNU base-256 size) or zstd
    # (320 KB: a pax size) of zeros
    oci("h-bomb-gzip", [([F("usr/lib/libbomb.so", Zeros(TEN_GB))], "gzip", None, {"fmt": tarfile.GNU_FORMAT})],
        "bomb", bad_layer_index=1, expect={"present": ["usr/lib/good.so"], "member": "usr/lib/libbomb.so"})
    oci("h-bomb-zstd", [([F("usr/lib/libbomb.so", Zeros(TEN_GB))], "zstd", None, {"fmt": tarfile.PAX_FORMAT})],
        "bomb", bad_layer_index=1, expect={"present": ["usr/lib/good.so"], "member": "usr/lib/libbomb.so"})

    up = [([F("usr/lib/upper.so", S120)], "gzip"), ([F("usr/lib/top.so", MIX)], "gzip")]

    # a manifest naming a blob that is not there (the middle layer)
    def missing(b, m, c, infos):
        return m, set(b.data) - {infos[1]["digest"]}
    oci("h-missing-blob", up, "missing-blob", missing, bad_layer_index=1,
        expect={"present": ["usr/lib/good.so", "usr/lib/top.so"]})

    # a blob whose bytes are not its digest's: another valid layer (with a library of its own) in its place
    def tamper(b, m, c, infos):
        other = compress(tar_segments([F("usr/lib/tampered.so", S90)]), "gzip")
        b.data[infos[1]["digest"]] = other
        return m, None
    oci("h-bad-digest", up, "bad-digest", tamper, bad_layer_index=1,
        expect={"present": ["usr/lib/good.so", "usr/lib/top.so"]})

    # a manifest's layer digest that climbs out of blobs/ to a real layer beside the image
    with open(os.path.join(out, "outside-layer.tar"), "wb") as f:
        f.write(tar_bytes([F("usr/lib/outside.so", MIX)]))

    def escape(b, m, c, infos):
        man = json.loads(b.data[m["digest"]])
        man["layers"][1]["digest"] = "sha256:../../../outside-layer.tar"
        mb = jdump(man)
        return b.add(mb, MT_OCI_MANIFEST), None
    oci("h-digest-escape", up, "digest-escape", escape,
        expect={"present": ["usr/lib/good.so", "usr/lib/top.so"], "never": ["outside.so"]})

    # truncated layers (the digest is the truncated bytes': only the truncation is wrong): gzip cut at 60 %,
    # and a plain tar cut inside a file's content
    def cut_at(where):
        def cut(b, m, c, infos):
            d = infos[1]["digest"]
            blob = b.data.pop(d)
            short = blob[:where(blob)]
            nd = b.add(short, infos[1]["mediaType"])
            man = json.loads(b.data[m["digest"]])
            man["layers"][1] = nd
            infos[1]["digest"] = nd["digest"]
            return b.add(jdump(man), MT_OCI_MANIFEST), None
        return cut
    two = [F("usr/lib/upper.so", S120), F("usr/lib/upper2.so", MIX)]
    inside = 512 + len(S120) + (-len(S120) % 512) + 512 + 1000     # 1,000 bytes into upper2.so's content
    oci("h-truncated-gzip", [(two, "gzip"), ([F("usr/lib/top.so", MIX)], "gzip")], "truncated",
        cut_at(lambda blob: len(blob) * 6 // 10), bad_layer_index=1,
        expect={"present": ["usr/lib/good.so", "usr/lib/top.so"]})
    oci("h-truncated-tar", [(two, "none"), ([F("usr/lib/top.so", MIX)], "gzip")], "truncated",
        cut_at(lambda blob: inside), bad_layer_index=1,
        expect={"present": ["usr/lib/good.so", "usr/lib/top.so"]})

    # corrupt compressed data in the middle of a layer: gzip whose second deflate block has the reserved
    # block type 11 (no decoder can take it), zstd with a checksum and bytes flipped mid-frame
    def corrupt_gzip(b, m, c, infos):
        segs = tar_segments([F("usr/lib/before.so", MIX)], end=False) + tar_segments([F("usr/lib/after.so", S120)])
        marks = []
        blob = bytearray(gzip_segments(segs, marks=marks))
        assert len(marks) == 2
        blob[marks[1]] |= 0x06      # BTYPE 11 in the block header the second piece starts with
        return replace_layer(b, m, infos, bytes(blob), MT_GZIP)

    def corrupt_zstd(b, m, c, infos):
        blob = bytearray(zstd_compress(tar_bytes([F("usr/lib/before.so", MIX), F("usr/lib/after.so", S120)])))
        for i in range(len(blob) // 2, len(blob) // 2 + 16):
            blob[i] ^= 0x5A
        return replace_layer(b, m, infos, bytes(blob), MT_ZSTD)

    def replace_layer(b, m, infos, blob, media):
        b.data.pop(infos[1]["digest"])
        nd = b.add(blob, media)
        man = json.loads(b.data[m["digest"]])
        man["layers"][1] = nd
        infos[1]["digest"], infos[1]["mediaType"] = nd["digest"], media
        return b.add(jdump(man), MT_OCI_MANIFEST), None
    oci("h-corrupt-gzip", up, "corrupt", corrupt_gzip, bad_layer_index=1,
        expect={"present": ["usr/lib/good.so", "usr/lib/top.so"]})
    oci("h-corrupt-zstd", up, "corrupt", corrupt_zstd, bad_layer_index=1,
        expect={"present": ["usr/lib/good.so", "usr/lib/top.so"]})

    # unreadable manifests: docker save's manifest.json (no OCI layout beside it to fall back on), OCI
    # index.json, and an OCI manifest blob - not JSON, wrong types, 100,000 '['
    lt = tar_bytes(good)
    b = Blobs()
    _, _, cb, _, _ = build(b, [(good, "none")])
    deep = b"[" * 100000
    for word, man in (("not-json", b"\x00\x01this is not JSON {\"Config\":"),
                      ("wrong-types", jdump([{"Config": 42, "RepoTags": "latest", "Layers": {"0": "x/layer.tar"}}])),
                      ("deep", deep),
                      ("deep-object", b'[{"Config":' * 50000)):
        fn = "h-manifest-%s.tar" % word
        write_docker_v1(os.path.join(out, fn), [lt], cb, ["hostile:1"], manifest=man)
        entry("h-manifest-" + word, fn, "docker-save", hostile="manifest", expect={"present": []})
    for word, idx in (("not-json", b"{\"schemaVersion\": 2, \"manifests\": [ nope"),
                      ("wrong-types", jdump({"schemaVersion": 2, "manifests": {"digest": 7}})),
                      ("deep", b'{"schemaVersion":2,"manifests":' + deep)):
        b = Blobs()
        build(b, [(good, "gzip")])
        p = "h-index-%s.oci" % word
        write_oci_dir(os.path.join(out, p), b, idx)
        entry("h-index-" + word, p, "oci-layout", hostile="manifest", expect={"present": []})
    for word, body in (("wrong-types", lambda man: dict(man, layers="usr/lib/good.so")),
                       ("deep", None)):
        b = Blobs()
        m, c, cb, infos, _ = build(b, [(good, "gzip")])
        mb = jdump(body(json.loads(b.data[m["digest"]]))) if body else b'{"schemaVersion":2,"layers":' + deep
        md = b.add(mb, MT_OCI_MANIFEST)
        p = "h-manifest-blob-%s.oci" % word
        write_oci_dir(os.path.join(out, p), b, index_doc([md]))
        entry("h-manifest-blob-" + word, p, "oci-layout", hostile="manifest", expect={"present": []})


def have_tools():
    return bool(shutil.which("umoci") and shutil.which("skopeo"))


def tools(out, fx, cat):
    """(g) images written by Debian's umoci (an OCI layout: insert adds layers; unpack, rm, repack
    makes a real whiteout; insert --opaque an opaque directory) and converted by skopeo to docker save
    (docker-archive:) and OCI archive (oci-archive:) tarballs."""
    cat["tools"] = have_tools()
    if not cat["tools"]:
        return
    work = os.path.join(out, "umoci-work")
    os.makedirs(work)
    lay = os.path.join(out, "umoci.oci")
    img = lay + ":v1"
    env = dict(os.environ, TMPDIR=work)

    def run(*argv):
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def src(name, files):
        d = os.path.join(work, name)
        os.makedirs(d)
        for fn, fixture in files.items():
            shutil.copyfile(os.path.join(fx, fixture), os.path.join(d, fn))
        return d

    tl = "/" + SITE + "/torch/lib"
    run("umoci", "init", "--layout", lay)
    run("umoci", "new", "--image", img)
    run("umoci", "config", "--image", img, "--os", "linux", "--architecture", "amd64")
    run("umoci", "insert", "--image", img, src("lib", {"libtorch_cuda.so": "mix_100a_120f.o",
                                                     "libflash_attn.so": "sass_90.o",
                                                     "libc10_cuda.so": "sass_100a_120.o"}), tl)
    run("umoci", "insert", "--image", img, src("opt", {"a.so": "sass_90.o", "b.so": "libtwo.so"}), "/opt/dir")
    bundle = os.path.join(work, "bundle")
    run("umoci", "unpack", "--rootless", "--image", img, bundle)
    os.remove(os.path.join(bundle, "rootfs", SITE, "torch", "lib", "libflash_attn.so"))
    shutil.copyfile(os.path.join(fx, "ptx_120.o"), os.path.join(bundle, "rootfs", SITE, "torch", "lib",
                                                                "libcustom_kernels.so"))
    run("umoci", "repack", "--image", img, bundle)
    run("umoci", "insert", "--image", img, "--opaque", src("opt2", {"c.so": "sass_100a_120.o"}), "/opt/dir")
    run("skopeo", "--insecure-policy", "copy", "-q", "oci:" + img,
        "docker-archive:" + os.path.join(out, "umoci-docker.tar") + ":umoci-img:v1")
    run("skopeo", "--insecure-policy", "copy", "-q", "oci:" + img,
        "oci-archive:" + os.path.join(out, "umoci-oci.tar") + ":v1")
    shutil.rmtree(work)
    exp = {"absent": [SITE + "/torch/lib/libflash_attn.so", "opt/dir/a.so", "opt/dir/b.so"],
           "present": {SITE + "/torch/lib/libtorch_cuda.so": None, SITE + "/torch/lib/libc10_cuda.so": None,
                       SITE + "/torch/lib/libcustom_kernels.so": None, "opt/dir/c.so": None},
           "exit": {"RTX 5090": 0}}
    cat["images"]["umoci-layout"] = {"path": "umoci.oci", "format": "oci-layout", "tags": ["v1"],
                                     "platforms": ["linux/amd64"], "tool": "umoci", "expect": exp}
    cat["images"]["skopeo-docker-archive"] = {"path": "umoci-docker.tar", "format": "docker-save",
                                              "tags": ["docker.io/library/umoci-img:v1"], "platforms": ["linux/amd64"],
                                              "tool": "skopeo", "expect": exp}
    cat["images"]["skopeo-oci-archive"] = {"path": "umoci-oci.tar", "format": "oci-archive", "tags": ["v1"],
                                           "platforms": ["linux/amd64"], "tool": "skopeo", "expect": exp}


def self_check():
    """The hand-written streams decode with the standard decoders."""
    for n in (0, 1, 1000, MiB, 3 * MiB + 17):
        assert crc32_zeros(n) == zlib.crc32(b"\0" * n), n
    segs = [b"head" * 100, Zeros(2 * MiB + 5), b"tail"]
    assert gzip.decompress(gzip_segments(segs, "x")) == flat(segs)
    marks = []
    gzip_segments(segs, marks=marks)
    assert len(marks) == 3
    frame = zstd_frame_segments(segs)
    if zstandard is not None:
        assert zstandard.ZstdDecompressor().decompressobj().decompress(frame) == flat(segs)
    elif shutil.which("zstd"):
        assert subprocess.run(["zstd", "-dc"], input=frame, stdout=subprocess.PIPE, check=True).stdout == flat(segs)


def main(argv):
    which = "all"
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--set":
            which = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2 or which not in ("core", "tools", "all"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out, fx = args
    os.makedirs(out, exist_ok=True)
    self_check()
    cat = {"tools": False, "zstd": ZSTD_HOW, "images": {}}
    if which in ("core", "all"):
        core(out, fx, cat)
    if which in ("tools", "all"):
        tools(out, fx, cat)
    with open(os.path.join(out, "catalog.json"), "w") as f:
        json.dump(cat, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
