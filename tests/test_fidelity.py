"Label fidelity (synthclf.fidelity): recovered where the simulator plants the truth, and stored for the user to read."
import numpy as np
import pandas as pd
import pytest
from synthclf.fidelity import corrected_shares, fidelity_interval, label_fidelity, planted_fidelity


def test_planted_swap_recovered(real_data):
    "A 30% label swap: the corrected estimate lands near 0.7 and its interval covers the truth; the raw rate does not."
    r = planted_fidelity('financial_phrasebank', noise=0.3, per_label=100, real_per_label=300, seed=1, n_boot=300)
    assert abs(r['truth'] - 0.7) < 0.05
    assert r['covered'] and abs(r['fidelity'] - r['truth']) < 0.06, r
    assert r['truth'] - r['raw'] > 0.1, r  # the reader's own errors bias the raw rate down: what the correction removes


def test_coverage_over_seeds(real_data):
    "Over 10 seeds the 95% interval covers the planted truth in at least 8 (binomial: P(≤7 | 0.95) < 0.02)."
    rs = [planted_fidelity('financial_phrasebank', noise=0.3, per_label=80, real_per_label=250, seed=s, n_boot=300)
          for s in range(10)]
    assert sum(r['covered'] for r in rs) >= 8, [(round(r['fidelity'], 3), round(r['truth'], 3)) for r in rs]
    assert abs(np.mean([r['fidelity'] - r['truth'] for r in rs])) < 0.04  # little bias on average


def test_interval_counts_the_confusion_uncertainty():
    "A reader measured on 20 real rows gives a wider interval than the same reader measured on 2000."
    intended, read = np.zeros(200, int), np.r_[np.zeros(138, int), np.ones(62, int)]
    widths = []
    for n in (10, 1000):
        true = np.repeat([0, 1], n)
        pred = np.r_[np.zeros(int(0.9 * n)), np.ones(n - int(0.9 * n)), np.zeros(int(0.2 * n)), np.ones(n - int(0.2 * n))]
        est = fidelity_interval(intended, read, true, pred.astype(int), 2, n_boot=400)
        assert abs(est['fidelity'] - 0.7) < 1e-9
        widths.append(est['ci_high'] - est['ci_low'])
    assert widths[0] > 1.5 * widths[1], widths


def test_per_text_scores_and_label_errors():
    "Every synthetic text gets a score, the worst first, leaks name the labels; unknown labels are named."
    words = {'ham': 'lunch mum home later dinner tonight', 'spam': 'win prize claim cash call free'}
    rng = np.random.default_rng(0)
    say = lambda l: ' '.join(rng.choice(words[l].split(), 5))
    real = pd.DataFrame([(say(l), l) for l in words for _ in range(30)], columns=['text', 'label'])
    syn = pd.DataFrame({'text': [say('spam')] * 3 + [say('ham') for _ in range(7)] + [say('spam') for _ in range(10)],
                        'label': ['ham'] * 10 + ['spam'] * 10})
    out = label_fidelity(real, syn, ['ham', 'spam'], n_boot=100)
    t = out['texts']
    assert len(t) == 20 and t.fidelity.is_monotonic_increasing and (t.head(3).read_as == 'spam').all()
    assert out['summary'].iloc[0]['mode'] == 'all' and out['confusion'].sum() == len(real)  # every real row read out of fold
    assert out['leaks'].iloc[0][['intended', 'true_label']].tolist() == ['ham', 'spam']
    with pytest.raises(ValueError, match=r"\['eggs'\]"):
        label_fidelity(real, syn.assign(label=['eggs'] + ['ham'] * 19), ['ham', 'spam'])
    with pytest.raises(ValueError, match='at least 5 real rows'):
        label_fidelity(real.head(33), syn, ['ham', 'spam'])


def test_correction_needs_every_label_read():
    with pytest.raises(ValueError, match='no real row of labels'):
        corrected_shares(np.zeros(3, int), np.zeros(3, int), np.array([[5, 1], [0, 0]]), 2)
