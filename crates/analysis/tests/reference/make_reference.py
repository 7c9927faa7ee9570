"""Reference values for crates/analysis/tests (scipy, statsmodels, numpy).

    python -m venv /tmp/ref && /tmp/ref/bin/pip install numpy scipy statsmodels mpmath
    /tmp/ref/bin/python crates/analysis/tests/reference/make_reference.py > crates/analysis/tests/reference/values.json

Made with numpy 2.x, scipy 1.17.1, statsmodels 0.15.0.
"""

import json
import math

import numpy as np
import scipy
import scipy.stats as st
import mpmath as mp
import statsmodels
from statsmodels.stats.power import TTestPower


def fixture(n=201):
    """The sample of tests/distribution.rs: heavy right tail, ties, negative values."""
    return [math.exp(2.0 * math.sin(0.7 * i)) + 0.3 * (i % 7) - 1.0 for i in range(n)]


out = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                    "statsmodels": statsmodels.__version__}}

out["nct_cdf"] = [
    {"t": t, "df": df, "ncp": ncp, "cdf": float(st.nct.cdf(t, df, ncp))}
    for t in (-3.0, -0.5, 0.0, 0.7, 2.2, 4.0, 9.0)
    for df in (1, 3, 4, 9, 29)
    for ncp in (-1.5, 0.0, 0.8, 2.5, 6.0)
]
out["t_quantile"] = [
    {"p": p, "df": df, "t": float(st.t.ppf(p, df))}
    for p in (0.975, 0.99, 0.995, 0.9983333333333333)
    for df in (1, 2, 4, 9, 24)
]
tp = TTestPower()
# statsmodels (through scipy's nct) returns NaN once the power is within ~1e-10 of 1 (e.g.
# effect 3, 10 pairs): those rows are left out.
out["paired_power"] = [
    row for row in (
        {"effect": d, "n": n, "alpha": a,
         "power": float(tp.power(effect_size=d, nobs=n, alpha=a, alternative="two-sided"))}
        for d in (0.3, 0.8, 1.5, 3.0)
        for n in (3, 5, 10, 25)
        for a in (0.05, 0.05 / 3, 0.01)
    ) if math.isfinite(row["power"])
]


mp.mp.dps = 30


def mp_nct_cdf(t, df, ncp):
    """P(T <= t) for T = (Z + ncp) / sqrt(V / df), V ~ chi2(df): E_V[Phi(t sqrt(V/df) - ncp)],
    by mpmath quadrature at 30 digits (independent of scipy's nct, which returns NaN at large
    noncentrality)."""
    t, df, ncp = mp.mpf(t), mp.mpf(df), mp.mpf(ncp)
    k = df / 2
    dens = lambda v: mp.exp((k - 1) * mp.log(v) - v / 2 - k * mp.log(2) - mp.loggamma(k))
    return mp.quad(lambda v: mp.ncdf(t * mp.sqrt(v / df) - ncp) * dens(v), [0, df, mp.inf])


def mp_power(d, n, a):
    c = mp.mpf(st.t.ppf(1 - a / 2, n - 1))
    ncp = mp.mpf(d) * mp.sqrt(n)
    return 1 - mp_nct_cdf(c, n - 1, ncp) + mp_nct_cdf(-c, n - 1, ncp)


# The root of the exact power function. statsmodels' solve_power agrees except at n=3,
# alpha=0.05/3, where it returns 4.29, whose power is 0.61, not 0.8.
out["detectable_effect"] = [
    {"n": n, "alpha": a, "power": p,
     "effect": float(mp.findroot(lambda d: mp_power(d, n, a) - p, (0.5, 8.0), solver="anderson"))}
    for n in (3, 5, 10, 25)
    for a in (0.05, 0.05 / 3)
    for p in (0.8, 0.9)
]
out["runs_needed"] = [
    {"effect": d, "alpha": a, "power": 0.8,
     "n": int(math.ceil(tp.solve_power(effect_size=d, alpha=a, power=0.8, alternative="two-sided")))}
    for d in (0.5, 1.0, 2.0, 4.0)
    for a in (0.05, 0.05 / 3)
]

x = np.array(fixture())
qs = [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0]
counts, edges = np.histogram(x, bins=12)
out["distribution"] = {
    "n": len(x),
    "quantiles": {"q": qs, "value": [float(v) for v in np.quantile(x, qs)]},
    "mean": float(x.mean()),
    "std": float(x.std()),
    "skewness": float(st.skew(x, bias=True)),
    "excess_kurtosis": float(st.kurtosis(x, fisher=True, bias=True)),
    "histogram": {"bins": 12, "counts": [int(c) for c in counts], "edges": [float(e) for e in edges]},
}
print(json.dumps(out, indent=0))
