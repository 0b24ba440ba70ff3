#!/usr/bin/env python3
"""compare_cuobjdump.py - does mlgate find every image cuobjdump lists? (run on a machine with cuobjdump)

usage: compare_cuobjdump.py MLGATE_SCAN_JSON   (from `mlgate scan --json --list PATH...`)
For every file mlgate reports with fatbins, runs `cuobjdump --list-elf --list-ptx` and compares
the multiset of (kind, arch) with mlgate's entries from .nv_fatbin (cuobjdump reads only that
section, and prints family-specific cubins without their 'f'). Prints one line per file and a
summary; exits 1 if cuobjdump lists an image mlgate missed.
"""
import collections, json, re, subprocess, sys, time

LINE = re.compile(r'^(ELF|PTX) file\s+\d+: .*\.(sm_\d+[af]?)\.(cubin|ptx)$')

def cuobjdump(path):
    t = time.time()
    p = subprocess.run(['cuobjdump', '--list-elf', '--list-ptx', path], capture_output=True, text=True)
    c = collections.Counter()
    for line in p.stdout.splitlines():
        m = LINE.match(line.strip())
        if m:
            kind = 'sass' if m.group(1) == 'ELF' else 'ptx'
            c[(kind, m.group(2).rstrip('f'))] += 1
    return c, time.time() - t, p.returncode, p.stderr.strip()[:200]

def mlgate_counts(f, sections):
    c = collections.Counter()
    for fb in f.get('fatbin_list', []):
        if fb['where'] not in sections:
            continue
        for e in fb['entries']:
            if e['kind'] not in ('sass', 'ptx'):
                continue
            arch = 'sm_' + e['arch'].split('_', 1)[1]   # compute_120f -> sm_120f
            c[(e['kind'], arch.rstrip('f'))] += 1
    return c

def main():
    d = json.load(open(sys.argv[1]))
    missed_files = 0
    same = 0
    total_cuobj = 0.0
    rows = []
    for f in d['files']:
        if f.get('error') or not f.get('fatbin_list') or '!' in f['path']:
            continue
        cu, secs, rc, err = cuobjdump(f['path'])
        total_cuobj += secs
        ours = mlgate_counts(f, ('.nv_fatbin',))
        everything = mlgate_counts(f, ('.nv_fatbin', '__nv_relfatbin', 'embedded', 'raw-cubin'))
        missed = cu - everything        # listed by cuobjdump, not found by mlgate anywhere
        extra = everything - cu         # found by mlgate only (other sections, or cuobjdump gaps)
        ok_nv = ours == cu
        same += ok_nv
        if missed:
            missed_files += 1
        n_cu = sum(cu.values())
        rows.append((f['path'], n_cu, sum(ours.values()), sum(everything.values()), ok_nv, missed, extra, rc, err, secs))
    for path, n_cu, n_nv, n_all, ok_nv, missed, extra, rc, err, secs in rows:
        status = 'SAME' if ok_nv else ('MISSED' if missed else 'MORE')
        line = f'{status:6} cuobjdump {n_cu:6} | mlgate .nv_fatbin {n_nv:6} all {n_all:6} | {secs:6.2f}s {path}'
        if missed:
            line += f'\n       missed: {dict(missed)}'
        if extra and not ok_nv:
            line += f'\n       mlgate only: {dict(collections.Counter({k: v for k, v in extra.items()}).most_common(6))}'
        if rc:
            line += f'\n       cuobjdump exit {rc}: {err}'
        print(line)
    print(f'\n{len(rows)} files: {same} identical to cuobjdump on .nv_fatbin, {missed_files} where mlgate missed images; '
          f'cuobjdump took {total_cuobj:.1f}s in all')
    return 1 if missed_files else 0

if __name__ == '__main__':
    sys.exit(main())
