"""The dependency rules of ARCHITECTURE.md section 5, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import gigachat_mcp

ROOT = Path(__file__).resolve().parents[1]
CORE_ALLOWED = {"httpx", "certifi", "platformdirs"}
STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def test_core_imports_only_stdlib_httpx_certifi_platformdirs() -> None:
    core = [ROOT / "gigachat_mcp" / "__init__.py", ROOT / "gigachat_mcp" / "_version.py",
            *sorted((ROOT / "gigachat_mcp" / "client").rglob("*.py"))]
    for path in core:
        outside = {top(n) for n in imports_of(path)} - STDLIB - CORE_ALLOWED - {"gigachat_mcp"}
        assert not outside, f"{path.relative_to(ROOT)} imports {outside}"


def module_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


# Pieces of the server kept in their own small modules; they import mcp, and only server.py imports them.
SERVER_PARTS = ("gigachat_mcp/_app/", "gigachat_mcp/_prompts.py", "gigachat_mcp/_team/")


def is_server(rel: str) -> bool:
    return rel == "gigachat_mcp/server.py" or rel.startswith(SERVER_PARTS)


def test_only_the_server_imports_mcp_the_cli_lazily_and_only_the_magics_import_ipython() -> None:
    for path in ROOT.glob("gigachat_*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if "mcp" in {top(n) for n in module_level_imports(path)}:
            assert is_server(rel), f"{rel} imports mcp at module level"
        if "mcp" in {top(n) for n in imports_of(path)}:
            assert is_server(rel) or rel.startswith("gigachat_mcp/_commands/"), rel
        if "redis" in {top(n) for n in imports_of(path)}:
            assert rel.startswith("gigachat_mcp/_team/redis"), f"{rel}: redis is imported only by the Redis state"
        if "IPython" in {top(n) for n in imports_of(path)}:
            assert rel.startswith("gigachat_magics/"), rel


def test_server_parts_are_imported_only_by_the_server() -> None:
    for path in ROOT.glob("gigachat_*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if is_server(rel):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                assert not any(part in module for part in ("_app", "_prompts")), f"{rel} imports {module}"


def test_front_ends_use_only_public_names_and_never_each_other() -> None:
    public = set(gigachat_mcp.__all__)
    for path in [*ROOT.glob("gigachat_magics/**/*.py"), ROOT / "gigachat_mcp" / "server.py"]:
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "gigachat_mcp":
                assert {a.name for a in node.names} <= public, path
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gigachat_mcp.client"):
                raise AssertionError(f"{path} reaches into the core's private modules")
        names = {top(n) for n in imports_of(path)}
        if path.parts[-2] == "gigachat_magics":
            assert not any(n.startswith("gigachat_mcp.server") for n in imports_of(path)), path
        else:
            assert "gigachat_magics" not in names, path


def test_importing_the_core_loads_neither_mcp_nor_ipython_and_reads_no_network() -> None:
    code = ("import sys, gigachat_mcp; bad = [m for m in ('mcp', 'IPython', 'certifi', 'cryptography') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names_are_sorted_and_exported() -> None:
    names = [n for n in gigachat_mcp.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in names:
        assert getattr(gigachat_mcp, name) is not None


def test_bundled_root_is_the_genuine_russian_trusted_root_ca() -> None:
    import hashlib
    import ssl

    from gigachat_mcp.client._tls import RUSSIAN_ROOT_SHA256, bundled_root_pem

    der = ssl.PEM_cert_to_DER_cert(bundled_root_pem())
    assert hashlib.sha256(der).hexdigest() == RUSSIAN_ROOT_SHA256
    assert RUSSIAN_ROOT_SHA256.upper() == "D26D2D0231B7C39F92CC738512BA54103519E4405D68B5BD703E9788CA8ECF31"


def test_the_default_server_loads_no_redis() -> None:
    """stdio and one HTTP process keep their in-memory state: building the server imports no Redis client."""
    code = ("import sys; from gigachat_mcp.server import build_server; build_server(); "
            "print([m for m in sys.modules if m.split('.')[0] in ('redis', 'fakeredis')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
