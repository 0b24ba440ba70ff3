#!/usr/bin/env python3
"""fit_vs_llama_fit.py - `mlgate fit` against llama.cpp's own fitter (llama-fit-params, `--fit on`) on the GPU
machine: the same models and memory budgets, which placement each picks, what each really takes there and
whether it stays within the budget.

usage: fit_vs_llama_fit.py MLGATE LLAMA_BIN_DIR [NAME-REGEX]
LLAMA_BIN_DIR holds llama-completion and llama-fit-params of a CUDA build (tests/gpu/llama_cuda.sh builds them).
A budget B on a bigger GPU is emulated for llama.cpp by its fit margin: -fitt (free - B) MiB, so that it may
use B; for mlgate by --vram B --headroom 0. Each placement is then run (llama-completion, -fit off, a few
tokens) and its memory taken from llama.cpp's breakdown (total - free of CUDA0: context, cuBLAS and all).
Writes $OUT/fit_vs_llama_fit.json when OUT is set. Exits 1 when mlgate's placement does not fit its budget,
or when it keeps fewer layers (or more expert blocks in RAM) on the GPU than llama.cpp's fitted one that fits.
"""
import json, os, re, shlex, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "llama"))
import compare  # noqa: E402  (exits 77 without gguf/numpy)
from fit_llama_cuda import buffers  # noqa: E402

Q = compare.gguf.GGMLQuantizationType
# name, writer, vocabulary, context, budgets (GiB)
CASES = [
    ("dense: Llama-3.1-8B F16", lambda p: compare.write(p, "llama", 32, 4096, 32, 8, 14336, Q.F16, False),
     128256, 8192, [8, 12]),
    ("moe: qwen3moe 16L x 128 experts Q8_0, experts in RAM",
     lambda p: compare.write(p, "qwen3moe", 16, 2048, 32, 4, 768, Q.Q8_0, False, 0, 128), 151936, 8192, [4, 6]),
    ("mla: DeepSeek-V3-width 6L x 32 experts Q8_0",
     lambda p: compare.write_deepseek2(p, 6, 7168, 128, 1536, 512, 64, 128, 128, 18432, 2048, 32, 8, 1, Q.Q8_0),
     129280, 8192, [4, 8]),
]
MIB = 2**20


def gpu_free_mib():
    r = subprocess.run(["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", "0"],
                       capture_output=True, text=True)
    return int(r.stdout.split()[0])


def llama_fit(bindir, path, ctx, budget_gib):
    """llama-fit-params' arguments for this budget (its stdout's last line), and its log."""
    margin = max(gpu_free_mib() - budget_gib * 1024, 0)
    r = subprocess.run([os.path.join(bindir, "llama-fit-params"), "-m", path, "-c", str(ctx), "-fitt", str(margin)],
                       capture_output=True, text=True, errors="replace", timeout=600)
    lines = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("-")]
    return (shlex.split(lines[-1]) if lines else None), r.stdout + r.stderr


def mlgate_fit(mlgate, path, ctx, budget_gib):
    r = subprocess.run([mlgate, "fit", "--json", "--vram", f"{budget_gib}G", "--headroom", "0", "--ram", "400G",
                        "-c", str(ctx), path], capture_output=True, text=True)
    f = json.loads(r.stdout)
    args = ["-ngl", str(f["ngl"])]
    if f["n_cpu_moe"]:
        args += ["--n-cpu-moe", str(f["n_cpu_moe"])]
    return args, f


def measure(bindir, path, ctx, args):
    """What the placement really takes on GPU 0: total - free in llama.cpp's breakdown, MiB (None: it failed)."""
    r = subprocess.run([os.path.join(bindir, "llama-completion"), "-m", path, "-c", str(ctx), "-n", "2", "-p", "hello",
                        "-t", "8", "--no-warmup", "-no-cnv", "-v", "-fit", "off", "--no-repack"] + args,
                       capture_output=True, text=True, errors="replace", timeout=600)
    got = buffers(r.stdout + r.stderr)
    return (got.get(("gpu", "used")) if not r.returncode else None), r.stdout + r.stderr


def placed(args):
    """(-ngl, expert blocks in RAM) of an argument list; -ot patterns count their distinct blocks."""
    ngl, ncm = 999, 0
    for i, a in enumerate(args):
        if a in ("-ngl", "--n-gpu-layers", "--gpu-layers"):
            ngl = int(args[i + 1])
        elif a == "--n-cpu-moe":
            ncm = int(args[i + 1])
        elif a in ("-ot", "--override-tensor"):
            ncm += len(set(re.findall(r"blk\\\.(\d+)\\\.", args[i + 1])))
    return ngl, ncm


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mlgate, bindir = sys.argv[1], sys.argv[2]
    only = re.compile(sys.argv[3]) if len(sys.argv) > 3 else None
    if not os.access(os.path.join(bindir, "llama-fit-params"), os.X_OK):
        sys.exit(f"no llama-fit-params in {bindir} (tests/gpu/llama_cuda.sh builds it)")
    d = tempfile.mkdtemp(prefix="mlgate-fitcmp-")
    rows, bad = [], 0
    print(f"{'model':52} {'budget':>6} | {'llama.cpp --fit':36} {'used MiB':>8} {'fits':>4} | "
          f"{'mlgate fit':28} {'need':>6} {'used':>6} {'fits':>4}")
    for name, writer, voc, ctx, budgets in CASES:
        if only and not only.search(name):
            continue
        compare.VOCAB = voc
        path = os.path.join(d, "model.gguf")
        writer(path)
        for b in budgets:
            largs, llog = llama_fit(bindir, path, ctx, b)
            margs, f = mlgate_fit(mlgate, path, ctx, b)
            lused = measure(bindir, path, ctx, largs)[0] if largs is not None else None
            mused, mlog = measure(bindir, path, ctx, margs)
            lfits = lused is not None and lused <= b * 1024
            mfits = mused is not None and mused <= b * 1024
            need = f["gpus"][0]["need"] / MIB if f["gpus"] else 0
            lshow = " ".join(largs)[:36] if largs is not None else "(llama-fit-params failed)"
            print(f"{name:52} {b:4} G | {lshow:36} {lused or 0:8.0f} {'yes' if lfits else 'NO':>4} | "
                  f"{' '.join(margs):28} {need:6.0f} {mused or 0:6.0f} {'yes' if mfits else 'NO':>4}", flush=True)
            worse = False
            if largs is not None and lfits:
                (ln, lc), (mn, mc) = placed(largs), placed(margs)
                worse = mn < min(ln, 999) or (mn >= ln and mc > lc)
            bad += (not mfits) + worse
            rows.append({"model": name, "budget_gib": b, "context": ctx,
                         "llama_fit": {"args": largs, "used_mib": lused, "fits": lfits},
                         "mlgate": {"args": margs, "need_mib": need, "used_mib": mused, "fits": mfits,
                                    "worse_than_llama": worse}})
            if os.environ.get("OUT"):
                tag = re.sub(r"\W+", "_", f"{name}_{b}G")
                with open(os.path.join(os.environ["OUT"], tag + ".log"), "w") as fh:
                    fh.write(llog + "\n==== mlgate placement run ====\n" + mlog)
        os.remove(path)
    os.rmdir(d)
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "fit_vs_llama_fit.json"), "w") as fh:
            json.dump(rows, fh, indent=1)
    print(f"{bad} problem(s): mlgate's placement over its budget, or fewer layers / more experts in RAM than a "
          f"fitting llama.cpp placement")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
