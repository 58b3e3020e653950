"""Performance monitoring: record metrics live, read metric exports, and analyse them.

Readers (:func:`read_metrics`, :func:`read_prometheus`, :func:`read_otlp`) give the
canonical metric frame (:data:`METRICS`); :func:`summarize`, :func:`trend`,
:func:`compare_windows` and :func:`slo_report` analyse it; :func:`top_recommendations`
turns the analyses into ranked findings. :class:`Monitor` records metrics from your
own code (``default_monitor()`` is the process-wide one).
"""

from perflab.monitoring.compare import COMPARE_COLUMNS, compare_windows
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
from perflab.monitoring.schema import METRICS, tag_columns
from perflab.monitoring.slo import SLO_COLUMNS, SLO_WINDOW_COLUMNS, slo_report, slo_windows
from perflab.monitoring.summarize import SUMMARY_COLUMNS, summarize
from perflab.monitoring.trend import TREND_STATS, Trend, trend
from perflab.monitoring.windows import split_windows

__all__ = [
    "COMPARE_COLUMNS",
    "METRICS",
    "SLO_COLUMNS",
    "SLO_WINDOW_COLUMNS",
    "SUMMARY_COLUMNS",
    "TREND_STATS",
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
