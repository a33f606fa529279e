from __future__ import annotations

import pytest

from strongroom.devcluster.binaries import bin_dir
from tests.chart.helm import Tools


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    return Tools(bin_dir(), tmp_path_factory.mktemp("helm"))
