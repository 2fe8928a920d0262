"""The one option layer: the same checks, defaults and errors in every command.

A password never appears in what any command prints: not given as ``--password``, not as
``--password=``, not abbreviated, not given to the wrong option, not named by
``--password-env``.
"""

from __future__ import annotations

import argparse

import pytest

from pipnexus import options
from pipnexus.cli import main
from pipnexus.errors import InputError

SECRET = "hunter2-Zq9"  # a value that appears nowhere else

# every command and subcommand, with just enough arguments to reach parsing
COMMANDS = [
    ["probe", "--index-url", "http://127.0.0.1:9/simple/"],
    ["configure", "--index-url", "http://127.0.0.1:9/simple/", "--format", "json"],
    ["migrate", "--check", "."],
    ["nexus", "values"],
    ["nexus", "lint", "-"],
    ["nexus", "apply", "--url", "http://127.0.0.1:9", "--dry-run"],
    ["nexus", "status", "--url", "http://127.0.0.1:9"],
    ["demo"],
]
# the commands that read credentials
CREDENTIAL_COMMANDS = [c for c in COMMANDS if c[0] in ("probe", "configure") or c[1:2] in (
    ["apply"], ["status"])]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse exits
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("form", ["separate", "equals", "first"])
def test_password_option_is_refused_everywhere_without_its_value(
    command: list[str], form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if form == "separate":
        argv = [*command, "--password", SECRET]
    elif form == "equals":
        argv = [*command, f"--password={SECRET}"]
    else:
        argv = ["--password", SECRET, *command]
    code, text = _run(argv, capsys)
    assert code == 2
    assert SECRET not in text
    assert text.count("\n") == 1, text
    assert "--password-env" in text


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "extra",
    [
        ["--pass", SECRET],  # an abbreviation is not a prefix match
        ["--passw=" + SECRET],
        [SECRET],  # a stray value
        ["--no-such-option", SECRET],
    ],
    ids=["abbreviated", "abbreviated-equals", "stray", "unknown"],
)
def test_unknown_arguments_are_refused_without_their_values(
    command: list[str], extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    takes_paths = command[0] == "migrate" or command[:2] == ["nexus", "lint"]
    if takes_paths and extra == [SECRET]:
        pytest.skip("this command takes paths: a stray value is a path it reports")
    code, text = _run([*command, *extra], capsys)
    assert code == 2
    assert SECRET not in text
    assert text.count("\n") == 1, text


@pytest.mark.parametrize("command", CREDENTIAL_COMMANDS, ids=" ".join)
def test_password_env_of_an_unset_variable_is_the_same_error_everywhere(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET.upper().replace("-", "_"), raising=False)
    code, text = _run([*command, "--password-env", SECRET.upper().replace("-", "_")], capsys)
    assert code == 2
    assert "the environment variable named by --password-env is not set or empty" in text
    assert SECRET.upper().replace("-", "_") not in text


@pytest.mark.parametrize("command", CREDENTIAL_COMMANDS, ids=" ".join)
def test_password_env_of_an_empty_variable_is_the_same_error(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPNEXUS_TEST_EMPTY", "")
    code, text = _run([*command, "--password-env", "PIPNEXUS_TEST_EMPTY"], capsys)
    assert code == 2
    assert "not set or empty" in text


@pytest.mark.parametrize("command", CREDENTIAL_COMMANDS, ids=" ".join)
def test_a_password_given_to_password_env_is_not_echoed(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run([*command, "--password-env", "s3cr#t!" + SECRET], capsys)
    assert code == 2
    assert SECRET not in text
    assert "NAME of an environment variable" in text


@pytest.mark.parametrize("command", CREDENTIAL_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("option", ["--timeout", "--ca-cert"])
def test_a_password_given_to_the_wrong_option_is_not_echoed(
    command: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run([*command, option, SECRET], capsys)
    assert code == 2
    assert SECRET not in text
    assert text.count("\n") == 1, text


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0] in ("probe", "configure")],
                         ids=" ".join)
def test_a_password_given_as_canary_is_not_echoed(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run([*command, "--canary", SECRET + "!"], capsys)
    assert code == 2
    assert SECRET not in text


def test_invalid_choice_does_not_repeat_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(["probe", "--format", SECRET], capsys)
    assert code == 2
    assert SECRET not in text
    assert "invalid choice" in text


# --- the validators themselves ------------------------------------------------------------


def test_parse_timeout_bounds_and_default() -> None:
    assert options.parse_timeout(None) == options.DEFAULT_TIMEOUT
    assert options.parse_timeout("") == options.DEFAULT_TIMEOUT
    assert options.parse_timeout("2.5") == 2.5
    assert options.parse_timeout(str(options.MAX_TIMEOUT)) == options.MAX_TIMEOUT
    for bad in ("0", "-1", "nan", "inf", str(options.MAX_TIMEOUT + 1), "soon"):
        with pytest.raises(InputError):
            options.parse_timeout(bad)


def test_parse_credentials_reads_the_environment_only_when_asked() -> None:
    env = {"PIPNEXUS_USERNAME": "ci", "PIPNEXUS_PASSWORD": "pw", "MY_PW": "mine"}
    assert options.parse_credentials(None, None, env, from_environment=True) == ("ci", "pw")
    assert options.parse_credentials(None, None, env, from_environment=False) == (None, None)
    assert options.parse_credentials("u", "MY_PW", env, from_environment=True) == ("u", "mine")
    assert options.parse_credentials("", "", env, from_environment=False) == (None, None)


def test_a_password_with_a_line_break_is_refused_without_echo() -> None:
    with pytest.raises(InputError) as e:
        options.read_password_env("PW", {"PW": "a\nb" + SECRET})
    assert SECRET not in str(e.value)


def test_canary_and_repository() -> None:
    assert options.parse_canary(None) == options.DEFAULT_CANARY
    assert options.parse_canary("Django_REST.framework") == "Django_REST.framework"
    assert options.normalize_project("Django_REST.framework") == "django-rest-framework"
    with pytest.raises(InputError):
        options.parse_canary("pip/../x")
    assert options.parse_repository(None) == options.DEFAULT_REPOSITORY
    assert options.parse_repository(" ", default=None) is None
    with pytest.raises(InputError):
        options.parse_repository("_hidden")


def test_ca_cert_must_be_a_readable_file(tmp_path: pytest.TempPathFactory) -> None:
    assert options.parse_ca_cert("") is None
    with pytest.raises(InputError) as e:
        options.parse_ca_cert(SECRET)
    assert SECRET not in str(e.value)


def test_refuse_password_argument_stops_at_double_dash() -> None:
    assert options.refuse_password_argument(["probe", "--", "--password"]) is None
    assert options.refuse_password_argument(["--password-env", "X"]) is None
    assert options.refuse_password_argument(["--password"]) == options.PASSWORD_REFUSED


@pytest.mark.parametrize("columns", [None, "120", "0", "x", "-5"])
def test_help_width_is_shutils(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    """Parser gives its formatters the width HelpFormatter would ask shutil for."""
    import shutil

    from pipnexus.options import help_width

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert help_width() == shutil.get_terminal_size().columns - 2
    formatter = options.Parser(prog="x")._get_formatter()
    assert formatter._width == argparse.HelpFormatter("x")._width


def test_runtime_named_tuple_is_typings() -> None:
    """pipnexus._nt.NamedTuple builds what typing.NamedTuple builds."""
    import copy
    import typing

    from pipnexus._nt import NamedTuple as Light

    def make(base: typing.Any) -> typing.Any:
        class Point(base):  # type: ignore[misc]
            """A point."""

            x: int
            y: str = "a"

            def twice(self) -> int:
                return int(self.x) * 2

            @property
            def label(self) -> str:
                return str(self.y)

        return Point

    light, heavy = make(Light), make(typing.NamedTuple)
    for cls in (light, heavy):
        point = cls(1)
        assert (point, point.twice(), point.label) == ((1, "a"), 2, "a")
        assert repr(point._replace(y="b")) == "Point(x=1, y='b')"
        assert point._asdict() == {"x": 1, "y": "a"}
        assert cls(y="b", x=2) == cls(2, y="b") == cls._make([2, "b"]) == (2, "b")
        assert copy.copy(point) == point and type(copy.copy(point)) is cls
        assert (point.x, point.y) == point and cls.x.__doc__ == "Alias for field number 0"
        # the calls the class refuses (its __new__ is not namedtuple's generated one)
        refused: list[tuple[tuple[object, ...], dict[str, object]]] = [
            ((), {}), ((1, "a", 3), {}), ((1,), {"x": 2}), ((1,), {"z": 2}), ((), {"y": "b"})]
        for args, kwargs in refused:
            with pytest.raises(TypeError):
                cls(*args, **kwargs)
        with pytest.raises(TypeError):
            cls._make([1])
        with pytest.raises(ValueError):
            point._replace(z=1)
    for attr in ("_fields", "_field_defaults", "__doc__", "__module__", "__qualname__"):
        assert getattr(light, attr) == getattr(heavy, attr), attr
    # typing wraps the (postponed, string) annotations in ForwardRef; nothing reads them
    assert list(light.__annotations__) == list(heavy.__annotations__)
    assert light.__mro__[1:] == heavy.__mro__[1:]
    with pytest.raises(TypeError):  # as typing: a field without a default after one with
        exec("class Bad(Light):\n    a: int = 1\n    b: int\n", {"Light": Light,
                                                                "__name__": __name__})


def test_format_is_defined_only_in_the_option_layer() -> None:
    """``--format`` is added through ``options.add_format`` by every command that has it."""
    import ast
    from pathlib import Path

    package = Path(options.__file__).parent
    defined = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add_argument"
                    and any(isinstance(a, ast.Constant) and a.value == "--format"
                            for a in node.args)):
                defined.append(f"{path.relative_to(package)}:{node.lineno}")
    assert defined and all(d.startswith("options.py:") for d in defined), defined


@pytest.mark.parametrize("command", [["probe"], ["migrate"], ["nexus", "lint"],
                                     ["nexus", "status"], ["configure"]])
def test_every_format_option_comes_from_add_format(command: list[str]) -> None:
    from pipnexus.cli import build_parser

    parser = build_parser()
    for word in command:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
                      ).choices[word]
    (action,) = [a for a in parser._actions if "--format" in a.option_strings]
    if command == ["configure"]:
        assert action.default == options.CONFIGURE_FORMATS[0] and action.choices is None
    else:
        assert action.default == "text" and tuple(action.choices or ()) == options.REPORT_FORMATS
