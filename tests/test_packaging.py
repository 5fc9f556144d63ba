"""`pip install .` gives a working `twistd chatd`: the plugin ships in the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TWISTD = str(Path(sys.executable).with_name("twistd"))


def test_wheel_ships_plugin_and_web_client(tmp_path):
    """The wheel holds twisted/plugins/chatd_plugin.py (no twisted/__init__.py) and the browser client."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(tmp_path.glob("chatd-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "twisted/plugins/chatd_plugin.py" in names
    assert "twisted/__init__.py" not in names and "twisted/plugins/__init__.py" not in names
    assert not any(n.endswith("dropin.cache") for n in names)
    assert "chatd/web_client/index.html" in names
    assert "chatd/core/hub.py" in names
    # Every module of the source tree is in the wheel (a package missing
    # from pyproject.toml's list leaves the installed daemon unable to start).
    sources = {str(p.relative_to(ROOT)) for p in (ROOT / "chatd").rglob("*.py") if "__pycache__" not in p.parts}
    assert sources - names == set(), "modules missing from the wheel: add their package to pyproject.toml"
    scripts = {str(p.relative_to(ROOT)) for p in (ROOT / "chatd").rglob("*.lua")}
    assert scripts and scripts - names == set(), "Lua scripts missing from the wheel: see package-data"


def test_twistd_lists_chatd(tmp_path):
    """`twistd --help` run outside the source tree lists the chatd plugin of the installed package."""
    proc = subprocess.run([TWISTD, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "chatd" in proc.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import chatd, sys; print(chatd.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert "site-packages" in where.stdout, "tests must run against the installed (non-editable) package"
