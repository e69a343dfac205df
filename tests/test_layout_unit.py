"""The layout's rules, so it cannot quietly decay: arrows one way (the domain and the settings
know no proxy and no UI; the UI does not import the proxy) and each module saying in its first
line what it owns. Read from the source with `ast`, nothing imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top-level packages a part may not import: (files, forbidden).
RULES = [
    (["models/**/*.py", "config.py"], {"addons", "admin", "mitmproxy", "flask", "flask_login",
                                       "flask_wtf", "werkzeug"}),
    (["admin/**/*.py"], {"addons", "mitmproxy"}),
]


def imported(path: Path) -> set[str]:
    """The top-level names a module imports (relative imports resolved to their package)."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(ROOT).parts[0] if len(path.relative_to(ROOT).parts) > 1 else ""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(package)
            elif node.module:
                found.add(node.module.split(".")[0])
    return found


def files(patterns: list[str]) -> list[Path]:
    return sorted({p for pattern in patterns for p in ROOT.glob(pattern)})


@pytest.mark.parametrize("patterns,forbidden", RULES, ids=["domain-and-settings", "admin"])
def test_arrows_point_one_way(patterns, forbidden):
    broken = {str(p.relative_to(ROOT)): sorted(imported(p) & forbidden)
              for p in files(patterns) if imported(p) & forbidden}
    assert broken == {}


# Inside the proxy, each layer uses only those below it: the runtime runs the members, which
# are given the services, which read the wire; a provider describes its wire.
LAYERS = ["runtime", "members", "services", "providers", "wire"]


def addons_imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("addons."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "addons":
            found |= {a.name for a in node.names}
    return found & set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS[1:])
def test_the_proxy_layers_use_only_those_below(layer):
    above = set(LAYERS[:LAYERS.index(layer)])
    broken = {str(p.relative_to(ROOT)): sorted(addons_imported(p) & above)
              for p in files([f"addons/{layer}/**/*.py"]) if addons_imported(p) & above}
    assert broken == {}


def test_the_admin_command_line_loads_no_proxy():
    """`python -m admin` (the operator's CLI) runs without the proxy's modules."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys, config, admin.cli, admin.payments; "
         "print(sorted({m.split('.')[0] for m in sys.modules} & {'mitmproxy', 'addons'}))"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_module_says_what_it_owns():
    silent = [str(p.relative_to(ROOT)) for p in files(["addons/**/*.py", "admin/**/*.py",
                                                       "models/**/*.py", "config.py"])
              if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text())) is None]
    assert silent == []
