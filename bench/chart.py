#!/usr/bin/env python3
"""Bar chart of a bench/run results JSON: throughput and p99 per case, baselines in grey.
usage: chart.py <results.json> <out.png>"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(jpath, png):
    with open(jpath) as f:
        data = json.load(f)
    meta = data["meta"]
    rows = [r for r in data["results"] if "rps" in r]
    names = [r["case"] for r in rows]
    colors = ["#888888" if r.get("role") else "#3b75af" for r in rows]
    rps = [r["ok_per_s"] if r["case"] in ("confirm", "confirm-sql-ref") else r["rps"] for r in rows]
    p99 = [r["p99_ms"] or 0 for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    ax1.bar(names, rps, color=colors)
    ax1.set_yscale("log")
    ax1.set_title("req/s (payments/s for confirm and its SQL reference); grey = baselines",
                  fontsize=9)
    for i, v in enumerate(rps):
        ax1.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=8)
    ax2.bar(names, p99, color=colors)
    ax2.set_yscale("log")
    ax2.set_title("p99 latency (ms)", fontsize=9)
    for i, v in enumerate(p99):
        ax2.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=35, labelsize=8)
        plt.setp(ax.get_xticklabels(), ha="right")
    fig.suptitle(f"ticketing bench {meta['run_id']} ({meta['mode']}), {meta['connections']} "
                 f"connections, {meta['cpus']} CPUs shared with the load generator")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
