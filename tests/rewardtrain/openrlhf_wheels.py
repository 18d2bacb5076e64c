"""OpenRLHF's remote-reward client code, loaded unchanged from its wheels.

`make install-test` downloads the wheels (no dependencies) into .venv/wheels. Installing
OpenRLHF would pull ray, deepspeed and vLLM (gigabytes, GPU builds), so the test loads only the
modules that talk to a reward server: `openrlhf.utils.agent` (0.11: one query per request,
aiohttp) and `openrlhf.utils.remote_rm_utils` (0.8: the whole rollout batch, requests), with
empty parent packages so their `__init__` files (which import deepspeed) do not run.
"""

import ast
import importlib
import sys
import types
import zipfile
from contextlib import contextmanager
from pathlib import Path

WHEELS = Path(__file__).resolve().parents[2] / ".venv" / "wheels"


def extract(version: str, into: Path) -> Path:
    """The folder holding the `openrlhf` package of wheel `version`."""
    wheel = next(WHEELS.glob(f"openrlhf-{version}-*.whl"), None)
    if wheel is None:
        raise FileNotFoundError(f"no openrlhf {version} wheel in {WHEELS}: `make install-test` downloads it")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(into)
    return next(into.glob("*.data/purelib"))


@contextmanager
def openrlhf_modules(version: str, into: Path, *names: str, ray=None):
    """Import `openrlhf.<name>` for each name from the wheel, yield them, then forget them
    (two versions are loaded in one test session). `ray`, when given, stands in for the ray
    module: the 0.8 client is written as ray remote functions, which the test runs in-process."""
    root = extract(version, into) / "openrlhf"
    saved = {name: module for name, module in sys.modules.items() if name == "ray" or name.startswith("openrlhf")}
    for name in saved:
        del sys.modules[name]
    for package, folder in (("openrlhf", root), ("openrlhf.utils", root / "utils")):
        module = types.ModuleType(package)
        module.__path__ = [str(folder)]
        sys.modules[package] = module
    if ray is not None:
        sys.modules["ray"] = ray
    try:
        yield [importlib.import_module(f"openrlhf.{name}") for name in names]
    finally:
        for name in [n for n in sys.modules if n == "ray" or n.startswith("openrlhf")]:
            del sys.modules[name]
        sys.modules.update(saved)


def function_from(version: str, into: Path, relative: str, name: str, namespace: dict):
    """One top-level function of the wheel's `relative` file, its source run unchanged in
    `namespace` (for functions whose module imports half of OpenRLHF)."""
    path = extract(version, into) / relative
    tree = ast.parse(path.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
    return namespace[name]


class InProcessRay(types.ModuleType):
    """`ray.remote` and `ray.get` run in this process: `f.remote(...)` calls f, `Cls.remote(...)`
    builds Cls, `ray.get(x)` returns x. Only the transport differs from a ray cluster."""

    def __init__(self):
        super().__init__("ray")

    @staticmethod
    def remote(target):
        target.remote = target
        return target

    @staticmethod
    def get(value):
        return value
