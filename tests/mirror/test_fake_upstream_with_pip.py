"""The fake upstream is a real index: pip resolves and downloads from it in both flavours."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_upstream import FakeUpstream

pytestmark = pytest.mark.e2e


def test_pip_downloads_a_package_with_its_dependency(
    upstream: FakeUpstream, tmp_path: Path
) -> None:
    (wheel, _) = upstream.add_release("top-pkg", "1.0", requires=["dep-pkg>=2"])
    upstream.add_release("dep-pkg", "1.0")
    (dep_wheel, _) = upstream.add_release("dep-pkg", "2.0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    result = subprocess.run(
        [
            sys.executable, "-m", "pip", "--isolated", "download", "--no-cache-dir",
            "--only-binary", ":all:", "--index-url", upstream.url, "-d", str(tmp_path),
            "top-pkg",
        ],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [dep_wheel.filename, wheel.filename]
    )
    assert (tmp_path / wheel.filename).read_bytes() == wheel.data
    assert upstream.requests_for("/simple/top-pkg/")
