#!/usr/bin/env python3
"""st-header.py - `mlgate inspect` on 10 MB and 100 MB safetensors headers: wall time and peak RSS of the
whole process (GNU time's %M), best of RUNS, for each binary given (e.g. one built before the tokenizer, one
after). Three headers the reference reader accepts: an unknown field holding an array of small numbers
(a JSON tree's worst case), real-looking tensor entries, one long __metadata__ string. Asserts nothing.

usage: bench/st-header.py RUNS MLGATE [MLGATE ...]
"""
import os, struct, subprocess, sys, tempfile, time


def numbers(target):
    pre = b'{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4],"x":['
    post = b'0]}}'
    return pre + b"0," * ((target - len(pre) - len(post)) // 2) + post, 4


def tensors(target):
    parts, size, i = [], 1, 0
    while size < target - 200:
        e = b'"model.layers.%d.mlp.down_proj.weight":{"dtype":"F16","shape":[2,2],"data_offsets":[%d,%d]}' % (
            i, 8 * i, 8 * i + 8)
        parts.append(e)
        size += len(e) + 1
        i += 1
    return b"{" + b",".join(parts) + b"}", 8 * i


def metadata(target):
    pre = b'{"__metadata__":{"format":"pt","blob":"'
    post = b'"},"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}'
    return pre + b"x" * (target - len(pre) - len(post)) + post, 4


def write(path, header, data):
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        f.truncate(8 + len(header) + data)


def run(mlgate, path):
    """Seconds and peak RSS (MiB) of one `mlgate inspect PATH`, through GNU time: a child's ru_maxrss
    counts the memory of the process it was forked from, and this one has held 100 MB headers."""
    with tempfile.NamedTemporaryFile("r") as out:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-o", out.name, "-f", "%M", mlgate, "inspect", path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        secs = time.perf_counter() - t0
        kb = int(out.read().split()[-1])
    return secs, kb / 1024, "" if p.returncode == 0 else "exit %d" % p.returncode


def generate(path, make, size):
    """In a child process, so that this one stays small."""
    pid = os.fork()
    if pid == 0:
        write(path, *make(size))
        os._exit(0)
    os.waitpid(pid, 0)


def main():
    runs, binaries = int(sys.argv[1]), sys.argv[2:]
    d = tempfile.mkdtemp(prefix="mlgate-st-bench-")
    print(f"{'header':40} {'binary':34} {'time':>9} {'peak RSS':>11}")
    for name, make in (("array of numbers", numbers), ("tensor entries", tensors), ("one metadata string", metadata)):
        for mb in (10, 100):
            path = os.path.join(d, f"{name.replace(' ', '_')}_{mb}.safetensors")
            generate(path, make, mb * 1000 * 1000)
            for b in binaries:
                best = min((run(b, path) for _ in range(runs)), key=lambda r: r[0])
                label = f"{mb} MB, {name}"
                print(f"{label:40} {b[-34:]:34} {best[0]:8.2f}s {best[1]:8.1f} MiB {best[2]}")
            os.unlink(path)
    os.rmdir(d)


if __name__ == "__main__":
    main()
