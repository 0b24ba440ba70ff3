#!/usr/bin/env python3
"""wheel-memory.py - wall time and peak memory of `mlgate scan` per real wheel (issue 13: bounded
memory, faster inflate), for one mlgate binary or two side by side (before/after a change).

Each scan is `MLGATE scan WHEEL --gpu "RTX 5090" --gpu H100 --json [--threads N]`, run in a fresh
child: one untimed warm-up run (the wheel in the page cache), then RUNS timed runs; seconds is the
best of those, peak RSS the largest ru_maxrss that os.wait4 returns for the child (file-backed pages
of the mmapped wheel included). One more run samples /proc/PID/status every 10 ms for the peaks of
RssAnon (heap: inflated members live there) and RssFile (the mapped wheel); --no-sample skips it.
--heaptrack adds a run under heaptrack (when installed) for the exact peak heap (- without it).

Columns: the wheel, its size, members with CUDA code (summary.files_reported), seconds, peak RSS,
the sampled anon/file peaks, and the verdicts counted per target and status, so that two builds can
be checked to agree. Below the table, each wheel's largest members (what a whole-member inflate holds).

usage: bench/wheel-memory.py [--mlgate BIN] [options] [WHEEL ...]
       bench/wheel-memory.py --before BIN --after BIN [options] [WHEEL ...]
options:
  --threads N        pass --threads N to mlgate (default: mlgate's own, one per CPU)
  --runs N           timed runs per scan (default 3)
  --json-dir DIR     keep each scan's JSON as DIR/WHEEL.json (WHEEL.tN.json with --threads N;
                     with --before/--after, under DIR/before and DIR/after)
  --compare-json DIR compare each scan's JSON with DIR/WHEEL.tN.json (else DIR/WHEEL.json) saved
                     earlier (with --before/--after: the after binary's)
  --no-sample        no /proc sampling run
  --heaptrack        one more run under heaptrack: the peak heap it reports
Wheels default to the newest torch, vllm, sgl_kernel and bitsandbytes in $MLGATE_CORPUS or
~/.cache/mlgate/wheels (bench/corpus.sh downloads them). MLGATE defaults to $MLGATE or build/mlgate.
Reports agree when they hold the same paths and, per path, the same error code and the same verdict
status and reason per target ("seconds" is ignored); "identical" says whether the whole JSON is the
same bytes apart from summary.seconds. Exit 0, or 1 when two reports compared disagree.
"""
import argparse, collections, json, os, re, shutil, subprocess, sys, tempfile, time, zipfile

GPUS = ["RTX 5090", "H100"]
DEFAULT_WHEELS = ["torch", "vllm", "sgl_kernel", "bitsandbytes"]
SAMPLE_S = 0.010
MIB = 1 << 20


def version_key(name):
    """torch-2.15.0-cp311-... -> (2, 15, 0): the newest version of a project sorts last."""
    v = name.split("-")[1] if name.count("-") >= 2 else ""
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.+]", v))


def default_wheels():
    d = os.environ.get("MLGATE_CORPUS") or os.path.expanduser("~/.cache/mlgate/wheels")
    try:
        names = [f for f in os.listdir(d) if f.endswith(".whl")]
    except OSError:
        names = []
    out = []
    for proj in DEFAULT_WHEELS:
        mine = sorted((f for f in names if f.split("-")[0].lower().replace("-", "_") == proj), key=version_key)
        if mine:
            out.append(os.path.join(d, mine[-1]))
        else:
            print(f"wheel-memory: no {proj} wheel in {d} (run bench/corpus.sh)", file=sys.stderr)
    return out


def scan_argv(mlgate, wheel, threads):
    argv = [mlgate, "scan", wheel]
    for g in GPUS:
        argv += ["--gpu", g]
    argv.append("--json")
    if threads:
        argv += ["--threads", str(threads)]
    return argv


def spawn(argv, out_path):
    """Starts argv with stdout to out_path and stderr to out_path + '.err'; returns the pid."""
    fa = [(os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
          (os.POSIX_SPAWN_OPEN, 2, out_path + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
          (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)


def exit_code(status):
    return os.waitstatus_to_exitcode(status)


def timed_run(argv, out_path):
    """One run: (seconds, peak RSS in bytes, exit code), from os.wait4's rusage of that child alone."""
    t = time.perf_counter()
    pid = spawn(argv, out_path)
    _, status, ru = os.wait4(pid, 0)
    secs = time.perf_counter() - t
    return secs, ru.ru_maxrss * 1024, exit_code(status)


def proc_status(pid):
    got = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("RssAnon", "RssFile", "VmHWM"):
                    got[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return got


def sampled_run(argv, out_path):
    """One run polled every SAMPLE_S: peaks of RssAnon and RssFile (bytes), as sampled."""
    pid = spawn(argv, out_path)
    anon = filed = 0
    while True:
        p, status, _ = os.wait4(pid, os.WNOHANG)
        if p:
            break
        s = proc_status(pid)
        anon = max(anon, s.get("RssAnon", 0))
        filed = max(filed, s.get("RssFile", 0))
        time.sleep(SAMPLE_S)
    return anon, filed, exit_code(status)


def heaptrack_run(argv, tmp):
    """One run under heaptrack: the peak heap it reports, in bytes, or None."""
    if not shutil.which("heaptrack") or not shutil.which("heaptrack_print"):
        return None
    base = os.path.join(tmp, "ht")
    for f in os.listdir(tmp):
        if f.startswith("ht."):
            os.unlink(os.path.join(tmp, f))
    with open(os.devnull, "wb") as null:
        subprocess.run(["heaptrack", "-o", base] + argv, stdout=null, stderr=null)
    files = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith("ht.")]
    if not files:
        return None
    p = subprocess.run(["heaptrack_print", files[0]], capture_output=True, text=True)
    m = re.search(r"peak heap memory consumption: ([0-9.]+)([KMGT]?)", p.stdout)
    if not m:
        return None
    return float(m.group(1)) * 1000 ** " KMGT".index(m.group(2) or " ")   # heaptrack's units are 1000-based


def load_json(path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def verdict_counts(rep):
    """{target: Counter(status)} over the files reported; errors counted as 'error'."""
    out = collections.OrderedDict((t["name"], collections.Counter()) for t in rep.get("targets", []))
    for f in rep.get("files", []):
        if f.get("error"):
            for c in out.values():
                c["error"] += 1
            continue
        for v in f.get("verdicts", []):
            out.setdefault(v["target"], collections.Counter())[v["status"]] += 1
    return out


ORDER = ["native", "jit", "partial", "none", "error"]


def verdict_summary(rep):
    parts = []
    for t, c in verdict_counts(rep).items():
        s = " ".join(f"{c[k]} {k}" for k in ORDER if c[k]) or "-"
        parts.append(f"{t}: {s}")
    return "; ".join(parts)


def essence(rep):
    """What must agree: per path, its error code and per target (status, reason)."""
    out = {}
    for f in rep.get("files", []):
        err = f.get("error")
        out[f["path"]] = ((err or {}).get("code"),
                          tuple((v["target"], v["status"], v["reason"]) for v in f.get("verdicts", [])))
    return out


def without_seconds(rep):
    r = json.loads(json.dumps(rep))
    r.get("summary", {}).pop("seconds", None)
    return json.dumps(r, sort_keys=True)


def compare(a, b):
    """(agree, identical, differences as lines) for two scan reports."""
    if a is None or b is None:
        return False, False, ["the " + ("first" if a is None else "second") + " report is missing or not JSON"]
    ea, eb = essence(a), essence(b)
    diffs = []
    for p in sorted(set(ea) | set(eb)):
        if p not in eb:
            diffs.append(f"only in the first: {p}")
        elif p not in ea:
            diffs.append(f"only in the second: {p}")
        elif ea[p] != eb[p]:
            diffs.append(f"differs: {p}: {ea[p]} vs {eb[p]}")
    return not diffs, without_seconds(a) == without_seconds(b), diffs


def largest_members(wheel, n=3):
    try:
        with zipfile.ZipFile(wheel) as z:
            infos = sorted(z.infolist(), key=lambda i: i.file_size, reverse=True)[:n]
            return [(i.filename, i.file_size, i.compress_size) for i in infos]
    except (OSError, zipfile.BadZipFile):
        return []


def json_name(wheel, threads):
    return os.path.basename(wheel) + (f".t{threads}" if threads else "") + ".json"


def measure(mlgate, wheel, args, tmp, keep_dir):
    """All runs of one binary on one wheel: a dict of figures and the report."""
    argv = scan_argv(mlgate, wheel, args.threads)
    out = os.path.join(tmp, "out.json")
    _, _, rc = timed_run(argv, out)                   # warm-up
    times, rss, codes = [], [], {rc}
    for _ in range(args.runs):
        s, r, rc = timed_run(argv, out)
        times.append(s)
        rss.append(r)
        codes.add(rc)
    rep = load_json(out)
    if keep_dir:
        os.makedirs(keep_dir, exist_ok=True)
        shutil.copyfile(out, os.path.join(keep_dir, json_name(wheel, args.threads)))
    res = {"seconds": min(times), "times": times, "rss": max(rss), "codes": codes, "report": rep,
           "anon": None, "file": None, "heap": None}
    if not args.no_sample:
        res["anon"], res["file"], rc = sampled_run(argv, out)
        codes.add(rc)
    if args.heaptrack:
        res["heap"] = heaptrack_run(argv, tmp)
    if rep is None:
        try:
            with open(out + ".err") as f:
                res["stderr"] = f.read().strip()[-300:]
        except OSError:
            pass
    return res


def mib(b):
    return "-" if b is None else f"{b / MIB:.0f}"


def table(rows, heads):
    w = [max(len(str(r[i])) for r in [heads] + rows) for i in range(len(heads))]
    lines = ["  ".join(str(c).ljust(w[i]) if i in (0, len(heads) - 1) else str(c).rjust(w[i])
                       for i, c in enumerate(r)).rstrip() for r in [heads] + rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def short(wheel):
    b = os.path.basename(wheel)
    return "-".join(b.split("-")[:2])


def reported(res):
    rep = res["report"]
    return "?" if rep is None else rep.get("summary", {}).get("files_reported", "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheels", nargs="*")
    ap.add_argument("--mlgate", default=os.environ.get("MLGATE") or
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "mlgate"))
    ap.add_argument("--before")
    ap.add_argument("--after")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json-dir")
    ap.add_argument("--compare-json")
    ap.add_argument("--no-sample", action="store_true")
    ap.add_argument("--heaptrack", action="store_true")
    args = ap.parse_args()
    if bool(args.before) != bool(args.after):
        ap.error("--before and --after go together")
    bins = [("before", args.before), ("after", args.after)] if args.before else [("", args.mlgate)]
    for _, b in bins:
        if not os.access(b, os.X_OK):
            ap.error(f"{b}: not an executable")
    wheels = args.wheels or default_wheels()
    if not wheels:
        ap.error("no wheels")
    tmp = tempfile.mkdtemp(prefix="mlgate-wheelmem-")
    load = os.getloadavg()
    print(f"wheel-memory: {len(wheels)} wheels, threads {args.threads or 'default'} "
          f"({os.cpu_count()} CPUs), best of {args.runs} warm runs; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    for label, b in bins:
        print(f"  {label + ': ' if label else ''}{os.path.abspath(b)}")
    print("  command: " + " ".join(f"'{a}'" if " " in a else a for a in scan_argv("MLGATE", "WHEEL", args.threads)))
    print(flush=True)

    results = {}                                      # (label, wheel) -> res
    for wheel in wheels:
        for label, b in bins:
            keep = os.path.join(args.json_dir, label) if args.json_dir and label else args.json_dir
            results[(label, wheel)] = measure(b, wheel, args, tmp, keep)
            r = results[(label, wheel)]
            print(f"  done: {short(wheel)}{' ' + label if label else ''}: {r['seconds']:.2f} s "
                  f"({' '.join(f'{t:.2f}' for t in r['times'])}), {mib(r['rss'])} MiB, exit {sorted(r['codes'])}"
                  + (f" - no JSON: {r.get('stderr', '')}" if r["report"] is None else ""), file=sys.stderr, flush=True)
    end_load = os.getloadavg()

    bad = 0
    if not args.before:
        heads = ["wheel", "MiB", "CUDA files", "seconds", "peak RSS MiB", "anon MiB", "file MiB"] + \
                (["heap MiB"] if args.heaptrack else []) + ["verdicts"]
        rows = []
        for wheel in wheels:
            r = results[("", wheel)]
            rows.append([os.path.basename(wheel), f"{os.path.getsize(wheel) / MIB:.0f}", reported(r),
                         f"{r['seconds']:.2f}", mib(r["rss"]), mib(r["anon"]), mib(r["file"])] +
                        ([mib(r["heap"])] if args.heaptrack else []) +
                        [verdict_summary(r["report"]) if r["report"] else "no report"])
        print(table(rows, heads))
    else:
        heads = ["wheel", "MiB", "CUDA files", "s before", "s after", "x", "RSS before", "RSS after",
                 "anon before", "anon after"] + (["heap before", "heap after"] if args.heaptrack else []) + \
                ["agree", "identical"]
        rows, notes = [], []
        for wheel in wheels:
            a, b = results[("before", wheel)], results[("after", wheel)]
            agree, ident, diffs = compare(a["report"], b["report"])
            bad |= not agree
            rows.append([os.path.basename(wheel), f"{os.path.getsize(wheel) / MIB:.0f}",
                         f"{reported(a)}/{reported(b)}", f"{a['seconds']:.2f}", f"{b['seconds']:.2f}",
                         f"{a['seconds'] / b['seconds']:.2f}" if b["seconds"] else "-",
                         mib(a["rss"]), mib(b["rss"]), mib(a["anon"]), mib(b["anon"])] +
                        ([mib(a["heap"]), mib(b["heap"])] if args.heaptrack else []) +
                        ["yes" if agree else "NO", "yes" if ident else "no"])
            notes.append(f"{short(wheel)}: before {verdict_summary(a['report']) if a['report'] else 'no report'}")
            notes.append(f"{short(wheel)}: after  {verdict_summary(b['report']) if b['report'] else 'no report'}")
            notes += [f"  {d}" for d in diffs[:10]] + ([f"  ... {len(diffs) - 10} more"] if len(diffs) > 10 else [])
        print(table(rows, heads))
        print("  (x: before seconds / after seconds; CUDA files: before/after)")
        print()
        print("\n".join(notes))

    if args.compare_json:
        print()
        label = bins[-1][0]
        for wheel in wheels:
            saved = os.path.join(args.compare_json, json_name(wheel, args.threads))
            if not os.path.exists(saved):             # a report does not depend on the thread count
                saved = os.path.join(args.compare_json, json_name(wheel, 0))
            agree, ident, diffs = compare(load_json(saved), results[(label, wheel)]["report"])
            bad |= not agree
            print(f"against {saved}: {'agree' if agree else 'DISAGREE'}, {'identical' if ident else 'not identical'} "
                  "apart from seconds")
            for d in diffs[:10]:
                print(f"  {d}")

    print()
    print("largest members (inflated MiB / stored MiB):")
    for wheel in wheels:
        ms = largest_members(wheel)
        print(f"  {short(wheel)}: " + ", ".join(f"{n} {u / MIB:.0f}/{c / MIB:.0f}" for n, u, c in ms))
    print(f"\nload average {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f} at end")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
