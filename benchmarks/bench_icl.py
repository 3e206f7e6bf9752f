"""Milliseconds per training step of the in-context regression model (chapter 10): the formula (`lt_reference`), the
statistics recurrence (eager with autograd, eager with the hand-written backward pass `RecurrenceGrads`, and under `torch.compile`
when it works here), and, with `--official DIR`, the official
model of `chengxiang/LinearTransformer` loaded from DIR at run time (its `device` patched to the CPU in memory; nothing is
written to DIR), checked equal to ours first. All timed side by side, interleaved, in one process, on one thread.

    .venv/bin/python benchmarks/bench_icl.py --official /tmp/LinearTransformer   # about 4 minutes (compiling included)
    .venv/bin/python benchmarks/bench_icl.py --quick --no-compile                 # about 20 s
"""
import argparse, importlib.util, statistics, sys, time
from pathlib import Path
import torch
from scb_nb.icl import (icl_task, sample_prompts, sample_stats, prompt_stats, prompt_matrix, predict, icl_loss, icl_init, icl_rule,
                        OFFICIAL_LRS, recurrence_grads, RecurrenceGrads, _wishart_draws)
from scb_nb.train import train, Autograd

D, N = 5, 20

def load_official(folder):
    "The official `linear_transformer` module from `folder`, its device set to the CPU (in memory only)"
    path = Path(folder) / 'linear_transformer.py'
    if not path.exists(): sys.exit(f"--official: no linear_transformer.py in {folder}")
    spec = importlib.util.spec_from_file_location('official_linear_transformer', path)
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    mod.device = torch.device('cpu')
    return mod

def official_model(off, Bs, As):
    "The official `Transformer_F` holding our sparse weights: its `allparam[l, 0, 1]` is our A_lᵀ"
    m = off.Transformer_F(Bs.shape[0], 1, D, 0.05)
    with torch.no_grad(): m.allparam.copy_(torch.stack([Bs, As.mT], 1)[:, None])
    return m

def check_official(off):
    "Predictions and gradients of the official model and of ours (formula and recurrence) on the same prompts, float64"
    old = torch.get_default_dtype(); torch.set_default_dtype(torch.float64)   # the official code makes its zeros in the default dtype
    try:
        task = icl_task('setting1', dtype=torch.float64)
        p, worst = sample_prompts(task, 200, seed=1), 0.0
        for L in (3, 8):
            Bs, As = icl_init(L, D, seed=L, dtype=torch.float64)
            m = official_model(off, Bs, As)
            out = m(prompt_matrix(p).mT).detach()
            loss_off = off.in_context_loss(m, prompt_matrix(p).mT, p.yq)
            g_off = torch.autograd.grad(loss_off, m.allparam)[0][:, 0]
            for b in (p, prompt_stats(p)):
                ws = [Bs.clone().requires_grad_(True), As.clone().requires_grad_(True)]
                yh = predict(ws, b).detach()
                gB, gA = torch.autograd.grad(icl_loss(ws, b), ws)
                worst = max(worst, float((yh + out[:, N, D]).abs().max()), float((gB - g_off[:, 0]).abs().max()),
                            float((gA.mT - g_off[:, 1]).abs().max()))
            _, (hB, hA) = recurrence_grads((Bs, As), prompt_stats(p))                   # the hand-written backward pass
            worst = max(worst, float((hB - g_off[:, 0]).abs().max()), float((hA.mT - g_off[:, 1]).abs().max()))
        assert worst < 1e-10, worst
        return worst
    finally: torch.set_default_dtype(old)

def official_stepper(off, L, B, opt, lr):
    "One step of the official `train.ipynb` loop: fresh data, loss, backward, `clip_and_step` at 1, zero_grad"
    m = off.Transformer_F(L, 1, D, 0.05)
    o = (torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9) if opt == 'sgdm' else
         torch.optim.AdamW(m.parameters(), lr=lr, betas=(0.9, 0.9), weight_decay=0))
    def step(n):
        for _ in range(n):
            Z, y = off.generate_data('normal', N, D, B, 0.1)
            off.in_context_loss(m, Z, y).backward()
            g = m.allparam.grad; nrm = g.norm()
            if nrm > 1: g.mul_(1 / nrm)
            o.step(); o.zero_grad()
    return step

def ours_stepper(loss, sample, L, B, opt, lr, source=None):
    "`n` steps of the package's engine (`scb_nb.train.train`) with `Autograd(loss, B, sample)` (or `source`) and the clipped rule"
    task, params0 = icl_task('setting1'), icl_init(L, D, seed=0)
    rule, source = icl_rule(opt, lr), source or Autograd(loss, B, sample=sample)
    return lambda n: train(task, params0, rule, source, n, metrics=(), progress=False, seed=0)

def draws_stepper(B):
    "`n` steps' worth of the random numbers alone: the Bartlett draws every step of ours takes from the seeded stream"
    task, g = icl_task('setting1'), torch.Generator().manual_seed(0)
    def step(n):
        for _ in range(n): _wishart_draws(task, B, g)
    return step

def compile_works():
    "Whether `RecurrenceGrads(B, compiled=True)` compiles here and equals the eager pass (float64, to 1e-12)"
    try:
        task, ps = icl_task('setting1', dtype=torch.float64), icl_init(3, D, seed=1, dtype=torch.float64)
        a, b = RecurrenceGrads(64)(task, ps, torch.Generator().manual_seed(0)), RecurrenceGrads(64, compiled=True)(task, ps, torch.Generator().manual_seed(0))
        worst = max(float((x - y).abs().max()) for x, y in zip(a.grads, b.grads))
        assert worst < 1e-12, worst
        return True
    except Exception as e:   # no compiler, an unsupported op: fall back to eager, and say so
        print(f"torch.compile unavailable here ({type(e).__name__}: {str(e)[:120]}); timing eager only")
        return False

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--official', help='a checkout of chengxiang/LinearTransformer')
    ap.add_argument('--quick', action='store_true', help='L = 3 and B = 1000 only, fewer steps')
    ap.add_argument('--no-compile', action='store_true', help='skip torch.compile')
    ap.add_argument('--steps', type=int, default=20, help='steps per timed round')
    ap.add_argument('--rounds', type=int, default=5, help='interleaved rounds (the median is reported)')
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    off = load_official(a.official) if a.official else None
    if off is not None: print(f"official model equals ours (formula, recurrence and hand-written backward; outputs and gradients, float64): max |Δ| = {check_official(off):.1e}")
    comp = not a.no_compile and compile_works()
    ref_sample = lambda task, B, g: sample_prompts(task, B, g)
    cases = [(3, 1000)] if a.quick else [(3, 256), (3, 1000), (8, 256), (8, 1000)]
    steps, rounds = (10, 3) if a.quick else (a.steps, a.rounds)
    print(f"torch {torch.__version__}, 1 thread, float32, d = {D}, n = {N}, Setting 1, ms per step (median of {rounds} rounds of {steps} steps)\n")
    head = ['L', 'B', 'opt'] + (['official'] if off else []) + ['formula', 'recurrence', 'hand-written'] + (['compiled'] if comp else [])
    head += ((['official/formula', 'official/recurrence', 'official/hand-written'] + (['official/compiled'] if comp else [])) if off
             else ['formula/recurrence', 'formula/hand-written'])
    print('| ' + ' | '.join(head) + ' |\n|' + '---|' * len(head))
    ceilings = []
    for L, B in cases:
        for opt in ('sgdm', 'adam'):
            lr = OFFICIAL_LRS['setting1'][opt]
            impls = {}
            if off: impls['official'] = official_stepper(off, L, B, opt, lr)
            impls['formula'] = ours_stepper(icl_loss, ref_sample, L, B, opt, lr)
            impls['recurrence'] = ours_stepper(icl_loss, sample_stats, L, B, opt, lr)
            impls['hand-written'] = ours_stepper(None, None, L, B, opt, lr, source=RecurrenceGrads(B))
            if comp: impls['compiled'] = ours_stepper(None, None, L, B, opt, lr, source=RecurrenceGrads(B, compiled=True))
            impls['draws'] = draws_stepper(B)                                                # not a step: its random numbers alone
            for f in impls.values(): f(2)                                                     # warm up
            ts = {k: [] for k in impls}
            for _ in range(rounds):
                for k, f in impls.items():
                    t0 = time.perf_counter(); f(steps); ts[k].append(1e3 * (time.perf_counter() - t0) / steps)
            ms = {k: statistics.median(v) for k, v in ts.items()}
            base = 'official' if off else 'formula'
            ceilings.append((L, B, opt, ms.pop('draws'), ms[base]))
            ratios = [ms[base] / ms[k] for k in ms if k != base and (off or k != 'compiled')]
            print(f"| {L} | {B} | {opt} | " + ' | '.join(f"{ms[k]:.2f}" for k in ms) + ' | ' + ' | '.join(f"{r:.1f}×" for r in ratios) + ' |')
    print(f"\nThe random numbers alone (Bartlett's draws of one step, the stream the seeded chapters use) against the {base} step:"
          f" no step of ours that draws them can be more than {base}/draws faster.\n\n| L | B | opt | draws (ms) | {base}/draws |\n|---|---|---|---|---|")
    for L, B, opt, d, b in ceilings: print(f"| {L} | {B} | {opt} | {d:.2f} | {b / d:.1f}× |")

if __name__ == '__main__': main()
