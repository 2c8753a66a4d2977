"""Messages about a missing extra give the install command for the way gradlab was installed."""
import json
import sys
from pathlib import Path

import pytest

import gradlab as gl
from gradlab import _extras

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(gl.__file__).resolve().parent


class FakeDist:
    """An importlib.metadata distribution with a given direct_url.json (PEP 610) and location."""

    def __init__(self, direct_url, site):
        self.direct_url, self.site = direct_url, site

    def read_text(self, name):
        return None if self.direct_url is None else json.dumps(self.direct_url)

    def locate_file(self, path):
        return Path(self.site) / path


@pytest.fixture
def installed(monkeypatch):
    """Install gradlab 'as' a FakeDist: pass (direct_url, site)."""
    from importlib import metadata

    def use(direct_url, site=None):
        _extras._installed.cache_clear()
        if direct_url == "missing":
            def fail(name):
                raise metadata.PackageNotFoundError(name)
            monkeypatch.setattr(metadata, "distribution", fail)
        else:
            monkeypatch.setattr(metadata, "distribution", lambda name: FakeDist(direct_url, site or PACKAGE.parent))

    yield use
    _extras._installed.cache_clear()


def test_each_installation_gets_its_own_command_first_and_every_message_the_wheel_form(installed, tmp_path):
    checkout = PACKAGE.parent
    installed({"url": checkout.as_uri(), "dir_info": {"editable": True}})
    assert _extras.install_hint("torch") == (f"pip install -e '{checkout}[torch]' (this source checkout; from a "
                                             "wheel or an index: pip install 'gradlab[torch]')")
    wheel = tmp_path / "gradlab-0.1.0-py3-none-any.whl"
    installed({"url": wheel.as_uri(), "archive_info": {}})
    assert _extras.install_hint("sweep") == (f"pip install '{wheel}[sweep]' (the file gradlab was installed from; "
                                             "from an index: pip install 'gradlab[sweep]'; from a source "
                                             "checkout: pip install -e '.[sweep]')")
    installed(None)  # from an index: pip records no direct_url.json
    both = "pip install 'gradlab[{0}]' (from a source checkout: pip install -e '.[{0}]')"
    assert _extras.install_hint("torch") == both.format("torch")
    # Imported from a tree pip does not know (another checkout, or none): the same two forms.
    installed({"url": (tmp_path / "other").as_uri(), "dir_info": {"editable": True}})
    assert _extras.install_hint("explore") == both.format("explore")
    installed("missing")
    assert _extras.install_hint("explore") == both.format("explore")
    # The same shape for every extra.
    for extra in _extras.EXTRAS:
        assert _extras.install_hint(extra) == both.format(extra)
    with pytest.raises(ValueError, match="extra must be one of sweep, parquet, explore, torch, got 'gpu'"):
        _extras.install_hint("gpu")


def test_missing_extras_are_named_with_the_command(installed, monkeypatch, tmp_path):
    installed(None)
    monkeypatch.setitem(sys.modules, "torch", None)
    for call, name in ((lambda: gl.noise_tolerance("relu", seeds=2, epochs=1), "noise_tolerance"),
                       (lambda: gl.bitflip_resilience("relu", seeds=2, epochs=1), "bitflip_resilience"),
                       (lambda: gl.train_modes("relu", epochs=1), "train_modes")):
        with pytest.raises(ImportError) as err:
            call()
        assert str(err.value) == (f"{name} (the companion networks in PyTorch) needs torch (gradlab's torch "
                                  "extra), which is not installed: pip install 'gradlab[torch]' (from a source "
                                  "checkout: pip install -e '.[torch]')")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ValueError) as err:
        gl.save_table(__import__("pandas").DataFrame({"a": [1]}), tmp_path / "t.parquet")
    assert "needs pyarrow (gradlab's parquet extra)" in str(err.value)
    assert "pip install 'gradlab[parquet]'" in str(err.value)
    assert not (tmp_path / "t.parquet").exists()


def test_the_handout_gives_both_forms():
    from gradlab.explore.export import lesson_html

    page = lesson_html()
    assert "pip install 'gradlab[explore]'" in page and "pip install -e '.[explore]'" in page


def test_pyproject_provides_pyarrow_where_the_readme_shows_parquet():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(_extras.EXTRAS) <= set(extras)
    assert any(dep.startswith("pyarrow") for dep in extras["parquet"])
    assert any(dep.startswith("pyarrow") for dep in extras["sweep"])
    readme = (ROOT / "README.md").read_text()
    assert "results.parquet" in readme and "parquet` extra" in readme
    # No message in the package tells a wheel user to run pip install -e by itself.
    for path in PACKAGE.rglob("*.py"):
        if path.name != "_extras.py":
            assert "pip install -e '.[" not in path.read_text() or path.name == "export.py", path
