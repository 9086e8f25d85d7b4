"""Bar charts drawn on the server as SVG (templates/admin/workbench/bar_chart.svg): geometry
here, markup in the template. Every bar carries its figure as text beside it, and a second
series differs by pattern and by its words, never by colour alone (WCAG 1.4.1); the figures
are also in a table beside each chart. No style attributes: the CSP allows none, so looks are
classes in static/css/admin.css."""

from __future__ import annotations

from dataclasses import dataclass, field

# Horizontal charts: a label column, then bars, then room for the figure's text.
LABEL_WIDTH = 150
VALUE_ROOM = 110
ROW_HEIGHT = 22
BAR_GAP = 4
WIDTH = 600
# Vertical charts: room under the bars for the month and above them for the figure.
COLUMN_TOP = 24
COLUMN_BOTTOM = 40
COLUMN_AREA = 160


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    striped: bool = False  # the second series: a pattern, besides its own words


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"  # SVG text-anchor: start, middle or end


@dataclass
class Chart:
    """What the template draws: a title and description for assistive technology, the bars
    and the text labels."""

    slug: str
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Series:
    """One bar per row: its value and the words written after it (the value, and which
    series when there are several)."""

    values: list[float | None]
    texts: list[str]
    striped: bool = False


def horizontal_bars(
    *, slug: str, title: str, description: str, rows: list[str], series: list[Series]
) -> Chart:
    """A bar per row per series, longest value at full width, each figure written after it."""
    largest = max((v for s in series for v in s.values if v), default=0) or 1
    scale = (WIDTH - LABEL_WIDTH - VALUE_ROOM) / largest
    group_height = len(series) * ROW_HEIGHT + BAR_GAP * 2
    chart = Chart(slug, title, description, WIDTH, max(1, len(rows)) * group_height)
    axis_x = LABEL_WIDTH
    chart.lines.append((axis_x, 0, axis_x, chart.height))
    for row_index, row in enumerate(rows):
        top = row_index * group_height + BAR_GAP
        chart.labels.append(
            Label(axis_x - 6, top + len(series) * ROW_HEIGHT / 2 + 4, row, anchor="end")
        )
        for series_index, one in enumerate(series):
            value = one.values[row_index]
            y = top + series_index * ROW_HEIGHT
            length = (value or 0) * scale
            if value:
                chart.bars.append(Bar(axis_x, y + 3, max(length, 1), ROW_HEIGHT - 6, one.striped))
            chart.labels.append(
                Label(axis_x + length + 6, y + ROW_HEIGHT / 2 + 4, one.texts[row_index])
            )
    return chart


def vertical_bars(
    *, slug: str, title: str, description: str, columns: list[str], values: list[int]
) -> Chart:
    """A column per value with its figure above and its name below."""
    largest = max(values, default=0) or 1
    step = WIDTH / max(1, len(columns))
    chart = Chart(slug, title, description, WIDTH, COLUMN_TOP + COLUMN_AREA + COLUMN_BOTTOM)
    base = COLUMN_TOP + COLUMN_AREA
    chart.lines.append((0, base, WIDTH, base))
    for index, (name, value) in enumerate(zip(columns, values, strict=True)):
        centre = step * index + step / 2
        height = value / largest * COLUMN_AREA
        if value:
            chart.bars.append(Bar(centre - step * 0.3, base - height, step * 0.6, height))
        chart.labels.append(Label(centre, base - height - 6, str(value), anchor="middle"))
        month, _, year = name.partition(" ")
        chart.labels.append(Label(centre, base + 16, month, anchor="middle"))
        chart.labels.append(Label(centre, base + 32, year, anchor="middle"))
    return chart
