"""Session 22: the fit of MV_SPLIT_COST_NO_CLUSTERS from probe part gsplit
(notes/h200_s22/run2/probe_gsplit.txt): for each cost, the split counts the
model picks and the time they lose against the fastest forced count.

    .venv/bin/python notes/s22_fit_split_cost.py
"""
import re, sys
sys.path.insert(0, '.')
import cupyquant.qmatmul as mm
rows = []
for line in open('notes/h200_s22/run2/probe_gsplit.txt'):
    m = re.match(r'(\d+)x(\d+) M=(\d+) \((\S+), kb (\d+), resident (\d+)\): (.*)', line)
    if not m: continue
    n, k, M, name, kb, res, rest = m.groups()
    n, k, M, res = int(n), int(k), int(M), int(res)
    cands = {}
    for cell in rest.split(' | '):
        c = re.match(r'(\w+):([\d.]+)us (\d+)(cl|gl) ms=(\S+)', cell)
        lab, t, sp, how, ms = c.groups()
        if ms == 'None' or lab == 'plan': continue
        cands.setdefault(int(sp), float(t))
    rows.append((n, k, M, res, cands))
def pick(n, k, res, c, cands):
    nb = k // 32; tiles = -(-n // 16)
    mm.MV_SPLIT_COST_NO_CLUSTERS = c
    return mm._mv_splits_makespan(nb, tiles, 660 if res == 264 else res, 64, False)[0]
for c in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5):
    regret = 0; picks = []
    for n, k, M, res, cands in rows:
        sp = pick(n, k, res, c, cands)
        best = min(cands.values())
        t = cands.get(sp)
        if t is None: picks.append(f"{n}x{k}M{M}:{sp}?"); continue
        regret += t - best; picks.append(f"{n}x{k}M{M}:{sp}{'*' if t > best * 1.01 else ''}")
    print(f"cost {c}: regret {regret:.2f} us  " + " ".join(picks))
for r in rows: print(r)
