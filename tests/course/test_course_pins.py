"""Installing ``seeding`` into a course project moves none of its pins: every declared range admits them.

The pins are a course project's ``requirements.txt`` (../shared/GATEWAY-CONTRACT.md, last section).
Raising a lower bound above one of them (or capping below it) fails here, long before a user's
``pip install`` would downgrade or upgrade their grpcio, protobuf or Locust. grpcio-tools is theirs,
not ours: it only has to agree with our protobuf range (1.76 requires protobuf < 7).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

COURSE_PINS = {
    "grpcio": "1.76.0",
    "protobuf": "6.33.2",
    "pydantic": "2.12.5",
    "pydantic-settings": "2.14.1",
    "locust": "2.42.6",
    "httpx": "0.28.1",
    "faker": "39.0.0",
}


def _declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [
        Requirement(line) for line in [*project["dependencies"], *project["optional-dependencies"]["locust"]]
    ]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


@pytest.mark.parametrize(("name", "pinned"), sorted(COURSE_PINS.items()))
def test_our_range_admits_the_course_pin(name: str, pinned: str) -> None:
    requirement = _declared()[canonicalize_name(name)]
    assert requirement.specifier.contains(pinned, prereleases=False), (
        f"{requirement} moves the course's {name}=={pinned}"
    )


def test_our_protobuf_range_leaves_room_for_the_course_grpcio_tools() -> None:
    # grpcio-tools 1.76.0 requires protobuf>=6.31.1,<7.0.0: some protobuf must satisfy both.
    protobuf = _declared()["protobuf"].specifier
    assert any(protobuf.contains(version) for version in ("6.31.1", "6.32.0", "6.33.2"))
