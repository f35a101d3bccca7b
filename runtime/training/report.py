"""The training report: JSON data and a self-contained HTML page with inline SVG charts.

The HTML has no script, no external stylesheet, font or image: every chart is an inline <svg>, so the
page renders offline (tests check that no element references a URL).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

WIDTH, HEIGHT, PAD = 640, 220, 40
BAR_HEIGHT = 16


def _svg_open(width: int, height: int, title: str) -> str:
    size = f'width="{width}" height="{height}"'
    return f'<svg xmlns="http://www.w3.org/2000/svg" {size} role="img" aria-label="{_e(title)}">'


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def histogram_svg(values: Sequence[float], marker: float | None, title: str, bins: int = 40) -> str:
    data = np.asarray(values, dtype=np.float64)
    counts, edges = np.histogram(data, bins=bins)
    top = max(int(counts.max()), 1)
    lo, hi = float(edges[0]), float(edges[-1])
    span = (hi - lo) or 1.0
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    bar_w = inner_w / bins
    parts = [
        _svg_open(WIDTH, HEIGHT, title),
        f'<text x="{PAD}" y="20" class="t">{_e(title)}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
    ]
    for i, count in enumerate(counts):
        h = inner_h * count / top
        parts.append(
            f'<rect x="{PAD + i * bar_w:.2f}" y="{HEIGHT - PAD - h:.2f}" width="{max(bar_w - 1, 1):.2f}" '
            f'height="{h:.2f}" class="bar"><title>{edges[i]:.4f} to {edges[i + 1]:.4f}: {int(count)}</title></rect>'
        )
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 12}" class="l">{lo:.3f}</text>')
    parts.append(f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" class="l" text-anchor="end">{hi:.3f}</text>')
    if marker is not None:
        x = PAD + inner_w * (min(max(marker, lo), hi) - lo) / span
        parts.append(f'<line x1="{x:.2f}" y1="{PAD - 8}" x2="{x:.2f}" y2="{HEIGHT - PAD}" class="mark"/>')
        parts.append(f'<text x="{x:.2f}" y="{PAD - 10}" class="l" text-anchor="middle">threshold {marker:.4f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(values: Mapping[str, float], title: str, limit: int = 40) -> str:
    items = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    top = max((v for _, v in items), default=0.0) or 1.0
    label_w, bar_area = 300, WIDTH - 300 - 70
    height = 30 + BAR_HEIGHT * max(len(items), 1) + 10
    parts = [
        _svg_open(WIDTH, height, title),
        f'<text x="4" y="18" class="t">{_e(title)}</text>',
    ]
    for i, (name, value) in enumerate(items):
        y = 28 + i * BAR_HEIGHT
        w = bar_area * max(value, 0.0) / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" class="l" text-anchor="end">{_e(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.2f}" height="{BAR_HEIGHT - 4}" class="bar"/>')
        parts.append(f'<text x="{label_w + w + 4:.2f}" y="{y + 12}" class="l">{value:.4g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trials_svg(trials: Sequence[Mapping[str, Any]], title: str) -> str:
    values = [float(t["metrics"]["objective"]) for t in trials]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(len(values) - 1, 1)
    points = [(PAD + i * step, HEIGHT - PAD - inner_h * (v - lo) / span) for i, v in enumerate(values)]
    best = max(range(len(values)), key=lambda i: (values[i], -i))
    parts = [
        _svg_open(WIDTH, HEIGHT, title),
        f'<text x="{PAD}" y="20" class="t">{_e(title)}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        '<polyline class="line" points="' + " ".join(f"{x:.2f},{y:.2f}" for x, y in points) + '"/>',
    ]
    for i, (x, y) in enumerate(points):
        css = "best" if i == best else "dot"
        parts.append(
            f'<circle cx="{x:.2f}" cy="{y:.2f}" r="4" class="{css}"><title>trial {i}: {values[i]:.4f}</title></circle>'
        )
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 12}" class="l">trial 0</text>')
    parts.append(
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" class="l" text-anchor="end">trial {len(values) - 1}</text>'
    )
    parts.append(f'<text x="{PAD - 4}" y="{PAD}" class="l" text-anchor="end">{hi:.3f}</text>')
    parts.append(f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" class="l" text-anchor="end">{lo:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2330;max-width:60rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ccd;padding:.2rem .5rem;text-align:left}
svg{display:block;margin:.5rem 0}.t{font-size:13px;font-weight:600}.l{font-size:11px;fill:#334}
.bar{fill:#4a72b8}.axis{stroke:#889}.mark{stroke:#c0392b;stroke-dasharray:4 3}
.line{fill:none;stroke:#99a}.dot{fill:#4a72b8}.best{fill:#c0392b}
"""


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def render_html(report: Mapping[str, Any], scores: Sequence[float]) -> str:
    model = report["model"]
    selection = report["feature_selection"]
    tuning = report["tuning"]
    summary = [
        ("model", f"{model['name']} {model['version']}"),
        ("archive sha256", model["archive_sha256"]),
        ("data window", f"{report['data_window']['start_ts']} .. {report['data_window']['end_ts']} (end exclusive)"),
        ("rows / hosts", f"{report['data']['rows']} / {report['data']['hosts']}"),
        ("features selected", f"{len(model['feature_names'])} of {len(report['data']['candidate_features'])}"),
        ("seed", model["seed"]),
        ("hyperparameters", ", ".join(f"{k}={v}" for k, v in sorted(model["hyperparameters"].items()))),
        ("alert threshold", f"{model['score_thresholds']['alert']:.6f}"),
    ]
    sections = [
        "<h2>Summary</h2>",
        _table(summary, ()),
        "<h2>Score distribution (training rows)</h2>",
        histogram_svg(scores, model["score_thresholds"]["alert"], "anomaly score, higher = more anomalous"),
        "<h2>Feature stability</h2>",
        f"<p>selection frequency over {selection['runs']} bootstrap runs; stability (mean Jaccard) "
        f"{selection['stability']:.3f}</p>",
        bars_svg(selection["frequency"], "selection frequency"),
        "<h2>Feature importance</h2>",
        bars_svg(report["importance"]["split_share"], "share of splits per feature"),
    ]
    if report["importance"].get("permutation"):
        sections.append(bars_svg(report["importance"]["permutation"], "permutation importance (mean |Δ score|)"))
    sections += [
        f"<h2>Tuning trials ({tuning['method']}, {len(tuning['trials'])} trials)</h2>",
        trials_svg(tuning["trials"], "objective per trial (best in red)"),
        _table(
            [
                (
                    t["name"],
                    *(
                        f"{t['metrics'][m]:.4f}"
                        for m in ("objective", "score_separation", "stability", "alert_rate_penalty")
                    ),
                    ", ".join(f"{k}={v}" for k, v in sorted(t["params"].items())),
                )
                for t in tuning["trials"]
            ],
            ("trial", "objective", "separation", "stability", "alert penalty", "params"),
        ),
    ]
    title = f"if_training report: {model['name']} {model['version']}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title><style>{STYLE}</style></head>'
        f"<body><h1>{_e(title)}</h1>{''.join(sections)}</body></html>\n"
    )
