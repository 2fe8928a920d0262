"""Support for the hardening tests: in-process CLI runs, credential echoes, the runner's
file-command parser written independently of pipnexus.gha, and secret-form greps.

``run_cli(monkeypatch, capsys, argv, env)`` runs ``pipnexus.cli.main`` in this process with an
environment built from scratch (nothing from this machine: no proxies, no PIP_*), and, for
``github=True``, fresh GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files.
"""

from __future__ import annotations

import base64
import os
import re
import socket
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, quote_plus

import pytest

from pipnexus.cli import main
from tests import probe_helpers as ph

# A password that every encoding changes differently (space, '@', ':', '/', '%', '&', non-ASCII)
PASSWORD = "pä ss@w:rd/%41&x+y"
USER = "ci"


def secret_forms(secret: str = PASSWORD, user: str = USER) -> list[str]:
    """Every form the secret could leak in: plain, URL-encoded, base64 (alone, with a user)."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    for raw in (f"{user}:{secret}", f":{secret}", secret):
        for encoding in ("utf-8", "latin-1"):  # requests sends Basic credentials as latin-1
            try:
                token = base64.b64encode(raw.encode(encoding)).decode()
            except UnicodeEncodeError:
                continue
            forms.add(token)
            forms.add(token[:16])  # an echo cut short must not leak a prefix either
    return sorted(forms)


def leaks(text: str, secret: str = PASSWORD, user: str = USER) -> list[str]:
    return [form for form in secret_forms(secret, user) if form in text]


class Run(NamedTuple):
    rc: int
    out: str
    err: str
    files: dict[str, str]  # GITHUB_ENV etc. by name, raw text ({} without github)


def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> None:
    """Replace os.environ for an in-process run: HOME/RUNNER_TEMP in tmp_path, plus ``env``."""
    for name in list(os.environ):
        if name not in ("PATH", "LANG", "LC_ALL", "TMPDIR"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    temp = tmp_path / "runner-temp"
    home.mkdir(exist_ok=True)
    temp.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RUNNER_TEMP", str(temp))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    env: dict[str, str] | None = None,
    github: bool = False,
) -> Run:
    env = dict(env or {})
    paths: dict[str, Path] = {}
    if github:
        for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
            paths[name] = tmp_path / name.lower()
            paths[name].write_bytes(b"")
            env[name] = str(paths[name])
        env["GITHUB_ACTIONS"] = "true"
    with monkeypatch.context() as m:
        clean_environ(m, tmp_path, env)
        capsys.readouterr()
        rc = main(argv)
        out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    files = {name: p.read_bytes().decode("utf-8") for name, p in paths.items()}
    return Run(rc, out, err, files)


def without_masks(out: str) -> str:
    """stdout after the ``::add-mask::`` lines, asserting they all come first."""
    lines = out.splitlines()
    masks = [i for i, line in enumerate(lines) if line.startswith("::add-mask::")]
    assert masks == list(range(len(masks))), "an ::add-mask:: line comes after other output"
    return "\n".join(lines[len(masks):])


# --- a server that echoes the credentials it receives ----------------------------------------


def echo_of(request: bytes) -> str:
    """What an indiscreet server might send back: the Authorization header, its decoded
    credentials and the request line (with any query)."""
    parts = [request.split(b"\r\n", 1)[0].decode("latin-1")]
    match = re.search(rb"(?im)^(?:proxy-)?authorization: *(\S+) +(\S+)", request)
    if match:
        token = match.group(2).decode("latin-1")
        parts.append(f"{match.group(1).decode('latin-1')} {token}")
        try:
            raw = base64.b64decode(token)
        except ValueError:
            raw = b""
        try:
            parts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            parts.append(raw.decode("latin-1"))
    return " ".join(parts)


# mode (first path segment) -> (status, reason template, body template, extra headers)
# "{e}" is replaced by the echo.
ECHO_MODES: dict[str, tuple[int, str, str, list[tuple[str, str]]]] = {
    "ok": (200, "OK {e}", "<html><title>Links for pip</title>"
           '<a href="pip-24.0-py3-none-any.whl">pip-24.0-py3-none-any.whl</a> {e}</html>', []),
    "unauthorized": (401, "Unauthorized {e}", "denied for {e}", []),
    "forbidden": (403, "Forbidden {e}", "denied for {e}", []),
    "blocked": (404, "Remote Auto Blocked {e}", "Remote Auto Blocked and Unavailable {e}", []),
    "missing": (404, "Not Found {e}", "Repository not found {e}", []),
    "gateway": (502, "Bad Gateway {e}", "upstream down {e}", []),
    "offline": (503, "Service Unavailable {e}", "offline {e}", []),
    "broken": (500, "Server Error {e}", '{{"id": "*", "message": "\\"{e}\\""}}',
               [("Content-Type", "application/json")]),
    "login": (200, "OK {e}", "<html><form>Sign in, {e}</form></html>", []),
    "elsewhere": (302, "Found {e}", "{e}", [("Location", "http://{q}@127.0.0.2:1/{q}")]),
    "around": (302, "Found {e}", "{e}",
               [("Location", "/missing/repository/pypi-proxy/simple/pip/?echo={q}")]),
}
# the reason code each mode must give (the Nexus status endpoint answers 200)
ECHO_REASONS = {
    "ok": "", "unauthorized": "auth", "forbidden": "auth", "blocked": "remote-blocked",
    "missing": "not-found", "gateway": "remote-unreachable", "offline": "unavailable",
    "broken": "bad-response", "login": "not-an-index", "elsewhere": "redirect",
    "around": "not-found",
}


def echo_script(server: ph.RawServer, conn: socket.socket, request: bytes) -> None:
    target = request.split(b" ", 2)[1].decode("latin-1")
    mode = target.strip("/").split("/", 1)[0]
    echo = echo_of(request)
    if target.split("?")[0].endswith("/service/rest/v1/status") and not mode.startswith("s-"):
        # as Nexus names itself (EnvironmentFilter), so that its commands go on past it
        nexus = [("Server", "Nexus/3.90.1-01 (OSS)")]
        conn.sendall(ph.response(200, "OK " + echo, echo.encode(), nexus))
        return
    status, reason, body, headers = ECHO_MODES.get(mode.removeprefix("s-"), ECHO_MODES["broken"])
    q = quote(echo, safe="")
    filled = [(k, v.format(q=q)) for k, v in headers]
    conn.sendall(ph.response(
        status, reason.format(e=echo).replace("\r", " ").replace("\n", " "),
        body.format(e=echo).encode("utf-8"), filled,
    ))


# --- the runner's file commands, written independently of pipnexus.gha -----------------------


def runner_parse(text: str) -> list[tuple[str, str]]:
    """Read GITHUB_ENV/GITHUB_OUTPUT like actions/runner on Linux
    (actions/runner: src/Runner.Worker/FileCommandManager.cs, SetEnvFileCommand).

    Lines are split on LF. Each non-empty line is ``NAME=VALUE`` when its first ``=`` comes
    before any ``<<``, else ``NAME<<DELIM`` starts a heredoc whose value is every following
    line up to one that equals DELIM exactly (joined with LF). Anything else fails the step.
    """
    out: list[tuple[str, str]] = []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines = lines[:-1]
    pos = 0
    while pos < len(lines):
        line = lines[pos]
        pos += 1
        if line == "":
            continue
        eq = line.find("=")
        hd = line.find("<<")
        if eq != -1 and (hd == -1 or eq < hd):
            out.append((line[:eq], line[eq + 1:]))
            continue
        if hd == -1:
            raise ValueError(f"the runner fails the step: invalid line {line!r}")
        name, delim = line[:hd], line[hd + 2:]
        if not name or not delim:
            raise ValueError(f"the runner fails the step: {line!r}")
        try:
            end = lines.index(delim, pos)
        except ValueError:
            raise ValueError(f"the runner fails the step: no end for {delim!r}") from None
        out.append((name, "\n".join(lines[pos:end])))
        pos = end + 1
    return out
