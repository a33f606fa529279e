"""Where the control-plane binaries are: $STRONGROOM_BIN_DIR, or built (and cached) by the repo's script."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm")
BUILD_SCRIPT = Path(__file__).resolve().parents[3] / "hack" / "controlplane" / "build.sh"


class BinariesMissing(RuntimeError):
    """The control-plane binaries are neither given nor buildable here."""


def missing_in(bin_dir: Path) -> list[str]:
    return [name for name in REQUIRED if not os.access(bin_dir / name, os.X_OK)]


def bin_dir() -> Path:
    """The folder holding etcd, kube-apiserver, kube-controller-manager, kubectl and helm.

    Runs the build script when it is there (it does nothing when its cache is warm); its progress
    goes straight to the terminal."""
    given = os.environ.get("STRONGROOM_BIN_DIR")
    if given:
        path = Path(given)
        missing = missing_in(path)
        if missing:
            raise BinariesMissing(
                f"STRONGROOM_BIN_DIR={path} lacks {', '.join(missing)}; run hack/controlplane/build.sh"
            )
        return path
    if not BUILD_SCRIPT.exists():
        raise BinariesMissing(
            "control-plane binaries not found: set STRONGROOM_BIN_DIR to a folder with "
            + ", ".join(REQUIRED)
        )
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise BinariesMissing(f"building the control plane failed; run bash {BUILD_SCRIPT} to see why")
    return Path(result.stdout.strip().splitlines()[-1])
