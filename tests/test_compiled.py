"The compiled hand-written gradient of chapter 10 (`RecurrenceGrads(B, compiled=True)`) gives the eager pass's step."
import pytest, torch
from scb_nb.icl import icl_task, icl_init, RecurrenceGrads

@pytest.mark.parametrize('setting', ['setting1', 'setting3'])   # Gaussian: the statistics' arithmetic compiled too; Setting 3: the pass alone
def test_compiled_recurrence_equals_eager(setting):
    task, params = icl_task(setting, dtype=torch.float64), icl_init(4, 5, std=0.5, seed=3, dtype=torch.float64)   # L = 4: every branch of the backward pass
    eager, compiled = (RecurrenceGrads(16, compiled=c)(task, params, torch.Generator().manual_seed(7)) for c in (False, True))
    assert compiled.samples == eager.samples == 16
    assert abs(compiled.stats['loss'] - eager.stats['loss']) <= 1e-12 * abs(eager.stats['loss'])
    for a, b in zip(eager.grads, compiled.grads):
        assert a.shape == b.shape and float((a - b).abs().max()) <= 1e-12 * float(a.abs().max())
    assert repr(RecurrenceGrads(16, compiled=True)) == 'RecurrenceGrads(16, compiled=True)'
