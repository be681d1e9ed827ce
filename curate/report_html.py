"""report.html: one self-contained page (inline CSS and SVG plots, no scripts, no network).

Rendered from the report dict that curate/report.py writes to report.json, so the page and
the JSON always show the same numbers.
"""

from __future__ import annotations

import html
import io
import json
from typing import Any

COLORS = ["#3b6ea5", "#e07b39", "#5a9e4b", "#b04a5a", "#7d62a8", "#8c6d3f", "#3aa0a8", "#999999"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","PingFang SC","Hiragino Sans","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:24px auto;max-width:1180px;
color:#222;background:#fff;line-height:1.4}
h1{margin-bottom:4px}h2{border-bottom:2px solid #3b6ea5;padding-bottom:3px;margin-top:34px}
.meta{color:#666;font-size:13px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef3f9}td.n{text-align:right;font-variant-numeric:tabular-nums}
.snip{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:#333;max-width:760px}
.url{color:#3b6ea5;font-size:12px;word-break:break-all}
.plot svg{max-width:100%;height:auto}.row{display:flex;flex-wrap:wrap;gap:18px}
pre{background:#f6f8fa;padding:10px;font-size:12px;overflow:auto}
.bad{color:#b04a5a;font-weight:bold}
"""


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def fmt(x: Any) -> str:
    """Numbers as the page shows them: integers with thousands separators, floats to 4 digits."""
    if isinstance(x, bool) or x is None:
        return "-" if x is None else str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) < 1000 else f"{x:,.0f}"
    return esc(x)


def table(headers: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for r in rows:
        cells = []
        for v in r:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<td class="n">{fmt(v)}</td>')
            elif isinstance(v, Raw):
                cells.append(f"<td>{v}</td>")
            else:
                cells.append(f"<td>{fmt(v) if v is None else esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><tr>{head}</tr>{"".join(body)}</table>'


class Raw(str):
    """Already-escaped HTML for a table cell."""


# --------------------------------------------------------------------------- plots


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)
    return fig, fig.add_subplot()


def _svg(fig) -> str:
    import matplotlib

    buf = io.StringIO()
    # Text stays text (searchable, small); a fixed salt makes ids, and so the page, reproducible.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "llmcli"}):
        fig.tight_layout()
        fig.savefig(buf, format="svg")
    s = buf.getvalue()
    return f'<div class="plot">{s[s.index("<svg") :]}</div>'


def hbar_svg(labels: list[str], values: list[float], title: str, xlabel: str = "", log: bool = False) -> str:
    fig, ax = _figure(7.5, 1.0 + 0.3 * max(len(labels), 2))
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, values, color=COLORS[0])
    ax.set_yticks(ys, [str(x)[:48] for x in labels])
    for y, v in zip(ys, values):
        ax.annotate(
            f"{v:,.0f}" if float(v).is_integer() else f"{v:,.3g}",
            (v, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    if log:
        ax.set_xscale("log")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.15)
    return _svg(fig)


def grouped_svg(labels: list[str], series: dict[str, list[float]], title: str, ylabel: str = "") -> str:
    """Bars for several series (e.g. before/after) side by side per label."""
    fig, ax = _figure(7.5, 3.4)
    n = max(len(series), 1)
    w = 0.8 / n
    for k, (name, vals) in enumerate(series.items()):
        ax.bar(
            [i + (k - (n - 1) / 2) * w for i in range(len(labels))], vals, w, label=name, color=COLORS[k % 8]
        )
    ax.set_xticks(
        range(len(labels)),
        [str(x)[:24] for x in labels],
        rotation=40 if len(labels) > 6 else 0,
        ha="right" if len(labels) > 6 else "center",
        fontsize=8,
    )
    ax.set_xlim(-0.7, max(len(labels), 4) - 0.3)  # one or two labels: normal-width bars, not slabs
    ax.set_title(title, fontsize=11)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return _svg(fig)


def histogram_svg(hist: dict[str, int], title: str) -> str:
    """Bars over the producer's size bins ("1", "2", "3-4", "5-8", ...), in its order."""
    fig, ax = _figure(7.5, 3.2)
    ax.bar(range(len(hist)), list(hist.values()), color=COLORS[1], width=0.8, tick_label=list(hist))
    ax.set_yscale("log")
    ax.set_xlabel("cluster size (documents)")
    ax.set_ylabel("clusters")
    ax.set_title(title, fontsize=11)
    return _svg(fig)


def training_svg(train: dict) -> str:
    """Loss and val loss against step, and throughput, side by side."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.4), dpi=96)
    ax1, ax2 = fig.subplots(1, 2)
    if train.get("loss"):
        ax1.plot(*zip(*train["loss"]), label="train loss", color=COLORS[0], lw=1)
    if train.get("val_loss"):
        ax1.plot(*zip(*train["val_loss"]), "o-", label="val loss", color=COLORS[1], ms=3)
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss")
    ax1.legend(fontsize=8)
    ax1.set_title("loss", fontsize=11)
    if train.get("tok_s"):
        ax2.plot(*zip(*train["tok_s"]), color=COLORS[2], lw=1)
    ax2.set_xlabel("step")
    ax2.set_ylabel("tokens / s")
    ax2.set_title("throughput", fontsize=11)
    return _svg(fig)


# --------------------------------------------------------------------------- sections


def funnel_section(report: dict) -> str:
    rows = report["funnel"]
    if not rows:
        return "<h2>Funnel</h2><p>No stage has run yet.</p>"
    t = table(
        ["step", "documents", "% of input", "removed", "errors", "text chars", "tokens"],
        [
            [
                r["step"],
                r["docs"],
                r["kept_pct"],
                r["removed"],
                r["errors"],
                r["chars"],
                f"~{r['tokens']:,}" if r.get("tokens_estimated") else r["tokens"],
            ]
            for r in rows
        ],
        cls="funnel",
    )
    plot = hbar_svg([r["step"] for r in rows], [r["docs"] for r in rows], "documents after each stage")
    unbalanced = [s["dir"] for s in report["stages"] if not s["balanced"]]
    warn = f'<p class="bad">Counts do not balance in: {esc(", ".join(unbalanced))}</p>' if unbalanced else ""
    return f"<h2>Funnel</h2>{warn}{t}{plot}"


def removals_section(report: dict) -> str:
    parts = ["<h2>Removed documents, by reason</h2>"]
    if not report["removals"]:
        parts.append("<p>No stage removed anything.</p>")
    for sdir, reasons in report["removals"].items():
        parts.append(f"<h3>{esc(sdir)}</h3>")
        if len(reasons) > 1:
            parts.append(hbar_svg(list(reasons), [r["count"] for r in reasons.values()], f"{sdir}: removed"))
        rows = []
        for reason, r in reasons.items():
            ex = "".join(
                f'<div><span class="url">{esc(e["url"] or e["id"])}</span><div class="snip"{_lang_attr(e)}>'
                f"{esc(e['snippet']) or '<i>(empty text)</i>'}</div></div>"
                for e in r["examples"]
            )
            rows.append([reason, r["count"], Raw(ex)])
        parts.append(table(["reason", "documents", "examples"], rows))
    return "".join(parts)


def _mix_plot(before: dict, after: dict, key: str, title: str) -> str:
    labels = list(dict.fromkeys(list(after.get(key) or {}) + list(before.get(key) or {})))[:15]
    b, a = before.get(key) or {}, after.get(key) or {}
    tb, ta = max(before["docs"], 1), max(after["docs"], 1)
    series = {
        f"before ({before['stage']})": [100.0 * b.get(x, 0) / tb for x in labels],
        f"after ({after['stage']})": [100.0 * a.get(x, 0) / ta for x in labels],
    }
    return grouped_svg(labels, series, title, "% of documents")


def mix_section(report: dict) -> str:
    before, after = report["mix"]["before"], report["mix"]["after"]
    if not before or not after:
        return ""
    parts = ["<h2>Language and domain mix, before and after</h2>"]
    for key, name in (("lang", "language"), ("domain_top", "domain")):
        parts.append(_mix_plot(before, after, key, f"{name} mix"))
        labels = list(dict.fromkeys(list(before[key]) + list(after[key])))
        rows = [[x, before[key].get(x, 0), after[key].get(x, 0)] for x in labels]
        if key == "domain_top":
            rows.append(["(other domains)", before["domain_other"], after["domain_other"]])
        parts.append(
            table([name, f"docs before ({before['stage']})", f"docs after ({after['stage']})"], rows)
        )
    parts.append(
        f"<p class=meta>{fmt(before['domains_total'])} domains before, {fmt(after['domains_total'])} after.</p>"
    )
    return "".join(parts)


def extras_section(report: dict) -> str:
    parts = []
    if report.get("pii"):
        p = report["pii"]
        parts.append(f"<h2>Personal data replaced ({esc(p['stage'])})</h2>")
        rows = [[kind, n] for kind, n in sorted(p["replaced"].items())] + [
            ["documents redacted", p["docs_redacted"]]
        ]
        parts.append(table(["type", "replacements"], rows))
    if report.get("dedup"):
        d = report["dedup"]
        hist = d["cluster_size_histogram"]
        parts.append(f"<h2>Duplicate clusters ({esc(d['stage'])})</h2>")
        parts.append(histogram_svg(hist, "cluster-size histogram"))
        parts.append(table(["cluster size", "clusters"], [[k, v] for k, v in hist.items()]))
        lsh = d.get("lsh") or {}
        if lsh.get("bands"):
            rows = [["bands x rows", f"{lsh['bands']} x {lsh['rows']}"]]
            rows += [
                [k.replace("_", " "), _cell(lsh[k])]
                for k in lsh
                if k not in ("bands", "rows") and lsh[k] is not None
            ]
            parts.append(table(["MinHash-LSH", ""], rows))
    if report.get("contamination"):
        c = report["contamination"]
        parts.append(f"<h2>Contamination per benchmark ({esc(c['stage'])})</h2>")
        keys = list(dict.fromkeys(k for r in c["benchmarks"] for k in r))
        rows = [[_cell(r.get(k)) for k in keys] for r in c["benchmarks"]]
        parts.append(table(keys, rows) if rows else "<p>No benchmark configured.</p>")
    if report.get("resample"):
        r = report["resample"]
        before, after = r["shares_before"], r["shares_after"]
        labels = list(dict.fromkeys(list(after) + list(before)))
        parts.append(f"<h2>Resampling shares ({esc(r['stage'])})</h2>")
        if labels and all(isinstance(v, (int, float)) for v in [*before.values(), *after.values()]):
            top = labels[:15]
            parts.append(
                grouped_svg(
                    top,
                    {"before": [before.get(x, 0) for x in top], "after": [after.get(x, 0) for x in top]},
                    "shares",
                )
            )
        parts.append(
            table(
                ["key", "share before", "share after"],
                [[x, _cell(before.get(x)), _cell(after.get(x))] for x in labels],
            )
        )
    if report.get("tokens"):
        t = report["tokens"]
        parts.append(f"<h2>Tokens ({esc(t['stage'])})</h2>")
        parts.append(table(["", "tokens"], [[k, _cell(v)] for k, v in t.items() if k != "stage"]))
    return "".join(parts)


def _lang_attr(example: dict) -> str:
    """lang="zh" / "ja" on a snippet, so a browser picks Chinese or Japanese glyphs for Han."""
    lang = example.get("lang")
    return f' lang="{esc(lang)}"' if isinstance(lang, str) and lang.isalpha() and len(lang) <= 8 else ""


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, (int, float, str)):
        return v
    s = json.dumps(v, default=str)
    return s if len(s) <= 200 else s[:199] + "…"


def timings_section(report: dict) -> str:
    st = report["timings"]["stages"]
    if not st:
        return ""
    t = table(
        ["stage", "wall s", "worker s", "docs/s", "text chars/s", "raw MB/s"],
        [
            [
                s["dir"],
                s["wall_seconds"],
                s["worker_seconds"],
                s["docs_per_s"],
                s["chars_per_s"],
                s["mb_per_s"],
            ]
            for s in st
        ],
    )
    plot = hbar_svg([s["dir"] for s in st], [s["wall_seconds"] for s in st], "wall time per stage", "seconds")
    return f"<h2>Stage timings and throughput</h2>{t}{plot}"


def train_section(report: dict) -> str:
    tr = report.get("train")
    if not tr:
        return ""
    t = table(
        ["steps", "final loss", "final val loss", "best val loss", "mean tokens/s"],
        [[tr["steps"], tr["final_loss"], tr["final_val_loss"], tr["best_val_loss"], tr["mean_tok_s"]]],
    )
    return f"<h2>Training ({esc(tr['dir'])})</h2>{t}{training_svg(tr)}{eval_tables(report.get('eval') or [])}"


def eval_tables(evals: list[dict]) -> str:
    """`llmcli eval` results: one row per split, then per domain and per language."""
    if not evals:
        return ""
    cols = ["tokens", "loss", "ppl", "bpb"]
    rows = [[e["split"], e["step"], *[e[c] for c in cols]] for e in evals]
    parts = ["<h3>Held-out evaluation (llmcli eval)</h3>", table(["split", "step", *cols], rows)]
    for e in evals:
        for key, title in (("by_domain", "domain"), ("by_lang", "language")):
            groups = e.get(key) or {}
            if groups:
                body = [[name, *[g.get(c) for c in cols]] for name, g in groups.items()]
                parts.append(f"<h3>{esc(e['split'])} by {title}</h3>" + table([title, *cols], body))
    return "".join(parts)


def stage_details_section(report: dict) -> str:
    """Counters, errors and the parts of each stage's summary the sections above do not show."""
    shown = {"cluster_sizes", "benchmarks", "shares_before", "shares_after"}
    parts = ["<h2>Stage details</h2>"]
    for s in report["stages"]:
        rows = [[f"counter: {k}", v] for k, v in s["counters"].items()]
        rows += [[f"summary: {k}", _cell(v)] for k, v in (s["summary"] or {}).items() if k not in shown]
        rows += [["error", m] for m in s["error_messages"]]
        state = "complete" if s["complete"] else "incomplete"
        if s.get("state") == "stale":
            state = "stale: from an earlier config, not counted above"
        parts.append(f"<h3>{esc(s['dir'])} <span class=meta>({state}, {fmt(s['shards'])} shards)</span></h3>")
        parts.append(table(["", "value"], rows) if rows else "<p class=meta>nothing else recorded</p>")
    return "".join(parts)


def render_html(report: dict) -> str:
    """The whole page from a report dict (curate.report.build_report)."""
    body = [
        f"<h1>llmcli run report: {esc(report['pipeline'])}</h1>",
        f'<p class="meta">workdir {esc(report["workdir"])} · generated {esc(report["generated"])} · '
        f"total stage wall time {fmt(report['timings']['total_wall_seconds'])} s</p>",
        funnel_section(report),
        removals_section(report),
        mix_section(report),
        extras_section(report),
        timings_section(report),
        train_section(report),
        stage_details_section(report),
        "<h2>Resolved config</h2><pre>" + esc(json.dumps(report["config"], indent=1, default=str)) + "</pre>",
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>llmcli report: {esc(report['pipeline'])}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
