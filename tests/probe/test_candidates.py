"""Which indexes are probed (pipnexus/probe/candidates.py): options, environment, whole index
URLs given as a Nexus URL, and the mirror's target.
"""

from __future__ import annotations

from typing import Any

import pytest

from pipnexus.errors import InputError
from pipnexus.probe import Target, resolve_candidates
from tests.probe_helpers import mirror, target_for


def _texts(target: Target) -> tuple[str, str | None]:
    return target.index.text, target.status.text if target.status is not None else None


def test_target_for() -> None:
    assert _texts(target_for("http://h:8081/repository/pypi-proxy/simple/")) == (
        "http://h:8081/repository/pypi-proxy/simple/", "http://h:8081/service/rest/v1/status"
    )
    assert _texts(target_for("https://h/nexus/repository/x/simple"))[1] == (
        "https://h/nexus/service/rest/v1/status"
    )
    assert target_for("https://pypi.org/simple/").status is None


def test_resolve_candidates_precedence() -> None:
    env = {
        "PIPNEXUS_INDEX_URL": "http://e1/simple/ http://e2/simple/",
        "PIPNEXUS_NEXUS_URL": "http://envnexus:8081",
        "PIPNEXUS_REPOSITORY": "env-repo",
    }

    def resolved(*args: Any) -> list[tuple[str, str | None]]:
        candidates = resolve_candidates(*args)
        assert candidates.notes == []
        return [_texts(t) for t in candidates.targets]

    explicit = resolved(["http://a/simple/", "", "http://b/simple/"], "http://n:8081", "r", env)
    assert [index for index, _ in explicit] == ["http://a/simple/", "http://b/simple/"]
    by_nexus = resolved([], "http://n:8081/", None, env)
    assert by_nexus == [
        ("http://n:8081/repository/pypi-proxy/simple/", "http://n:8081/service/rest/v1/status")
    ]
    assert resolved([], "http://n:8081", "mine", env)[0][0].endswith("/repository/mine/simple/")
    assert [index for index, _ in resolved([], None, None, env)] == [
        "http://e1/simple/",
        "http://e2/simple/",
    ]
    env_nexus = {k: v for k, v in env.items() if k != "PIPNEXUS_INDEX_URL"}
    assert resolved([], "", "", env_nexus) == [
        (
            "http://envnexus:8081/repository/env-repo/simple/",
            "http://envnexus:8081/service/rest/v1/status",
        )
    ]
    assert resolved([], None, "cli-repo", env_nexus)[0][0].endswith(
        "/repository/cli-repo/simple/"
    )
    no_repo = {"PIPNEXUS_NEXUS_URL": "http://envnexus:8081", "PIPNEXUS_INDEX_URL": "  "}
    assert resolved([], None, None, no_repo)[0][0].endswith("/repository/pypi-proxy/simple/")
    with pytest.raises(InputError, match="no package index"):
        resolve_candidates([], None, None, {"PIPNEXUS_INDEX_URL": " ", "PIPNEXUS_NEXUS_URL": ""})


WHOLE = "http://nexus3.ops.svc:8081/repository/pip-cache/simple"


@pytest.mark.parametrize(
    ("nexus_url", "repository", "env", "what"),
    [
        (WHOLE, None, {}, "--nexus-url"),
        (WHOLE + "/", "pip-cache", {}, "--nexus-url"),
        (None, None, {"PIPNEXUS_NEXUS_URL": WHOLE}, "PIPNEXUS_NEXUS_URL"),
        (None, None, {"PIPNEXUS_NEXUS_URL": WHOLE, "PIPNEXUS_REPOSITORY": "pip-cache"},
         "PIPNEXUS_NEXUS_URL"),
        ("https://h/nexus/repository/pip-cache/simple/", None, {}, "--nexus-url"),
    ],
)
def test_nexus_url_that_is_a_whole_index_url(
    nexus_url: str | None, repository: str | None, env: dict[str, str], what: str
) -> None:
    # never the doubled path .../simple/repository/pypi-proxy/simple/
    candidates = resolve_candidates([], nexus_url, repository, env)
    (target,) = candidates.targets
    given = nexus_url or env["PIPNEXUS_NEXUS_URL"]
    assert target.index.text == given
    assert target.status is not None
    assert target.status.text == given.split("/repository/")[0] + "/service/rest/v1/status"
    ((note, code),) = [(n.message, n.code) for n in candidates.notes]
    assert code == "nexus-url-is-index"
    assert note.startswith(f"{what} is a whole index URL: using it as the index URL")
    assert "--repository pip-cache" in note and "/simple" not in note.split("(", 1)[1]


@pytest.mark.parametrize(
    ("nexus_url", "repository", "env", "fix"),
    [
        (WHOLE, "pypi-proxy", {}, "--nexus-url http://nexus3.ops.svc:8081 --repository pypi-proxy"),
        (None, None, {"PIPNEXUS_NEXUS_URL": WHOLE, "PIPNEXUS_REPOSITORY": "pypi-proxy"},
         "PIPNEXUS_NEXUS_URL=http://nexus3.ops.svc:8081"),
        (None, "other", {"PIPNEXUS_NEXUS_URL": WHOLE}, "PIPNEXUS_NEXUS_URL=http://nexus3"),
    ],
)
def test_nexus_url_of_another_repository_is_an_input_error(
    nexus_url: str | None, repository: str | None, env: dict[str, str], fix: str
) -> None:
    with pytest.raises(InputError) as info:
        resolve_candidates([], nexus_url, repository, env)
    message = str(info.value)
    assert "'pip-cache'" in message and fix in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "nexus_url",
    [
        "http://nexus3.ops.svc:8081/repository/pip-cache",
        "http://nexus3.ops.svc:8081/repository/pip-cache/",
        "http://nexus3.ops.svc:8081/repository/pip-cache/simple/pip/",
    ],
)
def test_nexus_url_inside_a_repository_is_an_input_error(nexus_url: str) -> None:
    with pytest.raises(InputError) as info:
        resolve_candidates([], nexus_url, None, {})
    assert "--nexus-url http://nexus3.ops.svc:8081 --repository pip-cache" in str(info.value)


def test_whole_index_note_hides_the_password() -> None:
    url = "http://ci:s3cret@nexus:8081/repository/pip-cache/simple/"
    candidates = resolve_candidates([], url, None, {})
    assert "s3cret" not in candidates.notes[0].message
    assert candidates.targets[0].index.password == "s3cret"
    with pytest.raises(InputError) as info:
        resolve_candidates([], url, "pypi-proxy", {})
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("index_urls", "nexus_url", "repository", "env"),
    [
        (["http://a/simple/\nLD_PRELOAD=/x"], None, None, {}),
        ([], "javascript:alert(1)", None, {}),
        ([], "http://n:8081", "../etc", {}),
        ([], None, None, {"PIPNEXUS_INDEX_URL": "http://a/simple/ LD_PRELOAD=/tmp/x"}),
        ([], None, None, {"PIPNEXUS_NEXUS_URL": "file:///etc/passwd"}),
        ([], None, None, {"PIPNEXUS_NEXUS_URL": "http://n", "PIPNEXUS_REPOSITORY": "a b"}),
        ([f"http://h{i}/simple/" for i in range(17)], None, None, {}),
    ],
)
def test_resolve_candidates_rejects(
    index_urls: list[str], nexus_url: str | None, repository: str | None, env: dict[str, str]
) -> None:
    with pytest.raises(InputError) as info:
        resolve_candidates(index_urls, nexus_url, repository, env)
    assert "\n" not in str(info.value)


def test_mirror_target_has_the_status_endpoint_of_its_nexus() -> None:
    t = mirror("http://n.example:8081/nexus/repository/pbs")
    assert t.kind == "mirror"
    assert t.status is not None
    assert t.status.text == "http://n.example:8081/nexus/service/rest/v1/status"
    assert mirror("http://files.example/pbs").status is None
