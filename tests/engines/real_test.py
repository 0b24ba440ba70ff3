#!/usr/bin/env python3
"""real_test.py - `mlgate check` against real engines on loopback: llama.cpp's llama-server serving a
GGUF written here (random weights, a real 32,000-token SentencePiece-style vocabulary; built by
tests/llama/build.sh) and speech from Debian's espeak-ng (tests/engines/tts_espeak.py, streamed
WAV). Then the llama-server is stopped and the gate must fail it at "up" and disable its capability.
usage: real_test.py MLGATE    (exit 77 when neither engine is here)
"""
import json, os, shutil, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
import engines  # noqa: E402
from checks import check, result, wait_up  # noqa: E402


def main():
    mlgate = sys.argv[1]
    server, have_espeak = engines.find()
    have_llama = server is not None
    if not have_llama and not have_espeak:
        print(engines.SKIPPED)
        return 77
    d = tempfile.mkdtemp(prefix="mlgate-real-")
    procs, models = [], []
    caps = os.path.join(d, "caps.json")
    if have_espeak:
        for name in ("espeak", "espeak-mute"):
            proc, port = engines.start_espeak(silent=name == "espeak-mute")
            procs.append(proc)
            models.append(f"  - {{name: {name}, kind: tts, endpoint: 'http://127.0.0.1:{port}/v1', model: espeak-ng, "
                          f"capability: voice.{name}, timeout: 20s}}\n")
        models.append("  - {name: espeak-exec, kind: tts, exec: [espeak-ng, --stdout, hello], probe: {expect: RIFF}, "
                      "capability: voice.exec}\n")
    llama_port = None
    if have_llama:
        llama, llama_port, gguf = engines.start_llama(server, d)
        procs.append(llama)
        models.append(f"  - {{name: llama, kind: llm, endpoint: 'http://127.0.0.1:{llama_port}/v1', model: tiny, "
                      f"file: '{gguf}', ctx: 512, binaries: ['{os.path.realpath(server)}'], capability: chat.complete, "
                      f"timeout: 60s}}\n")
    mx = os.path.join(d, "m.yaml")
    with open(mx, "w") as f:
        f.write(f"host:\n  vram: 24G\n  capabilities: {caps}\n  receipts: {os.path.join(d, 'r.db')}\nmodels:\n")
        f.writelines(models)
    try:
        ready = all(wait_up(u, 120) for u in
                    ([f"http://127.0.0.1:{llama_port}/health"] if have_llama else []))
        check("llama-server came up", ready or not have_llama)
        time.sleep(0.5)
        r = subprocess.run([mlgate, "check", "--json", mx], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, MLGATE_NVML="/nonexistent"))
        out = {m["name"]: m for m in json.loads(r.stdout)["models"]}
        for m in out.values():
            print(f"  {m['name']:12} ok={m['ok']} {m['output']!r} "
                  + " ".join(f"{k}:{v['ok']}:{v['reason']}" for k, v in m["stages"].items() if not v["ok"]))
        if have_espeak:
            check("espeak-ng speech passes: a real, streamed WAV", out["espeak"]["ok"] and "WAV" in out["espeak"]["output"])
            check("espeak-ng at volume 0 fails: silence", not out["espeak-mute"]["ok"] and
                  "silence" in out["espeak-mute"]["stages"]["inference"]["reason"])
            check("espeak-ng as exec passes", out["espeak-exec"]["ok"])
        if have_llama:
            lm = out["llama"]
            check("llama-server: smoke (GGUF read, fits, binary scanned), up and a real completion pass",
                  lm["ok"] and lm["stages"]["smoke"]["ok"] and lm["tokens"] > 0 and lm["output"])
            llama.terminate()
            llama.wait(10)
            r2 = subprocess.run([mlgate, "check", "--json", mx], capture_output=True, text=True, timeout=300,
                                env=dict(os.environ, MLGATE_NVML="/nonexistent"))
            lm2 = {m["name"]: m for m in json.loads(r2.stdout)["models"]}["llama"]
            c = json.load(open(caps))["capabilities"]["chat.complete"]
            check("llama-server stopped: fails at up, capability disabled",
                  r2.returncode == 1 and not lm2["ok"] and lm2["stages"]["up"]["ok"] is False
                  and c["enabled"] is False and c["failed_stage"] == "up")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)
    return result()


if __name__ == "__main__":
    sys.exit(main())
