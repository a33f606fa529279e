"""Helm and kubectl from the control-plane build, with Helm's own state kept out of $HOME."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "strongroom"
KUBE_VERSION = "1.34.0"  # what `helm template` assumes (the chart needs >= 1.30; Helm's default is older)
# NOTES.txt is rendered only by `helm install`, which needs a cluster: a copy of the chart renders it
# with `tpl` into a ConfigMap instead.
_NOTES_TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: notes
data:
  notes: {{ tpl (.Files.Get "NOTES.txt") . | toJson }}
"""


@dataclass
class Tools:
    bin_dir: Path
    home: Path

    def run(self, tool: str, *args: str, stdin: str | None = None, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        env = {f"HELM_{kind}_HOME": str(self.home / kind.lower()) for kind in ("CACHE", "CONFIG", "DATA")}
        env |= {"PATH": str(self.bin_dir), "HOME": str(self.home)}  # kubectl's cache goes under $HOME
        result = subprocess.run([str(self.bin_dir / tool), *args], input=stdin, capture_output=True, text=True,
                                env=env, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def values_file(self, values: dict[str, Any]) -> str:
        path = self.home / f"values-{abs(hash(repr(values)))}.yaml"
        path.write_text(yaml.safe_dump(values))
        return str(path)

    def template(self, values: dict[str, Any] | None = None, release: str = "strongroom",
                 namespace: str = "strongroom-system", *extra: str) -> list[dict[str, Any]]:
        out = self.run("helm", "template", release, str(CHART), "--namespace", namespace,
                       "--kube-version", KUBE_VERSION, "-f", self.values_file(values or {}), *extra).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]

    def notes(self, values: dict[str, Any] | None = None, release: str = "strongroom",
              namespace: str = "strongroom-system") -> str:
        """What `helm install` would print after installing."""
        chart = self.home / "notes-chart"
        if not chart.exists():
            shutil.copytree(CHART, chart)
            shutil.copy(CHART / "templates" / "NOTES.txt", chart / "NOTES.txt")
            (chart / "templates" / "zz-notes.yaml").write_text(_NOTES_TEMPLATE)
        out = self.run("helm", "template", release, str(chart), "--namespace", namespace,
                       "--kube-version", KUBE_VERSION, "-f", self.values_file(values or {}),
                       "--show-only", "templates/zz-notes.yaml").stdout
        return str(yaml.safe_load(out)["data"]["notes"])


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]
