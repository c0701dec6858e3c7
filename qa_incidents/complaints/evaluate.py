"""Evaluate the early-warning method on the NHTSA complaints sample with planted signals.

    python -m qa_incidents.complaints.evaluate [--runs 20] [--seed 2026]

The sample (data/complaints/, one week of real NHTSA complaints) gives the background: each (model, component)
pair's count in that week is its weekly rate. Each run simulates 52 weeks of Poisson counts at those rates, then
plants a rise in PLANTED pairs: from a known onset week the rate is multiplied by a known factor (2×, 3× or 5×).
For the method (Poisson exceedance + Poisson CUSUM, rules.assess) and the naive threshold (5 or more complaints
in a week, rules.naive) it reports the share of planted rises detected, the detection delay in weeks from onset,
and false alarms per thousand model-weeks (alarms in weeks with no planted rise, over the weeks judged).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from qa_incidents.complaints import rules

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "complaints" / "nhtsa_complaints_ford_2024-02.csv.gz"
WEEKS = 52
JUDGED_FROM = 8  # weeks before have too little history for any verdict
ONSETS = range(26, 45)
FACTORS = (2.0, 3.0, 5.0)
PLANTED = 12


def sample_rates(path: Path = SAMPLE) -> list[float]:
    """Weekly complaints per (model, component) pair in the real sample week."""
    with gzip.open(path, "rb") as f:
        rows = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
        counts = Counter((r["MAKETXT"], r["MODELTXT"], r["COMPDESC"]) for r in rows)
    return [float(n) for n in counts.values()]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: exact for the small rates here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Figures:
    detected: int = 0
    planted: int = 0
    delays: list[int] | None = None
    false_alarms: int = 0
    quiet_weeks: int = 0

    @property
    def detection_rate(self) -> float:
        return self.detected / self.planted if self.planted else 0.0

    @property
    def median_delay(self) -> float:
        return statistics.median(self.delays) if self.delays else float("nan")

    @property
    def mean_delay(self) -> float:
        return statistics.fmean(self.delays) if self.delays else float("nan")

    @property
    def false_per_1000(self) -> float:
        return 1000 * self.false_alarms / self.quiet_weeks if self.quiet_weeks else 0.0


def evaluate(*, runs: int = 20, seed: int = 2026, rates: list[float] | None = None,
             method: rules.Method = rules.METHOD) -> dict[str, Figures]:
    rates = rates or sample_rates()
    rng = random.Random(seed)
    out = {"method": Figures(delays=[]), "naive": Figures(delays=[])}
    for _run in range(runs):
        planted = {i: (rng.choice(list(ONSETS)), rng.choice(FACTORS)) for i in rng.sample(range(len(rates)), PLANTED)}
        for i, lam in enumerate(rates):
            onset, factor = planted.get(i, (WEEKS, 1.0))
            counts = [_poisson(rng, lam * (factor if t >= onset else 1.0)) for t in range(WEEKS)]
            verdicts = {"method": [w.alarm for w in rules.assess(counts, method)], "naive": rules.naive(counts)}
            for name, alarms in verdicts.items():
                fig = out[name]
                for t in range(JUDGED_FROM, min(onset, WEEKS)):
                    fig.quiet_weeks += 1
                    fig.false_alarms += alarms[t]
                if i in planted:
                    fig.planted += 1
                    first = next((t for t in range(onset, WEEKS) if alarms[t]), None)
                    if first is not None:
                        fig.detected += 1
                        assert fig.delays is not None
                        fig.delays.append(first - onset)
    return out


def table(figures: dict[str, Figures]) -> str:
    lines = ["| Rule | Planted rises detected | Median delay (weeks) | Mean delay (weeks) | False alarms per 1,000 model-weeks |",
             "|---|---|---|---|---|"]
    names = {"method": "Poisson exceedance + Poisson CUSUM (this app)", "naive": "Naive: 5 or more complaints in a week"}
    for key, fig in figures.items():
        lines.append(f"| {names[key]} | {fig.detected}/{fig.planted} ({fig.detection_rate:.0%}) | {fig.median_delay:.1f} "
                     f"| {fig.mean_delay:.2f} | {fig.false_per_1000:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rates = sample_rates()
    print(f"{len(rates)} (model, component) series from the NHTSA sample, {WEEKS} weeks, {args.runs} runs, "
          f"{PLANTED} planted rises per run (×{', ×'.join(f'{f:g}' for f in FACTORS)}, onset weeks "
          f"{ONSETS.start}–{ONSETS.stop - 1})")
    print(table(evaluate(runs=args.runs, seed=args.seed, rates=rates)))


if __name__ == "__main__":
    main()
