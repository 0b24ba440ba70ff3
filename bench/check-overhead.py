#!/usr/bin/env python3
"""check-overhead.py - what `mlgate check` itself costs: 20 models against endpoints that answer at
once (the gate's overhead), then the same with one model's inference taking 1 s (the gate should
take about as long as that slowest probe, not the sum).   usage: check-overhead.py MLGATE [RUNS]
"""
import os, statistics, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import check_test  # noqa: E402  (its loopback server)

orig = check_test.H.route


def route(self, body):
    if self.path.startswith("/slow/") and not self.path.endswith("/models"):
        time.sleep(1.0)
        self.path = self.path.replace("/slow/", "/good/", 1)
    return orig(self, body)


check_test.H.route = route


def main():
    mlgate, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
    srv = check_test.Server(("127.0.0.1", 0), check_test.H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    d = tempfile.mkdtemp()
    kinds = ["llm", "vlm", "tts", "embedding", "image", "asr"]
    for name, slow in (("instant", False), ("one slow", True)):
        mx = os.path.join(d, name.replace(" ", "_") + ".yaml")
        with open(mx, "w") as f:
            f.write("models:\n")
            for i in range(20):
                mode = "slow" if slow and i == 0 else "good"
                f.write(f"  - {{name: m{i}, kind: {kinds[i % len(kinds)]}, endpoint: '{base}/{mode}/v1', model: m}}\n")
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = subprocess.run([mlgate, "check", "--no-smoke", mx], capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            assert r.returncode == 0, r.stdout + r.stderr
        med = statistics.median(times)
        print(f"{name:9}: 20 models, median {med * 1000:7.1f} ms over {runs} runs (min {min(times) * 1000:.1f}, "
              f"max {max(times) * 1000:.1f}); {med * 1000 / 20:.2f} ms per model")
    srv.shutdown()


if __name__ == "__main__":
    main()
