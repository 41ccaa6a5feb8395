from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import driftmon as dm
from driftmon.errors import ConfigError
from driftmon.formatting import format_share
from driftmon.policy import Thresholds, evaluate


def _comparison(rng: np.random.Generator, n_current: int, shift: float) -> dm.Comparison:
    reference = pd.DataFrame({"x": rng.normal(size=50_000), "y": rng.normal(size=50_000)})
    current = pd.DataFrame(
        {"x": rng.normal(size=n_current) + shift, "y": rng.normal(size=n_current)}
    )
    specs = dm.fit_specs(reference)
    return dm.compare(dm.profile_frame(reference, specs), dm.profile_frame(current, specs))


def test_a_large_significant_shift_is_critical_and_the_untouched_feature_ok(rng) -> None:
    verdict = evaluate(_comparison(rng, 5_000, shift=1.0))
    assert verdict.statuses == {"x": "critical", "y": "ok"}
    assert verdict.overall == "critical"
    assert verdict.drifted == ("x",)


def test_drifted_features_are_listed_most_severe_first_then_by_kl(rng) -> None:
    """As the table and the report list them: not in column order."""
    reference = pd.DataFrame({name: rng.normal(size=20_000) for name in "abcd"})
    shifts = {"a": 1.5, "b": 2.5, "c": 0.0, "d": 2.0}  # a, b, d critical: column order a, b, d
    current = pd.DataFrame({n: rng.normal(size=5_000) + shift for n, shift in shifts.items()})
    specs = dm.fit_specs(reference)
    comparison = dm.compare(dm.profile_frame(reference, specs), dm.profile_frame(current, specs))

    verdict = evaluate(comparison, Thresholds(kl_warning=0.05, kl_critical=0.5))

    kl = {name: comparison.feature(name).kl for name in "abd"}
    expected = sorted("abd", key=lambda n: (verdict.statuses[n] != "critical", -kl[n]))
    assert verdict.drifted == tuple(expected) == ("b", "d", "a")


def test_a_negligible_shift_on_many_rows_is_significant_but_not_drift(rng) -> None:
    comparison = _comparison(rng, 1_000_000, shift=0.02)
    x = comparison.feature("x")
    assert x.p_value < 0.01  # the test sees it ...
    assert x.kl < 0.02  # ... but the effect is negligible
    assert evaluate(comparison).statuses["x"] == "ok"


def test_a_moderate_shift_is_a_warning_with_per_feature_thresholds_applied(rng) -> None:
    comparison = _comparison(rng, 20_000, shift=0.3)
    kl = comparison.feature("x").kl
    assert 0.02 < kl < 0.1
    assert evaluate(comparison).statuses["x"] == "warning"
    strict = {"x": Thresholds(kl_warning=kl / 2, kl_critical=kl / 1.5)}
    assert evaluate(comparison, per_feature=strict).statuses["x"] == "critical"


def test_an_empty_batch_is_empty_not_ok(rng) -> None:
    reference = pd.DataFrame({"x": rng.normal(size=1000)})
    specs = dm.fit_specs(reference)
    comparison = dm.compare(
        dm.profile_frame(reference, specs), dm.profile_frame(reference.iloc[:0], specs)
    )
    verdict = evaluate(comparison)
    assert verdict.statuses == {"x": "empty"}
    assert verdict.overall == "empty"


def test_thresholds_are_validated() -> None:
    with pytest.raises(ConfigError, match="kl_warning <= kl_critical"):
        Thresholds(kl_warning=0.2, kl_critical=0.1)
    with pytest.raises(ConfigError, match="significance must be in"):
        Thresholds(significance=1.5)


def _frames(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    def make(size: int) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "amount": rng.normal(100, 10, size),
                "country": rng.choice(["DE", "FR", "IT", "ES"], size, p=[0.4, 0.3, 0.2, 0.1]),
            }
        )
        frame.loc[rng.random(size) < 0.02, "amount"] = np.nan
        return frame

    return make(50_000), make(n)


def _verdict(reference: pd.DataFrame, current: pd.DataFrame) -> object:
    specs = dm.fit_specs(reference)
    return evaluate(
        dm.compare(dm.profile_frame(reference, specs), dm.profile_frame(current, specs))
    )


def test_a_new_category_is_its_own_finding_naming_the_values(rng) -> None:
    reference, current = _frames(rng, 5_000)
    current.loc[current.index[:400], "country"] = "BR"
    verdict = _verdict(reference, current)
    [unseen] = [f for f in verdict.findings if f.signal == "new_categories"]
    assert (unseen.feature, unseen.severity) == ("country", "critical")
    assert unseen.value == pytest.approx(0.08)
    assert (
        unseen.message == "country: 8.0% of values are categories the reference never saw, e.g. BR"
    )


def test_values_beyond_the_reference_range_are_their_own_finding(rng) -> None:
    reference, current = _frames(rng, 5_000)
    current.loc[current.index[:150], "amount"] = 1_000.0
    verdict = _verdict(reference, current)
    [out] = [f for f in verdict.findings if f.signal == "out_of_range"]
    assert (out.feature, out.severity) == ("amount", "warning")
    assert out.message.startswith("amount: 3.0% of values are outside the reference range [")


def test_dates_beyond_the_reference_range_are_named_as_dates(rng) -> None:
    """Dates are counted as seconds since the epoch; the finding writes them as dates."""
    days = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, 5_000), "D")
    reference = pd.DataFrame({"shipped": days})
    current = pd.DataFrame({"shipped": days + pd.Timedelta(days=200)})
    [out] = [f for f in _verdict(reference, current).findings if f.signal == "out_of_range"]
    first, last = days.min().date(), days.max().date()
    assert f"outside the reference range [{first}, {last}]" in out.message


def test_a_jump_in_missing_values_is_its_own_finding(rng) -> None:
    reference, current = _frames(rng, 5_000)
    current.loc[current.index[:1_000], "amount"] = np.nan
    verdict = _verdict(reference, current)
    [missing] = [f for f in verdict.findings if f.signal == "missing"]
    assert missing.feature == "amount"
    before, after = reference["amount"].isna().mean(), current["amount"].isna().mean()
    assert (
        missing.message == f"amount: missing values rose from {before:.1%} to {after:.1%} of rows"
    )


def test_a_missing_column_is_a_critical_schema_finding(rng) -> None:
    reference, current = _frames(rng, 2_000)
    verdict = _verdict(reference, current.drop(columns=["amount"]))
    assert [(f.feature, f.signal, f.severity) for f in verdict.findings] == [
        ("amount", "schema", "critical")
    ]
    assert verdict.findings[0].message == "monitored column amount is missing from the batch"
    assert verdict.overall == "critical"


def test_a_numeric_column_arriving_as_text_is_one_schema_finding_at_the_worst_severity(
    rng,
) -> None:
    """Every value of ``amount`` fails to parse, so it counts as missing: its missing share
    and its distribution change because of the type change, and the schema finding stands
    for all three at their worst severity, with their figures."""
    reference, current = _frames(rng, 2_000)
    current["amount"] = [f"{value:.0f}x" for value in current["amount"]]
    comparison, verdict = _evaluated(reference, current)
    amount = comparison.feature("amount")

    assert [(f.feature, f.signal, f.severity) for f in verdict.findings] == [
        ("amount", "schema", "critical")
    ]
    assert verdict.findings[0].message == (
        "column amount arrived as string, the reference had numeric: 100% of rows are missing "
        f"or do not parse ({format_share(amount.missing_share_reference)} missing in the "
        f"reference); distribution changed: KL {amount.kl:.3f} ≥ 0.1 (p < 1e-16)"
    )
    assert verdict.statuses["amount"] == verdict.overall == "critical"
    assert {r.signal for r in verdict.readings if r.feature == "amount"} == {
        "schema",
        "out_of_range",
    }


def test_a_few_unparseable_values_make_a_warning_that_says_how_many(rng) -> None:
    """Ten values of 2,000 fail to parse: neither missing nor KL fires, so the type change
    alone is a warning."""
    reference, current = _frames(rng, 2_000)
    current["amount"] = current["amount"].astype(object)
    current.loc[current.index[:10], "amount"] = "n/a"
    comparison, verdict = _evaluated(reference, current)
    amount = comparison.feature("amount")

    assert [(f.feature, f.signal, f.severity) for f in verdict.findings] == [
        ("amount", "schema", "warning")
    ]
    assert verdict.findings[0].message == (
        "column amount arrived as string, the reference had numeric: "
        f"{format_share(amount.missing_share_current)} of rows are missing or do not parse "
        f"({format_share(amount.missing_share_reference)} missing in the reference)"
    )


def test_a_categorical_column_arriving_as_numbers_is_one_finding_that_names_new_values(
    rng,
) -> None:
    """KL, missing and values never seen (codes that lost their leading zeros) fold into the
    schema finding, which names the new values."""
    reference, current = _frames(rng, 2_000)
    retyped = current.assign(country=rng.integers(0, 3, len(current)))
    comparison, verdict = _evaluated(reference, retyped)
    country = comparison.feature("country")
    new_values = ", ".join(list(country.top_unseen)[:5])

    assert [(f.feature, f.signal, f.severity) for f in verdict.findings] == [
        ("country", "schema", "critical"),
    ]
    assert sorted(country.top_unseen) == ["0", "1", "2"]
    assert verdict.findings[0].message == (
        "column country arrived as numeric, the reference had string; distribution changed: "
        f"KL {country.kl:.3f} ≥ 0.1 (p < 1e-16); 100% of values are categories the reference "
        f"never saw, e.g. {new_values}"
    )


def test_codes_arriving_as_numbers_move_no_category_share_alert_of_their_own(rng) -> None:
    """Codes that read the same as numbers (``123``) keep their categories, but the type
    change is the one cause of their shares moving too: one finding, the schema's."""
    reference = pd.DataFrame({"code": rng.choice(["123", "456", "789"], 20_000)})
    current = pd.DataFrame({"code": np.full(2_000, 123)})
    comparison, verdict = _evaluated(reference, current)

    as_if_same_type = replace(comparison, schema=replace(comparison.schema, retyped=()))
    assert [f.signal for f in evaluate(as_if_same_type).findings] == ["kl", "category_share"]
    assert [(f.feature, f.signal, f.severity) for f in verdict.findings] == [
        ("code", "schema", "critical")
    ]


def test_an_unmonitored_column_dropped_from_the_feed_changes_nothing(rng) -> None:
    """A column with no usable reference values is not monitored (the reference build says
    so): a feed that stops sending it is not a schema change, and the features drifted are
    counted among monitored ones, as the run page counts them."""
    reference, current = _frames(rng, 2_000)
    reference["deprecated"] = np.nan
    current["deprecated"] = np.nan

    dropped = _verdict(reference, current.drop(columns=["deprecated"]))
    kept = _verdict(reference, current)

    assert dropped.findings == kept.findings == ()
    assert dropped.overall == kept.overall == "ok"
    [dataset] = [r for r in dropped.readings if r.signal == "dataset"]
    assert dataset.message.startswith("0 of 2 features drifted")


def test_many_drifted_features_raise_a_dataset_level_finding(rng) -> None:
    reference = pd.DataFrame({f"x{i}": rng.normal(size=20_000) for i in range(4)})
    current = pd.DataFrame({f"x{i}": rng.normal(size=5_000) + 1.0 for i in range(4)})
    verdict = _verdict(reference, current)
    [dataset] = [f for f in verdict.findings if f.signal == "dataset"]
    assert dataset.feature is None
    assert dataset.message.startswith("4 of 4 features drifted")


def test_a_single_value_beyond_range_in_a_small_batch_is_not_an_alarm(rng) -> None:
    reference, current = _frames(rng, 50)
    current.loc[current.index[0], "amount"] = 1_000.0  # 2% of 50 rows, but just one value
    assert not [f for f in _verdict(reference, current).findings if f.signal == "out_of_range"]


def test_calibration_scores_each_batch_against_the_reference_without_it(rng) -> None:
    from driftmon.policy import calibrate_kl_thresholds

    reference = pd.DataFrame({"x": rng.normal(size=10_000)})
    specs = dm.fit_specs(reference)
    profile = dm.profile_frame(reference, specs)
    batches = [dm.profile_frame(reference.iloc[i : i + 500], specs) for i in range(0, 10_000, 500)]

    thresholds = calibrate_kl_thresholds(profile, batches, quantile=0.9, base=Thresholds())

    without = np.stack([profile.features["x"].counts - b.features["x"].counts for b in batches])
    scores = dm.kl_divergence(without, np.stack([b.features["x"].counts for b in batches]))
    expected = max(0.02, float(np.quantile(scores, 0.9)))
    assert thresholds["x"]["kl_warning"] == pytest.approx(expected)
    assert thresholds["x"]["kl_critical"] >= thresholds["x"]["kl_warning"]


def test_calibration_learns_that_clumped_data_varies_more_than_iid_rows(rng) -> None:
    """Rows arriving in clumps (one level per 200 rows) make healthy batches look drifted
    under the chi-square model; thresholds calibrated on resampled blocks do not."""
    from driftmon.policy import calibrate_kl_thresholds

    def clumped(n: int) -> pd.DataFrame:
        levels = np.repeat(rng.normal(size=n // 200), 200)
        return pd.DataFrame({"x": levels + rng.normal(scale=0.5, size=n)})

    reference = clumped(100_000)
    specs = dm.fit_specs(reference)
    profile = dm.profile_frame(reference, specs)
    starts = rng.integers(0, 99_000, 200)
    batches = [dm.profile_frame(reference.iloc[s : s + 1_000], specs) for s in starts]
    calibrated = calibrate_kl_thresholds(profile, batches)

    healthy = dm.profile_frame(clumped(1_000), specs)
    comparison = dm.compare(profile, healthy)
    default = evaluate(comparison)
    tuned = evaluate(comparison, per_feature={"x": Thresholds(**calibrated["x"])})
    assert default.statuses["x"] in ("warning", "critical")  # the false alarm
    assert tuned.statuses["x"] == "ok"
    assert calibrated["x"]["kl_warning"] > 0.1


def test_calibration_refuses_batches_that_are_not_from_the_reference(rng) -> None:
    from driftmon.policy import calibrate_kl_thresholds

    reference = pd.DataFrame({"x": rng.normal(size=1_000)})
    specs = dm.fit_specs(reference)
    other = dm.profile_frame(pd.DataFrame({"x": rng.normal(size=5_000)}), specs)
    with pytest.raises(ConfigError, match="not drawn from this reference"):
        calibrate_kl_thresholds(dm.profile_frame(reference, specs), [other])
    with pytest.raises(ConfigError, match="quantile must be in"):
        calibrate_kl_thresholds(dm.profile_frame(reference, specs), [other], quantile=1.5)


# --------------------------------------------------------------------------------------------
# One category among many, the long tail, readings


def _many_categories(rng: np.random.Generator, n: int, boosted_share: float = 0.0) -> pd.DataFrame:
    """200 categories of 0.5% each; optionally one of them (`k007`) boosted to a share."""
    names = np.array([f"k{i:03d}" for i in range(200)], dtype=object)
    shares = np.full(200, 1 / 200)
    if boosted_share:
        shares = shares * (1 - boosted_share) / (1 - shares[7])
        shares[7] = boosted_share
    return pd.DataFrame({"sku": names[rng.choice(200, n, p=shares / shares.sum())]})


def test_one_category_rising_among_200_is_caught_although_kl_stays_low(rng) -> None:
    reference = _many_categories(rng, 100_000)
    verdict_and_comparison = _evaluated(reference, _many_categories(rng, 10_000, 0.03))
    comparison, verdict = verdict_and_comparison
    assert comparison.feature("sku").kl < 0.02  # the summed divergence barely moves ...
    [finding] = [f for f in verdict.findings if f.signal == "category_share"]
    assert (finding.feature, finding.severity) == ("sku", "warning")  # ... this signal does
    assert re.fullmatch(
        r"sku: category k007 rose from 0\.5% to \d\.\d% of known values "
        r"\(\d\.\d points ≥ 2 points, p < 1e-16\)",
        finding.message,
    ), finding.message


def test_a_healthy_batch_of_many_categories_raises_no_category_share_finding(rng) -> None:
    reference = _many_categories(rng, 100_000)
    for n in (50, 1_000, 10_000):
        _, verdict = _evaluated(reference, _many_categories(rng, n))
        assert not verdict.findings, n


def test_values_from_the_references_long_tail_are_not_new_categories(rng) -> None:
    """10,000 product ids, Zipf-distributed: a healthy batch meets ids the 100k-row reference
    saw once or never, about as often as the reference saw ids only once."""
    ids = np.array([f"p{i}" for i in range(10_000)], dtype=object)
    weights = 1.0 / np.arange(1, 10_001) ** 1.1
    weights /= weights.sum()
    reference = pd.DataFrame({"product": ids[rng.choice(10_000, 100_000, p=weights)]})
    current = pd.DataFrame({"product": ids[rng.choice(10_000, 10_000, p=weights)]})
    comparison, verdict = _evaluated(reference, current)
    product = comparison.feature("product")
    assert product.unseen_share_current > 0.005  # it does meet ids the reference never saw ...
    assert product.unseen_share_reference == pytest.approx(
        product.unseen_share_current, abs=0.005
    )  # ... about as many as the reference's ids seen once
    assert not [f for f in verdict.findings if f.signal == "new_categories"]


def test_every_observed_feature_gets_a_clear_reading_per_signal(rng) -> None:
    reference, current = _frames(rng, 2_000)
    _, verdict = _evaluated(reference, current)
    keys = {(r.feature, r.signal) for r in verdict.readings}
    assert keys == {
        ("amount", "kl"),
        ("amount", "out_of_range"),
        ("amount", "missing"),
        ("amount", "schema"),
        ("country", "kl"),
        ("country", "category_share"),
        ("country", "new_categories"),
        ("country", "missing"),
        ("country", "schema"),
        (None, "dataset"),
    }
    assert not verdict.findings
    kl = next(r for r in verdict.readings if r.key == ("amount", "kl"))
    assert kl.message == f"KL {kl.value:.3f} < 0.02"


def test_a_feature_the_reference_has_no_values_for_is_unmonitored_and_unread(rng) -> None:
    reference = pd.DataFrame({"x": rng.normal(size=1_000), "blank": np.nan})
    _, verdict = _evaluated(reference, reference.iloc[:500])
    assert verdict.statuses == {"x": "ok", "blank": "unmonitored"}
    assert "blank" not in {r.feature for r in verdict.readings}
    assert verdict.overall == "ok"


def _evaluated(reference: pd.DataFrame, current: pd.DataFrame):
    specs = dm.fit_specs(reference)
    comparison = dm.compare(dm.profile_frame(reference, specs), dm.profile_frame(current, specs))
    return comparison, evaluate(comparison)


def test_missing_values_do_not_inflate_what_the_long_tail_expects(rng) -> None:
    """The expected never-seen share is of values: half the rows missing halves it."""
    ids = np.array([f"p{i}" for i in range(10_000)], dtype=object)
    weights = 1.0 / np.arange(1, 10_001) ** 1.1
    weights /= weights.sum()
    reference = pd.DataFrame({"product": ids[rng.choice(10_000, 100_000, p=weights)]})
    current = pd.DataFrame({"product": ids[rng.choice(10_000, 10_000, p=weights)]})
    current.loc[current.index[:5_000], "product"] = None
    current.loc[current.index[5_000:5_300], "product"] = "brand-new"  # 3% of rows
    comparison, verdict = _evaluated(reference, current)
    [finding] = [f for f in verdict.findings if f.signal == "new_categories"]
    product = comparison.feature("product")
    expected = product.unseen_share_reference * (1 - product.missing_share_current)
    assert finding.value == pytest.approx(product.unseen_share_current - expected)
    assert "brand-new" in finding.message


def test_a_reference_that_does_not_know_what_it_saw_still_flags_values_outside_its_bins(
    rng,
) -> None:
    """References stored by driftmon 0.1 kept only their bins: measured as then, and said so."""
    from dataclasses import replace

    reference, current = _frames(rng, 5_000)
    reference.loc[reference.index[:3], "country"] = "rare"  # a long tail beyond one kept bin
    specs = dm.fit_specs(reference, max_categories=3)
    legacy = {name: replace(spec, seen=None) for name, spec in specs.items()}
    current.loc[current.index[:400], "country"] = "BR"
    comparison = dm.compare(dm.profile_frame(reference, legacy), dm.profile_frame(current, legacy))
    country = comparison.feature("country")
    assert not country.seen_known and country.other_share_current is None
    [finding] = [f for f in evaluate(comparison).findings if f.signal == "new_categories"]
    assert "outside the reference's kept categories" in finding.message
    assert "rebuild it" in finding.message


def test_a_retyped_column_opens_one_alert_that_resolves_when_numbers_come_back(rng) -> None:
    """The lifecycle replays the folded readings as it replays any: one alert opens, a
    repeat of the same batch is not news, and ``resolve_after`` batches of numbers resolve
    it without opening a KL or missing alert on the way."""
    from dataclasses import replace

    from driftmon.alerts import decide_alerts

    reference, healthy = _frames(rng, 2_000)
    text = healthy.assign(amount=[f"{value:.0f}x" for value in healthy["amount"]])
    retyped, back, back_again = (
        _evaluated(reference, batch)[1].readings for batch in (text, healthy, healthy)
    )

    [opened] = decide_alerts([], [retyped], resolve_after=2)
    assert (opened.change, opened.alert.key, opened.alert.severity) == (
        "opened",
        ("amount", "schema"),
        "critical",
    )
    active = [replace(opened.alert, id=1)]
    [repeated] = decide_alerts(active, [retyped, retyped], resolve_after=2)
    assert (repeated.change, repeated.is_news) == ("held", False)
    [clearing] = decide_alerts(active, [back, retyped], resolve_after=2)
    assert (clearing.change, clearing.is_news) == ("clearing", False)
    [resolved] = decide_alerts(active, [back_again, back, retyped], resolve_after=2)
    assert (resolved.change, resolved.alert.state) == ("resolved", "resolved")
    assert resolved.alert.message == (
        "amount back within thresholds for 2 batches: column present, same type"
    )
