"""Loading an app as uvicorn does: the forms of APP, module names, the folder on sys.path,
factories, a folder of modules, and nothing left behind in this process."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from wsquiz.engine.appfile import FACTORY_WARNING, AppSpec, discover, load_app, unload
from wsquiz.errors import AppLoadError, UsageError

APP = """
from fastapi import FastAPI

app = FastAPI()
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_a_file_is_its_own_module_from_its_folder(tmp_path: Path) -> None:
    spec = AppSpec.parse(write(tmp_path / "fa_test_ws_router.py", APP))
    assert (spec.module, spec.app_dir, spec.cwd) == ("fa_test_ws_router", tmp_path, tmp_path)
    loaded = load_app(spec)
    try:
        assert sys.modules["fa_test_ws_router"].__name__ == "fa_test_ws_router"
        assert str(tmp_path) in sys.path
    finally:
        unload(loaded)
    assert "fa_test_ws_router" not in sys.modules and str(tmp_path) not in sys.path


def test_a_file_in_a_package_is_imported_by_its_dotted_name(tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "helpers.py", "NAME = 'from a sibling'\n")
    server = write(tmp_path / "pkg" / "server.py", APP + "from .helpers import NAME\n")
    spec = AppSpec.parse(server)
    assert (spec.module, spec.app_dir) == ("pkg.server", tmp_path)
    loaded = load_app(spec)
    try:
        assert sys.modules["pkg.server"].NAME == "from a sibling"
        assert set(loaded.modules) == {"pkg", "pkg.helpers", "pkg.server"}
    finally:
        unload(loaded)
    assert not {"pkg", "pkg.helpers", "pkg.server"} & set(sys.modules)


def test_module_attr_is_found_from_the_app_dir(tmp_path: Path) -> None:
    write(tmp_path / "src" / "service.py", "holder = type('H', (), {})\n" + APP)
    spec = AppSpec.parse("service:app", app_dir=tmp_path / "src")
    assert spec.path == tmp_path / "src" / "service.py" and str(spec) == "service:app"
    with pytest.raises(UsageError, match='Could not import module "service"'):
        AppSpec.parse("service:app", app_dir=tmp_path)


def test_a_name_already_taken_is_borrowed_only_while_the_file_runs(tmp_path: Path) -> None:
    import types

    spec = AppSpec.parse(write(tmp_path / "types.py", APP))
    loaded = load_app(spec)
    unload(loaded)
    assert sys.modules["types"] is types


def test_a_factory_is_detected_with_uvicorns_warning(tmp_path: Path) -> None:
    source = "from fastapi import FastAPI\n\ndef create_app():\n    return FastAPI()\n"
    path = write(tmp_path / "main.py", source)
    loaded = load_app(AppSpec.parse(f"{path}:create_app"))
    unload(loaded)
    assert loaded.notes == (f"WARNING: {FACTORY_WARNING}",)
    loaded = load_app(AppSpec.parse(f"{path}:create_app", factory=True))
    unload(loaded)
    assert loaded.notes == ()
    write(tmp_path / "main.py", source + "\n\ndef needs_arguments(settings):\n    pass\n")
    with pytest.raises(AppLoadError, match="Error loading ASGI app factory"):
        load_app(AppSpec.parse(f"{path}:needs_arguments", factory=True))


def test_a_missing_sibling_is_not_a_package_to_install(tmp_path: Path) -> None:
    write(tmp_path / "helpers.py", "X = 1\n")
    main = write(tmp_path / "app" / "main.py", "from helpers import X\n" + APP)
    with pytest.raises(AppLoadError) as caught:
        load_app(AppSpec.parse(main))
    assert "install" not in caught.value.fix and "--app-dir" in caught.value.fix
    loaded = load_app(AppSpec.parse(main, app_dir=tmp_path))  # as uvicorn --app-dir
    unload(loaded)


def test_a_folder_is_served_from_its_main_or_its_only_app(tmp_path: Path) -> None:
    write(tmp_path / "a" / "main.py", APP)
    write(tmp_path / "a" / "models.py", "app = None\n")
    assert discover(tmp_path / "a").path.name == "main.py"
    write(tmp_path / "b" / "server.py", APP)
    write(tmp_path / "b" / "models.py", "X = 1\n")
    assert discover(tmp_path / "b").path.name == "server.py"
    write(tmp_path / "c" / "one.py", APP)
    write(tmp_path / "c" / "two.py", APP)
    with pytest.raises(UsageError, match=r"one\.py, two\.py"):
        discover(tmp_path / "c")


def test_the_sandbox_copy_leaves_out_hidden_folders_and_virtualenvs(tmp_path: Path) -> None:
    write(tmp_path / "app" / "main.py", APP)
    write(tmp_path / "app" / "static" / "index.html", "<p>hi</p>")
    write(tmp_path / "app" / ".git" / "HEAD", "ref")
    write(tmp_path / "app" / "venv" / "pyvenv.cfg", "")
    write(tmp_path / "app" / "other" / "pyvenv.cfg", "")
    copy = AppSpec.parse(tmp_path / "app" / "main.py").copy_into(tmp_path / "copy")
    assert copy.path == tmp_path / "copy" / "main.py" and copy.cwd == tmp_path / "copy"
    kept = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert kept == ["main.py", "static", "static/index.html"]
    alone = AppSpec(tmp_path / "app" / "main.py", alone=True).copy_into(tmp_path / "alone")
    assert sorted(p.name for p in (tmp_path / "alone").iterdir()) == ["main.py"]
    assert alone.app_dir == tmp_path / "alone"
