"""Settings under the course's dotted names and their shell-exportable underscore spellings, and which wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from seeding._exceptions import SeedingError
from seeding._settings import load_settings, underscore_names

# (environment, .env text, expected (transport, http url, grpc target))
CASES = [
    ({}, "", ("grpc", "http://localhost:8003", "localhost:9003")),
    ({"SEEDING_TRANSPORT": "http"}, "", ("http", "http://localhost:8003", "localhost:9003")),
    ({"GATEWAY_HTTP_CLIENT_URL": "http://a:1"}, "", ("grpc", "http://a:1", "localhost:9003")),
    ({"GATEWAY_GRPC_CLIENT_HOST": "b", "GATEWAY_GRPC_CLIENT_PORT": "2"}, "", ("grpc", "http://localhost:8003", "b:2")),
    ({"seeding_transport": "http"}, "", ("http", "http://localhost:8003", "localhost:9003")),  # any case
    # within one source, the dotted (course) name wins
    (
        {"SEEDING.TRANSPORT": "grpc", "SEEDING_TRANSPORT": "http"},
        "",
        ("grpc", "http://localhost:8003", "localhost:9003"),
    ),
    # the environment wins over .env, whichever spelling either uses
    ({"SEEDING_TRANSPORT": "http"}, "SEEDING.TRANSPORT=grpc\n", ("http", "http://localhost:8003", "localhost:9003")),
    ({"SEEDING.TRANSPORT": "grpc"}, "SEEDING_TRANSPORT=http\n", ("grpc", "http://localhost:8003", "localhost:9003")),
    ({}, "GATEWAY_HTTP_CLIENT_URL=http://c:3\n", ("grpc", "http://c:3", "localhost:9003")),
    (
        {},
        "GATEWAY_HTTP_CLIENT.URL=http://d:4\nGATEWAY_HTTP_CLIENT_URL=http://c:3\n",
        ("grpc", "http://d:4", "localhost:9003"),
    ),
    # a section's keys from both spellings merge
    ({"GATEWAY_GRPC_CLIENT.HOST": "e"}, "GATEWAY_GRPC_CLIENT_PORT=5\n", ("grpc", "http://localhost:8003", "e:5")),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.upper().startswith(("SEEDING", "GATEWAY_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.mark.parametrize(("env", "dotenv", "expected"), CASES)
def test_spellings_and_precedence(clean_env, tmp_path: Path, env: dict[str, str], dotenv: str, expected) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    settings = load_settings()
    assert (
        settings.seeding.transport,
        settings.gateway_http_client.url,
        settings.gateway_grpc_client.target,
    ) == expected


def test_every_setting_has_an_underscore_spelling() -> None:
    names = underscore_names()
    assert names["SEEDING_TRANSPORT"] == ("seeding", "transport")
    assert names["GATEWAY_HTTP_CLIENT_URL"] == ("gateway_http_client", "url")
    assert names["GATEWAY_GRPC_CLIENT_TIMEOUT"] == ("gateway_grpc_client", "timeout")
    assert "SEEDING_DUMPS_DIR" in names and "SEEDING_CONCURRENCY" in names


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SEEDING_TRANSPORT": "smtp"}, "settings: SEEDING_TRANSPORT (or SEEDING.TRANSPORT): "),
        ({"SEEDING.TRANSPORT": "smtp"}, "settings: SEEDING.TRANSPORT: "),
        ({"GATEWAY_HTTP_CLIENT_URL": "localhost"}, "settings: GATEWAY_HTTP_CLIENT_URL (or GATEWAY_HTTP_CLIENT.URL): "),
        ({"GATEWAY_GRPC_CLIENT_TIMEOUT": "inf"}, "GATEWAY_GRPC_CLIENT_TIMEOUT (or GATEWAY_GRPC_CLIENT.TIMEOUT)"),
    ],
)
def test_a_bad_value_names_the_spelling_used(clean_env, env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(SeedingError) as caught:
        load_settings()
    assert expected in str(caught.value) and "\n" not in str(caught.value)
