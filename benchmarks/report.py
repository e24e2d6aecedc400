"""Markdown tables and number formats shared by every benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.load import LoadResult


@dataclass
class Table:
    """One markdown table with a heading and notes printed under it."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Columns whose figures are right-aligned.
    numeric_from: int = 1

    def add(self, *cells: str) -> None:
        """Append a row."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)

    def markdown(self) -> str:
        """The table as markdown, heading first and notes last."""
        aligns = [":---" if i < self.numeric_from else "---:" for i in range(len(self.columns))]
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join(aligns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += self.notes
        return "\n".join(lines) + "\n"


def ratio(value: float, reference: float) -> str:
    """`value / reference` as `1.23x`, or a dash when there is no reference."""
    return f"{value / reference:.2f}x" if reference > 0 else "-"


def per_second(value: float) -> str:
    """A rate with thousands separators and no decimals."""
    return f"{value:,.0f}"


def milliseconds(value: float) -> str:
    """Milliseconds with two significant decimals for small values."""
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def load_cells(result: LoadResult) -> tuple[str, str, str]:
    """Requests per second, p50 and p99 milliseconds of one load."""
    return (
        per_second(result.requests_per_s),
        milliseconds(result.p50_ms),
        milliseconds(result.p99_ms),
    )
