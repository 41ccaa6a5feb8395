"""Detection benchmark: false alarms without drift, power against drift that matters, and
silence on negligible differences, with driftmon's defaults end to end.

    .venv/bin/python benchmarks/bench_detection.py [--trials N] [--quick]

Every trial draws a batch from a synthetic 27-feature feed (``benchmarks/detection.py``),
profiles it with the reference's default bins (`fit_specs`), compares it (`compare`) and judges
it (`evaluate` with the default `Thresholds`); nothing is tuned per case. References have
100,000 rows, one per seed family; trial ``t`` uses family ``t % FAMILIES`` and its own seed,
so every number is reproducible.

Targets:

1. no drift, 50 to 1,000,000 rows: at most 1% of feature checks flagged (status warning or
   critical) and at most 5% of runs with anything flagged (dataset-level findings included),
   over all 27 features, the 200-category ``sku`` and the 10,000-id ``product_id`` included;
2. drift caught (the changed feature's status is warning or critical, by any signal) in at
   least 99% of runs at 1,000 to 1,000,000 rows: mean + 0.5 sd, variance x 2, a new category
   with 5% of rows, missing share + 10 points, 10% of values beyond the reference range; and
   from 10,000 rows up (1,000 reported, no target): one of ``sku``'s 200 categories, drawn per
   batch, going from 0.5% to 3% of rows;
3. a negligible mean shift (0.02 sd) flagged in at most 1% of runs, even at 1,000,000 rows;
4. ``product_id`` (10,000 Zipf ids, so every batch holds ids the 100,000-row reference never
   saw) never fires ``new_categories`` from 10,000 rows up (the issue's case: a 100k-row
   reference, 10k-row batches): 0 runs without drift and 0 over every trial of every scenario
   (none of them changes it). Below 10,000 rows its one-sided test at the 1% level can fire
   by chance, as any significance test can: there, at most 1% of runs.

``--trials N`` sets the trial count of batches up to 10,000 rows (default 400); larger batches
run a fixed fraction of it (``TRIAL_FRACTIONS``). ``--quick`` is ``--trials 40``. Prints a table
of flag rates, the margins (median KL, corrected p-value and share of the changed feature), where
the risen ``sku`` category was a kept bin or in the reference's long tail, ``product_id``'s
never-seen share against its Good-Turing expectation, and the targets with PASS / FAIL. Exits
0 either way: it is a report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from detection import (
    FEATURES,
    HIGH_CARDINALITY,
    NEGLIGIBLE_SHIFT,
    NO_DRIFT,
    REFERENCE_ROWS,
    SCENARIOS,
    Scenario,
    draw_frame,
)

from driftmon.bins import DEFAULT_N_BINS, BinSpec
from driftmon.compare import Comparison, compare
from driftmon.divergence import DEFAULT_ALPHA
from driftmon.policy import SEVERITIES, Thresholds, Verdict, evaluate
from driftmon.profile import Profile, fit_specs, profile_frame

SEED = 20_260_101
FAMILIES = 4
DEFAULT_TRIALS = 400
QUICK_TRIALS = 40

NO_DRIFT_SIZES = (50, 200, 1_000, 10_000, 100_000, 1_000_000)
DRIFT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
NEGLIGIBLE_SIZES = (100_000, 1_000_000)
#: Trials of a cell as a fraction of ``--trials``: all of them up to 10k rows, half at 100k,
#: and at 1M rows (27M values to draw per trial) 1/10 without drift, 1/8 for the negligible
#: shift and 1/20 for the drift scenarios, whose margins are widest there.
TRIAL_FRACTIONS = {100_000: 1 / 2}
MILLION_FRACTIONS = {"no drift": 1 / 10, "negligible shift": 1 / 8}
MILLION_DRIFT_FRACTION = 1 / 20
MIN_TRIALS = 3
#: Smallest batch a drift scenario's catch target applies to, when not ``DRIFT_SIZES[0]``:
#: one category among 200 moving 2.5 points is a target from 10,000 rows.
CATCH_FROM_ROWS = {"category rise": 10_000}
#: Features whose no-drift flag rate gets a row of its own in the table.
WATCHED_FEATURES = ("sku", HIGH_CARDINALITY)

MAX_FEATURE_RATE = 0.01
MAX_RUN_RATE = 0.05
MIN_CATCH_RATE = 0.99
MAX_NEGLIGIBLE_RATE = 0.01
#: From this batch size the high-cardinality feature must never fire new_categories ...
NEVER_FROM_ROWS = 10_000
#: ... and below it no more often than the significance level.
MAX_SMALL_TAIL_RATE = 0.01


@dataclass(frozen=True, slots=True)
class Reference:
    specs: dict[str, BinSpec]
    profile: Profile


@dataclass(slots=True)
class Cell:
    """Everything measured over the trials of one scenario at one batch size."""

    scenario: Scenario
    n_rows: int
    trials: int = 0
    runs_flagged: int = 0
    features_checked: int = 0
    features_flagged: int = 0
    target_flagged: int = 0
    others_flagged: int = 0
    kl: list[float] = field(default_factory=list)
    p_value: list[float] = field(default_factory=list)
    share: list[float] = field(default_factory=list)
    signals: Counter = field(default_factory=Counter)
    false_flags: Counter = field(default_factory=Counter)
    flagged_by_feature: Counter = field(default_factory=Counter)
    # category rise: runs whose risen category is a kept bin of the reference, and caught ones
    risen_kept: int = 0
    risen_kept_caught: int = 0
    risen_tail_caught: int = 0
    risen_kept_change: list[float] = field(default_factory=list)
    # HIGH_CARDINALITY: new_categories firings, and its reading's excess and p-value per run
    tail_fired: int = 0
    tail_excess: list[float] = field(default_factory=list)
    tail_p_value: list[float] = field(default_factory=list)
    tail_unseen: list[float] = field(default_factory=list)
    tail_expected: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def run_rate(self) -> float:
        return self.runs_flagged / self.trials

    @property
    def feature_rate(self) -> float:
        return self.features_flagged / self.features_checked

    @property
    def target_rate(self) -> float:
        return self.target_flagged / self.trials


def fit_reference(family: int) -> Reference:
    rng = np.random.default_rng([SEED, 0, family])
    frame = draw_frame(rng, REFERENCE_ROWS)
    specs = fit_specs(frame)
    return Reference(specs, profile_frame(frame, specs))


def run_cell(
    references: dict[int, Reference], scenario: Scenario, n_rows: int, trials: int
) -> Cell:
    cell = Cell(scenario, n_rows)
    scenario_id = SCENARIOS.index(scenario)
    start = time.perf_counter()
    for trial in range(trials):
        family = trial % FAMILIES
        if family not in references:
            references[family] = fit_reference(family)
        reference = references[family]
        rng = np.random.default_rng([SEED, 1, family, scenario_id, n_rows, trial])
        frame = draw_frame(rng, n_rows, scenario)
        comparison = compare(reference.profile, profile_frame(frame, reference.specs))
        verdict = evaluate(comparison)
        risen_kept = None
        if scenario.share == "category":
            # the risen category holds 3% of rows, the others ~0.5%: the batch's most frequent
            risen = str(frame[scenario.feature].value_counts().idxmax())
            risen_kept = risen in reference.specs[scenario.feature].categories
        _record(cell, comparison, verdict, risen_kept)
    cell.seconds = time.perf_counter() - start
    return cell


def _record(
    cell: Cell, comparison: Comparison, verdict: Verdict, risen_kept: bool | None = None
) -> None:
    target = cell.scenario.feature
    flagged = [name for name, status in verdict.statuses.items() if status in SEVERITIES]
    cell.trials += 1
    cell.features_checked += len(verdict.statuses)
    cell.features_flagged += len(flagged)
    cell.flagged_by_feature.update(flagged)
    for reading in verdict.readings:
        if reading.feature == HIGH_CARDINALITY and reading.signal == "new_categories":
            cell.tail_fired += reading.fired
            cell.tail_excess.append(reading.value)
            cell.tail_p_value.append(reading.p_value)
    tail = comparison.feature(HIGH_CARDINALITY)
    cell.tail_unseen.append(tail.unseen_share_current)
    cell.tail_expected.append(tail.unseen_share_reference)
    cell.runs_flagged += verdict.overall in SEVERITIES
    cell.others_flagged += sum(name != target for name in flagged)
    for finding in verdict.findings:
        if finding.feature != target:
            cell.false_flags[f"{finding.feature or '(dataset)'}:{finding.signal}"] += 1
    if target is None:
        return
    cell.target_flagged += target in flagged
    if risen_kept is not None:
        cell.risen_kept += risen_kept
        cell.risen_kept_caught += risen_kept and target in flagged
        cell.risen_tail_caught += not risen_kept and target in flagged
        if risen_kept:
            cell.risen_kept_change.append(comparison.feature(target).max_share_change)
    result = comparison.feature(target)
    cell.kl.append(result.kl)
    cell.p_value.append(result.p_value)
    for finding in verdict.findings:
        if finding.feature == target:
            cell.signals[f"{finding.signal}:{finding.severity}"] += 1
    if cell.scenario.share == "unseen":
        cell.share.append(result.unseen_share_current - result.unseen_share_reference)
    elif cell.scenario.share == "missing":
        cell.share.append(result.missing_share_current - result.missing_share_reference)
    elif cell.scenario.share == "category":
        cell.share.append(result.max_share_change)


def trial_plan(base: int, scenario: Scenario) -> dict[int, int]:
    if scenario is NO_DRIFT:
        sizes = NO_DRIFT_SIZES
    elif scenario is NEGLIGIBLE_SHIFT:
        sizes = NEGLIGIBLE_SIZES
    else:
        sizes = DRIFT_SIZES
    plan = {}
    for n_rows in sizes:
        if n_rows >= 1_000_000:
            fraction = MILLION_FRACTIONS.get(scenario.name, MILLION_DRIFT_FRACTION)
        else:
            fraction = TRIAL_FRACTIONS.get(n_rows, 1.0)
        plan[n_rows] = max(round(base * fraction), MIN_TRIALS)
    return plan


# --------------------------------------------------------------------------------------------
# Report


def _rows(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k" if n >= 1000 else str(n)


def _pct(rate: float) -> str:
    return f"{100 * rate:.2f}%"


def _clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2
    low = stats.beta.ppf(tail, successes, trials - successes + 1) if successes else 0.0
    high = stats.beta.ppf(1 - tail, successes + 1, trials - successes) if successes < trials else 1
    return float(low), float(high)


def print_rates(cells: dict[tuple[str, int], Cell]) -> None:
    sizes = sorted({n for _, n in cells})
    rows: list[tuple[str, dict[int, str]]] = []
    for scenario in SCENARIOS:
        mine = {n: c for (name, n), c in cells.items() if name == scenario.name}
        if not mine:
            continue
        if scenario is NO_DRIFT:
            rows.append(
                ("no drift: runs flagged", {n: _cellstr(c.run_rate, c) for n, c in mine.items()})
            )
            rows.append(
                (
                    "no drift: features flagged",
                    {n: _cellstr(c.feature_rate, c) for n, c in mine.items()},
                )
            )
            for name in WATCHED_FEATURES:
                rows.append(
                    (
                        f"no drift: {name} flagged",
                        {
                            n: _cellstr(c.flagged_by_feature[name] / c.trials, c)
                            for n, c in mine.items()
                        },
                    )
                )
            rows.append(
                (
                    f"no drift: {HIGH_CARDINALITY} new_categories",
                    {n: _cellstr(c.tail_fired / c.trials, c) for n, c in mine.items()},
                )
            )
            continue
        label = f"{scenario.name}: {scenario.feature} flagged"
        rows.append((label, {n: _cellstr(c.target_rate, c) for n, c in mine.items()}))
        if scenario is NEGLIGIBLE_SHIFT:
            rows.append(
                ("negligible: runs flagged", {n: _cellstr(c.run_rate, c) for n, c in mine.items()})
            )
        else:
            rows.append(
                (
                    f"{scenario.name}: other features",
                    {
                        n: _cellstr(c.others_flagged / (c.features_checked - c.trials), c)
                        for n, c in mine.items()
                    },
                )
            )
    width = max(len(label) for label, _ in rows)
    print("\nflag rate (trials) by batch size")
    print(f"  {'scenario':<{width}}" + "".join(f"{_rows(n):>17}" for n in sizes))
    for label, values in rows:
        print(f"  {label:<{width}}" + "".join(f"{values.get(n, '-'):>17}" for n in sizes))


def _cellstr(rate: float, cell: Cell) -> str:
    return f"{_pct(rate)} ({cell.trials})"


def print_margins(cells: dict[tuple[str, int], Cell]) -> None:
    significance = Thresholds().significance
    print(
        "\nchanged feature over trials: KL median / min / max; p = G-test p-value corrected "
        f"across features (median, and share of runs below significance {significance:g}); "
        "share = change of the unseen or missing share, or the largest change of one kept "
        "category's share (median)"
    )
    header = f"  {'scenario':<18}{'rows':>6}{'trials':>8}{'caught':>9}"
    header += f"{'KL':>9}{'KL min':>9}{'KL max':>9}{'p':>10}{'p<sig':>9}{'share':>9}"
    print(header + "  signals fired on it (signal:severity runs)")
    for scenario in SCENARIOS:
        if scenario.feature is None:
            continue
        for (name, n), c in sorted(cells.items(), key=lambda kv: kv[0][1]):
            if name != scenario.name:
                continue
            share = f"{statistics.median(c.share):.4f}" if c.share else "-"
            signals = ", ".join(f"{k} {v}" for k, v in sorted(c.signals.items())) or "none"
            significant = sum(p < significance for p in c.p_value) / c.trials
            print(
                f"  {name:<18}{_rows(n):>6}{c.trials:>8}{_pct(c.target_rate):>9}"
                f"{statistics.median(c.kl):>9.4f}{min(c.kl):>9.4f}{max(c.kl):>9.4f}"
                f"{statistics.median(c.p_value):>10.1e}{_pct(significant):>9}{share:>9}"
                f"  {signals}"
            )


def print_false_flags(cells: dict[tuple[str, int], Cell]) -> None:
    flags = Counter()
    for c in cells.values():
        flags.update({f"{k} @{_rows(c.n_rows)}": v for k, v in c.false_flags.items()})
    print("\nfindings on features the scenario did not change (feature:signal @rows: count)")
    if not flags:
        print("  none")
        return
    for key, count in flags.most_common(15):
        print(f"  {key}: {count}")


def print_category_rise(cells: dict[tuple[str, int], Cell]) -> None:
    """Where the risen category was: a kept bin of the reference, or its long tail."""
    rising = [
        (n, c)
        for (name, n), c in sorted(cells.items(), key=lambda kv: kv[0][1])
        if c.scenario.share == "category"
    ]
    if not rising:
        return
    feature = rising[0][1].scenario.feature
    print(
        f"\n{feature}: the risen category (drawn per batch) as a kept bin of the reference or in "
        "its long tail (categories seen but not kept), how often it was caught, and its share "
        "change when kept (median / min; category_share fires from "
        f"{Thresholds().share_change_warning:g})"
    )
    print(
        f"  {'rows':>6}{'trials':>8}{'kept':>7}{'caught':>9}{'tail':>7}{'caught':>9}"
        f"{'change':>9}{'min':>9}"
    )
    for n, c in rising:
        tail = c.trials - c.risen_kept
        kept_rate = _pct(c.risen_kept_caught / c.risen_kept) if c.risen_kept else "-"
        tail_rate = _pct(c.risen_tail_caught / tail) if tail else "-"
        changes = c.risen_kept_change
        change = f"{statistics.median(changes):>9.4f}{min(changes):>9.4f}" if changes else ""
        print(
            f"  {_rows(n):>6}{c.trials:>8}{c.risen_kept:>7}{kept_rate:>9}{tail:>7}{tail_rate:>9}"
            f"{change}"
        )


def print_long_tail(cells: dict[tuple[str, int], Cell]) -> None:
    """The high-cardinality feature's never-seen share against what the reference expects."""
    print(
        f"\n{HIGH_CARDINALITY} without drift: share of values the reference never saw (median), "
        "its Good-Turing expectation (median), the largest excess and smallest corrected "
        "p-value of new_categories, and firings"
    )
    print(
        f"  {'rows':>6}{'trials':>8}{'unseen':>9}{'expected':>10}{'max excess':>12}"
        f"{'min p':>10}{'fired':>7}"
    )
    for (name, n), c in sorted(cells.items(), key=lambda kv: kv[0][1]):
        if name != NO_DRIFT.name:
            continue
        print(
            f"  {_rows(n):>6}{c.trials:>8}{statistics.median(c.tail_unseen):>9.4f}"
            f"{statistics.median(c.tail_expected):>10.4f}{max(c.tail_excess):>12.4f}"
            f"{min(c.tail_p_value):>10.1e}{c.tail_fired:>7}"
        )


def check_targets(cells: dict[tuple[str, int], Cell]) -> list[tuple[str, bool]]:
    results = []
    for (name, n), c in sorted(
        cells.items(), key=lambda kv: (SCENARIOS.index(_scenario(kv[0][0])), kv[0][1])
    ):
        if name == NO_DRIFT.name:
            high = _clopper_pearson(c.features_flagged, c.features_checked)[1]
            results.append(
                (
                    f"no drift {_rows(n):>4}: features flagged {_pct(c.feature_rate)} <= "
                    f"{_pct(MAX_FEATURE_RATE)} ({c.features_flagged}/{c.features_checked}, "
                    f"95% CI upper {_pct(high)})",
                    c.feature_rate <= MAX_FEATURE_RATE,
                )
            )
            high = _clopper_pearson(c.runs_flagged, c.trials)[1]
            results.append(
                (
                    f"no drift {_rows(n):>4}: runs flagged {_pct(c.run_rate)} <= "
                    f"{_pct(MAX_RUN_RATE)} ({c.runs_flagged}/{c.trials}, "
                    f"95% CI upper {_pct(high)})",
                    c.run_rate <= MAX_RUN_RATE,
                )
            )
            never = n >= NEVER_FROM_ROWS
            allowed = "none allowed" if never else f"<= {_pct(MAX_SMALL_TAIL_RATE)} allowed"
            results.append(
                (
                    f"no drift {_rows(n):>4}: {HIGH_CARDINALITY} new_categories fired in "
                    f"{c.tail_fired}/{c.trials} runs, {allowed} (largest excess "
                    f"{max(c.tail_excess):.4f}, smallest corrected p {min(c.tail_p_value):.2g})",
                    c.tail_fired == 0 if never else c.tail_fired / c.trials <= MAX_SMALL_TAIL_RATE,
                )
            )
        elif name == NEGLIGIBLE_SHIFT.name:
            high = _clopper_pearson(c.target_flagged, c.trials)[1]
            results.append(
                (
                    f"negligible shift {_rows(n):>4}: score flagged {_pct(c.target_rate)} <= "
                    f"{_pct(MAX_NEGLIGIBLE_RATE)} ({c.target_flagged}/{c.trials}, max KL "
                    f"{max(c.kl):.5f} vs kl_warning {Thresholds().kl_warning}, 95% CI upper "
                    f"{_pct(high)})",
                    c.target_rate <= MAX_NEGLIGIBLE_RATE,
                )
            )
        elif n >= CATCH_FROM_ROWS.get(name, DRIFT_SIZES[0]):
            low = _clopper_pearson(c.target_flagged, c.trials)[0]
            results.append(
                (
                    f"{name} {_rows(n):>4}: caught {_pct(c.target_rate)} >= "
                    f"{_pct(MIN_CATCH_RATE)} ({c.target_flagged}/{c.trials}, 95% CI lower "
                    f"{_pct(low)})",
                    c.target_rate >= MIN_CATCH_RATE,
                )
            )
    large = [c for (_, n), c in cells.items() if n >= NEVER_FROM_ROWS]
    fired = sum(c.tail_fired for c in large)
    trials = sum(c.trials for c in large)
    results.append(
        (
            f"every scenario from {_rows(NEVER_FROM_ROWS)} rows: {HIGH_CARDINALITY} (unchanged) "
            f"new_categories fired in {fired}/{trials} runs, none allowed",
            fired == 0,
        )
    )
    return results


def _scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=None, help="trials up to 10k rows")
    parser.add_argument("--quick", action="store_true", help=f"--trials {QUICK_TRIALS}")
    args = parser.parse_args(argv)
    base = args.trials or (QUICK_TRIALS if args.quick else DEFAULT_TRIALS)

    print(
        f"driftmon detection benchmark: {len(FEATURES)} features, reference {REFERENCE_ROWS:,} "
        f"rows x {FAMILIES} seed families, --trials {base}"
    )
    print(
        f"defaults: n_bins={DEFAULT_N_BINS}, alpha={DEFAULT_ALPHA}, correction=bh, {Thresholds()}"
    )
    references: dict[int, Reference] = {}
    cells: dict[tuple[str, int], Cell] = {}
    start = time.perf_counter()
    for scenario in SCENARIOS:
        for n_rows, trials in trial_plan(base, scenario).items():
            cell = run_cell(references, scenario, n_rows, trials)
            cells[(scenario.name, n_rows)] = cell
            print(
                f"  {scenario.name:<18} {_rows(n_rows):>4} rows x {trials:>4} trials: "
                f"{cell.seconds:6.1f} s",
                flush=True,
            )
    elapsed = time.perf_counter() - start

    print_rates(cells)
    print_margins(cells)
    print_category_rise(cells)
    print_long_tail(cells)
    print_false_flags(cells)
    results = check_targets(cells)
    print("\ntargets")
    for label, passed in results:
        print(f"  {'PASS' if passed else 'FAIL'}  {label}")
    failed = sum(not p for _, p in results)
    print(
        f"\n{len(results) - failed} of {len(results)} targets met; "
        f"{sum(c.trials for c in cells.values())} trials in {elapsed:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
