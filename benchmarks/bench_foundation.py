"""Foundation benchmark: the batch sampler and one stochastic gradient of the batch MSE, ours (index operations, no
one-hot tensor) against a naive reference that builds the one-hot context X (B×N×T) and differentiates through it.

Run:  .venv/bin/python benchmarks/bench_foundation.py            (both cases, a few minutes)
      .venv/bin/python benchmarks/bench_foundation.py --small    (only N=10, T=50, B=1000)

One thread (torch.set_num_threads(1)); every time is the median over repeats of a timeit loop. Before timing, the
script checks that ours and the naive reference compute the same thing (same gradient; same output law for the
sampler; the same batch, bit for bit, from the bucket-table sampler and the plain searchsorted one), so the comparison is apples to apples. For the large case the naive one-hot tensor would need
B·N·T·8 bytes in float64 (25.6 GB at B=64, N=500, T=1e5): it is never allocated; the naive reference runs in float32,
one example (N×T) at a time, which is cheaper than the float64 reference it stands for.
"""
import argparse, platform, statistics, sys, time, timeit
import torch
from scb_nb.checks import as_generator
from scb_nb.data import make_task, sample_batch, plain_sample_batch, sample_context, one_hot_context, bayes_predict
from scb_nb.population import batch_grads, batch_grads_columns


def median_ms(f, number:int, repeat:int)->float:
    "Median over `repeat` timeit runs of the mean time per call of `f` (each run makes `number` calls), in ms"
    return statistics.median(timeit.repeat(f, number=number, repeat=repeat)) / number * 1e3


def one_hot_chunk(tokens, n_vocab, dtype):
    "The one-hot context of a chunk of examples (b×N×T), built by scatter in `dtype`"
    b, T = tokens.shape
    return torch.zeros(b, n_vocab, T, dtype=dtype).scatter_(1, tokens[:, None, :], 1.0)


def onehot_mix(X, a):
    "X_b a_b for each example through the one-hot tensor (b×N×T times b×T, a batched mat-vec: O(bNT))"
    return torch.bmm(X, a[:, :, None]).squeeze(2)


def naive_sample(task, batch_size, g, chunk=None, dtype=torch.float64):
    "Naive sampler: draw the context, build one-hot X, form the output law P X q⁽ᵏ⁾ with it, draw the output"
    tokens, query = sample_context(task, batch_size, g)
    N, B = task.n_vocab, batch_size
    chunk = chunk or B
    P, Qt = task.P.to(dtype), task.Qmat.T
    probs = torch.cat([onehot_mix(one_hot_chunk(tokens[i:i + chunk], N, dtype), Qt[query[i:i + chunk]].to(dtype)) @ P.T
                       for i in range(0, B, chunk)])
    return tokens, query, probs, torch.multinomial(probs.clamp_min(0), 1, generator=g).squeeze(1)


def naive_grads(V, A, batch, chunk=None, dtype=torch.float64):
    "Naive gradient: autograd of ½ mean_b ‖e_o − V X_b a⁽ᵏᵇ⁾‖² through the explicit one-hot X (in chunks of examples)"
    Vg, Ag = V.detach().to(dtype).requires_grad_(), A.detach().to(dtype).requires_grad_()
    B, N = len(batch), V.shape[0]
    chunk = chunk or B
    for i in range(0, B, chunk):
        sl = slice(i, i + chunk)
        X = one_hot_context(batch.tokens[sl], N, dtype) if chunk == B else one_hot_chunk(batch.tokens[sl], N, dtype)
        pred = onehot_mix(X, Ag.T[batch.query[sl]]) @ Vg.T
        e = torch.nn.functional.one_hot(batch.output[sl], N).to(dtype)
        (0.5 * (e - pred).pow(2).sum() / B).backward()
    return Vg.grad, Ag.grad


def interleaved_ms(fs:dict, number:int, repeat:int)->dict:
    "{name: [ms per call in each of `repeat` rounds]}, the functions of `fs` timed one after another within each round"
    out = {k: [] for k in fs}
    for f in fs.values(): f()                                                 # warm up
    for _ in range(repeat):
        for k, f in fs.items(): out[k].append(timeit.timeit(f, number=number) / number * 1e3)
    return out


def ratio_range(a:list, b:list)->str:
    "The median of the per-round ratios a/b and their range (rounds timed side by side, so the machine's drift cancels)"
    r = sorted(x / y for x, y in zip(a, b))
    return f"{statistics.median(r):.2f}× ({r[0]:.2f}–{r[-1]:.2f})"


def rel_err(a, b)->float:
    "max |a − b| / max |b| (b the reference)"
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def run_case(N, T, B, naive_chunk, naive_dtype, rep_ours, rep_naive, rep_floor, tol):
    "Time ours and the naive reference on one (N, T, B) case; returns table rows, a check summary, the RNG floor"
    t0 = time.perf_counter()
    task = make_task(n_vocab=N, seq_len=T, n_sparse=2, seed=0)
    setup_s = time.perf_counter() - t0
    batch = sample_batch(task, B, seed=1)
    V = task.P.clone()
    A = 0.5 * task.Qmat + 0.5 / T                                            # a generic dense point
    case = f"N={N}, T={T}, B={B}"
    onehot_gb = B * N * T * 8 / 1e9

    # apples to apples: same gradient, same output law
    gV, gA = batch_grads(V, A, batch)
    nV, nA = naive_grads(V, A, batch, naive_chunk, naive_dtype)
    err_V, err_A = rel_err(gV, nV), rel_err(gA, nA)
    tokens, query, probs, _ = naive_sample(task, B, as_generator(2), naive_chunk, naive_dtype)
    err_p = rel_err(bayes_predict(task, tokens, query), probs)
    assert max(err_V, err_A, err_p) < tol, (case, err_V, err_A, err_p)
    _, cols, gA_cols = batch_grads_columns(V, A, batch)
    assert torch.equal(gA[:, cols], gA_cols) or rel_err(gA_cols, gA[:, cols]) < 1e-14
    b, p = sample_batch(task, B, as_generator(4)), plain_sample_batch(task, B, as_generator(4))
    assert all(torch.equal(getattr(b, f), getattr(p, f)) for f in ('tokens', 'query', 'pos', 'output')), case

    g = as_generator(3)
    n_o, r_o = rep_ours
    n_n, r_n = rep_naive
    rows, floors = [], []
    n_u = B * (T + 1) + 2 * B   # the uniforms the sampler draws: T + 1 tokens, the position and the output per example
    ms = interleaved_ms({'tables': lambda: sample_batch(task, B, g), 'plain': lambda: plain_sample_batch(task, B, g),
                         'floor': lambda: torch.rand(n_u, generator=g, dtype=torch.float64)}, *rep_floor)
    ours = statistics.median(ms['tables'])
    naive = median_ms(lambda: naive_sample(task, B, g, naive_chunk, naive_dtype), n_n, r_n)
    rows.append((case, 'sampler (sample_batch)', ours, naive))
    floors.append((case, ms))
    ours = median_ms(lambda: batch_grads(V, A, batch), n_o, r_o)
    naive = median_ms(lambda: naive_grads(V, A, batch, naive_chunk, naive_dtype), n_n, r_n)
    rows.append((case, 'gradient (batch_grads)', ours, naive))
    cols_ms = median_ms(lambda: batch_grads_columns(V, A, batch), n_o, r_o)
    rows.append((case, 'gradient, touched columns only (batch_grads_columns)', cols_ms, naive))
    naive_note = (f"naive in {str(naive_dtype).replace('torch.', '')}"
                  + (f", {naive_chunk} example(s) at a time (the full float64 one-hot X would need {onehot_gb:.1f} GB)"
                     if naive_chunk and naive_chunk < B else f", full one-hot X ({onehot_gb * 1e3:.0f} MB)"))
    check = (f"{case}: task setup {setup_s:.1f} s; {naive_note}; max rel. diff ours vs naive: "
             f"∇V {err_V:.1e}, ∇A {err_A:.1e}, output law {err_p:.1e} (tolerance {tol:g}); "
             f"repeats: ours {r_o}×{n_o}, naive {r_n}×{n_n}")
    return rows, check, floors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--small', action='store_true', help='only the small case (N=10, T=50, B=1000)')
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cases = [dict(N=10, T=50, B=1000, naive_chunk=None, naive_dtype=torch.float64,
                  rep_ours=(50, 9), rep_naive=(10, 9), rep_floor=(100, 15), tol=1e-12)]
    if not args.small:
        cases.append(dict(N=500, T=100_000, B=64, naive_chunk=1, naive_dtype=torch.float32,
                          rep_ours=(1, 5), rep_naive=(1, 3), rep_floor=(1, 5), tol=1e-3))
    rows, checks, floors = [], [], []
    for c in cases:
        r, chk, fl = run_case(**c)
        rows += r; checks.append(chk); floors += fl
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread, {platform.processor() or platform.machine()}, "
          f"python {sys.version.split()[0]}\n")
    print("| case | what | ours (ms) | naive one-hot (ms) | naive / ours |")
    print("|---|---|---|---|---|")
    for case, what, o, n in rows: print(f"| {case} | {what} | {o:.3f} | {n:.3f} | {n / o:.1f}× |")
    print("\nThe sampler against its floor, timed in interleaved rounds (medians; ratios: the median of the rounds' ratios, "
          "and their range)\n\n| case | sampler, bucket tables (ms) | plain sampler, searchsorted (ms) | drawing float64 "
          "uniforms alone, one per draw (ms) | tables / floor | plain / floor |\n|---|---|---|---|---|---|")
    for case, ms in floors:
        med = {k: statistics.median(v) for k, v in ms.items()}
        print(f"| {case} | {med['tables']:.3f} | {med['plain']:.3f} | {med['floor']:.3f} | "
              f"{ratio_range(ms['tables'], ms['floor'])} | {ratio_range(ms['plain'], ms['floor'])} |")
    print()
    for chk in checks: print("*", chk)


if __name__ == '__main__':
    main()
