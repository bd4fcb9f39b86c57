"""One-sided Fisher exact p-values for tens of thousands of factors at once.

Why: the incident's defect trace has ~23K factors (one per root wafer lot, machine and
material lot) over ~70K lots. scipy's hypergeometric tail (Boost) costs ~0.14 ms per
factor at that size: 3.8 s of the 7.6 s analysis stage, one factor at a time. The tail
has a simple term recurrence, so all factors can walk it together in numpy: ~15 ms for
the incident, equal to scipy's result to ~1e-9 relative (tests compare them).

Design: X ~ Hypergeom(N lots, K defective, n exposed); p = P(X >= k). Above the mode the
upper tail is summed from pmf(k) upwards; at or below it, p = 1 - P(X <= k-1), summed
from pmf(k-1) downwards: either way the terms shrink from the first one, and a factor
stops once its next term no longer changes its sum (or the support ends). The first
term comes from log-binomials through ``betaln`` (accurate for large arguments), the
next ones from the ratio pmf(x+1)/pmf(x) = (K-x)(n-x) / ((x+1)(N-K-n+x+1)).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln

_REL = 1e-17
"""A factor's walk stops when its next term is below this share of its sum."""


def _log_comb(n: np.ndarray | float, k: np.ndarray) -> np.ndarray:
    """log C(n, k) for real n >= k >= 0."""
    return -np.log1p(n) - betaln(n - k + 1.0, k + 1.0)


def _log_pmf(x: np.ndarray, n: np.ndarray, big_k: float, big_n: float) -> np.ndarray:
    return _log_comb(big_k, x) + _log_comb(big_n - big_k, n - x) - _log_comb(big_n, n)


def _walk(first: np.ndarray, n: np.ndarray, end: np.ndarray, big_k: float, big_n: float,
          step: int) -> np.ndarray:
    """Sum pmf(x) from x = ``first`` in direction ``step`` (+1 or -1) until the terms stop
    counting or x passes ``end``; every factor walks at once, finished ones drop out."""
    x = first.astype(float)
    term = np.exp(_log_pmf(x, n, big_k, big_n))
    total = term.copy()
    live = np.nonzero(x != end)[0]
    while len(live):
        xa, na = x[live], n[live]
        if step > 0:
            ratio = (big_k - xa) * (na - xa) / ((xa + 1.0) * (big_n - big_k - na + xa + 1.0))
        else:
            ratio = xa * (big_n - big_k - na + xa) / ((big_k - xa + 1.0) * (na - xa + 1.0))
        term[live] *= ratio
        total[live] += term[live]
        x[live] = xa + step
        live = live[(term[live] > total[live] * _REL) & (x[live] != end[live])]
    return total


def fisher_one_sided(bad: np.ndarray, lots: np.ndarray, n_defective: int,
                     n_lots: int) -> np.ndarray:
    """P(X >= bad), X ~ Hypergeom(n_lots lots, n_defective defective, lots drawn): the
    one-sided Fisher exact p-value of each factor (1 at or below the support's start)."""
    k = np.asarray(bad, dtype=float)
    n = np.asarray(lots, dtype=float)
    big_n, big_k = float(n_lots), float(n_defective)
    low = np.maximum(0.0, n - (big_n - big_k))  # least defective lots possible
    high = np.minimum(n, big_k)  # most
    p = np.where(k <= low, 1.0, 0.0)  # above ``high``: 0
    inside = (k > low) & (k <= high)
    mode = np.floor((n + 1.0) * (big_k + 1.0) / (big_n + 2.0))
    upper = np.nonzero(inside & (k > mode))[0]
    if len(upper):
        p[upper] = _walk(k[upper], n[upper], high[upper], big_k, big_n, +1)
    lower = np.nonzero(inside & (k <= mode))[0]
    if len(lower):
        p[lower] = 1.0 - _walk(k[lower] - 1.0, n[lower], low[lower], big_k, big_n, -1)
    return np.clip(p, 0.0, 1.0)
