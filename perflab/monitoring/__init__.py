"""Performance monitoring: record metrics live, read metric exports, and analyse them.

Readers (:func:`read_metrics`, :func:`read_prometheus`, :func:`read_otlp`) give the
canonical metric frame (:data:`METRICS`); :func:`summarize`, :func:`trend`,
:func:`compare_windows` and :func:`slo_report` analyse it; :func:`top_recommendations`
turns the analyses into ranked findings. :class:`Monitor` records metrics from your
own code (``default_monitor()`` is the process-wide one). Every frame's columns are
in :mod:`perflab.monitoring.schema`; the charts of the notebook in
:mod:`perflab.monitoring.charts`.
"""

from perflab.monitoring.compare import compare_windows
from perflab.monitoring.monitor import (
    MarkToken,
    MetricError,
    Monitor,
    Timer,
    default_monitor,
    mark_end,
    mark_start,
    record_metric,
    timer,
)
from perflab.monitoring.read import read_metrics, read_otlp, read_prometheus
from perflab.monitoring.rules import top_recommendations
from perflab.monitoring.schema import (
    COMPARISON,
    METRICS,
    SLO,
    SLO_WINDOWS,
    SUMMARY,
    TREND_CHANGES,
    TREND_SLOPES,
    TREND_WINDOWS,
    tag_columns,
)
from perflab.monitoring.slo import slo_report, slo_windows
from perflab.monitoring.summarize import summarize
from perflab.monitoring.trend import TREND_STATS, Trend, trend
from perflab.monitoring.windows import split_windows

__all__ = [
    "COMPARISON",
    "METRICS",
    "SLO",
    "SLO_WINDOWS",
    "SUMMARY",
    "TREND_CHANGES",
    "TREND_SLOPES",
    "TREND_STATS",
    "TREND_WINDOWS",
    "MarkToken",
    "MetricError",
    "Monitor",
    "Timer",
    "Trend",
    "compare_windows",
    "default_monitor",
    "mark_end",
    "mark_start",
    "read_metrics",
    "read_otlp",
    "read_prometheus",
    "record_metric",
    "slo_report",
    "slo_windows",
    "split_windows",
    "summarize",
    "tag_columns",
    "timer",
    "top_recommendations",
    "trend",
]
