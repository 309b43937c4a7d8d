"""Shared fixtures."""
import pytest

import radplugins  # noqa: F401  registers everything once per session
from tests.helpers import write_mura_fixture


@pytest.fixture
def mura_root(tmp_path):
    """A MURA-layout folder with 4 train and 2 valid studies."""
    write_mura_fixture(str(tmp_path))
    return str(tmp_path)
