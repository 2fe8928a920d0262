"""Getting the hook onto runner pods without a custom image: the shell hook, the zipapp of
the action's modules (standard library only, run by the runner image's ``python3 -I -S``), and
a ConfigMap holding both.

The zipapp may carry checked-hash bytecode (PEP 552) for one CPython version, next to each
source where zipimport looks for it (``x.pyc`` beside ``x.py``; zipimport ignores
``__pycache__``). zipimport validates it against the source in the archive on 3.9-3.13
(Lib/zipimport.py ``_unmarshal_code``) and compiles the source when the magic number (another
version) or the hash differs, so bytecode only saves time and never runs for another source.
"""

from __future__ import annotations

import argparse
import os
import sys

from pipnexus.errors import InputError

ZIPAPP_NAME = "pipnexus-hook.pyz"
SCRIPT_NAME = "job-started.sh"
# Kubernetes stores objects in etcd, whose request limit is 1.5 MiB; the documented limit of
# a ConfigMap's data is 1 MiB (https://kubernetes.io/docs/concepts/configuration/configmap/)
CONFIGMAP_LIMIT = 1024 * 1024
# subpackages and modules the action and the hook never import
NOT_SHIPPED = ("migrate", "nexus", "examples", "demo.py")
# a fixed time for every archive member: the same sources give the same bytes
_EPOCH = (1980, 1, 1, 0, 0, 0)

# what the shell hook and the zipapp's __main__ run: refuses an old python3 without failing
# the job (unless required), then `pipnexus hook` (argv: the zipapp, then the arguments)
BOOT = """\
import os, sys
if sys.version_info < (3, 9):
    print("::warning title=pipnexus hook::python3 is %s; pipnexus needs 3.9 or newer: the "
          "installers of this job keep their defaults" % sys.version.split()[0])
    required = os.environ.get("PIPNEXUS_REQUIRE_NEXUS", "").strip().lower()
    sys.exit(1 if required in ("1", "true", "yes", "on") else 0)
sys.path.insert(0, sys.argv[1])
from pipnexus.cli import main
argv = sys.argv[2:] or ["hook"]
if argv == ["--version"]:
    from pipnexus import __version__
    print("pipnexus " + __version__)
    sys.exit(0)
if argv[0] not in ("hook", "configure", "probe"):
    sys.stderr.write("pipnexus: error: the zipapp runs hook, configure or probe (usage: python3 "
                     "-I -S pipnexus-hook.pyz [hook|configure|probe] ...) [usage]\\n")
    sys.exit(2)
sys.exit(main(argv))
"""

SCRIPT = f"""\
#!/bin/bash
# pipnexus job-started hook. The runner runs it (bash -e) at the start of every job when
# ACTIONS_RUNNER_HOOK_JOB_STARTED names it: it points the job's Python installers at the Nexus
# PyPI proxy of the runner's PIPNEXUS_* variables (or the fallback index) through GITHUB_ENV.
# It fails the job only when PIPNEXUS_REQUIRE_NEXUS=true. Made by `pipnexus hook --print-script`.
pyz="${{PIPNEXUS_HOOK_ZIPAPP:-$(dirname -- "${{BASH_SOURCE[0]}}")/pipnexus-hook.pyz}}"
if ! command -v python3 >/dev/null 2>&1; then
  echo "::warning title=pipnexus hook::python3 was not found on PATH:" \\
    "the installers of this job keep their defaults"
  case "${{PIPNEXUS_REQUIRE_NEXUS,,}}" in 1|true|yes|on) exit 1 ;; esac
  exit 0
fi
# -I: no PYTHON* variables, no user site; -S: no site-packages. Only the standard library.
# -c rather than running the zipapp as a script: that would import runpy, a cost in every job.
exec python3 -I -S -c '
{BOOT}' "$pyz" hook
"""

# the zipapp's __main__ (python3 -I -S pipnexus-hook.pyz ARGS): the same program
MAIN = "import sys\nsys.argv.insert(1, sys.path[0])\n" + BOOT


def package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shipped_sources(package: str) -> list[str]:
    """The package's modules the zipapp carries, relative to the package's parent, sorted."""
    found = []
    for root, dirs, files in os.walk(package):
        rel_root = os.path.relpath(root, package)
        top = rel_root.split(os.sep)[0]
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        if top in NOT_SHIPPED:
            continue
        for name in files:
            rel = os.path.normpath(os.path.join(rel_root, name))
            if name.endswith(".py") and rel not in NOT_SHIPPED:
                found.append(os.path.join("pipnexus", rel).replace(os.sep, "/"))
    return sorted(found)


# marshal's output depends on the compiling process's state (an object referenced more than
# once is written as a reference: python/cpython#78214), so every build compiles in one fresh
# interpreter: the same sources and Python give the same bytes, whoever asks
_COMPILE = """
import py_compile, sys
tmp = sys.argv[1]
for i, (source, arcname) in enumerate(zip(sys.argv[2::2], sys.argv[3::2])):
    py_compile.compile(source, cfile=f"{tmp}/{i}.pyc", dfile=arcname, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
"""


def _checked_hash_pycs(sources: list[tuple[str, str]], tmp: str) -> list[bytes]:
    """Checked-hash bytecode of each (source path, name in the archive), in order."""
    import subprocess

    argv = [a for pair in sources for a in pair]
    subprocess.run([sys.executable, "-I", "-S", "-c", _COMPILE, tmp, *argv], check=True,
                   stdin=subprocess.DEVNULL, timeout=300)
    out = []
    for i in range(len(sources)):
        with open(os.path.join(tmp, f"{i}.pyc"), "rb") as f:
            out.append(f.read())
    return out


def build_zipapp(bytecode: bool = False, package: str | None = None) -> bytes:
    """The zipapp's bytes: ``__main__.py`` and the action's modules, with this interpreter's
    checked-hash bytecode when ``bytecode``. The same for the same sources and Python."""
    import io
    import tempfile
    import zipfile

    package = package or package_dir()
    parent = os.path.dirname(package)
    names = shipped_sources(package)
    paths = [os.path.join(parent, *arcname.split("/")) for arcname in names]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, \
            tempfile.TemporaryDirectory() as tmp:
        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)

        pycs = _checked_hash_pycs(list(zip(paths, names)), tmp) if bytecode else []
        add("__main__.py", MAIN.encode())
        for i, (arcname, path) in enumerate(zip(names, paths)):
            with open(path, "rb") as f:
                add(arcname, f.read())
            if bytecode:
                add(arcname + "c", pycs[i])
    return buf.getvalue()


def _own_archive() -> str | None:
    """The zipapp this code runs from, if it does."""
    loader = getattr(sys.modules["pipnexus"].__spec__, "loader", None)
    archive = getattr(loader, "archive", None)
    return archive if isinstance(archive, str) else None


def configmap(name: str, namespace: str | None, pyz: bytes) -> dict[str, object]:
    """The ConfigMap: the shell hook as text, the zipapp as binary data."""
    import base64

    metadata: dict[str, object] = {
        "name": name, "labels": {"app.kubernetes.io/name": "pipnexus-hook"},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {SCRIPT_NAME: SCRIPT},
        "binaryData": {ZIPAPP_NAME: base64.b64encode(pyz).decode("ascii")},
    }


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise InputError(f"can't read the zipapp {path}: {reason}") from None
    if not data.startswith(b"PK"):
        raise InputError(f"{path} is not a zipapp (no zip header)")
    return data


def run(args: argparse.Namespace) -> int:
    if args.print_script:
        sys.stdout.write(SCRIPT)
        return 0
    if args.build_zipapp:
        data = build_zipapp(bytecode=args.bytecode)
        try:
            with open(args.build_zipapp, "wb") as f:
                f.write(data)
        except OSError as e:
            raise InputError(f"can't write {args.build_zipapp}: "
                             f"{e.strerror or type(e).__name__}") from None
        from pipnexus.diagnostics import format_info

        extra = f", bytecode for {sys.implementation.cache_tag}" if args.bytecode else ""
        message = f"wrote {args.build_zipapp} ({len(data)} bytes{extra})"
        print(format_info("pipnexus hook", message), file=sys.stderr)
        return 0
    import json

    own = _own_archive()
    pyz = _read(args.zipapp) if args.zipapp else _read(own) if own else build_zipapp()
    namespace = _dns_name(args.namespace) if args.namespace else None
    manifest = configmap(_dns_name(args.configmap), namespace, pyz)
    text = json.dumps(manifest, indent=2) + "\n"
    if len(text.encode()) > CONFIGMAP_LIMIT:
        raise InputError(f"the ConfigMap would be {len(text.encode())} bytes, over the 1 MiB "
                         "a ConfigMap may hold")
    sys.stdout.write(text)
    return 0


def _dns_name(value: str) -> str:
    """A Kubernetes object name (RFC 1123 subdomain), or InputError."""
    import re

    if len(value) > 253 or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", value):
        raise InputError("a ConfigMap name or namespace must be lower-case letters, digits, "
                         "'-' and '.', starting and ending with a letter or digit")
    return value
