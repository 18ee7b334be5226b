"""EmpiricalBench: nine historical empirical laws as synthetic problems.

EmpiricalBench was introduced with PySR (M. Cranmer, "Interpretable Machine
Learning for Science with PySR and SymbolicRegression.jl", arXiv:2305.01582,
2023). Its problem definitions live in ``src/data/empirical_bench/equations.yml``
of github.com/MilesCranmer/pysr_paper (commit b30687433fb3); every formula,
constant, range, range scale, size and noise below follows that file unless a
problem's description says otherwise. Where the paper fitted historical data
(Hubble, Kepler, Leavitt, Bode) these problems generate synthetic data from
the law instead.

Conventions taken from the paper:

* Ranges without an explicit scale are log-uniform there, and are here.
* For the six laws whose targets span orders of magnitude (Newton, Planck,
  Schechter, Bode, ideal gas, Rydberg) the paper fits ``log(target)``; here the
  formula itself is that logarithm, so ``y`` is what the searches fit.
* The paper's noise was absolute or relative; here every default
  :attr:`Problem.noise` is the fraction of std(y) with the same root-mean-square
  size over the problem's box (relative noise ``r`` on a quantity is an
  absolute noise of about ``r`` on its logarithm).
* Operators: the paper's PySR run used ``+ - * /`` and ``square cube exp log sqrt``.
"""

from __future__ import annotations

import numpy as np

from .problem import Problem, Variable

__all__ = ["empirical_problems"]

SUITE = "empirical"
SOURCE = ("EmpiricalBench, Cranmer 2023 (arXiv:2305.01582), "
          "github.com/MilesCranmer/pysr_paper src/data/empirical_bench/equations.yml")
BINARY = ("+", "-", "*", "/")
UNARY = ("square", "cube", "exp", "log", "sqrt")

# Bode's planet index: -1000 stands for -infinity (Mercury), as in the paper.
BODE_INDICES = (-1000.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


def bode_sampler(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Planet indices cycling through :data:`BODE_INDICES` in random order, so
    that every planet appears once per 8 rows."""
    k = len(BODE_INDICES)
    blocks = [rng.permutation(BODE_INDICES) for _ in range(-(-n // k))]
    return {"n": np.concatenate(blocks)[:n]}


def rydberg_sampler(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Lower level n1 in 1..6, upper level n2 in n1+1..7 (the paper's draw)."""
    n1 = rng.integers(1, 7, n)
    n2 = rng.integers(n1 + 1, 8)
    return {"n1": n1.astype(float), "n2": n2.astype(float)}


def _problem(**kwargs) -> Problem:
    return Problem(suite=SUITE, source=SOURCE, binary_operators=BINARY,
                   unary_operators=UNARY, **kwargs)


def empirical_problems() -> tuple[Problem, ...]:
    """The nine laws, in the order of the seed's table."""
    return (
        _problem(
            name="hubble", title="Hubble", formula="H0*D", target="v",
            target_units="recession velocity, km/s",
            variables=(Variable("D", 1, 20, "uniform", "distance, Mpc"),),
            constants={"H0": 73.3}, n_samples=30, noise=0.25,
            description=(
                "Hubble's law v = H0*D (Hubble 1929). H0 = 73.3 (km/s)/Mpc, the modern value "
                "the paper uses (Riess et al. 2022). D uniform in [1, 20] Mpc, 30 points, as "
                "in the paper's generator; its noise of 100 km/s absolute is 0.25 std(v) over "
                "this box. The paper's benchmark fitted Hubble's 1929 data instead."),
        ),
        _problem(
            name="kepler", title="Kepler", formula="sqrt(k*a**3)", target="P",
            target_units="orbital period, days",
            variables=(Variable("a", 0.38, 9.5, "log-uniform", "semi-major axis, AU"),),
            constants={"k": 365.25 ** 2}, n_samples=10, noise=0.0026,
            description=(
                "Kepler's third law P^2 = k*a^3 (Kepler 1619). a log-uniform in [0.38, 9.5] "
                "AU (Mercury to Saturn), 10 points, 0.2% relative noise, as in the paper's "
                "generator; that noise is 0.0026 std(P) in rms over this box. The paper leaves "
                "k open; here k = 365.25^2 day^2/AU^3, one year at 1 AU. The paper's benchmark "
                "fitted the six classical planets instead."),
        ),
        _problem(
            name="newton", title="Newton", formula="log(G*m1*m2/r**2)", target="log_F",
            target_units="natural log of the gravitational force in N",
            variables=(Variable("r", 3.7e8, 7.37593e12, "log-uniform",
                                "distance, m (Earth-Moon to Sun-Pluto)"),
                       Variable("m1", 1.3e22, 2e30, "log-uniform", "mass, kg (Pluto to Sun)"),
                       Variable("m2", 1.3e22, 2e30, "log-uniform", "mass, kg (Pluto to Sun)")),
            constants={"G": 6.67408e-11}, n_samples=30, noise=0.011,
            description=(
                "Newton's law of universal gravitation F = G*m1*m2/r^2 (Newton 1687), fitted "
                "as log F like the paper. G = 6.67408e-11 m^3/(kg s^2). Ranges, log-uniform "
                "scale and 30 points from the paper's generator; its 10% relative noise on F "
                "is 0.011 std(log F)."),
        ),
        _problem(
            name="planck", title="Planck",
            formula="log(2*h*nu**3/(c**2*(exp(h*nu/(k_B*T)) - 1)))", target="log_B",
            target_units="natural log of the spectral radiance in W/(sr m^2 Hz)",
            variables=(Variable("nu", 1e9, 1e16, "log-uniform", "frequency, Hz"),
                       Variable("T", 100, 6000, "log-uniform", "temperature, K")),
            constants={"h": 6.62607004e-34, "k_B": 1.38064852e-23, "c": 299792458.0},
            n_samples=100, noise=0.0012,
            description=(
                "Planck's law B = 2 h nu^3/c^2 / (exp(h nu/(k_B T)) - 1) (Planck 1914), fitted "
                "as log B like the paper; h = 6.62607004e-34 J s, k_B = 1.38064852e-23 J/K, "
                "c = 299792458 m/s. nu and T log-uniform in the paper's ranges, 100 points; "
                "its 10% relative noise on B is 0.0012 std(log B). The paper evaluated in "
                "arbitrary precision; in float64 exp overflows where h nu/(k_B T) > 709 "
                "(about 3% of the box, the far Wien tail), and those rows are redrawn."),
        ),
        _problem(
            name="leavitt", title="Leavitt", formula="alpha*log(P, 10) + delta", target="M",
            target_units="apparent magnitude",
            variables=(Variable("P", 1.25, 158, "log-uniform", "pulsation period, days"),),
            constants={"alpha": -2.084, "delta": 15.65}, n_samples=26, noise=0.32,
            description=(
                "Leavitt's period-luminosity law M = alpha*log10(P) + delta (Leavitt 1912) for "
                "the Small Magellanic Cloud Cepheids, with the paper's alpha = -2.084 and "
                "delta = 15.65. P log-uniform in [1.25, 158] days, 26 points, noise 0.4 mag "
                "absolute (0.32 std(M)), as in the paper's generator. The paper's benchmark "
                "fitted Leavitt's 1912 data instead."),
        ),
        _problem(
            name="schechter", title="Schechter",
            formula="log(phi_ast/L_ast*(L/L_ast)**alpha*exp(-L/L_ast))", target="log_n",
            target_units="natural log of the galaxy number density per unit luminosity",
            variables=(Variable("L", 1e6, 3e9, "log-uniform", "luminosity, solar luminosities"),),
            constants={"phi_ast": 0.002, "L_ast": 2.5e8, "alpha": -1.2}, n_samples=27, noise=0.042,
            description=(
                "Schechter's luminosity function n = phi*/L* (L/L*)^alpha exp(-L/L*) (Press & "
                "Schechter 1974; Schechter 1976), fitted as log n like the paper; alpha = -1.2, "
                "phi* = 0.002, L* = 2.5e8 L_sun. L log-uniform in [1e6, 3e9] L_sun, 27 points, "
                "20% relative noise on n (0.042 std(log n)), as in the paper's generator."),
        ),
        _problem(
            name="bode", title="Bode", formula="log(0.4 + 0.3*2**n)", target="log_a",
            target_units="natural log of the semi-major axis in AU",
            variables=(Variable("n", -1000, 6, "choice", "planet index (-1000 for Mercury's "
                                "-infinity)", values=BODE_INDICES),),
            n_samples=8, noise=0.024, sampler=bode_sampler,
            description=(
                "The Titius-Bode law a = 0.4 + 0.3*2^n (Bonnet 1764), fitted as log a like the "
                "paper. n runs over Mercury (-1000 standing for -infinity, as in the paper), "
                "Venus..Uranus = 0..6 with Ceres at 3; 8 points cycle through all indices. The "
                "paper fitted the real planets, which deviate from the law by 2.8% rms; here "
                "that is the noise, 3% relative, 0.024 std(log a)."),
        ),
        _problem(
            name="ideal_gas", title="Ideal Gas", formula="log(n*R*T/V)", target="log_P",
            target_units="natural log of the pressure in Pa",
            variables=(Variable("n", 1, 100, "uniform", "amount of gas, mol"),
                       Variable("T", 300, 400, "uniform", "temperature, K"),
                       Variable("V", 1, 100, "uniform", "volume, m^3")),
            constants={"R": 8.314}, n_samples=30, noise=0.081,
            description=(
                "The ideal gas law P = n R T/V (Clapeyron 1834), fitted as log P like the paper; "
                "R = 8.314 J/(mol K). n, T and V uniform in the paper's ranges, 30 points, 10% "
                "relative noise on P (0.081 std(log P))."),
        ),
        _problem(
            name="rydberg", title="Rydberg", formula="log(1/(R_H*(1/n1**2 - 1/n2**2)))",
            target="log_lambda", target_units="natural log of the wavelength in m",
            variables=(Variable("n1", 1, 6, "integer", "principal quantum number, lower level"),
                       Variable("n2", 2, 7, "integer", "principal quantum number, upper level")),
            constants={"R_H": 1.097e7}, n_samples=50, noise=0.0062, sampler=rydberg_sampler,
            description=(
                "The Rydberg formula 1/lambda = R_H (1/n1^2 - 1/n2^2) (Rydberg 1889) for "
                "hydrogen, fitted as log lambda like the paper; R_H = 1.097e7 1/m. n1 in 1..6 "
                "and n2 in n1+1..7, 50 points, 1% relative noise on lambda (0.0062 std(log "
                "lambda)), as in the paper's generator."),
        ),
    )
