"""The one recommendation schema every domain speaks.

A domain's rules look at its analysed frames and emit :class:`Recommendation`
objects; :func:`to_frame` turns them into the shared frame, :func:`rank` orders them
(severity first, then score) and :func:`top` keeps the first ``n``. Every
recommendation carries its evidence and an estimated impact, so a reader never has
to trust a verdict blind.

Rules are declared once, in their domain's ``rules.py``, with :func:`rule`, which
registers them in :data:`REGISTRY`; registering an id that exists with another
meaning is an error. :func:`rules` lists them — every domain's, whatever was
imported before (it imports each domain's ``rules`` module). Examples and tests
make their rules in a throwaway :class:`Registry` so they never reach the shared one.

Columns of the recommendation frame (:data:`RECOMMENDATIONS`):

==============  =======  ==========================================================
column          dtype    meaning
==============  =======  ==========================================================
domain          str      perflab domain that produced it (``monitoring`` …)
rule            str      stable rule id, ``<domain>.<name>``
severity        str      ``critical``, ``high``, ``medium``, ``low`` or ``info``
subject         str      what it is about (a metric, a query fingerprint, a URL …)
finding         str      what was observed, in one sentence
action          str      what to do about it
evidence        str      the figures behind the finding
impact          f64      estimated saving or excess (null when not estimable)
impact_unit     str      unit of ``impact`` (``ms``, ``%``, ``bytes`` …)
score           f64      ranking weight within a severity, higher first
==============  =======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import polars as pl

from perflab.errors import ParameterError
from perflab.frames import FrameLike, Schema, as_frame

__all__ = [
    "RECOMMENDATIONS",
    "REGISTRY",
    "SEVERITIES",
    "Recommendation",
    "Registry",
    "Rule",
    "rank",
    "rule",
    "rules",
    "to_frame",
    "top",
]

Severity = Literal["critical", "high", "medium", "low", "info"]

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
"""Severity levels, most urgent first."""

RECOMMENDATIONS = Schema(
    "recommendations",
    {
        "domain": pl.String,
        "rule": pl.String,
        "severity": pl.String,
        "subject": pl.String,
        "finding": pl.String,
        "action": pl.String,
        "evidence": pl.String,
        "impact": pl.Float64,
        "impact_unit": pl.String,
        "score": pl.Float64,
    },
    extra=False,
)


@dataclass(frozen=True)
class Rule:
    """A rule's stable identity and what it looks for.

    Parameters
    ----------
    id : str
        Stable id ``<domain>.<name>``; never reused for another meaning.
    severity : str
        Default severity of what the rule finds.
    title : str
        One line saying what the rule detects.

    Examples
    --------
    >>> Rule("demo.slow-thing", "medium", "something is slow").domain
    'demo'
    """

    id: str
    severity: Severity
    title: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ParameterError(f"rule {self.id}: unknown severity {self.severity!r}")
        if "." not in self.id:
            raise ParameterError(f"rule id {self.id!r} must read '<domain>.<name>'")

    @property
    def domain(self) -> str:
        """The domain part of the id."""
        return self.id.split(".", 1)[0]


class Registry:
    """Rules by id. Ids are unique: a second, different rule with an id is an error.

    Registering the very same rule again (equal id, severity and title — what a
    module reload does) is a no-op.

    Examples
    --------
    >>> reg = Registry()
    >>> slow = reg.rule("demo.slow", "high", "something is slow")
    >>> [r.id for r in reg.rules("demo")]
    ['demo.slow']
    >>> reg.rule("demo.slow", "low", "another meaning")
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: rule id 'demo.slow' is already registered ...
    """

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rule: Rule) -> Rule:
        """Register ``rule``; return it."""
        known = self._rules.get(rule.id)
        if known is not None and known != rule:
            raise ParameterError(
                f"rule id {rule.id!r} is already registered (as {known.severity}: "
                f"{known.title!r}); a rule id is never reused for another meaning"
            )
        self._rules[rule.id] = rule
        return rule

    def rule(self, id: str, severity: Severity, title: str) -> Rule:
        """Make a :class:`Rule` and register it; return it."""
        return self.add(Rule(id, severity, title))

    def get(self, id: str) -> Rule:
        """The rule with this id (KeyError when there is none)."""
        return self._rules[id]

    def rules(self, domain: str | None = None) -> list[Rule]:
        """The registered rules, optionally of one domain, sorted by id."""
        return sorted(
            (r for r in self._rules.values() if domain is None or r.domain == domain),
            key=lambda r: r.id,
        )

    def __contains__(self, id: object) -> bool:
        return id in self._rules

    def __len__(self) -> int:
        return len(self._rules)


REGISTRY = Registry()
"""The rules of every perflab domain (and of any package that registers its own)."""


def rule(id: str, severity: Severity, title: str) -> Rule:
    """Declare a rule in :data:`REGISTRY`: what a domain's ``rules.py`` calls.

    Parameters
    ----------
    id : str
        Stable id ``<domain>.<name>``; never reused for another meaning.
    severity : str
        Default severity of what the rule finds.
    title : str
        One line saying what the rule detects.

    Raises
    ------
    ParameterError
        A malformed id, an unknown severity, or an id registered with another meaning.
    """
    return REGISTRY.rule(id, severity, title)


def rules(domain: str | None = None) -> list[Rule]:
    """Every registered rule, optionally of one domain, sorted by id.

    Each domain's ``rules`` module is imported first, so the answer does not depend
    on what was imported before.

    Examples
    --------
    >>> [r.id for r in rules("monitoring")][:2]
    ['monitoring.heavy-tail', 'monitoring.regression']
    """
    import importlib
    import importlib.util

    from perflab import domains

    for name in domains() if domain is None else [domain]:
        module = f"perflab.{name}.rules"
        if importlib.util.find_spec(f"perflab.{name}") and importlib.util.find_spec(module):
            importlib.import_module(module)
    return REGISTRY.rules(domain)


@dataclass(frozen=True)
class Recommendation:
    """One finding with its evidence and what to do.

    Examples
    --------
    >>> r = Recommendation.of(
    ...     Rule("demo.slow", "high", "slow thing"), subject="GET /",
    ...     finding="p95 is 900 ms", action="cache it", evidence="n=100", impact=400,
    ...     impact_unit="ms")
    >>> r.rule, r.severity, r.score
    ('demo.slow', 'high', 400.0)
    """

    domain: str
    rule: str
    severity: Severity
    subject: str
    finding: str
    action: str
    evidence: str
    impact: float | None = None
    impact_unit: str = ""
    score: float = 0.0

    @classmethod
    def of(
        cls,
        rule: Rule,
        *,
        subject: str,
        finding: str,
        action: str,
        evidence: str,
        impact: float | None = None,
        impact_unit: str = "",
        severity: Severity | None = None,
        score: float | None = None,
    ) -> Recommendation:
        """Make a recommendation for ``rule``; score defaults to ``impact``."""
        sev = severity or rule.severity
        if sev not in SEVERITIES:
            raise ParameterError(f"unknown severity {sev!r}")
        return cls(
            domain=rule.domain,
            rule=rule.id,
            severity=sev,
            subject=subject,
            finding=finding,
            action=action,
            evidence=evidence,
            impact=None if impact is None else float(impact),
            impact_unit=impact_unit,
            score=float(score if score is not None else (impact or 0.0)),
        )


def to_frame(recs: Iterable[Recommendation]) -> pl.DataFrame:
    """Recommendations as the shared frame, ranked.

    Examples
    --------
    >>> to_frame([]).columns[:3]
    ['domain', 'rule', 'severity']
    """
    rows = [asdict(r) for r in recs]
    if not rows:
        return RECOMMENDATIONS.empty()
    return rank(pl.DataFrame(rows, schema=dict(RECOMMENDATIONS.columns)))


def rank(df: FrameLike) -> pl.DataFrame:
    """Order recommendations: severity (critical first), then score, highest first.

    A finding without a score (null or NaN) comes last within its severity.

    Parameters
    ----------
    df : frame-like
        A recommendation frame (:data:`RECOMMENDATIONS`).

    Returns
    -------
    polars.DataFrame
        The same rows, ordered.

    Examples
    --------
    >>> rule = Rule("demo.thing", "low", "a demo rule")
    >>> recs = [Recommendation.of(rule, subject=s, finding="f", action="a", evidence="e",
    ...     severity=sev, score=score) for s, sev, score in
    ...     [("x", "low", 9.0), ("y", "high", 1.0), ("z", "low", 20.0)]]
    >>> rank(pl.DataFrame(recs)).select("subject", "severity", "score")
    shape: (3, 3)
    ┌─────────┬──────────┬───────┐
    │ subject ┆ severity ┆ score │
    │ ---     ┆ ---      ┆ ---   │
    │ str     ┆ str      ┆ f64   │
    ╞═════════╪══════════╪═══════╡
    │ y       ┆ high     ┆ 1.0   │
    │ z       ┆ low      ┆ 20.0  │
    │ x       ┆ low      ┆ 9.0   │
    └─────────┴──────────┴───────┘
    """
    frame = as_frame(df, RECOMMENDATIONS)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return (
        frame.with_columns(
            pl.col("severity").replace_strict(order, default=len(order)).alias("_order"),
            pl.col("score").fill_nan(None).alias("_score"),  # no score (null, NaN): last
        )
        .sort(
            ["_order", "_score", "rule", "subject"],
            descending=[False, True, False, False],
            nulls_last=True,
        )
        .drop("_order", "_score")
    )


def top(df: FrameLike, n: int = 10) -> pl.DataFrame:
    """The ``n`` most urgent recommendations (see :func:`rank`).

    Examples
    --------
    >>> top(to_frame([]), 3).height
    0
    """
    return rank(df).head(n)
