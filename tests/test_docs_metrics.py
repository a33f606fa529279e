"""docs/metrics.md documents exactly the operator's metrics: every one in the registry, as exposed (name,
type, labels), and none that is not there."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import Counter
from prometheus_client.metrics import MetricWrapperBase

from strongroom.controllers.metrics import Metrics

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
ROW = re.compile(r"^\| `(?P<name>[a-z_:]+)` \| (?P<type>\w+) \| (?P<labels>[^|]*) \| (?P<meaning>[^|]+) \|$",
                 re.MULTILINE)


def registered(metrics: Metrics) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Name as scraped (counters with `_total`) -> (type, label names), for every metric of `metrics`."""
    wrappers = [v for v in vars(metrics).values() if isinstance(v, MetricWrapperBase)]
    # Every family in the registry is one of Metrics' attributes (so none escapes the check below).
    assert {w._name for w in wrappers} == {family.name for family in metrics.registry.collect()}
    return {w._name + ("_total" if w._type == "counter" else ""): (w._type, tuple(w._labelnames))
            for w in wrappers}


def documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    rows = {}
    for row in ROW.finditer(DOC.read_text()):
        labels = tuple(re.findall(r"`([a-z_]+)`", row["labels"]))
        assert row["meaning"].strip(), f"{row['name']}: no meaning"
        assert row["name"] not in rows, f"{row['name']}: documented twice"
        rows[row["name"]] = (row["type"], labels)
    return rows


def test_every_metric_is_documented_with_its_type_and_labels() -> None:
    assert documented() == registered(Metrics())


def test_a_metric_added_without_its_row_fails_the_check() -> None:
    metrics = Metrics()
    metrics.added = Counter("strongroom_added", "new", ["why"], registry=metrics.registry)  # type: ignore[attr-defined]
    assert set(registered(metrics)) - set(documented()) == {"strongroom_added_total"}
