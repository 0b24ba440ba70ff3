#!/usr/bin/env python3
"""doctor_compare.py - `mlgate doctor --json` field by field against nvidia-smi and lscpu (GPU machine).

usage: doctor_compare.py MLGATE      exits 1 on any mismatch
"""
import json, subprocess, sys

def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout

def main():
    d = json.loads(run(sys.argv[1], 'doctor', '--json'))
    fields = 'index,name,uuid,compute_cap,memory.total,memory.free,memory.reserved,pci.bus_id,mig.mode.current,persistence_mode,driver_version'
    smi = [l.split(', ') for l in run('nvidia-smi', f'--query-gpu={fields}', '--format=csv,noheader,nounits').strip().splitlines()]
    bad = 0
    def same(what, ours, theirs):
        nonlocal bad
        ok = ours == theirs
        bad += not ok
        print(f'{"ok  " if ok else "DIFF"} {what:28} mlgate={ours!r:44} nvidia-smi/lscpu={theirs!r}')
    g = d['nvml']['gpus']
    same('gpu count', len(g), len(smi))
    for ours, s in zip(g, smi):
        i = s[0]
        same(f'gpu{i} name', ours['name'], s[1])
        same(f'gpu{i} uuid', ours['uuid'], s[2])
        same(f'gpu{i} compute capability', ours['compute_capability'], s[3])
        same(f'gpu{i} memory.total MiB', ours['memory']['total'] >> 20, int(s[4]))
        # free memory moves; compare within 1%
        same(f'gpu{i} memory.free ~MiB', abs((ours['memory']['free'] >> 20) - int(s[5])) <= int(s[4]) // 100, True)
        if s[6] not in ('[N/A]', 'N/A'):
            same(f'gpu{i} memory.reserved MiB', abs(ours['memory']['reserved'] / 2**20 - int(s[6])) < 1, True)  # nvidia-smi rounds
        same(f'gpu{i} pci.bus_id', ours['pci_bus_id'].upper(), s[7].upper())
        mig = {'Enabled': True, 'Disabled': False}.get(s[8])
        same(f'gpu{i} mig', ours['mig'], mig)
        same(f'gpu{i} persistence', ours['persistence'], {'Enabled': True, 'Disabled': False}.get(s[9]))
        same('driver version', d['nvml']['driver'], s[10])
    cuda = run('nvidia-smi').split('CUDA Version:')[1].split()[0] if 'CUDA Version:' in run('nvidia-smi') else None
    same('CUDA version', d['nvml']['cuda'], cuda)
    lscpu = {e['field'].rstrip(':'): e['data'] for e in json.loads(run('lscpu', '-J'))['lscpu']}
    same('cpu arch', d['cpu']['arch'], lscpu.get('Architecture'))
    same('cpu model', d['cpu']['model'], lscpu.get('Model name'))
    same('cpu threads', d['cpu']['threads'], int(lscpu.get('CPU(s)', 0)))
    cores = int(lscpu.get('Core(s) per socket', 0)) * int(lscpu.get('Socket(s)', 0))
    same('cpu cores', d['cpu']['cores'], cores)
    same('numa nodes', len(d['memory']['numa']), int(lscpu.get('NUMA node(s)', 0)))
    flags = set(lscpu.get('Flags', '').split())
    for f in d['cpu']['features']:
        same(f'flag {f}', f in flags, True)
    print(f'\n{bad} difference(s)')
    print('\n'.join(f'{f["severity"]:5} {f["area"]:7} {f["cause"]}' for f in d['findings']))
    return 1 if bad else 0

if __name__ == '__main__':
    sys.exit(main())
