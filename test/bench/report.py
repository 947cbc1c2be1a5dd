"""The benchmark report: figures collected by bench.py, written as
OUTDIR/report.json, OUTDIR/report.md and OUTDIR/report.png.

report.json (schema "dsu-bench/1"):
  {"schema": "dsu-bench/1", "date": ISO-8601, "host": {...},
   "figures": [{"name": str, "group": str, "value": number,
                "unit": str,            # "ratio", "us", "s", "instructions", "bytes"
                "target": number|null,  # null: reported, no target
                "met": bool|null,       # value <= target; null without target
                "detail": str}],        # how it was measured, the raw numbers
   "skipped": [{"group": str, "reason": str}]}
A missed target is a finding, not a failure: bench.py exits 0 whenever every
measurement ran.
"""
import datetime
import json
import os
import platform


class Report:
    def __init__(self, outdir):
        self.outdir = outdir
        self.figures = []
        self.skipped = []
        self.series = {}  # plot data: name -> [(x, y)]

    def add(self, group, name, value, unit, detail, target=None):
        met = None if target is None else bool(value <= target)
        fig = {"name": name, "group": group, "value": round(value, 4), "unit": unit,
               "target": target, "met": met, "detail": detail}
        self.figures.append(fig)
        tgt = "" if target is None else f" (target <= {target:g}: {'met' if met else 'MISSED'})"
        print(f"bench: figure: {name}: {value:.4g} {unit}{tgt} -- {detail}", flush=True)
        return fig

    def skip(self, group, reason):
        self.skipped.append({"group": group, "reason": reason})
        print(f"bench: skipped {group}: {reason}", flush=True)

    def point(self, series, x, y):
        self.series.setdefault(series, []).append((x, y))

    def write(self):
        os.makedirs(self.outdir, exist_ok=True)
        doc = {"schema": "dsu-bench/1",
               "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
               "host": {"machine": platform.machine(), "cpus": os.cpu_count(),
                        "kernel": platform.release()},
               "figures": self.figures, "skipped": self.skipped}
        with open(os.path.join(self.outdir, "report.json"), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        lines = ["# DSU benchmark report", "", f"Run {doc['date']} on {doc['host']['cpus']} "
                 f"CPUs ({doc['host']['machine']}). Ratios are DSU build / plain build of the "
                 "same source; a missed target is a finding.", "",
                 "| group | figure | value | target | met | how |", "|---|---|---|---|---|---|"]
        for fig in self.figures:
            tgt = "" if fig["target"] is None else f"<= {fig['target']:g}"
            met = "" if fig["met"] is None else ("yes" if fig["met"] else "**no**")
            lines.append(f"| {fig['group']} | {fig['name']} | {fig['value']:.4g} {fig['unit']} | "
                         f"{tgt} | {met} | {fig['detail']} |")
        if self.skipped:
            lines += ["", "Not measured in this run:", ""]
            lines += [f"- {s['group']}: {s['reason']}" for s in self.skipped]
        lines += ["", "![figures](report.png)", ""]
        with open(os.path.join(self.outdir, "report.md"), "w") as f:
            f.write("\n".join(lines))
        self.plot()

    def plot(self):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ratios = [f for f in self.figures if f["unit"] == "ratio"]
        fig, axes = plt.subplots(1, 2, figsize=(13, 5))
        ax = axes[0]
        if ratios:
            names = [f["name"] for f in ratios]
            vals = [f["value"] for f in ratios]
            colors = ["tab:gray" if f["met"] is None else ("tab:green" if f["met"] else "tab:red")
                      for f in ratios]
            ax.barh(range(len(vals)), vals, color=colors)
            ax.set_yticks(range(len(vals)), names, fontsize=7)
            ax.axvline(1.0, color="black", linewidth=0.8)
            for i, f in enumerate(ratios):
                if f["target"] is not None:
                    ax.plot([f["target"]] * 2, [i - 0.4, i + 0.4], color="black", linestyle="--")
            ax.invert_yaxis()
            ax.set_xlim(min(0.9, min(vals) - 0.05), max(vals + [1.1]) * 1.05)
        ax.set_title("DSU / plain (dashed: target; green met, red missed)")
        ax = axes[1]
        for name, pts in sorted(self.series.items()):
            # Log axes: a pause below the clock's resolution (0 us) is not drawn.
            pts = sorted(p for p in pts if p[1] > 0)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        if self.series:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(fontsize=8)
        ax.set_xlabel("functions in the patch")
        ax.set_ylabel("microseconds")
        ax.set_title("update pause and total apply time by patch size")
        fig.tight_layout()
        fig.savefig(os.path.join(self.outdir, "report.png"), dpi=110)
        plt.close(fig)
