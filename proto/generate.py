"""Generate the Python package `sunap.v1` from proto/sunap/v1/*.proto: `make proto`.

    .venv/bin/python proto/generate.py [OUT_DIR]   # default: src

protoc names generated modules after the proto's path, so `sunap/v1/payments.proto` becomes
`sunap.v1.payments_pb2` (+ `_pb2_grpc`), with mypy stubs (`.pyi`) from mypy-protobuf. The
generated package holds nothing written by hand; a test regenerates it into a temporary
directory and fails when the checked-in copy differs.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE = Path("sunap/v1")
INIT = '"""Generated from proto/sunap/v1 by `make proto`: do not edit."""\n'


def generate(out_dir: Path) -> list[Path]:
    """Write the generated modules under out_dir/sunap/v1; returns the files written."""
    bin_dir = Path(sys.executable).parent
    well_known = resources.files("grpc_tools") / "_proto"
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE).glob("*.proto"))
    target = out_dir / PACKAGE
    target.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed on {sources}")
    (target / "__init__.py").write_text(INIT)
    return sorted(p for p in target.iterdir() if p.is_file())


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_ROOT.parent / "src"
    for path in generate(out):
        print(path)
