"""pip's config files (pipnexus/configure/pipconf.py): the modes, pip's order of files, and
what real pip then sees.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import pytest

from pipnexus.configure import pipconf
from pipnexus.errors import InputError
from testbed.nexus_double import NexusDouble
from tests.configure.helpers import PASSWORD, Run, base_env, run_configure


def test_pip_conf_user_merges_existing_keys(tmp_path, nexus):
    env = base_env(tmp_path)
    conf = Path(env["HOME"]) / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        "[global]\nbreak-system-packages = true\ntimeout = 60\n"
        "[install]\nindex-url = http://old.example/simple\nno-warn-script-location = 1\n"
    )
    conf.chmod(0o640)
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "user", env=env)
    assert r.rc == 0, r.err
    import configparser

    parser = configparser.RawConfigParser()
    parser.read(conf)
    assert parser.get("global", "break-system-packages") == "true"
    assert parser.get("global", "timeout") == "60"
    assert parser.get("global", "index-url") == nexus.index_url()
    assert parser.get("global", "trusted-host") == "127.0.0.1"
    assert parser.get("install", "index-url") == nexus.index_url()
    assert parser.get("install", "no-warn-script-location") == "1"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    assert "PIP_CONFIG_FILE" not in r.env_dict


def test_pip_conf_file_seeds_from_user_and_sets_pip_config_file(tmp_path, nexus):
    env = base_env(tmp_path)
    user = Path(env["HOME"]) / ".config" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[global]\nbreak-system-packages = true\n")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "file", env=env)
    assert r.rc == 0, r.err
    path = Path(r.env_dict["PIP_CONFIG_FILE"])
    assert path.parent.parent == Path(env["RUNNER_TEMP"])
    text = path.read_text()
    assert "break-system-packages = true" in text and nexus.index_url() in text
    assert user.read_text() == "[global]\nbreak-system-packages = true\n"


def test_pip_conf_with_credentials_is_private(tmp_path, private_nexus):
    env = base_env(tmp_path, NEXUS_SECRET=PASSWORD)
    target = tmp_path / "conf" / "pip.conf"
    target.parent.mkdir()
    target.write_text("[global]\nbreak-system-packages = true\n")
    target.chmod(0o644)
    r = run_configure(
        tmp_path, "--index-url", private_nexus.index_url(), "--username", "ci",
        "--password-env", "NEXUS_SECRET", "--pip-conf", "global", "--pip-conf-path",
        str(target), env=env,
    )
    assert r.rc == 0, r.err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert quote(PASSWORD, safe="") in target.read_text()
    assert "break-system-packages = true" in target.read_text()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_pip_conf_global_not_writable_is_clear(tmp_path, nexus):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "global",
                      "--pip-conf-path", str(locked / "pip.conf"))
    assert r.rc == 2 and "permission denied" in r.err
    assert r.env == []


def test_merge_pip_conf_rejects_garbage():
    with pytest.raises(InputError):
        pipconf.merge_pip_conf("no section header\n", "http://x/simple", None, None)


def test_pip_conf_unwritable_path_is_one_clear_line(tmp_path, nexus):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), "--pip-conf", "global",
                      "--pip-conf-path", str(blocker / "pip.conf"))
    assert r.rc == 2 and r.env == [] and r.outputs == {}
    (line,) = r.err.strip().splitlines()
    assert line.startswith("pipnexus configure: error: can't write the pip config ")
    assert line.endswith(("File exists [unwritable-file]", "Not a directory [unwritable-file]"))


def _pip_conf(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _global_pip_conf(tmp_path: Path, text: str) -> tuple[Path, dict[str, str]]:
    """A global pip.conf (the image's, found through XDG_CONFIG_DIRS) and the runner
    environment pip finds it in."""
    xdg = tmp_path / "xdg"
    return _pip_conf(xdg / "pip/pip.conf", text), base_env(tmp_path, XDG_CONFIG_DIRS=str(xdg))


def test_pip_config_files_in_pips_order(tmp_path):
    """pip's kinds in its override order (pypa/pip: src/pip/_internal/configuration.py):
    global, user (legacy ~/.pip first), site (sys.prefix/pip.conf), PIP_CONFIG_FILE."""
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": f"{xdg}/a:relative:{xdg}/b"}
    user = [str(home / ".pip/pip.conf"), str(home / ".config/pip/pip.conf")]
    system = [f"{xdg}/a/pip/pip.conf", f"{xdg}/b/pip/pip.conf", "/etc/pip.conf"]
    site = [os.path.join(sys.prefix, "pip.conf")]
    assert pipconf.pip_config_files(env) == system + user + site
    assert [g.kind for g in pipconf.config_files(env)] == list(pipconf.OVERRIDE_ORDER[:-1])
    venv = {**env, "VIRTUAL_ENV": str(tmp_path / "venv"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    assert pipconf.pip_config_files(venv) == [
        *system, user[0], str(tmp_path / "c/pip/pip.conf"), str(tmp_path / "venv/pip.conf")
    ]
    assert pipconf.pip_config_files({"HOME": str(home)})[0] == "/etc/xdg/pip/pip.conf"
    # PIP_CONFIG_FILE: read last; an existing one hides the user files; /dev/null disables all
    missing = str(tmp_path / "missing.conf")
    assert pipconf.pip_config_files({**env, "PIP_CONFIG_FILE": missing}) == [
        *system, *user, *site, missing
    ]
    existing = str(_pip_conf(tmp_path / "env.conf", "[global]\n"))
    assert pipconf.pip_config_files({**env, "PIP_CONFIG_FILE": existing}) == [
        *system, *site, existing
    ]
    assert pipconf.pip_config_files({**env, "PIP_CONFIG_FILE": os.devnull}) == []


def test_pip_conf_sources_last_file_wins_and_broken_files_are_ignored(tmp_path):
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    first = _pip_conf(xdg / "a/pip/pip.conf", (
        "# image defaults\n[global]\ntimeout = 60\nextra-index-url = https://pypi.org/simple\n"
        "[install]\n; comment\nfind_links =\n    https://pypi.org/a/\n    https://pypi.org/b/\n"
        "[freeze]\nfind-links = /ignored\n"
    ))
    second = _pip_conf(xdg / "b/pip/pip.conf", "[global]\nEXTRA_INDEX_URL = http://private/\n")
    _pip_conf(home / ".pip/pip.conf", "no section header = 1\n")  # pip would refuse it
    _pip_conf(home / ".config/pip/pip.conf", b"\xff\xfe[global\x00]\n".decode("latin-1"))
    (tmp_path / "venv/pip.conf").mkdir(parents=True)  # a directory: unreadable
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": f"{xdg}/a:{xdg}/b",
           "VIRTUAL_ENV": str(tmp_path / "venv")}
    assert pipconf.pip_conf_sources(env) == [
        pipconf.PipConfSource(
            str(second), 2, "global", "extra-index-url", "http://private/"),
        pipconf.PipConfSource(
            str(first), 7, "install", "find-links", "https://pypi.org/a/\nhttps://pypi.org/b/"),
    ]
    # an empty value in a later file means "none"
    _pip_conf(tmp_path / "env.conf", "[install]\n--find-links=\n[global]\nextra-index-url:\n")
    assert pipconf.pip_conf_sources({**env, "PIP_CONFIG_FILE": str(tmp_path / "env.conf")}) \
        == []


def test_pip_conf_sources_are_warned_with_file_and_line(tmp_path, nexus):
    conf, env = _global_pip_conf(tmp_path, (
        "[global]\ntimeout = 60\nextra-index-url = https://pypi.org/simple\n"
        "[download]\nfind-links = https://ci:hunter2@wheels.example/\n"
    ))
    r = run_configure(tmp_path, "--index-url", nexus.index_url(), env=env)
    assert r.rc == 0, r.err
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"::warning file={conf},line=3,")
    assert "[global] extra-index-url = https://pypi.org/simple" in warnings[0]
    assert "pip-conf: file does" in warnings[0]
    assert warnings[1].startswith(f"::warning file={conf},line=5,")
    assert "ci:***@wheels.example" in warnings[1] and "hunter2" not in r.out + r.summary
    assert "serve it through Nexus too" in warnings[1]
    quiet = run_configure(tmp_path, "--index-url", nexus.index_url(), "--no-warnings", env=env)
    assert "::warning" not in quiet.out
    off = run_configure(tmp_path, "--index-url", nexus.index_url(),
                        env={**env, "PIP_CONFIG_FILE": os.devnull})
    assert "::warning" not in off.out


def test_merge_pip_conf_writes_cleared_keys_empty():
    existing = "[install]\nextra_index_url = https://pypi.org/simple\nno-compile = 1\n"
    text = pipconf.merge_pip_conf(
        existing, "http://n/simple", None, None,
        [("install", "extra-index-url"), ("download", "find-links")],
    )
    assert text == (
        "[install]\nno-compile = 1\nextra-index-url =\n\n"
        "[global]\nindex-url = http://n/simple\n\n[download]\nfind-links =\n"
    )


def _pip_download(tmp_path: Path, env: Mapping[str, str], nexus: NexusDouble) -> int:
    """Run real pip with ``env`` against the double; the number of connections that tried to
    leave (HTTPS_PROXY -> a counting listener that refuses them)."""
    from testbed.proxies import DeadProxy, proxy_env

    with DeadProxy() as proxy:
        full = {**env, **proxy_env(proxy, []), "PIP_RETRIES": "0",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
        before = nexus.count("/repository/")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d",
             str(tmp_path / "dl"), "pipnexus-demo-pkg"],
            env=full, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert nexus.count("/repository/") > before
        return proxy.count()


@pytest.mark.slow
@pytest.mark.installers
def test_pip_conf_modes_override_public_pip_config_as_real_pip_sees_it(tmp_path, nexus):
    """The claims configure makes (overridden / still in effect) match what pip 26 does."""
    conf, env = _global_pip_conf(tmp_path, (
        "[global]\nextra-index-url = https://pypi.org/simple\n"
        "[download]\nfind-links = https://files.pythonhosted.org/packages/\n"
    ))

    def configured(*args: str, **extra: str) -> tuple[Run, dict[str, str]]:
        (tmp_path / "home" / ".config").mkdir(exist_ok=True)
        (tmp_path / "home" / ".config" / "pip" / "pip.conf").unlink(missing_ok=True)
        full = {**env, **extra}
        r = run_configure(tmp_path, "--index-url", nexus.index_url(), *args, env=full)
        assert r.rc == 0, r.err
        return r, {**full, **r.env_dict}

    # none: warned, and pip does follow the file (the control)
    r, after = configured()
    assert r.out.count("::warning") == 2
    assert _pip_download(tmp_path, after, nexus) > 0

    # user: ~/.config/pip/pip.conf is read after the global file: it wins
    r, after = configured("--pip-conf", "user")
    assert "::warning" not in r.out
    assert f"{conf}:2: note: [global] extra-index-url" in r.out
    assert f"{conf}:4: note: [download] find-links" in r.out and r.out.count("overridden by") == 2
    assert _pip_download(tmp_path, after, nexus) == 0

    # user, but an existing PIP_CONFIG_FILE makes pip skip the user file: still in effect
    other = _pip_conf(tmp_path / "other.conf", "[global]\ntimeout = 30\n")
    r, after = configured("--pip-conf", "user", PIP_CONFIG_FILE=str(other))
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 2 and all("pip-conf: file does" in w for w in warnings)
    assert _pip_download(tmp_path, after, nexus) > 0

    # file: PIP_CONFIG_FILE is read last
    r, after = configured("--pip-conf", "file", PIP_CONFIG_FILE=str(other))
    assert "::warning" not in r.out and r.out.count("overridden by") == 2
    written = Path(after["PIP_CONFIG_FILE"]).read_text()
    assert "extra-index-url =\n" in written and "timeout = 30" in written
    assert _pip_download(tmp_path, after, nexus) == 0
