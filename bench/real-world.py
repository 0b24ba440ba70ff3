#!/usr/bin/env python3
"""real-world.py - the verdict matrix of the cached wheels, as Markdown (docs/real-world.md).

usage: bench/real-world.py MLGATE [DIR]
"""
import collections, json, os, subprocess, sys, time

GPUS = ['GTX 1080 Ti', 'V100', 'T4', 'A100', 'RTX 4090', 'H100', 'B200', 'B300', 'RTX 5090', 'GB10', 'Jetson Thor']
LETTER = {'native': 'N', 'jit': 'J', 'partial': 'P', 'none': '-'}

def main():
    mlgate = sys.argv[1]
    d = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser('~/.cache/mlgate/wheels')
    wheels = sorted(f for f in os.listdir(d) if f.endswith('.whl'))
    t = time.time()
    p = subprocess.run([mlgate, 'scan', '--json', '--gpu', ','.join(GPUS)] + [os.path.join(d, w) for w in wheels],
                       capture_output=True, text=True)
    secs = time.time() - t
    rep = json.loads(p.stdout)
    by_wheel = collections.defaultdict(list)
    for f in rep['files']:
        wheel, _, member = f['path'].partition('!')
        by_wheel[os.path.basename(wheel)].append((member, f))
    print(f'Scanned {len(wheels)} wheels, {rep["summary"]["files_examined"]} ELF files, '
          f'{rep["summary"]["bytes"] / 2**30:.1f} GiB inflated, in {secs:.1f} s.\n')
    print('Per file: N native, J PTX JIT only, P partial, - none, · no kernels at all (only nvcc\'s device-link stub). '
          'Columns: ' + ', '.join(GPUS) + '.\n')
    for wheel in wheels:
        files = by_wheel.get(wheel, [])
        print(f'### {wheel}\n')
        if not files:
            print('No CUDA code.\n')
            continue
        print('| file | ' + ' | '.join(g.replace('Jetson ', '') for g in GPUS) + ' | SASS | PTX |')
        print('|---|' + '---|' * len(GPUS) + '---|---|')
        rows = collections.OrderedDict()
        for member, f in sorted(files, key=lambda x: x[0]):
            if f.get('error'):
                print(f'| {member} | error: {f["error"]["detail"]} |')
                continue
            cells = tuple('·' if v['total'] == 0 else LETTER[v['status']] for v in f['verdicts'])
            key = (cells, ' '.join(f['sass']), ' '.join(f['ptx']))
            rows.setdefault(key, []).append(member)
        for (cells, sass, ptx), members in rows.items():
            name = members[0] if len(members) == 1 else f'{members[0]} (+{len(members) - 1} alike)'
            print(f'| {name} | ' + ' | '.join(cells) + f' | {sass} | {ptx} |')
        print()
        reasons = collections.OrderedDict()
        for member, f in files:
            for v in f.get('verdicts', []):
                if v['status'] in ('partial', 'none') and v['target'] in ('RTX 5090', 'GB10', 'B200', 'H100'):
                    reasons.setdefault((member, v['status'], v['reason']), []).append(v['target'])
        for (member, status, reason), tg in list(reasons.items())[:8]:
            print(f'- `{member}` on {", ".join(tg)}: **{status}**: {reason}')
        if reasons:
            print()

if __name__ == '__main__':
    main()
