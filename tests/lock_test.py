#!/usr/bin/env python3
"""lock_test.py - `mlgate lock` and `mlgate drift` through the command, over the committed nvcc fixtures.

usage: lock_test.py MLGATE FIXTURES FAKE_NVML
Locks a directory of CUDA libraries, a fake site-packages (a CUDA torch, dist-infos) and two model files, checks the
lock against references (hashlib's sha256, the gguf package's data offset, the safetensors header length), that it
is byte-identical when made again, then changes one thing at a time - a library replaced by one without the GPU's
code, torch replaced by a CPU build, a package bumped, a file removed, a model's header touched, its weights touched,
another driver, other GPUs (the fake NVML) - and checks drift's lines, JSON and exit codes; then hostile lock files,
usage errors, a matrix's lock and the gate's smoke stage failing on drift.
"""
import hashlib, json, os, re, shutil, struct, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, result  # noqa: E402


def run(mlgate, *args, cwd=None, env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("MLGATE_NVML", "FAKE_NVML_SCENARIO")}
    e.update(env or {})
    p = subprocess.run([mlgate, *args], capture_output=True, text=True, cwd=cwd, env=e, timeout=120)
    return p.returncode, p.stdout, p.stderr


def sha256(path, n=None):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read() if n is None else f.read(n)).hexdigest()


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


SITE = "venv/lib/python3.12/site-packages"


def make_state(d, fx):
    """bin/ (libfish.so: sm_120 SASS; libptx.so: PTX ISA 8.8 only), a venv with a CUDA torch and dist-infos, models/."""
    os.makedirs(f"{d}/bin")
    shutil.copy(f"{fx}/sass_100a_120.o", f"{d}/bin/libfish.so")
    shutil.copy(f"{fx}/ptx88_120.o", f"{d}/bin/libptx.so")
    sp = f"{d}/{SITE}"
    write(f"{sp}/torch/version.py", "__version__ = '2.9.1+cu128'\ncuda = '12.8'\n")
    os.makedirs(f"{sp}/torch/lib")
    shutil.copy(f"{fx}/mix_100a_120f.o", f"{sp}/torch/lib/libtorch_cuda.so")   # sm_100a, sm_120f, compute_120f
    for dist in ("torch-2.9.1+cu128", "requests-2.32.3", "Jinja2-3.1.4", "numpy-2.1.0"):
        write(f"{sp}/{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {dist.split('-')[0]}\n")
    os.makedirs(f"{d}/models")
    shutil.copy(f"{fx}/tiny.gguf", f"{d}/models/tiny.gguf")
    shutil.copy(f"{fx}/tiny.safetensors", f"{d}/models/tiny.safetensors")


LOCK = ["lock", "--gpu", "RTX 5090", "--driver", "580", "bin", "venv", "-m", "models/tiny.gguf",
        "-m", "models/tiny.safetensors"]


def drift_lines(out):
    return [line for line in out.splitlines() if line[:1] in "! "]


def the_lock(mlgate, d):
    rc, out, err = run(mlgate, *LOCK, "-o", "a.lock", cwd=d)
    check(f"lock: exit 0 ({err.strip()[:200]})", rc == 0)
    check("lock: says what it wrote", "wrote a.lock: 1 GPU, 3 files with CUDA code (0 failing somewhere), "
          "1 Python environment (4 packages), 2 model files" in err)
    with open(f"{d}/a.lock") as f:
        text = f.read()
    lk = json.loads(text)
    check("lock_version 1", lk["lock_version"] == 1 and list(lk)[:5] == ["lock_version", "mlgate", "inputs", "host",
                                                                         "binaries"])
    check("inputs: what drift collects again", lk["inputs"]["paths"] == ["bin", "venv"] and
          lk["inputs"]["models"] == ["models/tiny.gguf", "models/tiny.safetensors"] and lk["inputs"]["gpus"] == "RTX 5090"
          and lk["inputs"]["driver"] == "580" and lk["inputs"]["hash_models"] is False)
    check("host: the given GPU", lk["host"]["source"] == "given" and lk["host"]["driver"] == "580" and
          lk["host"]["gpus"] == [{"name": "RTX 5090", "uuid": None, "cc": "12.0", "index": None}] and
          lk["host"]["kernel"] == os.uname().release)
    paths = [b["path"] for b in lk["binaries"]]
    check(f"binaries: every file with CUDA code, sorted ({paths})",
          paths == ["bin/libfish.so", "bin/libptx.so", f"{SITE}/torch/lib/libtorch_cuda.so"])
    check("binaries: sha256 and size as hashlib and stat say",
          all(b["sha256"] == sha256(f"{d}/{b['path']}") and b["size"] == os.path.getsize(f"{d}/{b['path']}")
              for b in lk["binaries"]))
    v = {b["path"]: b["verdicts"][0] for b in lk["binaries"]}
    check("binaries: a verdict per GPU", v["bin/libfish.so"] == {"gpu": "RTX 5090", "status": "native", "need_isa": None}
          and v["bin/libptx.so"] == {"gpu": "RTX 5090", "status": "jit", "need_isa": "8.8"})
    pk = lk["python"][0]["packages"]
    check("python: the site-packages and its dist-infos, names normalised and sorted",
          lk["python"][0]["path"] == SITE and [(p["name"], p["version"]) for p in pk] ==
          [("jinja2", "3.1.4"), ("numpy", "2.1.0"), ("requests", "2.32.3"), ("torch", "2.9.1+cu128")])
    m = {x["path"]: x for x in lk["models"]}
    try:
        import gguf
        off = gguf.GGUFReader(f"{d}/models/tiny.gguf").data_offset
    except ImportError:
        off = 512   # tests/fixtures/build_models.py wrote it with a 512-byte header
    check(f"models: a GGUF's header digest covers its metadata and tensor table ({off} bytes)",
          m["models/tiny.gguf"]["header_bytes"] == off and
          m["models/tiny.gguf"]["header_sha256"] == sha256(f"{d}/models/tiny.gguf", off) and
          m["models/tiny.gguf"]["sha256"] is None)
    with open(f"{d}/models/tiny.safetensors", "rb") as f:
        n = 8 + struct.unpack("<Q", f.read(8))[0]
    check("models: a safetensors file's, its length and JSON header",
          m["models/tiny.safetensors"]["header_bytes"] == n and
          m["models/tiny.safetensors"]["header_sha256"] == sha256(f"{d}/models/tiny.safetensors", n))
    check("no timestamp in the lock", "created" not in text and "20" + "26-" not in text)
    # deterministic: again, in another order, on stdout
    rc, out, err = run(mlgate, "lock", "-m", "models/tiny.safetensors", "--driver", "580", "venv/", "bin", "-m",
                       "models/tiny.gguf", "--gpu", "RTX 5090", "-j", "1", cwd=d)
    check("the same state locked again (other order, one thread, to stdout): byte-identical", rc == 0 and out == text)
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check(f"drift right after: exit 0, no drift ({out.strip()})", rc == 0 and out == "no drift since a.lock\n")
    rc, out, err = run(mlgate, "drift", "--json", "a.lock", cwd=d)
    j = json.loads(out)
    check("drift --json: ok, no changes", rc == 0 and j["command"] == "drift" and j["ok"] is True and
          j["changes"] == [] and j["matters"] == 0)
    return text


def changes(mlgate, d, fx):
    sp = f"{d}/{SITE}"
    # a library replaced by one without the GPU's code
    shutil.copy(f"{d}/bin/libfish.so", f"{d}/libfish.bak")
    shutil.copy(f"{fx}/libtwo.so", f"{d}/bin/libfish.so")
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check(f"libfish.so replaced: exit 1 ({rc})", rc == 1)
    check("... one line, marked as mattering", drift_lines(out) == ["! bin/libfish.so sha256 changed: sm_120 no longer covered"])
    rc, out, err = run(mlgate, "drift", "--json", "a.lock", cwd=d)
    c = json.loads(out)["changes"]
    check("... --json: {kind, subject, before, after, matters, verdict_change}", rc == 1 and len(c) == 1 and
          c[0]["kind"] == "binary_changed" and c[0]["subject"] == "bin/libfish.so" and c[0]["matters"] is True and
          c[0]["before"] == sha256(f"{d}/libfish.bak") and c[0]["after"] == sha256(f"{d}/bin/libfish.so") and
          c[0]["verdict_change"] == "sm_120 no longer covered")
    shutil.copy(f"{d}/libfish.bak", f"{d}/bin/libfish.so")
    # torch replaced by a CPU-only build (its CUDA library gone)
    os.rename(f"{sp}/torch-2.9.1+cu128.dist-info", f"{sp}/torch-2.10.0+cpu.dist-info")
    write(f"{sp}/torch/version.py", "__version__ = '2.10.0+cpu'\ncuda = None\n")
    os.rename(f"{sp}/torch/lib/libtorch_cuda.so", f"{d}/libtorch_cuda.bak")
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check(f"torch 2.10.0+cpu: exit 1 ({out.strip()})", rc == 1 and drift_lines(out) ==
          [f"! {SITE}/torch/lib/libtorch_cuda.so removed", "! torch 2.9.1+cu128 -> 2.10.0+cpu: CUDA gone"])
    rc, out, err = run(mlgate, "drift", "--json", "a.lock", cwd=d)
    t = [x for x in json.loads(out)["changes"] if x["kind"] == "package_changed"]
    check("... the package's change in JSON", len(t) == 1 and t[0]["subject"] == "torch" and t[0]["in"] == SITE and
          t[0]["before"] == "2.9.1+cu128" and t[0]["after"] == "2.10.0+cpu" and t[0]["verdict_change"] == "CUDA gone")
    os.rename(f"{sp}/torch-2.10.0+cpu.dist-info", f"{sp}/torch-2.9.1+cu128.dist-info")
    write(f"{sp}/torch/version.py", "__version__ = '2.9.1+cu128'\ncuda = '12.8'\n")
    os.rename(f"{d}/libtorch_cuda.bak", f"{sp}/torch/lib/libtorch_cuda.so")
    # a package bumped: said, not mattering
    os.rename(f"{sp}/requests-2.32.3.dist-info", f"{sp}/requests-2.32.4.dist-info")
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check(f"requests bumped: exit 0, one line not marked ({out.strip()})", rc == 0 and
          drift_lines(out) == ["  requests 2.32.3 -> 2.32.4"] and "1 change since a.lock: 0 matter" in out)
    rc, out, err = run(mlgate, "drift", "-q", "a.lock", cwd=d)
    check("... -q leaves it out", rc == 0 and drift_lines(out) == [])
    os.rename(f"{sp}/requests-2.32.4.dist-info", f"{sp}/requests-2.32.3.dist-info")
    # a file removed
    os.rename(f"{d}/bin/libptx.so", f"{d}/libptx.bak")
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check(f"libptx.so removed: exit 1 ({out.strip()})", rc == 1 and drift_lines(out) == ["! bin/libptx.so removed"])
    os.rename(f"{d}/libptx.bak", f"{d}/bin/libptx.so")
    # a model's header touched (same size)
    with open(f"{d}/models/tiny.gguf", "rb") as f:
        orig = f.read()
    at = orig.index(b"llama")
    with open(f"{d}/models/tiny.gguf", "wb") as f:
        f.write(orig[:at] + b"L" + orig[at + 1:])
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check(f"the GGUF's metadata touched: exit 1 ({out.strip()})", rc == 1 and
          drift_lines(out) == ["! model models/tiny.gguf header changed"])
    # its weights touched: not seen without --hash-models, seen with it
    with open(f"{d}/models/tiny.gguf", "wb") as f:
        f.write(orig[:-1] + bytes([orig[-1] ^ 0xff]))
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check("the GGUF's last weight byte touched: the header is the same, no drift", rc == 0 and drift_lines(out) == [])
    with open(f"{d}/models/tiny.gguf", "wb") as f:
        f.write(orig)
    rc, out, err = run(mlgate, *LOCK, "--hash-models", "-o", "h.lock", cwd=d)
    lk = json.loads(open(f"{d}/h.lock").read())
    check("--hash-models: the sha256 of the whole file", rc == 0 and lk["inputs"]["hash_models"] is True and
          all(m["sha256"] == sha256(f"{d}/{m['path']}") for m in lk["models"]))
    with open(f"{d}/models/tiny.gguf", "wb") as f:
        f.write(orig[:-1] + bytes([orig[-1] ^ 0xff]))
    rc, out, err = run(mlgate, "drift", "h.lock", cwd=d)
    check(f"... and drift then sees the weights ({out.strip()})", rc == 1 and
          drift_lines(out) == ["! model models/tiny.gguf sha256 changed (same header: the weights differ)"])
    with open(f"{d}/models/tiny.gguf", "wb") as f:
        f.write(orig)
    # another driver: the PTX no longer JITs
    rc, out, err = run(mlgate, "drift", "--driver", "570", "a.lock", cwd=d)
    check(f"--driver 570: exit 1 ({out.strip()})", rc == 1 and
          drift_lines(out) == ["! driver 580 -> 570: PTX ISA 8.8 no longer JITs, sm_120 no longer covered (bin/libptx.so, "
                               f"{SITE}/torch/lib/libtorch_cuda.so)"])
    rc, out, err = run(mlgate, "drift", "a.lock", cwd=d)
    check("everything put back: no drift", rc == 0 and drift_lines(out) == [])


def wheel(mlgate, d, fx):
    whl = "tiny-0.1-cp311-cp311-linux_x86_64.whl"
    os.makedirs(f"{d}/wheels")
    shutil.copy(f"{fx}/{whl}", f"{d}/wheels/{whl}")
    rc, out, err = run(mlgate, "lock", "--gpu", "H100", "wheels", cwd=d)
    b = json.loads(out)["binaries"] if rc == 0 else []
    check("a wheel's members are locked by name, with the wheel's sha256", rc == 0 and
          [x["path"] for x in b] == [f"wheels/{whl}!tiny/libpartial.so", f"wheels/{whl}!tiny/stored_90a.o"] and
          all(x["sha256"] == sha256(f"{d}/wheels/{whl}") for x in b))


def gpus(mlgate, d, fake_nvml):
    env = {"MLGATE_NVML": fake_nvml, "FAKE_NVML_SCENARIO": "pro6000_5090"}
    rc, out, err = run(mlgate, "lock", "bin", "venv", "-o", "g.lock", cwd=d, env=env)
    lk = json.loads(open(f"{d}/g.lock").read())
    h = lk["host"]
    check("lock on this machine (the fake NVML): its GPUs with UUIDs, driver, CUDA driver", rc == 0 and
          h["source"] == "detected" and h["backend"] == "nvml" and h["driver"] == "580.95.05" and
          h["cuda_driver"] == "13.0" and [(g["name"], g["uuid"], g["cc"], g["index"]) for g in h["gpus"]] ==
          [("GPU0 RTX PRO 6000 Blackwell", "GPU-11111111-2222-3333-4444-555555555555", "12.0", 0),
           ("GPU1 RTX 5090", "GPU-66666666-7777-8888-9999-000000000000", "12.0", 1)] and lk["inputs"]["gpus"] is None)
    rc, out, err = run(mlgate, "drift", "g.lock", cwd=d, env=env)
    check("drift on the same machine: exit 0", rc == 0 and drift_lines(out) == [])
    rc, out, err = run(mlgate, "drift", "g.lock", cwd=d, env=dict(env, FAKE_NVML_SCENARIO="h200"))
    lines = drift_lines(out)
    check(f"drift on an H200 machine: both GPUs removed, the H200 added with what does not run on it ({lines})",
          rc == 1 and len(lines) == 3 and
          lines[0] == "! GPU removed: GPU0 RTX PRO 6000 Blackwell (sm_120, GPU-11111111-2222-3333-4444-555555555555)" and
          lines[1] == "! GPU removed: GPU1 RTX 5090 (sm_120, GPU-66666666-7777-8888-9999-000000000000)" and
          lines[2].startswith("! GPU added: GPU0 H200 (sm_90, GPU-0123abcd-0000-1111-2222-333333333333): 3 things do not "
                              "run on it (bin/libfish.so: none, bin/libptx.so: none and 1 more)"))
    rc, out, err = run(mlgate, "drift", "--json", "g.lock", cwd=d, env=dict(env, FAKE_NVML_SCENARIO="1080ti"))
    c = {x["kind"]: x for x in json.loads(out)["changes"]}
    check("drift on a GTX 1080 Ti with driver 575: the driver and CUDA driver lines, not mattering themselves",
          rc == 1 and c["driver"]["before"] == "580.95.05" and c["driver"]["after"] == "575.64.03" and
          c["cuda_driver"]["before"] == "13.0" and c["cuda_driver"]["after"] == "12.9" and not c["cuda_driver"]["matters"])
    rc, out, err = run(mlgate, "drift", "--gpu", "RTX 5090,RTX PRO 6000", "g.lock", cwd=d, env=env)
    check("drift --gpu names other GPUs than the lock's: they are compared by name", rc == 1 and
          "! GPU removed: GPU0 RTX PRO 6000 Blackwell" in out and "  GPU added: RTX 5090 (sm_120)" in out)


def hostile(mlgate, d):
    with open(f"{d}/a.lock") as f:
        text = f.read()
    bad = {
        "cut.lock": text[: len(text) // 2],
        "types.lock": re.sub(r'"size": (\d+)', r'"size": "\1"', text, count=1),
        "v2.lock": text.replace('"lock_version": 1', '"lock_version": 2'),
        "deep.lock": "[" * 5000 + "]" * 5000,
        "empty.lock": "",
        "yaml.lock": "host: {}\n",
    }
    want = {"cut.lock": "not a lock file: unexpected end of input", "types.lock": "binaries[0]: \"size\" must be a whole number",
            "v2.lock": "lock_version 2 is not 1", "deep.lock": "nested too deep", "empty.lock": "unexpected end of input at offset 0", "yaml.lock": "not a lock file"}
    for name, body in bad.items():
        write(f"{d}/{name}", body)
        rc, out, err = run(mlgate, "drift", name, cwd=d)
        check(f"drift {name}: exit 2, said ({err.strip()[:160]})", rc == 2 and err.startswith(f"mlgate drift: {name}") and
              want[name] in err)
        rc, out, err = run(mlgate, "drift", "--json", name, cwd=d)
        j = json.loads(out) if out.startswith("{") else {}
        check(f"drift --json {name}: the JSON error", rc == 2 and j.get("command") == "drift" and j.get("ok") is False)
    with open(f"{d}/huge.lock", "wb") as f:   # past the 64 MiB cap: refused unread (sparse)
        f.truncate((64 << 20) + 1)
    rc, out, err = run(mlgate, "drift", "huge.lock", cwd=d)
    check(f"a lock over 64 MiB: exit 2 ({err.strip()[:100]})", rc == 2 and "huge.lock" in err)
    os.mkdir(f"{d}/shared")
    os.chmod(f"{d}/shared", 0o1777)
    rc, out, err = run(mlgate, "lock", "--gpu", "H100", "bin", "-o", "shared/x.lock", cwd=d)
    check(f"lock -o into a directory every user can write: refused ({err.strip()[:120]})", rc == 2 and
          "writable by every user" in err and not os.path.exists(f"{d}/shared/x.lock"))
    rc, out, err = run(mlgate, "lock", "--gpu", "H100", "bin", "-o", "shared/x.lock", "--allow-shared-dir", cwd=d)
    check("... written with --allow-shared-dir", rc == 0 and json.load(open(f"{d}/shared/x.lock"))["lock_version"] == 1)
    os.mkfifo(f"{d}/fifo.lock")
    rc, out, err = run(mlgate, "drift", "fifo.lock", cwd=d)
    check("a FIFO: exit 2 at once, not a hang", rc == 2 and "not a regular file" in err)
    for args, what in ((["drift"], "no LOCK"), (["drift", "a.lock", "b.lock"], "one LOCK"), (["lock"], "no MATRIX"),
                       (["drift", "--gpu", "RTX 9999", "a.lock"], "RTX 9999"), (["lock", "--threads", "0", "bin"], "--threads"),
                       (["lock", "-o", "/nonexistent/dir/x.lock", "bin"], "does not exist"),
                       (["drift", "no-such.lock"], "no-such.lock"),
                       (["lock", "bin", "no-such-dir"], "no-such-dir: no such file or directory"),
                       (["lock", "-m", "models/no-such.gguf", "bin"], "models/no-such.gguf: no such file"),
                       (["lock", "no-such.yaml"], "no-such.yaml")):
        rc, out, err = run(mlgate, *args, cwd=d)
        check(f"{' '.join(args)}: exit 2 ({err.strip().splitlines()[0][:120] if err.strip() else ''})", rc == 2 and
              what in err)


def matrix_and_gate(mlgate, d, fx):
    write(f"{d}/m.yaml", f"""host:
  gpus: RTX 5090
  lock: {d}/m.lock
models:
  - name: fish
    kind: llm
    exec: [/bin/echo, OK]
    probe: {{expect: OK}}
    binaries: [{d}/bin]
    file: {d}/models/tiny.gguf
  - name: other
    kind: llm
    exec: [/bin/echo, OK]
    probe: {{expect: OK}}
""")
    rc, out, err = run(mlgate, "lock", "--driver", "580", "m.yaml", "-o", "m.lock", cwd=d)
    lk = json.loads(open(f"{d}/m.lock").read())
    check(f"lock MATRIX: its binaries and files, against its GPUs ({err.strip()[:200]})", rc == 0 and
          lk["inputs"]["matrix"] == "m.yaml" and lk["inputs"]["paths"] == [f"{d}/bin"] and
          lk["inputs"]["models"] == [f"{d}/models/tiny.gguf"] and lk["inputs"]["gpus"] == "RTX 5090" and
          [b["path"] for b in lk["binaries"]] == [f"{d}/bin/libfish.so", f"{d}/bin/libptx.so"])
    rc, out, err = run(mlgate, "check", "--json", "m.yaml", "--metrics", f"{d}/m.prom", cwd=d)
    j = json.loads(out)
    check(f"check with host: lock: and no drift: every model passes ({rc})", rc == 0 and all(m["ok"] for m in j["models"]))
    prom = open(f"{d}/m.prom").read()
    check("... mlgate_drift 0 in the metrics", "mlgate_drift 0\n" in prom and
          'mlgate_drift_changes{matters="true"} 0' in prom)
    shutil.copy(f"{fx}/libtwo.so", f"{d}/bin/libfish.so")
    rc, out, err = run(mlgate, "check", "--json", "m.yaml", "--metrics", f"{d}/m.prom", cwd=d)
    j = {m["name"]: m for m in json.loads(out)["models"]}
    smoke = j["fish"]["stages"]["smoke"]
    check(f"drift that matters fails the smoke stage of the model it is about, listing it ({smoke['reason'][:200]})",
          rc == 1 and not smoke["ok"] and smoke["reason"].startswith(
              f"drift since the lock: {d}/bin/libfish.so sha256 changed: sm_120 no longer covered"))
    check("... and not the other model's", j["other"]["ok"] is True)
    prom = open(f"{d}/m.prom").read()
    check("... mlgate_drift 1", "mlgate_drift 1\n" in prom and 'mlgate_drift_changes{matters="true"} 1' in prom)
    shutil.copy(f"{d}/libfish.bak", f"{d}/bin/libfish.so")
    write(f"{d}/m.lock", "{")
    rc, out, err = run(mlgate, "check", "--json", "m.yaml", cwd=d)
    j = {m["name"]: m for m in json.loads(out)["models"]}
    check("a lock that cannot be read fails every model's smoke stage, saying why", rc == 1 and
          all(j[n]["stages"]["smoke"]["reason"].startswith(f"lock {d}/m.lock: {d}/m.lock: not a lock file") for n in j))


def images(mlgate, d, fx):
    """A container image is locked by digest; a changed image is drift that matters."""
    import tarfile
    os.makedirs(f"{d}/img", exist_ok=True)
    def rootfs(lib):
        with tarfile.open(f"{d}/img/app.tar", "w") as t:
            t.add(os.path.join(fx, lib), arcname="usr/lib/libapp.so")
    rootfs("libtwo.so")
    rc, out, err = run(mlgate, "lock", "--gpu", "H100", "img/app.tar", "-o", "i.lock", cwd=d)
    lk = json.load(open(f"{d}/i.lock"))
    want = "sha256:" + sha256(f"{d}/img/app.tar")
    check(f"an image is locked by digest: a flat tar by its layer's ({lk.get('images')})",
          rc == 0 and lk.get("images") == [{"path": "img/app.tar", "digest": want}])
    check("its files carry no sha256 of their own",
          [b["sha256"] for b in lk["binaries"] if b["path"].startswith("img/app.tar!")] == [None])
    rc, out, err = run(mlgate, "drift", "i.lock", cwd=d)
    check(f"the same image: no drift ({out.strip()})", rc == 0 and "no drift" in out)
    rootfs("sass_90.o")
    rc, out, err = run(mlgate, "drift", "i.lock", cwd=d)
    check(f"another image: its digest changed, exit 1 ({out.strip()[:200]})",
          rc == 1 and "image img/app.tar digest changed" in out)


def main():
    mlgate, fx, fake_nvml = sys.argv[1], sys.argv[2], sys.argv[3]
    mlgate = os.path.abspath(mlgate)
    with tempfile.TemporaryDirectory() as d:
        make_state(d, fx)
        the_lock(mlgate, d)
        changes(mlgate, d, fx)
        wheel(mlgate, d, fx)
        gpus(mlgate, d, fake_nvml)
        hostile(mlgate, d)
        matrix_and_gate(mlgate, d, fx)
        images(mlgate, d, fx)
    return result()


if __name__ == "__main__":
    sys.exit(main())
