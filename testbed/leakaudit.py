"""Installer leak audit: does anything slip past the proxy once ``pipnexus configure`` ran?

``python -m bench.leaks`` prints the report of every case; tests/test_leaks.py runs the quick
ones as tests (``pip install -e '.[bench]'`` brings every audited tool).

The set-up, all on loopback:

* a Nexus double (``testbed.nexus_double``) proxying a local upstream: the test packages
  (``pipnexus-demo-pkg``, an sdist whose build backend exists only there, ...) are only
  reachable through it;
* the whole audit runs in a network namespace with only loopback (testbed/netns.py):
  ``nexus.test`` resolves for every process through a bind-mounted /etc/hosts, every other
  name goes to a DNS stub that records it, and each tool runs under ``strace``, which records
  every connection attempt that was not to the double (columns "connects", "DNS"): this
  catches tools that ignore proxy variables. Nothing can leave the machine (no route);
* the second witness: ``HTTPS_PROXY``/``HTTP_PROXY`` point at a listener that records every
  connection and answers 502 (column "via HTTPS_PROXY"). ``NO_PROXY`` names the cache only.
  Where no namespace can be made (not root), only this witness runs, and Python children
  resolve the names by a sitecustomize on ``PYTHONPATH`` (which some tools drop);
* the environment of every tool = a host-isolated base (no config files, fresh HOME) + the
  variables ``pipnexus configure --format dotenv`` printed for the healthy cache. Python tools
  get the cache as ``http://nexus.test:PORT/...`` (a name, so plain-HTTP trust is exercised:
  pip and pdm trust 127.0.0.1 anyway); uv, the uv modes of build/hatch/nox, and tox get
  ``http://127.0.0.1:PORT``.

A row fails when the step failed or either witness saw anything. "Known" rows are the cases
no environment variable can fix; ``configure`` warns about them (column "configure warns",
from ``configure --project-dir`` on that case's files). More cases: testbed/leakmore.py;
running them: testbed/leakrun.py.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, NamedTuple

from testbed.commands import run
from testbed.proxies import Bypass
from testbed.wheels import BACKEND_MODULE, BACKEND_PROJECT

PKG = "pipnexus-demo-pkg"
SDIST = "pipnexus-demo-sdist"
ALIASES = ("nexus.test", "pypi.org", "files.pythonhosted.org")
FALLBACK = "https://pypi.org/simple"


class Step(NamedTuple):
    label: str  # the row's "tool" column
    tool: str  # executable whose --version is shown
    cmd: list[str]
    cwd: Path
    # after a successful run: a remark about files the tool wrote (or "")
    check: Callable[[], str] | None = None


class Case(NamedTuple):
    name: str
    tool: str  # the executable the case needs
    loopback: bool  # uv: the cache as 127.0.0.1 (uv does not see the Python name alias)
    quick: bool
    # "known: ..." no variable can fix it; "off: ..." a pipnexus setting is off on purpose (the
    # row shows what the setting prevents)
    known: str
    steps: Callable[[Path], list[Step]]
    runner_env: dict[str, str] = {}  # noqa: RUF012 - what the runner had before configure ran
    configure_args: tuple[str, ...] = ()
    case_env: dict[str, str] = {}  # noqa: RUF012 - laid over configure's variables
    unset: tuple[str, ...] = ()  # variables removed from the step's environment
    # the codes ``configure`` must report on this case's files: the row is "warned" when it
    # reports them all (a known row), and a row with codes but no "known" text must stay clean
    # (a shape the proxy variables do cover, checked silent)
    expect: tuple[str, ...] = ()


class Row(NamedTuple):
    label: str
    version: str
    result: str
    via_cache: int
    bypassed: list[Bypass]
    known: str
    warns: str
    remark: str
    detail: str
    # in a network namespace (testbed/netns.py): strace's connection attempts that were not
    # to the Nexus double, and the DNS queries; both empty (and isolated False) without one
    connects: list[str] = []  # noqa: RUF012
    queries: list[str] = []  # noqa: RUF012
    isolated: bool = False
    # packets the step sent to anywhere but loopback (testbed/netns.py's nftables counter);
    # None without the packet witness
    packets: int | None = None


def tool_path(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def pip_venv(work: Path) -> Path:
    # pip's own venv (no ensurepip: the outer pip installs into it with --python)
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], {}, timeout=120)
    return venv / "bin" / "python"


def pip_command(work: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "--python", str(pip_venv(work)), *args]


# a project's committed Pipfile names pypi.org (without one, pipenv writes a new Pipfile whose
# source is PIP_INDEX_URL, i.e. the mirror)
PIPFILE = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]

[dev-packages]
"""


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def backend_project(proj: Path, name: str, deps: Sequence[str] = ()) -> Path:
    """A project ``name`` 0.1 in ``proj`` that builds with the bed's backend (only behind the
    cache)."""
    listed = ", ".join(f'"{d}"' for d in deps)
    write_file(proj / "pyproject.toml", f"""\
        [build-system]
        requires = ["{BACKEND_PROJECT}"]
        build-backend = "{BACKEND_MODULE}"

        [project]
        name = "{name}"
        version = "0.1"
        """ + (f"dependencies = [{listed}]\n" if deps else ""))
    # the bed's backend builds from PKG-INFO, as in an sdist
    requires = "".join(f"Requires-Dist: {d}\n" for d in deps)
    write_file(proj / "PKG-INFO",
               f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n{requires}\n")
    write_file(proj / name.replace("-", "_") / "__init__.py", "")
    return proj


def project(work: Path, extra: str = "", deps: Sequence[str] = (PKG,)) -> Path:
    proj = work / "proj"
    listed = ", ".join(f'"{d}"' for d in deps)
    write_file(proj / "pyproject.toml", f"""\
        [project]
        name = "leak-audit"
        version = "0.1"
        requires-python = ">=3.9"
        dependencies = [{listed}]
        """ + textwrap.dedent(extra))
    return proj


# -- the cases ---------------------------------------------------------------------------------


def pip_install(work: Path) -> list[Step]:
    return [Step("pip install", "pip", pip_command(work, "install", PKG), work)]


def pip_sdist(work: Path) -> list[Step]:
    return [Step("pip install (sdist, build isolation)", "pip", pip_command(work, "install", SDIST),
                 work)]


def pip_download(work: Path) -> list[Step]:
    cmd = [sys.executable, "-m", "pip", "download", "-d", str(work / "dl"), PKG]
    return [Step("pip download", "pip", cmd, work)]


def pip_wheel(work: Path) -> list[Step]:
    cmd = [sys.executable, "-m", "pip", "wheel", "-w", str(work / "wh"), SDIST]
    return [Step("pip wheel (sdist)", "pip", cmd, work)]


def pip_req_index(work: Path) -> list[Step]:
    req = write_file(work / "requirements.txt", f"--index-url {FALLBACK}\n{PKG}\n")
    return [Step("pip install -r (file has --index-url pypi)", "pip",
                 pip_command(work, "install", "-r", str(req)), work)]


def python_build(work: Path) -> list[Step]:
    proj = backend_project(work / "proj", "leak-audit")
    cmd = [sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(proj)]
    return [Step("python -m build", "build", cmd, proj)]


def python_build_uv(work: Path) -> list[Step]:
    (step,) = python_build(work)
    return [step._replace(label="python -m build --installer uv",
                          cmd=[*step.cmd[:3], "--installer", "uv", *step.cmd[3:]])]


def uv_pip_install(work: Path) -> list[Step]:
    cmd = ["uv", "pip", "install", "--python", str(pip_venv(work)), PKG]
    return [Step("uv pip install", "uv", cmd, work)]


def uv_pip_sdist(work: Path) -> list[Step]:
    cmd = ["uv", "pip", "install", "--python", str(pip_venv(work)), SDIST]
    return [Step("uv pip install (sdist, build isolation)", "uv", cmd, work)]


def uv_sync(work: Path) -> list[Step]:
    proj = project(work)

    def check() -> str:
        lock = proj / "uv.lock"
        if lock.exists() and "/repository/pypi-proxy/" in lock.read_text():
            return "wrote uv.lock with the cache's URLs"
        return ""

    return [Step("uv sync (no lock yet)", "uv", ["uv", "sync"],
                 proj, check)]


def uv_sync_frozen(work: Path) -> list[Step]:
    proj = project(work)
    wheel_url = "https://files.pythonhosted.org/packages/00/00/pipnexus_demo_pkg-0.9-py3-none-any.whl"
    # A lock as a developer's laptop writes it: registry pypi.org, files on pythonhosted.
    write_file(proj / "uv.lock", f"""\
        version = 1
        revision = 3
        requires-python = ">=3.9"

        [[package]]
        name = "leak-audit"
        version = "0.1"
        source = {{ virtual = "." }}
        dependencies = [
            {{ name = "{PKG}" }},
        ]

        [package.metadata]
        requires-dist = [{{ name = "{PKG}" }}]

        [[package]]
        name = "{PKG}"
        version = "0.9"
        source = {{ registry = "https://pypi.org/simple" }}
        wheels = [
            {{ url = "{wheel_url}", hash = "sha256:{'0' * 64}" }},
        ]
        """)
    return [Step("uv sync --frozen (lock with pypi URLs)", "uv",
                 ["uv", "sync", "--frozen"], proj)]


def pipenv(work: Path) -> list[Step]:
    proj = work / "proj"
    write_file(proj / "Pipfile", PIPFILE)
    return [
        Step("pipenv install", "pipenv",
             ["pipenv", "install", "--python", sys.executable, PKG], proj),
        Step("pipenv lock", "pipenv", ["pipenv", "lock"], proj),
        Step("pipenv sync", "pipenv", ["pipenv", "sync"], proj),
    ]


def pdm(work: Path) -> list[Step]:
    proj = project(work, "[tool.pdm]\ndistribution = false\n", deps=())
    return [
        Step("pdm use (select python)", "pdm", ["pdm", "use", "-f", sys.executable], proj),
        Step("pdm add", "pdm", ["pdm", "add", PKG], proj),
        Step("pdm lock", "pdm", ["pdm", "lock"], proj),
        Step("pdm install", "pdm", ["pdm", "install"], proj),
    ]


def hatch(work: Path) -> list[Step]:
    proj = project(work, """\
        [tool.hatch.envs.default]
        skip-install = true
        dependencies = ["pipnexus-demo-pkg"]
        """, deps=())
    return [Step("hatch env create", "hatch", ["hatch", "env", "create"], proj)]


def hatch_uv(work: Path) -> list[Step]:
    proj = project(work, """\
        [tool.hatch.envs.default]
        skip-install = true
        installer = "uv"
        dependencies = ["pipnexus-demo-pkg"]
        """, deps=())
    return [Step("hatch env create (installer uv)", "hatch", ["hatch", "env", "create"], proj)]


def tox_ini(work: Path, settings: str = "", runner: str = "virtualenv",
            requires: str = "") -> Path:
    """``proj/tox.ini`` with one environment, ``leak``, that installs the audit's package;
    ``settings``: more lines of ``[testenv:leak]``, before ``deps``."""
    head = f"requires = {requires}\n" if requires else ""
    return write_file(work / "proj" / "tox.ini", (
        f"[tox]\nskipsdist = true\nenvlist = leak\n{head}\n"
        f"[testenv:leak]\nrunner = {runner}\nskip_install = true\n{settings}"
        f'deps = {PKG}\ncommands = python -c "import pipnexus_demo_pkg"\n'))


def poetry_project(work: Path, extra: str = "") -> Path:
    """``proj/pyproject.toml`` of a Poetry project (no package) that needs the audit's package;
    ``extra``: more TOML after its dependencies."""
    proj = work / "proj"
    write_file(proj / "pyproject.toml", (
        '[tool.poetry]\nname = "leak-audit"\nversion = "0.1"\ndescription = ""\n'
        'authors = []\npackage-mode = false\n\n[tool.poetry.dependencies]\n'
        f'python = ">=3.9"\n{PKG} = "*"\n{extra}'))
    return proj


def tox(work: Path) -> list[Step]:
    # runner: with tox-uv installed beside tox, uv-venv-runner would be the default
    ini = tox_ini(work)
    return [Step("tox", "tox", ["tox", "-c", str(ini), "-e", "leak"], ini.parent)]


def nox(work: Path, backend: str = "virtualenv") -> list[Step]:
    noxfile = write_file(work / "proj" / "noxfile.py", f"""\
        import nox


        @nox.session(venv_backend="{backend}")
        def leak(session):
            session.install("{PKG}")
            session.run("python", "-c", "import pipnexus_demo_pkg")
        """)
    label = "nox" if backend == "virtualenv" else f"nox (venv_backend {backend})"
    return [Step(label, "nox", ["nox", "-f", str(noxfile), "-s", "leak"], noxfile.parent)]


def nox_uv(work: Path) -> list[Step]:
    return nox(work, "uv")


def pip_compile(work: Path) -> list[Step]:
    req_in = write_file(work / "proj" / "requirements.in", f"{PKG}\n")
    out = req_in.with_suffix(".txt")

    def check() -> str:
        text = out.read_text() if out.exists() else ""
        if "--index-url" in text or "--trusted-host" in text:
            return "wrote --index-url/--trusted-host of the cache into requirements.txt"
        return ""

    cmd = ["pip-compile", "--quiet", "-o", str(out), str(req_in)]
    return [Step("pip-compile", "pip-compile", cmd, req_in.parent, check)]


def poetry(work: Path) -> list[Step]:
    write_file(work / "proj" / "pyproject.toml", """\
        [tool.poetry]
        name = "leak-audit"
        version = "0.1"
        description = ""
        authors = []

        [tool.poetry.dependencies]
        python = ">=3.9"
        pipnexus-demo-pkg = "*"

        [build-system]
        requires = ["poetry-core"]
        build-backend = "poetry.core.masonry.api"
        """)
    return [Step("poetry lock (no mirror plugin)", "poetry", ["poetry", "lock"], work / "proj")]


def pip_install_env(work: Path) -> list[Step]:
    return [Step("pip install (runner env: PIP_EXTRA_INDEX_URL etc. = pypi)", "pip",
                 pip_command(work, "install", PKG), work)]


def uv_install_env(work: Path) -> list[Step]:
    cmd = ["uv", "pip", "install", "--python", str(pip_venv(work)), PKG]
    return [Step("uv pip install (runner env: UV_INDEX etc. = pypi)", "uv", cmd, work)]


def pip_conf_extra(work: Path) -> list[Step]:
    return [Step("pip install (pip.conf names pypi; pip-conf: file)", "pip",
                 pip_command(work, "install", PKG), work)]


def pip_conf_extra_warned(work: Path) -> list[Step]:
    return [Step("pip install (pip.conf names pypi; pip-conf: none)", "pip",
                 pip_command(work, "install", PKG), work)]


PIP_CONF = f"""\
[global]
extra-index-url = {FALLBACK}
[install]
find-links = https://pypi.org/simple/{PKG}/
"""


CASES = (
    Case("pip-install", "pip", False, True, "", pip_install),
    Case("pip-sdist", "pip", False, True, "", pip_sdist),
    Case("pip-download", "pip", False, True, "", pip_download),
    Case("pip-wheel", "pip", False, True, "", pip_wheel),
    Case("build", "build", False, False, "", python_build),
    Case("build-uv", "build", True, False, "", python_build_uv),
    Case("uv-pip-install", "uv", True, True, "", uv_pip_install),
    Case("uv-pip-sdist", "uv", True, True, "", uv_pip_sdist),
    Case("uv-sync", "uv", True, False, "", uv_sync),
    Case("pipenv", "pipenv", False, False, "", pipenv),
    Case("pdm", "pdm", False, False, "", pdm),
    Case("hatch", "hatch", False, False, "", hatch),
    Case("hatch-uv", "hatch", True, False, "", hatch_uv),
    # tox runs pip as ``python -I``, which skips the bed's name alias: 127.0.0.1 for tox
    Case("tox", "tox", True, False, "", tox),
    Case("nox", "nox", False, False, "", nox),
    Case("nox-uv", "nox", True, False, "", nox_uv),
    Case("pip-compile", "pip-compile", False, False, "", pip_compile),
    Case("uv-sync-frozen", "uv", True, False,
         "known: uv.lock URLs win over every index setting (astral-sh/uv#19625)", uv_sync_frozen),
    Case("pip-req-index", "pip", False, False,
         "known: --index-url in a requirements file overrides PIP_INDEX_URL", pip_req_index),
    # the runner's environment or pip config names pypi.org besides the index: configure
    # clears the variables / overrides the config keys (these were gaps of the first audit)
    Case("pip-extra-env", "pip", False, True, "", pip_install_env,
         {"PIP_EXTRA_INDEX_URL": FALLBACK, "PIP_FIND_LINKS": f"https://pypi.org/simple/{PKG}/"}),
    Case("uv-index-env", "uv", True, True, "", uv_install_env,
         {"UV_INDEX": f"pypi={FALLBACK}", "UV_EXTRA_INDEX_URL": FALLBACK,
          "UV_FIND_LINKS": f"https://pypi.org/simple/{PKG}/"}),
    Case("pip-conf-extra", "pip", False, True, "", pip_conf_extra,
         {"PIP_CONFIG_FILE": "{work}/pip.conf", "RUNNER_TEMP": "{work}/runner-temp",
          "XDG_CONFIG_DIRS": "{work}/xdg"}, ("--pip-conf", "file")),
    Case("pip-conf-extra-warned", "pip", False, False,
         "known: an empty variable can't override a pip config file; configure warns "
         "(file, line) and pip-conf: file overrides it", pip_conf_extra_warned,
         {"PIP_CONFIG_FILE": "{work}/pip.conf", "XDG_CONFIG_DIRS": "{work}/xdg"}),
    # with the plugin installed beside poetry, only the plugin's variable unset stands for
    # "no plugin" (testbed/leakmore.py has the row with it)
    Case("poetry", "poetry", False, False,
         "known: poetry has no env override without poetry-plugin-pypi-mirror", poetry,
         unset=("POETRY_PYPI_MIRROR_URL",)),
)


