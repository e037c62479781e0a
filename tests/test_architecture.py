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


def absolute_imports(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved (`from .. import X` in gigachat_mcp/server/x.py is
    gigachat_mcp, plus gigachat_mcp.X for a submodule)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(ROOT).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def core_files() -> list[Path]:
    return [ROOT / "gigachat_mcp" / "__init__.py", ROOT / "gigachat_mcp" / "_version.py",
            *sorted((ROOT / "gigachat_mcp" / "client").rglob("*.py"))]


def test_core_imports_only_stdlib_httpx_certifi_platformdirs() -> None:
    for path in core_files():
        outside = {top(n) for n in imports_of(path)} - STDLIB - CORE_ALLOWED - {"gigachat_mcp"}
        assert not outside, f"{path.relative_to(ROOT)} imports {outside}"


def test_the_core_never_imports_the_server_or_the_notebook() -> None:
    for path in core_files():
        bad = {n for n in absolute_imports(path) if n.startswith(("gigachat_mcp.server", "gigachat_magics", "mcp"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def module_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


SERVER = "gigachat_mcp/server/"
COMMANDS = ("gigachat_mcp/commands/",)  # one module per subcommand, run on demand


def test_only_the_server_imports_mcp_the_commands_lazily_and_only_the_magics_import_ipython() -> None:
    for path in ROOT.glob("gigachat_*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if "mcp" in {top(n) for n in module_level_imports(path)}:
            assert rel.startswith(SERVER), f"{rel} imports mcp at module level"
        if "mcp" in {top(n) for n in imports_of(path)}:
            assert rel.startswith((SERVER, *COMMANDS)), rel
        if "redis" in {top(n) for n in imports_of(path)}:
            assert rel.startswith(f"{SERVER}state/redis"), f"{rel}: redis is imported only by the Redis state"
        if "IPython" in {top(n) for n in imports_of(path)}:
            assert rel.startswith("gigachat_magics/"), rel


def test_the_server_is_imported_only_by_itself_and_the_commands() -> None:
    for path in ROOT.glob("gigachat_*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((SERVER, *COMMANDS)):
            continue
        reached = {n for n in absolute_imports(path) if n.startswith("gigachat_mcp.server")}
        assert not reached, f"{rel} imports {reached}"


def test_front_ends_use_only_public_names_and_never_each_other() -> None:
    public = set(gigachat_mcp.__all__)
    for path in [*ROOT.glob("gigachat_magics/**/*.py"), *ROOT.glob(f"{SERVER}**/*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        names = absolute_imports(path)
        used = {n.split(".")[1] for n in names if n.startswith("gigachat_mcp.") and n.count(".") == 1}
        private = {n for n in names if n.startswith("gigachat_mcp.client.")}
        assert not private, f"{rel} reaches into the core's private modules: {private}"
        if rel.startswith("gigachat_magics/"):
            assert not {n for n in names if n.startswith("gigachat_mcp.server")}, rel
            assert used <= public, f"{rel} imports {used - public} from gigachat_mcp"
        else:
            assert not {n for n in names if top(n) == "gigachat_magics"}, rel
            assert used - {"server", "client"} <= public, f"{rel} imports {used - public} from gigachat_mcp"


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
