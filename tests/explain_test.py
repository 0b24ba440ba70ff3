#!/usr/bin/env python3
"""explain_test.py - `mlgate explain` over the corpus of real error texts (tests/explain/corpus, one file each:
"# expect: <id>" and "# source: <url>" header lines, then the text) and the unit samples (tests/explain/unit):
the expected id is the first match, no other id appears unless the file lists it ("# also: <id>"), "none"
texts say "no known cause" and exit 1, and every id of the knowledge base is listed in tests/explain/IDS.md.

usage: explain_test.py MLGATE [DIR...]   (default DIRs: tests/explain/corpus tests/explain/unit)
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = re.compile(r"^# (expect|source|note|also):\s*(.*)$")


def parse(path):
    """The header fields and the text after them."""
    with open(path, "rb") as f:
        raw = f.read()
    lines = raw.split(b"\n")
    fields = {"expect": [], "source": [], "note": [], "also": []}
    i = 0
    while i < len(lines):
        m = HEADER.match(lines[i].decode("utf-8", "replace"))
        if not m:
            break
        fields[m.group(1)].append(m.group(2).strip())
        i += 1
    return fields, b"\n".join(lines[i:])


def explain(mlgate, text, *args):
    p = subprocess.run([mlgate, "explain", "--json", *args, "-"], input=text,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    mlgate = sys.argv[1]
    dirs = sys.argv[2:] or [os.path.join(HERE, "explain", "corpus"), os.path.join(HERE, "explain", "unit")]
    failures, passed = [], 0
    listed = subprocess.run([mlgate, "explain", "--list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if listed.returncode != 0:
        print(f"FAIL 'mlgate explain --list' exits {listed.returncode}: {listed.stderr.decode(errors='replace')[:200]}")
        return 1
    known = listed.stdout.decode()
    known_ids = {l.split()[0] for l in known.splitlines() if l.strip()}
    counts = {}
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".txt"):
                continue
            path = os.path.join(d, name)
            fields, text = parse(path)
            rel = os.path.relpath(path, HERE)
            if len(fields["expect"]) != 1:
                failures.append(f"{rel}: wants exactly one '# expect:' line")
                continue
            want = fields["expect"][0]
            counts[want] = counts.get(want, 0) + 1
            if want != "none" and want not in known_ids:
                failures.append(f"{rel}: expects '{want}', which the knowledge base does not have")
                continue
            rc, out, err = explain(mlgate, text, "--no-check")
            try:
                doc = json.loads(out)
            except ValueError:
                failures.append(f"{rel}: exit {rc}, no JSON: {err.decode(errors='replace')[:200]}")
                continue
            ids = [m["id"] for m in doc.get("matches", [])]
            if want == "none":
                if ids or rc != 1 or doc.get("known") is not False:
                    failures.append(f"{rel}: wants no known cause (exit 1), got {ids} exit {rc}")
                    continue
            else:
                allowed = {want, *fields["also"]}
                wrong = [i for i in ids if i not in allowed]
                if rc != 0 or not ids or ids[0] != want or wrong:
                    failures.append(f"{rel}: wants {want} first{' (also ' + ', '.join(fields['also']) + ')' if fields['also'] else ''}, "
                                    f"got {ids or 'nothing'} exit {rc}")
                    continue
            # the same with the checks run on this machine: the same ids, every check said something
            rc2, out2, err2 = explain(mlgate, text)
            try:
                doc2 = json.loads(out2)
            except ValueError:
                failures.append(f"{rel}: with checks, exit {rc2}, no JSON: {err2.decode(errors='replace')[:200]}")
                continue
            ids2 = [m["id"] for m in doc2.get("matches", [])]
            bad = [m["id"] for m in doc2.get("matches", [])
                   if m["check"]["status"] not in ("ran", "unavailable", "none")
                   or (m["check"]["status"] != "none" and not m["check"]["lines"])]
            if rc2 != rc or ids2 != ids or bad:
                failures.append(f"{rel}: with checks got {ids2} exit {rc2}, checks without words: {bad}")
                continue
            passed += 1
    # the command line: arguments as the text, exit codes, input that is refused fast
    import tempfile
    import time

    def cli(args, stdin=b"", timeout=20):
        p = subprocess.run([mlgate, "explain", *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        big = os.path.join(tmp, "big.log")
        with open(big, "wb") as f:
            f.write(b"x" * (16 << 20) + b"\n")
        t0 = time.monotonic()
        cases = [
            (["--no-check", "CUDA", "error:", "out", "of", "memory"], b"", 0, "torch-cuda-oom"),
            (["--no-check", "nothing is wrong here"], b"", 1, "no known cause"),
            (["--no-check", "-"], b"Failed to initialize NVML: Driver/library version mismatch\n", 0, "nvml-version-mismatch"),
            (["--no-check", fifo], b"", 2, "not a regular file"),
            (["--no-check", tmp], b"", 2, "a directory"),
            (["--no-check", big], b"", 2, "larger than 16 MiB"),
            (["--no-check", "-"], b"y" * ((16 << 20) + 1), 2, "larger than 16 MiB"),
            ([], b"", 2, "give an error TEXT"),
            (["--json", "--color", "purple", "x"], b"", 2, '"ok":false'),
        ]
        for args, stdin, want_rc, want in cases:
            rc, out, err = cli(args, stdin)
            if rc != want_rc or want not in out + err:
                failures.append(f"mlgate explain {' '.join(args)[:60]}: exit {rc} (want {want_rc}), wants '{want}' in: "
                                f"{(out + err)[:200]}")
            else:
                passed += 1
        if time.monotonic() - t0 > 15:
            failures.append(f"the command-line cases took {time.monotonic() - t0:.1f}s")
    # the ids of the knowledge base are the shared list's
    ids_md = os.path.join(HERE, "explain", "IDS.md")
    if os.path.exists(ids_md):
        listed = set(re.findall(r"^- ([a-z0-9-]+):", open(ids_md, encoding="utf-8").read(), re.M))
        listed |= set(re.findall(r"^([a-z0-9-]+):", open(ids_md, encoding="utf-8").read(), re.M))
        for i in sorted(known_ids - listed):
            failures.append(f"knowledge-base id {i} is not in tests/explain/IDS.md")
        passed += 1
    for f in failures:
        print("FAIL", f)
    total = sum(counts.values())
    print(f"{passed} passed, {len(failures)} failed ({total} texts: " +
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
