"Bad input fails at the public boundary with a message naming the parameter and what is allowed (issue 3, item 7)."
import pytest, torch
from scb_nb.data import make_task, SCBTask, sample_batch, sample_output
from scb_nb.model import LinearTransformer, uniform_init
from scb_nb.stage2 import stage2, soft_threshold, paper_runs, support_match

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
    'Qmat shape':     (lambda: SCBTask(P, mu, Qm.T, 2),                   ValueError, 'Qmat must have shape'),
    'P shape':        (lambda: SCBTask(P[:, :5], mu, Qm, 2),              ValueError, 'P must be a square'),
    'P dtype':        (lambda: SCBTask(P.long(), mu, Qm, 2),              TypeError,  'P must have a floating-point dtype'),
    'Q too dense':    (lambda: SCBTask(P, mu, Qm, 1),                     ValueError, 'at most n_sparse=1 non-zeros'),
    'batch<1':        (lambda: sample_batch(task, 0),                     ValueError, 'batch_size must be an integer ≥ 1'),
    'batch float':    (lambda: sample_batch(task, 10.0),                  TypeError,  'batch_size must be an integer ≥ 1'),
    'seed float':     (lambda: sample_batch(task, 10, seed=1.5),          TypeError,  'seed must be an integer ≥ 0'),
    'seed negative':  (lambda: make_task(seed=-3),                        ValueError, 'seed must be an integer ≥ 0'),
    'tokens dtype':   (lambda: sample_output(task, batch.tokens.double(), batch.query), TypeError, 'tokens must be a 2-d torch.long'),
    'tokens range':   (lambda: LinearTransformer.from_task(task)(batch.tokens * 100, batch.query), ValueError, 'must lie in [0, n_vocab-1] = [0, 9]'),
    'V shape':        (lambda: LinearTransformer(10, 50, V=torch.zeros(3, 3)), ValueError, 'V must have shape (10, 10)'),
    'lr_V negative':  (lambda: stage2(task, V0, A0, n_steps=2, lr_V=-5),  ValueError, 'lr_V must be a number > 0'),
    'lr zero':        (lambda: stage2(task, V0, A0, n_steps=2, lr=0),     ValueError, 'lr must be a number > 0'),
    'thresh < 0':     (lambda: soft_threshold(torch.ones(3), -0.1),       ValueError, 'thresh must be a number ≥ 0'),
    'task type':      (lambda: paper_runs('task'),                        TypeError,  'task must be an SCBTask'),
    'V0 type':        (lambda: stage2(task, V0.tolist(), A0, n_steps=2),  TypeError,  'V must be a torch.Tensor'),
    'A0 shape':       (lambda: stage2(task, V0, A0[:10], n_steps=2),      ValueError, 'A must have shape'),
    'scale':          (lambda: paper_runs(task, scale='bogus'),           ValueError, 'scale'),
    'support shape':  (lambda: support_match(A0[:10], task.Qmat),         ValueError, 'A must have the shape of Qmat'),
    'stage2 batch':   (lambda: stage2(task, V0, A0, n_steps=2, batch_size=0), ValueError, 'batch_size must be an integer ≥ 1'),
}

@pytest.mark.parametrize('case', list(CASES))
def test_clear_error(case):
    f, exc, msg = CASES[case]
    with pytest.raises(exc) as e: f()
    assert msg in str(e.value), str(e.value)
