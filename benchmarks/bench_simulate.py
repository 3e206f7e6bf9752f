"""Simulated dynamics (chapter 08, paper Fig. 5): seconds per 1000 steps and peak memory at T = 100 000.

For N = 100 and N = 500 it times the proximal run of Fig. 5 (the `Simulated` noise source, `SimRule`, the compressed
population twin, metrics every 20 steps, as `fig5_runs` runs it) on the reduced task (M = 2000 representatives), and
beside it the unreduced simulation (M = T − Q: every position kept, the same code) for a few steps. The reduced runs are
timed in float32 (the experiment's precision, `SIM_SCALES`) and in float64, side by side; the unreduced one in float32.
Each case runs in its own child process on one thread, so that its peak resident memory is its own.

Usage: .venv/bin/python benchmarks/bench_simulate.py [--steps 1000] [--full-steps 3] [--quick] [--device cpu]
"""
import os
for _v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ[_v] = '1'
import argparse, json, resource, subprocess, sys, time

def case(N, M, steps, device, dtype, rounds=5):
    "Run one case here; print the fastest round's seconds per step and this process's peak memory as JSON"
    import torch
    torch.set_num_threads(1)
    from scb_nb.simulate import reduced_task, handover_start, twin_start, SimRule, Simulated, Population, SIM_METRICS, SIM_HPARAMS
    from scb_nb.train import train
    T = 100_000
    task = reduced_task(N, T, 2, M if M else T - 2, seed=0, device=device, dtype=getattr(torch, dtype))
    V0, A0 = handover_start(task)
    run = lambda n: train(task, (V0, A0), SimRule(**SIM_HPARAMS['prox']), Simulated(SIM_HPARAMS['batch_size'], SIM_HPARAMS['n_ref']),
                          n, twin=Population(compressed=True), twin0=twin_start(V0, A0, task), metrics=SIM_METRICS,
                          log_every=20, seed=1, device=device, progress=False)
    run(2)                                                            # warm-up
    if device != 'cpu': torch.cuda.synchronize()
    dt = float('inf')
    for _ in range(rounds):                                           # the machine is shared: the fastest round counts
        t0 = time.perf_counter(); r = run(max(1, steps // rounds))
        if device != 'cpu': torch.cuda.synchronize()
        dt = min(dt, (time.perf_counter() - t0) / max(1, steps // rounds))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # kB → GB (Linux)
    print(json.dumps(dict(N=N, M=M or T - 2, steps=steps, s_per_step=dt, peak_GB=peak, delta_A=r.final('delta_A'))))

def child(N, M, steps, device, dtype, rounds):
    out = subprocess.run([sys.executable, __file__, '--case', str(N), str(M), str(steps), device, dtype, str(rounds)],
                         capture_output=True, text=True)
    if out.returncode: raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--steps', type=int, default=1000, help='steps of the reduced runs (default 1000)')
    ap.add_argument('--full-steps', type=int, default=3, help='steps of the unreduced runs (default 3)')
    ap.add_argument('--quick', action='store_true', help='100 reduced steps, 2 unreduced, N = 100 only')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--case', nargs=6, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case: return case(int(a.case[0]), int(a.case[1]), int(a.case[2]), a.case[3], a.case[4], int(a.case[5]))
    steps, full = (100, 2) if a.quick else (a.steps, a.full_steps)
    print(f"T = 100 000, Q = 2, one thread, {a.device}; reduced: M = 2000 ({steps} steps in 5 rounds, the fastest round counts); "
          f"unreduced: M = T − Q, every position, float32 ({full} steps)")
    print(f"{'N':>4}  {'reduced s/1000 steps':>21}  {'peak GB':>8}  {'float64 s/1000':>15}  {'float64/32':>10}  "
          f"{'unreduced s/1000 steps':>23}  {'peak GB':>8}  {'unreduced / reduced':>19}")
    for N in ((100,) if a.quick else (100, 500)):
        red, red64 = child(N, 2000, steps, a.device, 'float32', 5), child(N, 2000, steps, a.device, 'float64', 5)
        unr = child(N, 0, full, a.device, 'float32', 1)
        print(f"{N:>4}  {1e3 * red['s_per_step']:>21.1f}  {red['peak_GB']:>8.2f}  {1e3 * red64['s_per_step']:>15.1f}  "
              f"{red64['s_per_step'] / red['s_per_step']:>9.2f}×  {1e3 * unr['s_per_step']:>23.0f}  "
              f"{unr['peak_GB']:>8.2f}  {unr['s_per_step'] / red['s_per_step']:>18.0f}×")

if __name__ == '__main__': main()
