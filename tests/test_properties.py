"""Property-based tests of the public API (Hypothesis): for generated sizes, dtypes and values, every call either
succeeds with finite results of the right shape or raises the package's error (`ScbError`, a `ValueError`), never a raw
torch or Python error."""
import math
import pytest, torch
from hypothesis import given, settings, strategies as st, HealthCheck, event
from scb_nb.checks import ScbError
from scb_nb.data import make_task, sample_batch, bayes_loss
from scb_nb.model import uniform_init, predict
from scb_nb.population import batch_grads, expected_grads, population_loss, signals
from scb_nb.stage2 import soft_threshold, normalise_columns, support_match, ProxRule
from scb_nb.train import train, Sampled, Exact, SGD

SETTINGS = dict(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ints = st.one_of(st.integers(-3, 12), st.sampled_from([0, 1, 2, 2**70]), st.floats(-2, 12), st.none(), st.text(max_size=2))
def mostly(valid):
    "Mostly values from `valid`, sometimes anything from `ints`"
    return st.one_of(valid, valid, valid, ints)

dtypes = st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, 'float64', None])

def outcome(f):
    "The result of `f()`, or None if it raised the package's error; any other exception fails the test"
    try: out = f()
    except ScbError: event('refused with the package error'); return None
    event('succeeded')
    return out

@settings(**SETTINGS)
@given(N=mostly(st.integers(2, 12)), T=mostly(st.integers(1, 12)), Q=mostly(st.integers(1, 3)), seed=mostly(st.integers(0, 9)), dtype=dtypes)
def test_make_task_and_sampling(N, T, Q, seed, dtype):
    task = outcome(lambda: make_task(N, T, Q, seed=seed, dtype=dtype))
    if task is None: return
    assert task.P.dtype in (torch.float32, torch.float64) and torch.isfinite(task.P).all()
    assert task.Qmat.shape == (T, N) and math.isfinite(bayes_loss(task))
    b = sample_batch(task, 7, seed=1)
    assert b.tokens.shape == (7, T) and int(b.tokens.min()) >= 0 and int(b.tokens.max()) < N
    assert int(b.pos.max()) < T and int(b.output.max()) < N

@settings(**SETTINGS)
@given(T=st.integers(1, 12), N=st.integers(2, 8), scale=st.sampled_from([0.0, 1.0, 1e3, float('nan'), float('inf')]),
       shape_off=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64, torch.int64]))
def test_gradients_and_losses(T, N, scale, shape_off, dtype):
    task = make_task(N, T, min(2, T), seed=0)
    V = (torch.rand(N, N, dtype=torch.float64) * scale).to(dtype)
    A = (torch.rand(T + int(shape_off), N, dtype=torch.float64)).to(dtype)
    b = sample_batch(task, 5, seed=0)
    for f, shapes in ((lambda: batch_grads(V, A, b), [(N, N), (T, N)]), (lambda: expected_grads(task, V, A), [(N, N), (T, N)]),
                      (lambda: (population_loss(task, V, A),), [()]), (lambda: signals(task, V, A), [(), ()]),
                      (lambda: (predict(V, A, b.tokens, b.query),), [(5, N)])):
        out = outcome(f)
        if out is None: continue
        assert [tuple(o.shape) for o in out] == shapes and all(torch.isfinite(o).all() for o in out)

@settings(**SETTINGS)
@given(thresh=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2, 2), st.booleans(), st.none()),
       lr=st.one_of(st.floats(-1, 1), st.just(float('nan')), st.none()), lam=st.one_of(st.floats(-1, 1), st.just(float('inf'))))
def test_stage2_steps(thresh, lr, lam):
    Z = torch.randn(6, 3, dtype=torch.float64)
    out = outcome(lambda: soft_threshold(Z, thresh))
    if out is not None: assert out.shape == Z.shape and (out.abs() <= Z.abs()).all()
    rule = outcome(lambda: ProxRule(lr=lr, lam=lam))
    if rule is not None: assert rule.lr > 0 and rule.lam >= 0 and math.isfinite(rule.lam)
    n = normalise_columns(Z)
    assert torch.allclose(n.sum(0), torch.ones(3, dtype=torch.float64)) and (n >= 0).all()

@settings(**dict(SETTINGS, max_examples=60))
@given(n_steps=mostly(st.integers(0, 6)), batch=mostly(st.integers(1, 20)), lr=st.one_of(st.floats(1e-3, 50), st.floats(1e-3, 50), st.floats(-1, 0)),
       log_every=mostly(st.integers(1, 3)), seed=mostly(st.integers(0, 9)),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_train(n_steps, batch, lr, log_every, seed, dtype):
    task = make_task(5, 6, 2, seed=0, dtype=dtype)
    U = uniform_init(5, 6, dtype=dtype)
    r = outcome(lambda: train(task, U, SGD(lr), Sampled(batch), n_steps, twin=Exact(), log_every=log_every, seed=seed,
                              progress=False))
    if r is None: return
    assert len({len(v) for v in r.metrics.values()}) == 1 and r.metrics['step'][0] == 0
    assert r.A.dtype == dtype and r.A.shape == (6, 5)
    if not r.diverged: assert torch.isfinite(r.A).all() and r.samples == r.steps * batch
