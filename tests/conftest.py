"""Shared fixtures: GPU availability and hypothesis profiles."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _gpu():
    from cupyquant.gpu.platform import gpu_available
    return gpu_available()


@pytest.fixture(scope="session")
def cp():
    """CuPy, or skip: the GPU tests need a usable device."""
    if not _gpu():
        pytest.skip("no usable GPU (CuPy missing or no device)")
    import cupy
    return cupy
