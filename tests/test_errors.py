"Bad input fails at the public boundary with a message naming the parameter and what is allowed (issue 3, item 7)."
import pytest, torch
from scb_nb.data import make_task, SCBTask, SCBBatch, sample_batch, sample_output, stationary, draw_categorical
from scb_nb.model import LinearTransformer, uniform_init, predict
from scb_nb.population import check_model, population_loss, batch_loss, batch_grads
from scb_nb.stage1 import stage1
from scb_nb.stage2 import stage2, sgd, soft_threshold, paper_runs, support_match, ProxRule, Refit
from scb_nb.train import train, Sampled, SGD, Noisy, Optim

task = make_task(seed=0)
P, mu, Qm = task.P, task.mu, task.Qmat
batch = sample_batch(task, 8, seed=0)
V0, A0 = uniform_init(10, 50)

CASES = {
    'N<2':            (lambda: make_task(n_vocab=1),                      ValueError, 'n_vocab must be an integer ≥ 2'),
    'Q<1':            (lambda: make_task(n_sparse=0),                     ValueError, 'n_sparse must be an integer in [1, 50]'),
    'Q>T':            (lambda: make_task(seq_len=4, n_sparse=5),          ValueError, 'n_sparse must be an integer in [1, 4]'),
    'T<1':            (lambda: make_task(seq_len=0),                      ValueError, 'seq_len must be an integer ≥ 1'),
    'P not stoch.':   (lambda: SCBTask(P * 1.01, mu, Qm, 2),              ValueError, 'within atol=1e-06'),
    'P negative':     (lambda: SCBTask(P - 0.5, mu, Qm, 2),               ValueError, 'P must be non-negative'),
    'mu non-pos.':    (lambda: SCBTask(P, mu * 0, Qm, 2),                 ValueError, 'mu must be strictly positive'),
    'mu not normed':  (lambda: SCBTask(P, mu / 2, Qm, 2),                 ValueError, 'mu must sum to 1'),
    'mu not stat.':   (lambda: SCBTask(P, torch.full_like(mu, .1), Qm, 2), ValueError, 'mu must be stationary'),
    'Qmat shape':     (lambda: SCBTask(P, mu, Qm.T, 2),                   ValueError, 'Qmat must be a tensor of shape (any, 10)'),
    'P shape':        (lambda: SCBTask(P[:, :5], mu, Qm, 2),              ValueError, 'P must be a square'),
    'P dtype':        (lambda: SCBTask(P.long(), mu, Qm, 2),              TypeError,  'P must be a floating-point tensor (float32 or float64)'),
    'Q too dense':    (lambda: SCBTask(P, mu, Qm, 1),                     ValueError, 'at most n_sparse=1 non-zeros'),
    'batch<1':        (lambda: sample_batch(task, 0),                     ValueError, 'batch_size must be an integer ≥ 1'),
    'batch float':    (lambda: sample_batch(task, 10.0),                  TypeError,  'batch_size must be an integer ≥ 1'),
    'seed float':     (lambda: sample_batch(task, 10, seed=1.5),          TypeError,  'seed must be an integer in [0, '),
    'seed negative':  (lambda: make_task(seed=-3),                        ValueError, 'seed must be an integer in [0, '),
    'tokens dtype':   (lambda: sample_output(task, batch.tokens.double(), batch.query), TypeError, 'tokens must be a tensor of dtype torch.int64'),
    'tokens range':   (lambda: LinearTransformer.from_task(task)(batch.tokens * 100, batch.query), ValueError, 'must lie in [0, n_vocab-1] = [0, 9]'),
    'V shape':        (lambda: LinearTransformer(10, 50, V=torch.zeros(3, 3)), ValueError, 'V must be a tensor of shape (10, 10)'),
    'task dtype':     (lambda: make_task(dtype=torch.float16),            ValueError, 'dtype must be one of torch.float32, torch.float64'),
    'P not stoch. μ': (lambda: stationary(P * 2),                         ValueError, 'P must be column-stochastic'),
    'token negative': (lambda: predict(P, Qm, batch.tokens - 1, batch.query), ValueError, 'tokens must lie in [0, n_vocab-1] = [0, 9], got an entry -1'),
    'query negative': (lambda: batch_grads(V0, A0, SCBBatch(batch.tokens, -batch.query - 1, batch.pos, batch.output)), ValueError, 'query must lie in [0, n_vocab-1]'),
    'empty batch':    (lambda: batch_loss(V0, A0, SCBBatch(batch.tokens[:0], batch.query[:0], batch.pos[:0], batch.output[:0])), ValueError, 'at least one context'),
    'zero mass':      (lambda: draw_categorical(torch.zeros(4), 3),       ValueError, 'probs must have a positive total mass'),
    'V NaN':          (lambda: population_loss(task, V0 * float('nan'), A0), ValueError, 'V must be finite'),
    'A dtype':        (lambda: check_model(task, V0, A0.float()),         TypeError,  'A must be a tensor of dtype torch.float64'),
    'lr_V negative':  (lambda: ProxRule(lr_V=-5),                         ValueError, 'lr_V must be a finite number > 0, got -5'),
    'lr zero':        (lambda: ProxRule(lr=0),                            ValueError, 'lr must be a finite number > 0, got 0'),
    'lam inf':        (lambda: ProxRule(lam=float('inf')),                ValueError, 'lam must be a finite number ≥ 0, got inf'),
    'flag truthy':    (lambda: ProxRule(prox=1),                          TypeError,  'prox must be True or False, got 1'),
    'thresh < 0':     (lambda: soft_threshold(torch.ones(3), -0.1),       ValueError, 'thresh must be a finite number ≥ 0, got -0.1'),
    'refit too late': (lambda: stage2(task, V0, A0, n_steps=2, refit=Refit(at=5)), ValueError, 'refit.at must be an integer in [0, 2], got 5'),
    'rule type':      (lambda: stage2(task, V0, A0, rule='prox'),          TypeError,  'rule must be a ProxRule'),
    'sgd lr':         (lambda: sgd(task, V0, A0, lr=-1.0),                ValueError, 'lr must be a finite number > 0, got -1.0'),
    'max_steps name': (lambda: stage1(task, max_steps=-1),                ValueError, 'max_steps must be an integer ≥ 0, got -1'),
    'unknown option': (lambda: stage1(task, max_step=3),                  ValueError, 'unknown option(s) max_step'),
    'train rule':     (lambda: train(task, (V0, A0), 'sgd', Sampled(10), 2), TypeError, 'rule must be an update rule'),
    'noisy n_ref':    (lambda: Noisy(10, n_ref=1),                        ValueError, 'n_ref must be an integer ≥ 2, got 1'),
    'optim class':    (lambda: Optim('adam'),                             TypeError,  'opt must be a torch.optim.Optimizer class'),
    'seed too big':   (lambda: stage1(task, seed=2**64),                  ValueError, 'seed must be an integer in [0, 9223372036854775807]'),
    'task type':      (lambda: paper_runs('task'),                        TypeError,  'task must be an SCBTask'),
    'V0 type':        (lambda: stage2(task, V0.tolist(), A0, n_steps=2),  TypeError,  'V must be a torch.Tensor'),
    'A0 shape':       (lambda: stage2(task, V0, A0[:10], n_steps=2),      ValueError, 'A must be a tensor of shape (50, 10)'),
    'scale':          (lambda: paper_runs(task, scale='bogus'),           ValueError, 'scale'),
    'support shape':  (lambda: support_match(A0[:10], task.Qmat),         ValueError, 'A must be a tensor of shape (50, 10)'),
    'stage2 batch':   (lambda: stage2(task, V0, A0, n_steps=2, batch_size=0), ValueError, 'batch_size must be an integer ≥ 1'),
}

@pytest.mark.parametrize('case', list(CASES))
def test_clear_error(case):
    f, exc, msg = CASES[case]
    with pytest.raises(exc) as e: f()
    assert msg in str(e.value), str(e.value)

def test_divergence_is_recorded_not_raised():
    "A stage-2 run without normalisation and a large λ blows up: it stops cleanly with `diverged_at`, no exception"
    r = stage2(task, V0 + 0.01 * task.P, A0 + 0.5 * task.Qmat, ProxRule(lam=5, normalise=False), n_steps=50, progress=False)
    assert r.diverged and r.config['diverged_at'] <= 50 and r.steps == r.config['diverged_at']

def test_float32_trains_end_to_end():
    "A float32 task trains through stage 1 and stage 2 in float32, close to the float64 run"
    t32 = make_task(seed=0, dtype=torch.float32)
    s32, s64 = (stage1(t, max_steps=60, seed=1, progress=False) for t in (t32, task))
    r32 = stage2(t32, s32.V, s32.A, n_steps=20, seed=2, progress=False)
    assert r32.A.dtype == torch.float32 and r32.V_pop.dtype == torch.float32 and not r32.diverged
    assert abs(s32.final('alpha_V') - s64.final('alpha_V')) < 1e-3
