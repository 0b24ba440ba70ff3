#!/usr/bin/env python3
"""llama-builds.py - read which architectures and ggml types real llama.cpp builds know, from the
Debian and Ubuntu packages of those builds, and print the rows of lib/models/tables/engines.c.

    scripts/llama-builds.py [--cache DIR] [--check]

The packages are fetched into DIR (default ~/.cache/mlgate/debian) and unpacked with dpkg-deb.
From each libllama.so it reads LLM_ARCH_NAMES: an array of {int arch, const char *name} pairs whose
name pointers are R_X86_64_RELATIVE relocations, ending at "(unknown)". From each libggml-base.so
it reads ggml's type_traits array: 56-byte rows that start with a name pointer and hold the block
size and bytes per block. Nothing is executed.

--check compares lib/models/tables/engines.c and lib/models/tables/ggml.c with what the packages say and exits 1
on any difference (run it when a new build is added).
"""
import os, re, struct, subprocess, sys, urllib.request

UBUNTU = "http://archive.ubuntu.com/ubuntu/pool/universe"
DEBIAN = "http://deb.debian.org/debian/pool/main"

# (build, release name or "", where the build comes from, libllama package, ggml package it was shipped
# with). The Ubuntu builds carry the build number as their version; the Debian 0.x releases name
# theirs in /usr/share/doc/libllama0/nightly-tag.txt, which is checked below.
BUILDS = [
    (5882, "", "Ubuntu 25.10 llama.cpp 5882+dfsg-2",
     f"{UBUNTU}/l/llama.cpp/llama.cpp_5882+dfsg-2_amd64.deb",
     f"{UBUNTU}/g/ggml/libggml-cpu_0.0%7Egit20250712.d62df60-1_amd64.deb"),
    (8681, "", "Ubuntu 26.04 libllama0 8681+dfsg-1",
     f"{UBUNTU}/l/llama.cpp/libllama0_8681+dfsg-1_amd64.deb",
     f"{UBUNTU}/g/ggml/libggml0_0.9.11-1_amd64.deb"),
    (10438, "", "Ubuntu 26.10 libllama0 10438+dfsg-1ubuntu1",
     f"{UBUNTU}/l/llama.cpp/libllama0_10438+dfsg-1ubuntu1_amd64.deb",
     f"{UBUNTU}/g/ggml/libggml0_0.22.0-1ubuntu3_amd64.deb"),
    (10964, "0.4.1", "Debian libllama0 0.4.1+dfsg-1",
     f"{DEBIAN}/l/llama.cpp/libllama0_0.4.1+dfsg-1_amd64.deb",
     f"{DEBIAN}/g/ggml/libggml0_0.24.0-1_amd64.deb"),
    (11146, "0.5.0", "Debian libllama0 0.5.0+dfsg-2",
     f"{DEBIAN}/l/llama.cpp/libllama0_0.5.0+dfsg-2_amd64.deb",
     f"{DEBIAN}/g/ggml/libggml0_0.26.0-1_amd64.deb"),
    (11429, "0.6.0", "Debian libllama0 0.6.0+dfsg-1",
     f"{DEBIAN}/l/llama.cpp/libllama0_0.6.0+dfsg-1_amd64.deb",
     f"{DEBIAN}/g/ggml/libggml0_0.26.0-1_amd64.deb"),
    (11669, "0.7.0", "Debian libllama0 0.7.0+dfsg-2",
     f"{DEBIAN}/l/llama.cpp/libllama0_0.7.0+dfsg-2_amd64.deb",
     f"{DEBIAN}/g/ggml/libggml0_0.27.0-1_amd64.deb"),
]


class Elf:
    def __init__(self, path):
        b = self.b = open(path, "rb").read()
        if b[:4] != b"\x7fELF" or b[4] != 2 or b[5] != 1:
            raise SystemExit(f"{path}: not a 64-bit little-endian ELF")
        shoff, = struct.unpack_from("<Q", b, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3A)
        raw = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * shentsize) for i in range(shnum)]
        names = raw[shstrndx][4]
        self.secs = {}
        self.alloc = []
        for name, typ, flags, addr, off, size, *_ in raw:
            nm = b[names + name:b.index(b"\0", names + name)].decode()
            self.secs[nm] = (typ, addr, off, size)
            if addr and typ != 8:  # SHT_NOBITS has no file bytes
                self.alloc.append((addr, off, size))
        typ, addr, off, size = self.secs[".rela.dyn"]
        self.rel = {}
        for o in range(off, off + size, 24):
            r_off, info, addend = struct.unpack_from("<QQq", b, o)
            if info & 0xFFFFFFFF == 8:  # R_X86_64_RELATIVE
                self.rel[r_off] = addend

    def off(self, va):
        for addr, off, size in self.alloc:
            if addr <= va < addr + size:
                return off + va - addr
        return None

    def cstr(self, va):
        o = self.off(va)
        if o is None:
            return None
        end = self.b.find(b"\0", o, o + 128)
        return None if end < 0 else self.b[o:end].decode("latin1")


def arch_names(path):
    """LLM_ARCH_NAMES in index order, without "(unknown)"."""
    e = Elf(path)

    def row(r):  # a 16-byte {int arch, const char *name} row at address r, or None
        o = e.off(r)
        nm = e.cstr(e.rel[r + 8]) if r + 8 in e.rel else None
        if o is None or not nm or not re.fullmatch(r"[a-z0-9_.\-()]+", nm):
            return None
        return struct.unpack_from("<i", e.b, o)[0], nm

    best = []
    for ptr in sorted(e.rel):
        if e.cstr(e.rel[ptr]) != "llama":
            continue
        r = ptr - 8
        while row(r) and row(r)[0] > 0 and row(r - 16):  # back to the row of index 0
            r -= 16
        run = []
        while row(r) and row(r)[1] != "(unknown)":
            run.append(row(r)[1])
            r += 16
        if row(r) and len(run) > len(best):
            best = run
    if not best:
        raise SystemExit(f"{path}: no architecture table found")
    return best


def ggml_types(path):
    """[(id, name, block, bytes)] from ggml's type_traits; removed ids have block 0."""
    e = Elf(path)
    for o in sorted(e.rel):
        if e.cstr(e.rel[o]) == "f32" and e.cstr(e.rel.get(o + 56, 0)) == "f16" \
                and e.cstr(e.rel.get(o + 112, 0)) == "q4_0":
            out = []
            for i in range(256):
                row = o + 56 * i
                nm = e.cstr(e.rel[row]) if row in e.rel else None
                if not nm or not re.fullmatch(r"[a-zA-Z0-9_]+|TYPE_\w+ REMOVED.*|DEPRECATED|", nm):
                    break
                blck, _, size = struct.unpack_from("<qqQ", e.b, e.off(row) + 8)
                out.append((i, nm, blck, size))
            return out
    raise SystemExit(f"{path}: no ggml type table found")


def fetch(cache, url):
    name = urllib.request.unquote(url.rsplit("/", 1)[1])
    deb = os.path.join(cache, name)
    if not os.path.exists(deb):
        print(f"fetching {url}", file=sys.stderr)
        with urllib.request.urlopen(url, timeout=300) as r, open(deb + ".part", "wb") as f:
            f.write(r.read())
        os.rename(deb + ".part", deb)
    root = os.path.join(cache, "ex", name[:-4])
    if not os.path.isdir(root):
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    return root


def find(root, pattern):
    for d, _, files in os.walk(root):
        if "glibc-hwcaps" in d:
            continue
        for f in sorted(files):
            p = os.path.join(d, f)
            if re.fullmatch(pattern, f) and not os.path.islink(p):
                return p
    raise SystemExit(f"{root}: no {pattern}")


def main():
    args = sys.argv[1:]
    cache = os.path.expanduser("~/.cache/mlgate/debian")
    if "--cache" in args:
        cache = args[args.index("--cache") + 1]
    os.makedirs(cache, exist_ok=True)
    builds = []
    for build, rel, where, llama_url, ggml_url in BUILDS:
        lroot, groot = fetch(cache, llama_url), fetch(cache, ggml_url)
        tag = os.path.join(lroot, "usr/share/doc/libllama0/nightly-tag.txt")
        if os.path.exists(tag) and open(tag).read().strip() != f"b{build}":
            raise SystemExit(f"{where}: nightly-tag.txt says {open(tag).read().strip()}, table says b{build}")
        archs = arch_names(find(lroot, r"libllama\.so.*"))
        types = ggml_types(find(groot, r"libggml-base\.so.*"))
        builds.append((build, rel, where, archs, types))
        print(f"b{build}: {len(archs)} architectures, {len(types)} ggml types ({where})", file=sys.stderr)

    first_arch, first_type, shape = {}, {}, {}
    for build, rel, where, archs, types in builds:
        for a in archs:
            first_arch.setdefault(a, build)
        for i, nm, blck, size in types:
            if blck:
                first_type.setdefault(i, build)
                shape[i] = (nm.upper(), blck, size)
    # an architecture or type that a later build lost would make "bN or newer" false: say so
    for build, rel, where, archs, types in builds:
        for a, b in first_arch.items():
            if b < build and a not in archs:
                print(f"warning: '{a}' (since b{b}) is missing from b{build}", file=sys.stderr)

    rows = [f'    {{"{a}", {b}}},' for a, b in first_arch.items()]
    trows = [f"    {{{i}, {b}}},   /* {shape[i][0]} */" for i, b in sorted(first_type.items())
             if b != builds[0][0]]
    text = "\n".join(["/* builds */"] +
                     [f'    {{{b}, "{r}", "{w}"}},' for b, r, w, _, _ in builds] +
                     ["/* architectures */"] + rows + ["/* ggml types newer than the oldest build */"] + trows)
    if "--check" not in args:
        print(text)
        return 0

    bad = 0
    here = os.path.dirname(os.path.abspath(__file__))
    src = open(os.path.join(here, "../lib/models/tables/engines.c")).read()
    table = dict((a, int(b)) for a, b in re.findall(r'\{"([^"]+)",\s*(\d+)\}', src))
    for a, b in first_arch.items():
        if a == "clip":
            continue  # projector files: inspect says so before asking the table
        if table.get(a) != b:
            print(f"engines.c: '{a}' says {table.get(a)}, the builds say b{b}"); bad = 1
    for a in table:
        if a not in first_arch:
            print(f"engines.c: '{a}' is in no build read here"); bad = 1
    ttable = dict((int(i), int(b)) for i, b in re.findall(r"\{(\d+),\s*(\d+)\},\s*/\*", src))
    for i, b in first_type.items():
        want = None if b == builds[0][0] else b
        if ttable.get(i) != want:
            print(f"engines.c: ggml type {i} says {ttable.get(i)}, the builds say b{b}"); bad = 1
    gsrc = open(os.path.join(here, "../lib/models/tables/ggml.c")).read()
    ours = {int(i): (n, int(bl), int(by)) for i, n, bl, by in
            re.findall(r'\{(\d+),\s*"(\w+)",\s*(\d+),\s*(\d+)\}', gsrc)}
    for i, (nm, blck, size) in shape.items():
        if ours.get(i) != (nm, blck, size):
            print(f"ggml.c: type {i} is {ours.get(i)}, ggml says {(nm, blck, size)}"); bad = 1
    print("engines.c and ggml.c agree with the builds" if not bad else "differences above")
    return bad


if __name__ == "__main__":
    sys.exit(main())
