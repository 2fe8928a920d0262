"""pipnexus.urls: hostile input is refused in one line; credentials never leak."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipnexus import urls
from pipnexus.errors import InputError

VALID = [
    "http://nexus:8081/repository/pypi-proxy/simple/",
    "https://nexus.example.com/simple",
    "HTTP://Nexus.Example.COM:8081/simple/",
    "http://[::1]:8081/repository/pypi-proxy/simple/",
    "http://[fe80::1%25eth0]:8081/simple/",
    "https://bücher.example/simple/",
    "https://xn--bcher-kva.example/simple/",
    "http://u%40x:p%3Aw%2F%25@h:65535/simple/",
    "http://token@h/simple/",
    "http://h/simple/?x=1",
    "http://nexus3.ops-nexus-ns.svc.cluster.local:8081/nexus/repository/x/simple/",
]


@pytest.mark.parametrize("url", VALID)
def test_valid_urls_are_returned_unchanged(url: str) -> None:
    assert urls.validate_url(url) == url


BAD = {
    "empty": "",
    "cr": "http://h/simple/\r",
    "lf-injection": "http://h/simple/\nLD_PRELOAD=/tmp/x",
    "nul": "http://h/\0simple/",
    "tab": "http://h/\tsimple/",
    "space": "http://h/sim ple/",
    "leading-space": " http://h/simple/",
    "trailing-space": "http://h/simple/ ",
    "nbsp": "http://h/\u00a0",
    "line-separator": "http://h/\u2028",
    "del": "http://h/\x7f",
    "c1-control": "http://h/\x85",
    "no-scheme": "nexus:8081/simple/",
    "no-scheme-path": "nexus/simple/",
    "file": "file:///etc/passwd",
    "javascript": "javascript:alert(1)",
    "ftp": "ftp://h/simple/",
    "single-slash": "http:/h/simple/",
    "no-host": "http:///simple/",
    "only-port": "http://:8081/",
    "port-zero": "http://h:0/",
    "port-high": "http://h:65536/",
    "port-letters": "http://h:80a/",
    "port-empty": "http://h:/",
    "port-unicode-digit": "http://h:٨٠/",
    "two-ports": "http://h:80:80/",
    "ipv6-open": "http://[::1/",
    "ipv6-bad": "http://[::g]/",
    "ipv6-junk-after": "http://[::1]x/",
    "empty-userinfo": "http://@h/",
    "fragment": "http://h/simple/#x",
    "at-in-path": "http://u:pa/ss@h/simple/",
    "angle-bracket": "http://h/<script>",
    "quote": 'http://h/"',
    "backslash": "http://h\\@evil/",
    "double-dot-host": "http://a..b/",
    "bad-host-char": "http://h$x/",
    "bad-idna": "http://xn--a\u0300.example/",
    "megabyte": "http://h/" + "a" * 1_000_000,
}


@pytest.mark.parametrize("url", BAD.values(), ids=BAD.keys())
def test_hostile_urls_are_refused_in_one_line(url: str) -> None:
    with pytest.raises(InputError) as info:
        urls.validate_url(url, "index URL")
    message = str(info.value)
    assert message.startswith("index URL ")
    assert message.isprintable() and len(message) < 200, message


def test_not_a_string() -> None:
    with pytest.raises(InputError):
        urls.validate_url(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "http://ci:hunter2secret@h:99999/simple/",
        "http://ci:hunter2secret@h/simple/\n",
        "http://ci:hunter2secret@h/#",
        "http://ci:hunter2secret/x@h/simple/",
        "ftp://ci:hunter2secret@h/",
        "http://ci:hunter2secret@[::g]/",
        "http://ci:hunter2secret@h" + "/a" * 3000,
    ],
)
def test_error_messages_never_contain_the_password(url: str) -> None:
    with pytest.raises(InputError) as info:
        urls.validate_url(url)
    assert "hunter2" not in str(info.value)


def test_password_with_unencoded_at_is_parsed_after_the_last_at() -> None:
    # what pip and urllib do too: the host follows the last '@'
    url = "http://ci:p@ss@h/simple/"
    assert urls.validate_url(url) == url
    assert urls.split_credentials(url) == ("http://h/simple/", "ci", "p@ss")
    assert "p@ss" not in urls.redact(url)


# -- redact --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://ci:secret@h:8081/x/", "http://ci:***@h:8081/x/"),
        ("https://ci:s%40c%2Fr%3At@h/", "https://ci:***@h/"),
        ("https://TOKEN123@h/simple/", "https://***@h/simple/"),
        ("http://h:8081/simple/", "http://h:8081/simple/"),
        ("http://h/a/@scope/pkg", "http://h/a/@scope/pkg"),
        ("http://u:pa/ss@h/simple/", "http://u:***@h/simple/"),
        (
            "tried http://a:one@h1/ and 'https://b:two@h2/simple/' (both down)",
            "tried http://a:***@h1/ and 'https://b:***@h2/simple/' (both down)",
        ),
        ("PIP_INDEX_URL=http://u:p@[::1]:1/s/", "PIP_INDEX_URL=http://u:***@[::1]:1/s/"),
        ("no urls here: user:pass@host", "no urls here: user:pass@host"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert urls.redact(text) == expected


def test_redact_known_secrets_in_any_form() -> None:
    secret = "p@ss w/rd"
    text = f"plain {secret}, encoded {quote(secret, safe='')} and {quote(secret)}"
    out = urls.redact(text, [secret])
    assert "p@ss" not in out and "w%2Frd" not in out and "w/rd" not in out
    assert urls.redact("nothing", ["", "x"]) == "nothing"


_PASSWORD = st.text(alphabet=st.characters(codec="utf-8"), min_size=6, max_size=30).filter(
    lambda p: p.strip() == p and not p.isspace()
)


@pytest.mark.slow
@given(user=st.text(min_size=1, max_size=10), password=_PASSWORD)
def test_credentials_round_trip_and_redaction(user: str, password: str) -> None:
    base = "http://nexus.example:8081/repository/pypi-proxy/simple/"
    url = urls.with_credentials(base, user, password)
    assert urls.split_credentials(url) == (base, user, password)
    shown = urls.redact(url)
    assert shown == f"http://{quote(user, safe='')}:***@{base[len('http://') :]}"


# -- credentials ---------------------------------------------------------------------------


def test_split_credentials() -> None:
    assert urls.split_credentials("http://h/simple/") == ("http://h/simple/", None, None)
    assert urls.split_credentials("http://tok@h/") == ("http://h/", "tok", None)
    assert urls.split_credentials("http://u:@h/") == ("http://h/", "u", "")
    assert urls.split_credentials("http://u%3Ax:p%40%2F%25@[::1]:81/s/?a=b") == (
        "http://[::1]:81/s/?a=b",
        "u:x",
        "p@/%",
    )
    assert urls.split_credentials("no-scheme") == ("no-scheme", None, None)


def test_with_credentials() -> None:
    assert urls.with_credentials("http://old:pw@h/s/", "a@b", "c:d/e%") == (
        "http://a%40b:c%3Ad%2Fe%25@h/s/"
    )
    assert urls.with_credentials("http://old:pw@h/s/", None, None) == "http://h/s/"
    assert urls.with_credentials("http://h/s/", "tok", None) == "http://tok@h/s/"
    assert urls.validate_url(urls.with_credentials("http://h/", "u s", "p w\n")) is not None


# -- derived values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://Nexus3.ops-nexus-ns.svc:8081/repository/x/simple/", "nexus3.ops-nexus-ns.svc"),
        ("http://u:p@h:8081/simple/", "h"),
        ("http://h/simple/", "h"),
        ("http://[::1]:8081/simple/", "[::1]"),
        ("http://10.0.0.5:8081/simple/", "10.0.0.5"),
        ("https://h:8443/simple/", None),
        ("HTTPS://h/simple/", None),
    ],
)
def test_trusted_host(url: str, expected: str | None) -> None:
    assert urls.trusted_host(url) == expected


def test_index_from_nexus() -> None:
    assert urls.index_from_nexus("http://h:8081", "pypi-proxy") == (
        "http://h:8081/repository/pypi-proxy/simple/"
    )
    assert urls.index_from_nexus("https://h/nexus/", "a.b_c-1") == (
        "https://h/nexus/repository/a.b_c-1/simple/"
    )


@pytest.mark.parametrize("name", ["", "_x", ".x", "a b", "a/b", "../x", "x?y", "a" * 201, "é"])
def test_invalid_repository_names(name: str) -> None:
    with pytest.raises(InputError, match="repository name"):
        urls.index_from_nexus("http://h:8081", name)


def test_index_from_nexus_rejects_bad_base() -> None:
    with pytest.raises(InputError, match="Nexus URL"):
        urls.index_from_nexus("http://h:8081/\r\n", "pypi-proxy")
    with pytest.raises(InputError, match="query"):
        urls.index_from_nexus("http://h:8081/?x", "pypi-proxy")


@pytest.mark.parametrize(
    ("index", "base"),
    [
        ("http://h:8081/repository/pypi-proxy/simple/", "http://h:8081"),
        ("http://h:8081/repository/pypi-proxy/simple", "http://h:8081"),
        ("https://u:p@h/nexus/repository/x/simple/", "https://u:p@h/nexus"),
        ("http://[::1]:8081/repository/x/simple/", "http://[::1]:8081"),
        ("https://pypi.org/simple/", None),
        ("http://h/repository/x/simple/pip/", None),
        ("http://h/repository/simple/", None),
        ("http://h/repository/x/simple/?a", None),
        ("not a url", None),
    ],
)
def test_nexus_base_from_index(index: str, base: str | None) -> None:
    assert urls.nexus_base_from_index(index) == base


def test_nexus_index_parts() -> None:
    assert urls.nexus_index_parts("http://h:8081/repository/pip-cache/simple") == (
        "http://h:8081", "pip-cache"
    )
    assert urls.nexus_index_parts("https://u:p@h/nexus/repository/x.y/simple/") == (
        "https://u:p@h/nexus", "x.y"
    )
    assert urls.nexus_index_parts("http://h:8081") is None
    assert urls.nexus_index_parts("http://h/repository/x/simple/?a") is None
    assert urls.nexus_index_parts("http://h:8081/repository/x/") is None
    assert urls.nexus_repository_parts("http://h:8081/repository/x/") == ("http://h:8081", "x")
    assert urls.nexus_repository_parts("http://h/n/repository/x/simple/pip/") == ("http://h/n", "x")
    assert urls.nexus_repository_parts("http://h:8081/nexus/") is None


def test_ensure_trailing_slash() -> None:
    assert urls.ensure_trailing_slash("http://h/simple") == "http://h/simple/"
    assert urls.ensure_trailing_slash("http://h/simple/") == "http://h/simple/"
    assert urls.ensure_trailing_slash("http://h/simple?x=1") == "http://h/simple/?x=1"


_URLISH = st.lists(
    st.sampled_from(
        [
            "http://",
            "https://",
            "file:",
            "u",
            ":",
            "@",
            "/",
            "[",
            "]",
            "::1",
            "%",
            "#",
            "?",
            "8081",
            "h.example",
            "\r",
            "\n",
            "\0",
            " ",
            "é",
            "xn--",
            "..",
            "-",
        ]
    )
    | st.text(max_size=5),
    max_size=12,
).map("".join)


@given(url=_URLISH)
def test_validate_url_accepts_or_refuses_cleanly(url: str) -> None:
    try:
        assert urls.validate_url(url) == url
    except InputError as e:
        assert "\n" not in str(e) and "\r" not in str(e)
        return
    assert url.lower().startswith(("http://", "https://"))
    assert not any(ch.isspace() or ord(ch) < 0x20 for ch in url)
    assert urls.redact(url).startswith(url.split("://", 1)[0])
    bare, _, _ = urls.split_credentials(url)
    authority = bare.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
    assert "@" not in authority
