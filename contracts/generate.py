"""Regenerate the protobuf and gRPC Python modules from the .proto files.

Run from anywhere: ``python -m contracts.generate``. It calls grpcio-tools' bundled ``protoc``
with the project root as the include path, so imports stay ``contracts/services/...`` and the
generated modules are importable as ``contracts.services....``. ``--out DIR`` writes the tree
elsewhere (the test suite uses it to prove the committed code is what this command produces).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"


def proto_files() -> list[Path]:
    """Every .proto of the contract, as paths relative to the project root, sorted."""
    return sorted(p.relative_to(PROJECT_ROOT) for p in CONTRACTS_DIR.rglob("*.proto"))


def generate(out_dir: Path = PROJECT_ROOT) -> None:
    """Write ``_pb2.py``, ``_pb2.pyi`` and ``_pb2_grpc.py`` for every .proto into ``out_dir``."""
    from grpc_tools import protoc  # grpcio-tools is a development dependency only

    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROJECT_ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
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
