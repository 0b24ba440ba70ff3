#!/usr/bin/env python3
"""image_test.py - `mlgate scan IMAGE` on container images (issue 13, "Images"), end to end through --json,
exit codes and a few lines of the human report.

usage: image_test.py MLGATE FIXTURES [--real-tools]
Builds the images of tests/images/make_images.py into a temporary directory and checks, per image:
- the report against a reader of the formats written here (docker save with <id>/layer.tar or an OCI layout
  inside, OCI archives, OCI layout directories, flat root filesystem tars), which applies the layers itself
  (whiteouts, opaque directories, later files replacing earlier ones, whiteouts through symlinked parents
  resolved inside the root): the files mlgate reports and the layer that brought each, `images[]` (format,
  tags, digest, id, platform, layers with their compression and file counts), and - unpacked into a
  directory and scanned there - the same verdicts, file by file;
- what each image is made to show (the deleted library absent, the added one `none` on an RTX 5090 from
  the upper layer, an amd64 image `none` on a GB10, ...), multi-platform indexes with and without
  --platform, paths as IMAGE!LAYER!PATH with IMAGE as given;
- hostile images: an error entry naming the image or the layer, the rest still reported, exit 1, no hang
  (a 60 s timeout per run), peak RSS under 256 MiB per run (os.wait4's rusage of that child; 1 GiB for a
  sanitizer build) and for all runs together (getrusage(RUSAGE_CHILDREN)) - an upper bound: Linux counts
  this process's own RSS at the fork (about 22 MiB) into a child's peak;
- nothing extracted to disk: scans under RLIMIT_FSIZE 0 (a byte written to any file kills the process).
--real-tools: only the images umoci and skopeo wrote (exit 77 when either is missing).
Reads zstd through the `zstandard` package (tests/requirements.txt) or the `zstd` command.
"""
import gzip, hashlib, io, json, os, re, resource, shutil, subprocess, sys, tarfile, tempfile, threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, result

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE = os.path.join(HERE, "images", "make_images.py")
TIMEOUT = 60
TARGETS = ["--gpu", "RTX 5090", "--gpu", "H100"]
SITE = "usr/lib/python3/site-packages"

try:
    import zstandard
except ImportError:
    zstandard = None


# ---- running mlgate: exit code, output, this run's peak RSS, a timeout as the hang detector ----

class Run:
    def __init__(self, rc, out, err, rss_kib, timed_out):
        self.rc, self.out, self.err, self.rss, self.timed_out = rc, out, err, rss_kib, timed_out
        self.doc = None
        try:
            self.doc = json.loads(out)
        except ValueError:
            pass

    def files(self, image=None):
        fs = (self.doc or {}).get("files") or []
        return [f for f in fs if image is None or f.get("image") == image or names(f.get("path", ""), image)]

    def images(self, image):
        return [i for i in (self.doc or {}).get("images") or [] if i.get("path") == image]


def mlgate(args, timeout=TIMEOUT, cwd=None):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([MLGATE] + args, stdout=out, stderr=err, cwd=cwd)
        fired = threading.Event()

        def kill():
            fired.set()
            p.kill()
        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        timer.cancel()
        out.seek(0)
        err.seek(0)
        return Run(p.returncode, out.read().decode("utf-8", "surrogateescape"),
                   err.read().decode("utf-8", "surrogateescape"), ru.ru_maxrss, fired.is_set())


def mlgate_no_files(args, timeout=TIMEOUT):
    """(exit code, stdout) of a run that may write no byte to any file (RLIMIT_FSIZE 0: a write is SIGXFSZ,
    -25), its output through pipes: nothing extracted to disk."""
    try:
        r = subprocess.run([MLGATE] + args, capture_output=True, timeout=timeout,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0)))
        return r.returncode, r.stdout.decode("utf-8", "surrogateescape")
    except subprocess.TimeoutExpired:
        return None, ""


def names(path, prefix):
    """path names prefix: it is prefix, or prefix followed by !..."""
    return path == prefix or path.startswith(prefix + "!")


def sanitized(binary):
    with open(binary, "rb") as f:
        b = f.read()
    return b"__asan_init" in b or b"__ubsan_handle" in b


# ---- an independent reader: the formats, the compressions by their bytes, the layers applied ----

def compression(data):
    """What the bytes say (never the mediaType nor the name)."""
    return "gzip" if data[:2] == b"\x1f\x8b" else "zstd" if data[:4] == b"\x28\xb5\x2f\xfd" else "none"


def decompress(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data), "gzip"
    if data[:4] == b"\x28\xb5\x2f\xfd":
        if zstandard is not None:
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True) as r:
                return r.read(), "zstd"
        return subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout, "zstd"
    return data, "none"


def tar_members(raw):
    """(TarInfo, bytes or None) of every member. Padded first: a stream that ends right after its last
    file's content (umoci's) is read as Go's tar reader reads it."""
    raw = raw + b"\0" * (-len(raw) % 512) + b"\0" * 1024
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
        for m in t:
            yield m, (t.extractfile(m).read() if m.isreg() else None)


def norm(name):
    """A member's path in the root without ./ and leading /; None when its .. climb out of the root."""
    out = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not out:
                return None
            out.pop()
        else:
            out.append(p)
    return "/".join(out)


def resolve(tree, path):
    """A directory path resolved inside the root: symlinks followed as a chroot would (absolute ones from
    the root, .. stopping at the root); None past 40 links."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    out, hops = [], 0
    while parts:
        p = parts.pop(0)
        if p == "..":
            out = out[:-1]
            continue
        node = tree.get("/".join(out + [p]))
        if node and node[0] == "symlink":
            hops += 1
            if hops > 40:
                return None
            if node[2].startswith("/"):
                out = []
            parts = [x for x in node[2].split("/") if x not in ("", ".")] + parts
            continue
        out.append(p)
    return "/".join(out)


def drop(tree, path, below, subtree_only=False):
    """Removes path (unless subtree_only) and everything under it that a layer below `below` brought."""
    for p in [p for p in tree if (p == path and not subtree_only) or p.startswith(path + "/" if path else "")]:
        if tree[p][1] < below:
            del tree[p]


def apply_layers(blobs):
    """{path: (kind, layer index, bytes | link target)} of the final image; kinds file, dir, symlink."""
    tree = {}
    for i, blob in enumerate(blobs):
        raw, _ = decompress(blob)
        for m, data in tar_members(raw):
            name = norm(m.name)
            if not name:
                continue
            head, _, base = name.rpartition("/")
            if base.startswith(".wh."):
                d = resolve(tree, head)
                if d is None:
                    continue
                if base == ".wh..wh..opq":
                    drop(tree, d, i, subtree_only=True)
                else:
                    drop(tree, (d + "/" if d else "") + base[4:], i)
                continue
            old = tree.get(name)
            if m.isdir():
                if old and old[0] != "dir":
                    drop(tree, name, i + 1)
                tree[name] = ("dir", i, None)
                continue
            if old and old[0] == "dir":
                drop(tree, name, i + 1)
            if m.issym():
                tree[name] = ("symlink", i, m.linkname)
            elif m.islnk():
                t = tree.get(norm(m.linkname) or "")
                if t and t[0] == "file":
                    tree[name] = ("file", i, t[2])
            elif m.isreg():
                tree[name] = ("file", i, data)
    return tree


class Ref:
    """One image (one platform) as the reader sees it."""
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def final(self):
        if not hasattr(self, "_tree"):
            self._tree = apply_layers([b for _, _, b in self.layers])
        return self._tree

    def files(self):
        """{path: layer digest (None for a rootfs tar)} of the regular files in the final image."""
        return {p: self.layers[n[1]][0] for p, n in self.final().items() if n[0] == "file"}

    def counts(self):
        c = [0] * len(self.layers)
        for n in self.final().values():
            if n[0] == "file":
                c[n[1]] += 1
        return c


def read_images(path):
    """[Ref] per image (per platform) at path: an OCI layout directory, or a tarball of any kind."""
    if os.path.isdir(path):
        def get(name):
            with open(os.path.join(path, name), "rb") as f:
                return f.read()
        return read_oci(path, "oci-layout", get)
    with open(path, "rb") as f:
        data = f.read()
    raw, how = decompress(data)
    members, links = {}, {}
    if how == "none":
        for m, d in tar_members(raw):
            n = norm(m.name)
            if m.issym():
                links[n] = norm(os.path.join(os.path.dirname(n), m.linkname))
            elif d is not None:
                members[n] = d

    def get(name):
        n = norm(name)
        for _ in range(8):
            if n in links:
                n = links[n]
        return members[n]
    if "manifest.json" in members:
        return read_docker(path, get, "index.json" in members)
    if "oci-layout" in members and "index.json" in members:
        return read_oci(path, "oci-archive", get)
    return [Ref(path=path, format="rootfs-tar", tags=[], digest=None, id=None, platform=None,
                layers=[(None, how, data)], compression=how)]


def blob(get, digest):
    return get("blobs/" + digest.replace(":", "/", 1))


def platform_of(cfg):
    p = cfg["os"] + "/" + cfg["architecture"]
    return p + "/" + cfg["variant"] if cfg.get("variant") else p


def read_oci(path, fmt, get):
    refs = []

    def walk(desc, tags):
        b = blob(get, desc["digest"])
        doc = json.loads(b)
        if "manifests" in doc:
            for d in doc["manifests"]:
                if (d.get("annotations") or {}).get("vnd.docker.reference.type") != "attestation-manifest":
                    walk(d, tags)
            return
        cfgb = blob(get, doc["config"]["digest"])
        layers = []
        for l in doc["layers"]:
            lb = blob(get, l["digest"])
            layers.append((l["digest"], compression(lb), lb))
        refs.append(Ref(path=path, format=fmt, tags=tags, digest=desc["digest"], id=doc["config"]["digest"],
                        platform=platform_of(json.loads(cfgb)), layers=layers))
    for d in json.loads(get("index.json"))["manifests"]:
        ref = (d.get("annotations") or {}).get("org.opencontainers.image.ref.name")
        walk(d, [ref] if ref else [])
    return refs


def read_docker(path, get, has_index):
    m = json.loads(get("manifest.json"))[0]
    cfgb = get(m["Config"])
    cid = "sha256:" + hashlib.sha256(cfgb).hexdigest()
    digest = None
    if has_index:   # Docker 25+: the manifest's digest through index.json (nested indexes too)
        for r in read_oci(path, "oci", get):
            if r.id == cid:
                digest = r.digest
    layers = []
    for p in m["Layers"]:
        lb = get(p)
        layers.append(("sha256:" + hashlib.sha256(lb).hexdigest(), compression(lb), lb))
    return [Ref(path=path, format="docker-save", tags=m.get("RepoTags") or [], digest=digest, id=cid,
                platform=platform_of(json.loads(cfgb)), layers=layers)]


# ---- the checks ----

def suffix(f, image):
    """PATH of IMAGE!LAYER!PATH (IMAGE!PATH without a layer); None when the path is not so made."""
    p = f.get("path", "")
    if not p.startswith(image + "!"):
        return None
    rest = p[len(image) + 1:]
    layer = f.get("layer")
    if layer:
        if not rest.startswith(layer + "!"):
            return None
        rest = rest[len(layer) + 1:]
    return rest


def unpack(ref, where):
    """The final image's regular files written out (symlinks left out: the scan leaves them alone)."""
    for p, n in ref.final().items():
        if n[0] == "file":
            full = os.path.join(where, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(n[2])
    return where


SAME = ("size", "machine", "fatbins", "sass", "ptx", "ltoir", "images", "relocatable", "empty", "sm_mismatch",
        "cuda", "framework", "verdicts")


def compare_with_directory(tag, ref, run, image, targets, tmp):
    """The image's reports (those from ref's layers) against a scan of its final files unpacked."""
    d = unpack(ref, tempfile.mkdtemp(dir=tmp, prefix="unpacked-"))
    dr = mlgate(["scan", "--json"] + targets + [d])
    check(f"{tag}: the unpacked directory scans ({dr.rc})", dr.doc is not None and dr.rc in (0, 1))
    if dr.doc is None:
        return
    want = {f["path"][len(d) + 1:]: f for f in dr.doc["files"] if not f.get("error")}
    layers = {l[0] for l in ref.layers}
    got = {}
    for f in run.files(image):
        if f.get("error"):
            continue
        if f.get("framework"):      # a framework's report, named after its dist-info: its layer is not asked
            got[f["path"].rsplit("!", 1)[-1]] = f
        elif f.get("layer") in layers:
            got[suffix(f, image)] = f
    check(f"{tag}: the same files as in the unpacked directory (missing {sorted(set(want) - set(got))[:4]}, "
          f"extra {sorted(set(got) - set(want))[:4]})", set(want) == set(got))
    diff = [(p, k) for p in set(want) & set(got) for k in SAME if want[p].get(k) != got[p].get(k)]
    check(f"{tag}: file by file, the verdicts and facts of the unpacked files (differ: {diff[:4]})", not diff)
    return dr


def check_good(tag, image, cat_entry, targets=TARGETS, refs=None, cwd=None, shown=None):
    """A well-formed image: the reader agrees with the catalog; mlgate agrees with the reader and with a
    scan of the same files unpacked."""
    shown = shown or image
    refs = refs or read_images(image)
    check(f"{tag}: the test's reader finds {len(refs)} image(s), as written",
          len(refs) == len(cat_entry["platforms"]))
    for r in refs:
        check(f"{tag}: the reader's format {r.format}", r.format == cat_entry["format"])
        check(f"{tag}: the reader's platform {r.platform}", r.platform in cat_entry["platforms"])
        want = cat_entry.get("per_platform", {}).get(r.platform, cat_entry)
        if "layers" in want and r.format != "rootfs-tar":
            check(f"{tag}: the reader's layers are the writer's",
                  [(l[0], l[1]) for l in r.layers] == [(l["digest"], l["compression"]) for l in want["layers"]])
        if "digest" in want:
            check(f"{tag}: the reader's digest and id", (r.digest, r.id) == (want["digest"], want["id"]))
    run = mlgate(["scan", "--json"] + targets + [shown], cwd=cwd)
    check(f"{tag}: scans without a timeout, exit {run.rc}: {run.err.strip()[:200]}",
          not run.timed_out and run.rc in (0, 1) and run.doc is not None)
    if run.doc is None:
        return run
    errs = [f for f in run.files(shown) if f.get("error")]
    check(f"{tag}: no error ({[(f['path'], f['error']) for f in errs][:2]})", not errs)
    # images[]: one per image and platform, as the reader found them
    got = run.images(shown)
    check(f"{tag}: images[] has {len(got)} entries for it, want {len(refs)}", len(got) == len(refs))
    byplat = {i.get("platform"): i for i in got}
    for r in refs:
        i = byplat.get(r.platform) if r.platform else (got[0] if got else None)
        if not i:
            check(f"{tag}: images[] has {r.platform}", False)
            continue
        check(f"{tag}: images[].format {i.get('format')}", i.get("format") == r.format)
        check(f"{tag}: images[].tags {i.get('tags')} hold {r.tags}", isinstance(i.get("tags"), list)
              and set(r.tags) <= set(i["tags"]))
        check(f"{tag}: images[].digest {i.get('digest')}, want {r.digest}", i.get("digest") == r.digest)
        check(f"{tag}: images[].id {i.get('id')}, want {r.id}", i.get("id") == r.id)
        if r.format != "rootfs-tar":
            check(f"{tag}: images[].platform {i.get('platform')}", i.get("platform") == r.platform)
            want_layers = [{"digest": d, "compression": c, "files": n} for (d, c, _), n in zip(r.layers, r.counts())]
            have = [{k: l.get(k) for k in ("digest", "compression", "files")} for l in i.get("layers") or []]
            check(f"{tag}: images[].layers (digest, compression, files): {have} want {want_layers}",
                  have == want_layers)
    # files[]: IMAGE!LAYER!PATH, the layer that brought the file, only files of the final image
    files = {}
    for r in refs:
        for p, l in r.files().items():
            files.setdefault(p, set()).add(l)
    for f in run.files(shown):
        if f.get("framework"):
            continue
        s = suffix(f, shown)
        check(f"{tag}: {f.get('path')} is IMAGE!LAYER!PATH with its image and layer fields",
              s is not None and f.get("image") == shown and
              (f.get("layer") is None if refs[0].format == "rootfs-tar"
               else bool(re.fullmatch(r"sha256:[0-9a-f]{64}", f.get("layer") or ""))))
        check(f"{tag}: {s} is a file of the final image, from the layer that brought it",
              s in files and f.get("layer") in files[s])
    exp = cat_entry.get("expect", {})
    reported = {suffix(f, shown): f for f in run.files(shown) if not f.get("framework")}
    for p in exp.get("absent", []):
        check(f"{tag}: {p} (deleted) is not reported", p not in reported and not any(
            (k or "").startswith(p + "/") for k in reported))
    for p, li in exp.get("present", {}).items():
        f = reported.get(p)
        check(f"{tag}: {p} is reported", f is not None)
        if f is not None and li is not None and refs[0].format != "rootfs-tar":
            check(f"{tag}: {p} comes from layer {li}", f.get("layer") == refs[0].layers[li][0])
    tnames = [targets[i + 1] for i in range(0, len(targets), 2) if targets[i] == "--gpu"]
    for t, per in exp.get("verdicts", {}).items():
        if t not in tnames:
            continue
        for p, status in per.items():
            f = reported.get(p)
            got_s = f and [v["status"] for v in f.get("verdicts", []) if v["target"] == t]
            check(f"{tag}: {p} on {t} is {got_s}, want {status}", got_s == [status])
    if exp.get("framework"):
        fw = [f for f in run.files(shown) if f.get("framework")]
        check(f"{tag}: the framework report {[f['framework'] for f in fw]}",
              [f["framework"] for f in fw] == [exp["framework"]] and
              all(v["status"] == "none" for v in fw[0]["verdicts"]))
    for t, code in exp.get("exit", {}).items():
        if tnames == [t]:
            check(f"{tag}: exit {run.rc} on {t}, want {code}", run.rc == code)
    # against the same files unpacked in a directory: the same reports, the same exit code
    dr = None
    for r in refs:
        dr = compare_with_directory(f"{tag} {r.platform or ''}".strip(), r, run, shown, targets,
                                    os.path.dirname(image))
    if len(refs) == 1 and dr is not None:
        check(f"{tag}: exit {run.rc} as the unpacked directory's {dr.rc}", run.rc == dr.rc)
        for k in ("files_reported", "failing"):
            check(f"{tag}: summary.{k} {run.doc['summary'].get(k)} as the directory's {dr.doc['summary'].get(k)}",
                  run.doc["summary"].get(k) == dr.doc["summary"].get(k))
    return run


def good_images(tmp, cat, fx):
    imgs = cat["images"]
    for name, e in imgs.items():
        if e.get("hostile") or e.get("no_reference") or e.get("tool"):
            continue
        path = os.path.join(tmp, e["path"])
        if name.startswith("multiarch"):
            check_good(name + " (GB10)", path, e, targets=["--gpu", "GB10"])
            check_good(name + " (RTX 5090, x86_64 host)", path, e, targets=["--gpu", "RTX 5090", "--arch", "x86_64"])
        else:
            check_good(name, path, e)
            if e.get("expect", {}).get("exit"):
                check_good(name + " (RTX 5090)", path, e, targets=["--gpu", "RTX 5090"])

    # IMAGE as given: a relative path stays relative
    e = imgs["pytorch-like"]
    run = check_good("pytorch-like, relative", os.path.join(tmp, e["path"]), e, cwd=tmp, shown=e["path"])
    if run.doc:
        check("a relative IMAGE is named as given in images[] and files[]",
              [i["path"] for i in run.doc.get("images", [])] == [e["path"]] and
              all(f.get("image") == e["path"] for f in run.doc["files"]))

    # the human report: the image named (tags, digest), IMAGE!LAYER!PATH lines, the deleted one nowhere
    tl = SITE + "/torch/lib/"
    l0, l1 = e["layers"][0]["digest"], e["layers"][1]["digest"]
    h = mlgate(["scan", "--gpu", "RTX 5090", e["path"]], cwd=tmp)
    hv = mlgate(["scan", "-v", "--gpu", "RTX 5090", e["path"]], cwd=tmp)
    lines = h.out.splitlines()
    check(f"human: exit {h.rc} (libcustom_kernels.so does not run)", h.rc == 1)
    check("human: the added library's line: none, IMAGE!upper layer!PATH",
          any(re.fullmatch(r"none\s+" + re.escape(f"{e['path']}!{l1}!{tl}libcustom_kernels.so"), l.strip())
              for l in lines))
    check("human: libtorch_cuda.so's line: native, from the base layer",
          any(re.fullmatch(r"native\s+" + re.escape(f"{e['path']}!{l0}!{tl}libtorch_cuda.so"), l.strip())
              for l in lines))
    check("human: libc10_cuda.so's line: jit, from the upper layer that replaced it",
          any(re.fullmatch(r"jit\s+" + re.escape(f"{e['path']}!{l1}!{tl}libc10_cuda.so"), l.strip())
              for l in lines))
    check("human -v: the deleted libflash_attn.so is named nowhere", "libflash_attn" not in hv.out + hv.err)
    check("human: the image is named with its digest", e["digest"][7:15] in h.out)
    d25 = imgs["pytorch-like-docker25"]
    h = mlgate(["scan", "--gpu", "RTX 5090", os.path.join(tmp, d25["path"])])
    check("human: a docker save is named with its tag and digest",
          "pytorch-like:2.9.1" in h.out and d25["digest"][7:15] in h.out)
    rf = imgs["rootfs-tar-gz"]
    h = mlgate(["scan", "--gpu", "RTX 5090", rf["path"]], cwd=tmp)
    check("human: a flat rootfs tar's files are IMAGE!PATH (no ./)",
          any(re.fullmatch(r"none\s+" + re.escape(f"{rf['path']}!{tl}libcustom_kernels.so"), l.strip())
              for l in h.out.splitlines()))

    # several images in one scan: each named, each its own images[] entry
    many = [os.path.join(tmp, imgs[n]["path"]) for n in ("opaque", "mixed", "pytorch-like-docker-v1")]
    r = mlgate(["scan", "--json", "--gpu", "RTX 5090"] + many)
    check(f"three images in one scan: one images[] entry each ({r.rc})",
          r.doc is not None and sorted(i["path"] for i in r.doc.get("images", [])) == sorted(many))
    check("three images in one scan: exit 1 (the docker save one has libcustom_kernels.so)", r.rc == 1)

    # multi-platform: every platform by default, one with --platform, an error for one it does not have
    for name in ("multiarch", "multiarch-nested"):
        m = imgs[name]
        path = os.path.join(tmp, m["path"])
        pp = m["per_platform"]
        r = mlgate(["scan", "--json", "--gpu", "GB10", path])
        got = {i.get("platform"): i.get("digest") for i in r.images(path)} if r.doc else {}
        check(f"{name}: both platforms, each with its manifest digest: {got}",
              got == {p: v["digest"] for p, v in pp.items()})
        check(f"{name}: on a GB10 the amd64 image does not run: exit {r.rc}", r.rc == 1)
        armp = [p for p in pp if p.startswith("linux/arm64")][0]      # linux/arm64 or linux/arm64/v8
        arm = {l["digest"] for l in pp[armp]["layers"]}
        amd = {l["digest"] for l in pp["linux/amd64"]["layers"]}
        for plat, layers in ((armp, arm - amd), ("linux/amd64", amd - arm)):
            for lib, want in m["expect"]["verdicts_by_platform"][plat]["GB10"].items():
                f = [x for x in r.files(path) if x.get("layer") in layers and suffix(x, path) == lib]
                check(f"{name}: {plat} {lib} on GB10 is {[v['status'] for x in f for v in x['verdicts']]}, "
                      f"want {want}", len(f) == 1 and [v["status"] for v in f[0]["verdicts"]] == [want])
        r = mlgate(["scan", "--json", "--gpu", "GB10", "--platform", "linux/arm64", path])
        check(f"{name} --platform linux/arm64: exit {r.rc} (runs on a GB10)", r.rc == 0)
        check(f"{name} --platform linux/arm64: only its image and files",
              r.doc is not None and [i.get("platform") for i in r.images(path)] == [armp] and
              r.files(path) and all(f.get("layer") in arm for f in r.files(path)))
        r = mlgate(["scan", "--json", "--gpu", "RTX 5090", "--arch", "x86_64", "--platform", "linux/amd64", path])
        check(f"{name} --platform linux/amd64 on an RTX 5090: exit {r.rc}", r.rc == 0 and r.doc is not None and
              [i.get("platform") for i in r.images(path)] == ["linux/amd64"] and
              r.files(path) and all(f.get("layer") in amd for f in r.files(path)))
        r = mlgate(["scan", "--json", "--gpu", "GB10", "--platform", "linux/s390x", path])
        errs = [f for f in r.files(path) if f.get("error")]
        check(f"{name} --platform linux/s390x: exit {r.rc}, an error naming the platforms it has: "
              f"{[f['error'] for f in errs][:1]}",
              r.rc == 1 and len(errs) == 1 and "linux/amd64" in errs[0]["error"].get("detail", "")
              and "linux/arm64" in errs[0]["error"]["detail"] and not [f for f in r.files(path) if not f.get("error")])
    p = os.path.join(tmp, imgs["pytorch-like"]["path"])
    r = mlgate(["scan", "--json", "--gpu", "GB10", "--platform", "linux/arm64", p])
    errs = [f for f in r.files(p) if f.get("error")]
    check(f"--platform linux/arm64 on an amd64-only image: exit {r.rc}, an error naming linux/amd64",
          r.rc == 1 and len(errs) == 1 and "linux/amd64" in errs[0]["error"].get("detail", ""))
    r = mlgate(["scan", "--json", "--gpu", "RTX 5090", "--platform", "linux/amd64", p])
    check(f"--platform linux/amd64 on an amd64 image: its files ({r.rc})", r.rc == 1 and len(r.files(p)) == 3)
    r = mlgate(["scan", "--gpu", "RTX 5090", "--platform", "banana", p])
    check(f"--platform banana is a usage error: exit {r.rc}", r.rc == 2)

    # bounded memory on a legitimate image: 2 x 320 MiB of zeros before the libraries, gzip and zstd
    e = imgs["big-member"]
    path = os.path.join(tmp, e["path"])
    r = mlgate(["scan", "--json", "--gpu", "RTX 5090", path])
    rep = {suffix(f, path): f for f in r.files(path)}
    check(f"big members: exit {r.rc}, both libraries after 320 MiB members reported",
          r.rc == 0 and set(rep) == {"usr/after-big.so", "usr/after-big2.so"})
    check(f"big members: peak RSS {r.rss >> 10} MiB < {LIMIT >> 10} MiB (no layer or member held whole)",
          0 < r.rss < LIMIT)

    # nothing extracted to disk: the same scans where writing a byte to any file kills the process
    for name in ("pytorch-like", "pytorch-like-docker-v1", "pytorch-like-rootfs", "big-member"):
        e = imgs[name if name in imgs else "rootfs-tar"]
        path = os.path.join(tmp, e["path"])
        want = mlgate(["scan", "--json", "--gpu", "RTX 5090", path])
        rc, out = mlgate_no_files(["scan", "--json", "--gpu", "RTX 5090", path])
        try:
            same = json.loads(out)["files"] == want.doc["files"]
        except (ValueError, KeyError, TypeError):
            same = False
        check(f"{e['path']}: scanned without writing a byte to a file (exit {rc}, {want.rc} with files)",
              rc == want.rc and rc in (0, 1) and same)


def hostile_images(tmp, cat, fx):
    good_fx = os.path.join(fx, "mix_100a_120f.o")      # native on an RTX 5090: the scan goes on past the image
    before = sorted(os.listdir(fx))
    for name, e in cat["images"].items():
        if not e.get("hostile"):
            continue
        path = os.path.join(tmp, e["path"])
        exp = e.get("expect", {})
        r = mlgate(["scan", "--json", "--gpu", "RTX 5090", path, good_fx])
        check(f"{name}: finishes (no hang: {TIMEOUT} s)", not r.timed_out)
        check(f"{name}: peak RSS {r.rss >> 10} MiB < {LIMIT >> 10} MiB", 0 < r.rss < LIMIT)
        check(f"{name}: a JSON report ({r.rc}): {r.err.strip()[:200]}", r.doc is not None and r.rc in (0, 1))
        if r.doc is None:
            continue
        fx_rep = [f for f in r.doc["files"] if f.get("path") == good_fx]
        check(f"{name}: the next argument is still scanned", len(fx_rep) == 1 and not fx_rep[0].get("error") and
              [v["status"] for v in fx_rep[0]["verdicts"]] == ["native"])
        errs = [f for f in r.files(path) if f.get("error")]
        fine = {suffix(f, path): f for f in r.files(path) if not f.get("error")}
        ok_errs = all(isinstance(f["error"].get("code"), str) and f["error"]["code"] and
                      isinstance(f["error"].get("detail"), str) and len(f["error"]["detail"]) >= 10 for f in errs)
        check(f"{name}: every error has a code and a sentence: {[f['error'] for f in errs][:2]}", ok_errs)
        for p in exp.get("present", []):
            check(f"{name}: {p} still reported",
                  p in fine and all(v["status"] == "native" for v in fine[p]["verdicts"]))
        for p in exp.get("absent", []):
            check(f"{name}: {p} (whiteout-ed through a symlinked parent) not reported", p not in fine)
        for word in exp.get("never", []):
            check(f"{name}: nothing named {word} reported as a file", not any(word in (k or "") for k in fine)
                  and not any(word in f["path"] for f in r.doc["files"] if not f.get("error")))
        if e["hostile"] in ("sparse", "bomb"):
            m = exp["member"]
            check(f"{name}: the 10 GB member is an error or skipped, never judged: "
                  f"{[f['error'] for f in errs][:1]}", not any((k or "").endswith(m) for k in fine))
            check(f"{name}: exit {r.rc}: 1 exactly when there is an error", r.rc == (1 if errs else 0))
            if e["hostile"] == "bomb" and errs:
                check(f"{name}: its error names the layer or the member", any(
                    names(f["path"], f"{path}!{e['bad_layer']}") for f in errs))
        elif e["hostile"] == "symlinks":
            check(f"{name}: symlinks are no error: exit {r.rc}, {[f['error'] for f in errs][:1]}",
                  r.rc == 0 and not errs)
            host = set(exp["host_fixtures"])
            leaked = [k for k in fine if k and k.rsplit("/", 1)[-1] in host]
            check(f"{name}: no file of the host reached through a symlink: {leaked[:3]}", not leaked)
            check(f"{name}: the image's own copies of the host's paths are reported", len(fine) == 3)
        else:
            check(f"{name}: exit {r.rc}, an error entry naming the image: {[f['path'] for f in errs][:2]}",
                  r.rc == 1 and errs and all(names(f["path"], path) for f in errs))
            if e.get("bad_layer"):
                check(f"{name}: the error names the layer {e['bad_layer'][:20]}...",
                      any(names(f["path"], f"{path}!{e['bad_layer']}") for f in errs))
    check("the host's fixtures directory is as it was", sorted(os.listdir(fx)) == before)
    # the human report of one: the layer named, exit 1
    e = cat["images"]["h-corrupt-gzip"]
    path = os.path.join(tmp, e["path"])
    h = mlgate(["scan", "--gpu", "RTX 5090", path])
    check(f"human: a corrupt layer is a line naming IMAGE!LAYER, exit {h.rc}",
          h.rc == 1 and f"{path}!{e['bad_layer']}" in h.out + h.err)


def real_tools(tmp, cat):
    imgs = {n: e for n, e in cat["images"].items() if e.get("tool")}
    runs = {}
    layout = os.path.join(tmp, imgs["umoci-layout"]["path"])
    oci = read_images(layout)

    def from_layout(name):
        with open(os.path.join(layout, name), "rb") as f:
            return f.read()
    for name, e in imgs.items():
        path = os.path.join(tmp, e["path"])
        refs = read_images(path)
        if name == "skopeo-docker-archive":
            diff_ids = json.loads(blob(from_layout, oci[0].id))["rootfs"]["diff_ids"]
            check("skopeo's docker-archive: its layers are the OCI layout's, uncompressed (the diff_ids)",
                  [l[0] for l in refs[0].layers] == diff_ids and {l[1] for l in refs[0].layers} == {"none"})
        check_good(name, path, e, refs=refs)
        runs[name] = check_good(name + " (RTX 5090)", path, e, targets=["--gpu", "RTX 5090"], refs=refs)
    verdicts = {}
    for name, r in runs.items():
        path = os.path.join(tmp, imgs[name]["path"])
        verdicts[name] = {suffix(f, path): [v["status"] for v in f.get("verdicts", [])] for f in r.files(path)}
    v = list(verdicts.values())
    check(f"umoci's layout and skopeo's two tarballs: the same files and verdicts ({len(v)})",
          len(v) == 3 and v[0] == v[1] == v[2] and len(v[0]) == 4)


def main():
    global MLGATE, LIMIT
    if len(sys.argv) < 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    MLGATE, fx = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tools = "--real-tools" in sys.argv[3:]
    LIMIT = (1024 if sanitized(MLGATE) else 256) << 10          # KiB, as ru_maxrss
    if zstandard is None and not shutil.which("zstd"):
        print("FAIL no zstd reader: tests/requirements.txt's zstandard (or the zstd command) is needed")
        return 1
    if tools and not (shutil.which("umoci") and shutil.which("skopeo")):
        print("umoci or skopeo not installed: skipped (scripts/deps.sh test installs them as root)")
        return 77
    tmp = tempfile.mkdtemp(prefix="mlgate-images-")
    try:
        mk = subprocess.run([sys.executable, MAKE, tmp, fx, "--set", "tools" if tools else "core"],
                            capture_output=True, text=True, timeout=300)
        check(f"make_images.py builds the images: {mk.stderr.strip()[-300:]}", mk.returncode == 0)
        if mk.returncode != 0:
            return result()
        with open(os.path.join(tmp, "catalog.json")) as f:
            cat = json.load(f)
        probe = mlgate(["scan", "--gpu", "H100", os.path.join(tmp, "pytorch-like.oci" if not tools else "umoci.oci")])
        if "not supported yet" in probe.out + probe.err:
            print("note: this mlgate says images are 'not supported yet': the checks below fail until they are")
        if tools:
            real_tools(tmp, cat)
        else:
            good_images(tmp, cat, fx)
            hostile_images(tmp, cat, fx)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        check(f"every run's peak RSS (getrusage RUSAGE_CHILDREN): {peak >> 10} MiB < {LIMIT >> 10} MiB", peak < LIMIT)
    finally:
        if os.environ.get("MLGATE_KEEP_IMAGES"):
            print("images kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return result()


if __name__ == "__main__":
    sys.exit(main())
