#!/usr/bin/env python3
"""probe_real_test.py - mlgate-probe against real engines, run from a root file system that holds
nothing but the probe (chroot into an empty directory: no /etc, no libraries, no resolver), as in a
distroless image: llama.cpp's llama-server serving a GGUF written here (as real_test.py does) and
Debian's espeak-ng behind tests/engines/tts_espeak.py, loud and silent. Then llama-server is stopped
and the probe must say so (exit 1).
usage: probe_real_test.py MLGATE-PROBE   (exit 77 when neither engine is here; not root or no chroot:
the probe runs from the host's root instead, and says so)
"""
import os, shutil, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
import engines  # noqa: E402
from checks import check, result, wait_up  # noqa: E402


def main():
    probe = os.path.abspath(sys.argv[1])
    server, have_espeak = engines.find()
    if not server and not have_espeak:
        print(engines.SKIPPED)
        return 77
    chroot = shutil.which("chroot") if os.geteuid() == 0 else None
    d = tempfile.mkdtemp(prefix="mlgate-probe-real-")
    root = os.path.join(d, "root")
    os.mkdir(root)
    shutil.copy(probe, os.path.join(root, "mlgate-probe"))
    if not chroot:
        print("not root (or no chroot): the probe runs from this root file system, not an empty one")

    def run(*args):
        argv = ([chroot, root, "/mlgate-probe"] if chroot else [probe]) + list(args)
        t0 = time.time()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={} if chroot else None)
        print(f"  {r.returncode} {time.time() - t0:.2f}s {r.stdout.strip()} {r.stderr.strip()}")
        return r.returncode, r.stdout, r.stderr

    procs = []
    try:
        if have_espeak:
            ports = {}
            for name in ("loud", "mute"):
                proc, ports[name] = engines.start_espeak(silent=name == "mute")
                procs.append(proc)
            ok = all(wait_up(f"http://127.0.0.1:{p}/v1/models", 30) for p in ports.values())
            check("the espeak-ng endpoints came up", ok)
            rc, out, _ = run("--kind", "tts", f"http://localhost:{ports['loud']}/v1", "--model", "espeak-ng",
                             "--timeout", "20s")
            check(f"espeak-ng speech: exit 0, a real streamed WAV ({out.strip()})", rc == 0 and out.startswith("ok tts")
                  and "WAV" in out)
            rc, out, _ = run("--kind", "tts", f"http://127.0.0.1:{ports['mute']}/v1", "--timeout", "20s")
            check(f"espeak-ng at volume 0: exit 1, silence ({out.strip()})", rc == 1 and "silence" in out)
        if server:
            llama, port, gguf = engines.start_llama(server, d)
            procs.append(llama)
            check("llama-server came up", wait_up(f"http://127.0.0.1:{port}/health", 120))
            for url in (f"http://127.0.0.1:{port}/v1", f"http://localhost:{port}/v1"):
                rc, out, _ = run("--kind", "llm", url, "--model", "tiny", "--timeout", "60s")
                check(f"llama-server at {url}: exit 0, a real completion ({out.strip()})",
                      rc == 0 and out.startswith(f"ok llm {url} ") and ': "' in out)
            rc, out, _ = run("--kind", "embedding", f"http://127.0.0.1:{port}/v1", "--timeout", "30s")
            check(f"llama-server without --embeddings, asked for a vector: exit 1 ({out.strip()})",
                  rc == 1 and out.startswith("FAIL embedding"))
            llama.terminate()
            llama.wait(10)
            rc, out, _ = run("--kind", "llm", f"http://127.0.0.1:{port}/v1", "--timeout", "5s")
            check(f"llama-server stopped: exit 1, refused ({out.strip()})", rc == 1 and "Connection refused" in out)
        check(f"the root held only the probe: {os.listdir(root)}", os.listdir(root) == ["mlgate-probe"])
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)
    return result()


if __name__ == "__main__":
    sys.exit(main())
