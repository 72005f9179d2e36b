"""The table of transports (``seeding/gateway/_transports.py``): what a row alone gives a new transport."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from seeding.gateway import TRANSPORTS, transport_spec


@pytest.fixture
def bare_row():
    """A row naming no settings model, as a new transport's would."""
    return replace(transport_spec("http"), settings="gateway_x_client", settings_model=None)


def test_a_row_without_a_model_has_a_target_and_timeout_section(bare_row) -> None:
    model = bare_row.settings_class()
    assert model is bare_row.settings_class()  # one class per row, however often it is asked for
    section = model()
    assert (section.target, section.timeout) == (bare_row.default_target, 10.0)
    assert model(target="https://gw.example:8443/", timeout="2.5").timeout == 2.5


@pytest.mark.parametrize(
    ("field", "value"),
    [("target", "127.0.0.1:1"), ("target", "ftp://x"), ("timeout", "inf"), ("timeout", "0"), ("timeout", "x")],
)
def test_its_bad_values_are_refused_as_the_row_checks_them(bare_row, field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        bare_row.settings_class()(**{field: value})


@pytest.mark.parametrize("name", list(TRANSPORTS))
def test_the_course_sections_keep_their_own_models(name: str) -> None:
    section = transport_spec(name).settings_class()()
    assert section.target == transport_spec(name).default_target
