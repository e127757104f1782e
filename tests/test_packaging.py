"""A built wheel ships the bundled specs; an install without them is an error, not silence."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import EXAMPLES, ROOT


def _run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TENSORIZE_SPECS", "PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


def test_wheel_ships_the_specs_and_apply_uses_them(tmp_path: Path) -> None:
    # build from a copy, so that the checkout gets no build/ or egg-info
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tensorize", src / "tensorize", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "intrinsic_specs", src / "intrinsic_specs")
    wheels = tmp_path / "wheels"
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                  str(src)], tmp_path, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("tensorize-*.whl")
    shipped = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".tz")]
    bundled = sorted((ROOT / "intrinsic_specs").rglob("*.tz"))
    assert len(shipped) == len(bundled) > 0
    assert all(n.startswith("tensorize/intrinsic_specs/") for n in shipped)

    # a fresh venv: the wheel itself, the dependencies from this interpreter's site-packages
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    assert made.returncode == 0, made.stderr
    py = venv / "bin" / "python"
    installed = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                      "--no-deps", "--no-index", str(wheel)], tmp_path, timeout=300)
    assert installed.returncode == 0, installed.stderr
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   tmp_path).stdout.strip()
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    Path(purelib, "test_deps.pth").write_text("\n".join(deps) + "\n")

    where = _run([str(py), "-c", "import tensorize; print(tensorize.__file__)"], tmp_path)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    exe = str(venv / "bin" / "tensorize")
    listing = _run([exe, "intrinsics"], tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "x86.avx512_vnni.vpdpbusd" in listing.stdout
    count = int(listing.stdout.splitlines()[-1].split()[0])
    assert count > 10
    applied = _run([exe, "apply", str(EXAMPLES / "qmatmul.tz"), "--no-cache", "--target",
                    "x86.avx512_vnni"], tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "call x86.avx512_vnni.vpdpbusd" in applied.stdout


def test_no_bundled_specs_is_an_error(cli, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TENSORIZE_SPECS", str(tmp_path))  # an empty directory
    result = cli(["apply", str(EXAMPLES / "qmatmul.tz")])
    assert result.code == 2
    assert "no bundled intrinsic specs found" in result.err
    assert result.out == ""


def test_bundled_specs_are_package_data() -> None:
    from importlib import resources

    from tensorize.intrinsics.library import bundled_specs_dir

    packaged = resources.files("tensorize").joinpath("intrinsic_specs")
    assert packaged.is_dir()
    assert Path(str(packaged)).resolve() == (ROOT / "intrinsic_specs").resolve()
    assert bundled_specs_dir() == (ROOT / "intrinsic_specs").resolve()


def test_the_package_works_from_a_zip_archive(tmp_path) -> None:
    """Imported from a zip (no file system paths): the bundled specs come through
    importlib.resources, the grammar too, and the cache is keyed by the archive."""

    archive = tmp_path / "tensorize.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for folder, dirs, names in os.walk(ROOT / "tensorize", followlinks=True):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in names:  # the specs through the package's link to intrinsic_specs/
                path = Path(folder) / name
                z.write(path, str(path.relative_to(ROOT)))
    script = (
        "import tensorize, sys\n"
        "assert '.zip' in tensorize.__file__, tensorize.__file__\n"
        "lib = tensorize.load_library()\n"
        "mod = tensorize.parse('kernel k(N = 4) { in A: i32[N]\\n out B: i32[N]\\n"
        " for i in 0..N { B[i] = A[i] } }')\n"
        "from tensorize.equivalence.cache import engine_fingerprint\n"
        "print(len(lib), mod.functions[0].name, engine_fingerprint()[:7])\n")
    env = {**os.environ, "PYTHONPATH": str(archive), "TENSORIZE_CACHE_DIR": str(tmp_path / "c")}
    env.pop("TENSORIZE_SPECS", None)
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=300) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    import tensorize

    count, name, fingerprint = runs[0].stdout.split()
    assert int(count) == len(tensorize.load_library()) and name == "k"
    assert runs[1].stdout.split()[2] == fingerprint  # the same archive: the same key
    assert not fingerprint.startswith("unread")
    assert list((tmp_path / "c").glob("bundled-specs-*"))  # extracted once, then reused
