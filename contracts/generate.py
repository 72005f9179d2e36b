"""Regenerate the protobuf and gRPC Python modules from the .proto files.

Run from the project root: ``python -m contracts.generate``. It calls grpcio-tools' bundled
``protoc`` with the project root as the include path, so imports stay ``contracts/services/...``.
It writes two things:

- ``contracts/**/*_pb2.py``, ``_pb2.pyi``, ``_pb2_grpc.py``: the stubs a course project has, for
  reading and for tests that talk to the stand independently of our client;
- ``seeding/contract/gateway.binpb``: every file's descriptor in one ``FileDescriptorSet``, which
  is what the installed package reads at run time (``seeding.contract``), into a private pool.

The stubs are made by grpcio-tools ``TOOLS_VERSION`` on purpose: generated code checks that the
protobuf and grpcio runtimes are at least the ones that made it, and course projects pin
grpcio 1.76 / protobuf 6.33. ``--out DIR`` writes both elsewhere (the test suite uses it to prove
the committed files are what this command produces).
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
DESCRIPTOR_SET = Path("seeding/contract/gateway.binpb")  # relative to the output root
TOOLS_VERSION = "1.76.0"  # the lowest grpcio the package declares; see the module docstring


def proto_files() -> list[Path]:
    """Every .proto of the contract, as paths relative to the project root, sorted."""
    return sorted(p.relative_to(PROJECT_ROOT) for p in CONTRACTS_DIR.rglob("*.proto"))


def generate(out_dir: Path = PROJECT_ROOT) -> None:
    """Write ``_pb2.py``, ``_pb2.pyi`` and ``_pb2_grpc.py`` for every .proto into ``out_dir``."""
    try:
        from grpc_tools import protoc  # grpcio-tools is a development dependency only

        installed = version("grpcio-tools")
    except (ImportError, PackageNotFoundError):
        installed = None
    if installed != TOOLS_VERSION:
        raise SystemExit(
            f"contracts.generate: needs grpcio-tools=={TOOLS_VERSION} (found {installed or 'none'}); "
            f"in a scratch venv: pip install grpcio-tools=={TOOLS_VERSION}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / DESCRIPTOR_SET).parent.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROJECT_ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--descriptor_set_out={out_dir / DESCRIPTOR_SET}",
        "--include_imports",
        *(str(p) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("contracts.generate: protoc failed (see the message above)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT, help="output root (default: project root)")
    args = parser.parse_args(argv)
    generate(args.out)
    print(f"generated {len(proto_files())} .proto files into {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
