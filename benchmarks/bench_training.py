"""Training benchmarks for scb_nb (issue 4, item 6).

1. Per-step time of the stage-2 proximal update and of plain SGD at N=10, T=50, B=1000 (sampling, gradient and
   update together, as the engine's `train` runs them; no metric tracking), with the parts (sampling, batch gradient) timed
   alone. Methods are timed side by side, interleaved, in one process on one thread; the table reports medians and
   ratios to SGD.
2. The paper's claim as a number: samples (after stage 1) until ‖A−Qmat‖_μ ≤ 0.1 and ‖V−P‖_μ ≤ 0.05, for the
   proximal method against the best of a sweep of SGD step sizes, over several seeds.

Usage: .venv/bin/python benchmarks/bench_training.py [--quick] [--seeds 3] [--json FILE]
"""
import os
for _v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ[_v] = '1'
import argparse, json, math, statistics, sys, time
import torch
torch.set_num_threads(1)

from scb_nb.data import make_task, sample_batch
from scb_nb.population import batch_grads
from scb_nb.train import train, Sampled, Grads, SGD, batch_frequencies
from scb_nb.stage1 import stage1
from scb_nb.stage2 import ProxRule, PAPER_HPARAMS

EPS_V, EPS_A = 0.05, 0.1
HP = PAPER_HPARAMS['prox']

def step_times(task, V0, A0, n_steps, reps, B=1000):
    "Median seconds per step of each method (whole online step, and the update alone), timed in interleaved rounds"
    prox, sgd = ProxRule(**HP), SGD(PAPER_HPARAMS['sgd_large'])
    g = torch.Generator().manual_seed(0)
    batch = sample_batch(task, B, g)
    mu_hat, q_hat = batch_frequencies(batch, task.n_vocab)
    grads = Grads(batch_grads(V0, A0, batch), dict(mu=mu_hat, q=q_hat), B)
    online = lambda rule: lambda: train(task, (V0, A0), rule, Sampled(B), n_steps, metrics=(), log_every=n_steps, seed=1,
                                        progress=False)
    fs = {'stage-2 prox: full online step': online(prox),
          'SGD: full online step': online(sgd),
          'stage-2 prox: update only': lambda: [prox.step((V0, A0), grads, {}) for _ in range(n_steps)],
          'SGD: update only': lambda: [sgd.step((V0, A0), grads, {}) for _ in range(n_steps)],
          'sampling a batch': lambda: [sample_batch(task, B, g) for _ in range(n_steps)],
          'batch gradient': lambda: [batch_grads(V0, A0, batch) for _ in range(n_steps)]}
    for f in fs.values(): f()   # warm-up
    ts = {k: [] for k in fs}
    for _ in range(reps):
        for k, f in fs.items():
            t0 = time.perf_counter(); f(); ts[k].append((time.perf_counter() - t0) / n_steps)
    return {k: statistics.median(v) for k, v in ts.items()}

def first_hit(m, sn=False, eps_V=EPS_V, eps_A=EPS_A):
    "First logged sample count with ‖V−P‖_μ ≤ eps_V and ‖A−Qmat‖_μ ≤ eps_A (scale-normalised if `sn`); None if never"
    kV, kA = ('dist_V_sn', 'dist_A_sn') if sn else ('dist_V', 'dist_A')
    for s, dv, da in zip(m['samples'], m[kV], m[kA]):
        if dv is not None and da is not None and dv <= eps_V and da <= eps_A: return s
    return None

def samples_to_eps(task, V0, A0, rule, max_samples, B=1000, log_every=1, seed=1):
    "(raw, scale-normalised) samples until both distances are below the thresholds; stops once both are reached"
    hit = lambda m, k1, k2: m[k1] <= EPS_V and m[k2] <= EPS_A
    seen = dict(raw=False, sn=False)
    def stop(m):
        seen['raw'] |= hit(m, 'dist_V', 'dist_A'); seen['sn'] |= hit(m, 'dist_V_sn', 'dist_A_sn')
        return seen['raw'] and seen['sn']
    r = train(task, (V0, A0), rule, Sampled(B), max_samples // B, stop=stop, log_every=log_every, seed=seed, progress=False)
    if r.diverged and not (seen['raw'] and seen['sn']): return None, None
    return first_hit(r.metrics), first_hit(r.metrics, sn=True)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='fewer steps and seeds (about a minute)')
    p.add_argument('--seeds', type=int, default=None, help='task/run seeds for the sample counts (default 3, quick 1)')
    p.add_argument('--json', default=None, help='also write the numbers to this JSON file')
    a = p.parse_args(argv)
    print(f'(started {time.strftime("%H:%M:%S")})', file=sys.stderr)
    n_seeds = a.seeds or (1 if a.quick else 3)
    max_samples = 1_000_000 if a.quick else 1_500_000
    B = 1000
    out = dict(torch=torch.__version__, threads=torch.get_num_threads(), B=B, eps_V=EPS_V, eps_A=EPS_A)

    # 1. per-step time
    task = make_task(n_vocab=10, seq_len=50, n_sparse=2, seed=0)
    s1 = stage1(task, **PAPER_HPARAMS['stage1'], seed=0, twin=False, progress=False)
    st = step_times(task, s1.V, s1.A, n_steps=50 if a.quick else 200, reps=3 if a.quick else 7, B=B)
    out['step_seconds'] = st
    print(f"## Per-step time, N=10, T=50, B={B}, one thread, float64 (median of interleaved rounds)\n")
    print("| what | ms / step | × SGD step |\n|---|---:|---:|")
    for k, v in st.items(): print(f"| {k} | {1e3 * v:.3f} | {v / st['SGD: full online step']:.2f} |")

    # 2. samples to (ε_V, ε_A) after stage 1
    methods = {f"prox η={HP['lr']:g} λ={HP['lam']:g} (paper_runs)": ProxRule(**HP)}
    prox_grid = [(0.03, 0.05), (0.1, 0.1)] if a.quick else [(0.03, 0.05), (0.1, 0.1), (0.15, 0.1), (0.1, 0.15), (0.15, 0.15)]
    for lr, lam in prox_grid: methods[f'prox η={lr:g} λ={lam:g}'] = ProxRule(lr, lam, floor=HP['floor'])
    for lr in ([0.5, 1.0, 2.0] if a.quick else [0.25, 0.5, 1.0, 1.5, 2.0, 3.0]): methods[f'SGD η={lr:g}'] = SGD(lr)
    res = {k: [] for k in methods}
    stage1_samples = []
    for sd in range(n_seeds):
        t = make_task(n_vocab=10, seq_len=50, n_sparse=2, seed=sd)
        r1 = stage1(t, **PAPER_HPARAMS['stage1'], seed=sd, twin=False, progress=False)
        stage1_samples.append(r1.samples)
        for k, upd in methods.items():
            res[k].append(samples_to_eps(t, r1.V, r1.A, upd, max_samples, seed=sd + 1))
            print(f"  seed {sd}, {k}: {res[k][-1]}", file=sys.stderr, flush=True)
    out['samples_to_eps'] = res
    out['stage1_samples'] = stage1_samples
    INF = math.inf
    med = lambda xs: statistics.median([INF if x is None else x for x in xs])
    fmt = lambda x: f"> {max_samples:,}" if x is None or x == INF else f"{int(x):,}"
    print(f"\n## Samples after stage 1 to reach ‖V−P‖_μ ≤ {EPS_V} and ‖A−Qmat‖_μ ≤ {EPS_A} "
          f"(N=10, T=50, Q=2, B={B}, checked after every step; {n_seeds} seed(s); stage 1 itself: "
          f"{fmt(statistics.median(stage1_samples))} samples)\n")
    print("| method | " + ' | '.join(f'seed {s}' for s in range(n_seeds)) + " | median | median, scale-normalised distances |")
    print("|---|" + '---:|' * (n_seeds + 2))
    for k, v in res.items():
        print(f"| {k} | " + ' | '.join(fmt(x[0]) for x in v) + f" | {fmt(med([x[0] for x in v]))} | {fmt(med([x[1] for x in v]))} |")
    summary = {}
    for j, kind in enumerate(('raw', 'scale-normalised')):
        m = {k: med([x[j] for x in v]) for k, v in res.items()}
        bp = min((k for k in m if k.startswith('prox')), key=m.get)
        bs = min((k for k in m if k.startswith('SGD')), key=m.get)
        ratio = m[bs] / m[bp]
        dflt = m[next(iter(methods))]
        summary[kind] = dict(best_prox=bp, best_sgd=bs, ratio=ratio, ratio_default_prox=m[bs] / dflt)
        lo = '≥ ' if m[bs] == INF else ''
        print(f"\n{kind} distances: best of the SGD sweep {bs} ({fmt(m[bs])}), best of the prox sweep {bp} ({fmt(m[bp])}): "
              f"SGD needs {lo}{min(ratio, max_samples / m[bp]):.1f}× the samples "
              f"(paper_runs' prox: {lo}{min(m[bs], max_samples) / dflt:.1f}×).")
    out['summary'] = summary
    if a.json:
        with open(a.json, 'w') as f: json.dump(out, f, indent=1, default=str)
    return 0

if __name__ == '__main__': sys.exit(main())
