"""PNG charts for the command line and CI: matplotlib's Agg canvas, no display, no pyplot state.

A `Figure` with its own `FigureCanvasAgg` renders the same on a laptop and on a headless runner, and
nothing global is switched (pyplot's backend selection is process-wide). matplotlib is imported only
by the commands that draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class LineStyle:
    color: str
    linestyle: str
    linewidth: float = 1.4


# Two series side by side must be told apart in greyscale too: colour and line style differ.
BASELINE_STYLE = LineStyle("#1f77b4", "-")
CANDIDATE_STYLE = LineStyle("#d62728", "--")


def new_figure(
    rows: int, columns: int = 1, *, width: float = 10.0, row_height: float = 2.4, share_x: bool = True
) -> Figure:
    """A figure of `rows` x `columns` panels, drawn by Agg; stacked panels share their x axis by default."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, row_height * rows + 0.8), layout="constrained")
    FigureCanvasAgg(figure)
    figure.subplots(rows, columns, sharex=share_x, squeeze=False)
    return figure


def save_png(figure: Figure, path: Path) -> None:
    """Write the figure as PNG, creating the directory; OSError surfaces to the caller."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=110)


def plot_series(axis: Axes, series: Mapping[datetime, float], style: LineStyle, label: str | None = None) -> None:
    """A time series as a line, with dates on the x axis labelled as concisely as their span allows."""
    from matplotlib import dates

    times = sorted(series)
    axis.plot(
        dates.date2num(times),
        [series[time] for time in times],
        color=style.color,
        linestyle=style.linestyle,
        linewidth=style.linewidth,
        label=label,
    )
    locator = dates.AutoDateLocator()
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
