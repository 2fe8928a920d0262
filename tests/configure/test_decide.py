"""Which index configure chooses (pipnexus/configure/decide.py): Nexus, the fallback or none,
the order of candidates from inputs and environment, and every reason reaching the outputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from pipnexus.configure import render
from testbed.httpbase import HangingListener, closed_url
from testbed.nexus_double import NexusDouble
from tests import probe_helpers
from tests.configure.helpers import FALLBACK, INSTALLER_VARS, ROOT, Run, base_env, run_configure

URL_VARS = INSTALLER_VARS - {"PIP_TRUSTED_HOST", "PDM_PYPI_VERIFY_SSL"}


def test_healthy_nexus_sets_every_installer_variable(tmp_path, nexus):
    index = nexus.index_url()
    r = run_configure(tmp_path, "--index-url", index, "--canary", "pip")
    assert r.rc == 0, r.err
    assert r.env == [
        ("PIP_INDEX_URL", index),
        ("PIP_TRUSTED_HOST", "127.0.0.1"),
        ("UV_DEFAULT_INDEX", index),
        ("UV_INDEX_URL", index),
        ("PIPENV_PYPI_MIRROR", index),
        ("PDM_PYPI_URL", index),
        ("PDM_PYPI_VERIFY_SSL", "false"),
        ("POETRY_PYPI_MIRROR_URL", index),
    ]
    assert r.outputs["source"] == "nexus"
    assert r.outputs["index-url"] == index
    assert r.outputs["trusted-host"] == "127.0.0.1"
    assert r.outputs["reason"] == ""
    assert int(r.outputs["latency-ms"]) >= 0
    assert set(r.outputs) == set(render.OUTPUTS)
    assert "| healthy |" in r.summary and f"`{index}`" in r.summary
    assert "`PIP_INDEX_URL`" in r.summary
    assert "::warning" not in r.out


def test_dead_nexus_falls_back_and_overrides_stale_values(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    env = base_env(
        tmp_path,
        PIP_INDEX_URL="http://stale.example/simple",
        PIP_TRUSTED_HOST="stale.example",
        PDM_PYPI_VERIFY_SSL="false",
    )
    r = run_configure(tmp_path, "--index-url", dead, "--fallback-index-url", FALLBACK, env=env)
    assert r.rc == 0, r.err
    got = r.env_dict
    assert set(got) == INSTALLER_VARS
    assert all(got[name] == FALLBACK for name in URL_VARS)
    assert got["PIP_TRUSTED_HOST"] == "" and got["PDM_PYPI_VERIFY_SSL"] == "true"
    assert r.outputs["source"] == "fallback"
    assert r.outputs["reason"] == "refused"
    assert r.outputs["index-url"] == FALLBACK
    assert r.outputs["trusted-host"] == ""
    warnings = [line for line in r.out.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1 and "refused" in warnings[0] and FALLBACK in warnings[0]
    assert "| unhealthy | refused |" in r.summary


def test_http_fallback_is_trusted(tmp_path, upstream):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", dead, "--fallback-index-url", upstream.index_url)
    assert r.env_dict["PIP_TRUSTED_HOST"] == "127.0.0.1"
    assert r.env_dict["PDM_PYPI_VERIFY_SSL"] == "false"
    assert r.outputs["trusted-host"] == "127.0.0.1"


def test_first_healthy_candidate_in_order_wins(tmp_path, nexus):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", f"{dead} {nexus.index_url()}")
    assert r.outputs["source"] == "nexus"
    assert r.outputs["index-url"] == nexus.index_url()
    assert r.summary.count("| unhealthy | refused |") == 1


def test_require_nexus_fails_clearly_and_configures_nothing(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    r = run_configure(tmp_path, "--index-url", dead, "--require-nexus=true")
    assert r.rc == 1
    assert r.env == []
    assert r.outputs["source"] == "none" and r.outputs["reason"] == "refused"
    errors = [line for line in r.out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert "require-nexus" in errors[0] and "refused" in errors[0]


def test_require_nexus_false_spellings(tmp_path):
    dead = closed_url() + "/repository/pypi-proxy/simple/"
    for value in ("false", "False", ""):
        r = run_configure(tmp_path, "--index-url", dead, f"--require-nexus={value}")
        assert r.rc == 0 and r.outputs["source"] == "fallback"


def _fault(double: NexusDouble, fault: str) -> None:
    if fault == "offline":
        double.set_online(False)
    elif fault == "remote-unreachable":
        double.remote_unreachable = True
    elif fault == "remote-blocked":
        double.block_remote()
    elif fault == "anonymous-off":
        double.anonymous_enabled = False
    elif fault == "login-page":
        double.login_page = True
    elif fault == "read-only-unreadable":
        double.readable = False


@pytest.mark.parametrize(
    "fault, reason",
    [
        ("offline", "unavailable"),
        ("remote-unreachable", "remote-unreachable"),
        ("remote-blocked", "remote-blocked"),
        ("anonymous-off", "auth"),
        ("login-page", "not-an-index"),
        ("read-only-unreadable", "unavailable"),
        ("unknown-repository", "not-found"),
    ],
)
def test_each_fault_reaches_the_outputs(tmp_path, upstream, fault, reason):
    # a fresh double per fault: nothing cached that could hide it
    with NexusDouble(upstream.base_url + "/") as double:
        _fault(double, fault)
        index = double.index_url("nope" if fault == "unknown-repository" else None)
        r = run_configure(tmp_path, "--index-url", index, "--fallback-index-url", FALLBACK)
    assert r.rc == 0, r.err
    assert r.outputs["source"] == "fallback"
    assert r.outputs["reason"] == reason
    assert f"| {reason} |" in r.summary


def test_timeout_reason_with_a_listener_that_never_answers(tmp_path):
    with HangingListener() as hanging:
        index = f"http://127.0.0.1:{hanging.port}/repository/pypi-proxy/simple/"
        r = run_configure(tmp_path, "--index-url", index, "--timeout", "0.5")
    assert r.rc == 0, r.err
    assert (r.outputs["source"], r.outputs["reason"]) == ("fallback", "timeout")


def _candidates(run: Run) -> list[str]:
    return [c["url"] for c in json.loads(run.out)["candidates"]]


def test_precedence_of_inputs_and_environment(tmp_path):
    a, b, c, d = (f"{closed_url()}/{x}" for x in "abcd")
    env = base_env(
        tmp_path, PIPNEXUS_INDEX_URL=f"{c}/repository/r/simple/ {c}/two/",
        PIPNEXUS_NEXUS_URL=d, PIPNEXUS_REPOSITORY="envrepo",
    )

    def candidates(*args: str, environ: Mapping[str, str] = env) -> list[str]:
        r = run_configure(tmp_path, "--format", "json", *args, env=environ, github=False)
        assert r.rc == 0, r.err
        return _candidates(r)

    assert candidates("--index-url", f"{a}/simple/", "--nexus-url", b) == [f"{a}/simple/"]
    assert candidates("--index-url", "", "--nexus-url", b, "--repository", "") == [
        f"{b}/repository/pypi-proxy/simple/"
    ]
    assert candidates("--nexus-url", b, "--repository", "mine") == [
        f"{b}/repository/mine/simple/"
    ]
    assert candidates() == [f"{c}/repository/r/simple/", f"{c}/two/"]
    no_list = {k: v for k, v in env.items() if k != "PIPNEXUS_INDEX_URL"}
    assert candidates(environ=no_list) == [f"{d}/repository/envrepo/simple/"]
    bare = {k: v for k, v in no_list.items() if not k.startswith("PIPNEXUS_")}
    r = run_configure(tmp_path, "--format", "json", env=bare, github=False)
    assert r.rc == 0 and json.loads(r.out)["reason"] == "not-configured"


def test_arc_example_values_resolve_to_the_nexus_index():
    import yaml

    from pipnexus import probe

    values = yaml.safe_load((ROOT / "examples" / "arc" / "values.yaml").read_text())
    (runner,) = values["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in runner["env"] if "value" in e}
    assert set(env) == {"PIPNEXUS_NEXUS_URL", "PIPNEXUS_REPOSITORY"}
    targets = probe.resolve_candidates([], None, None, env).targets
    assert [t.index.text for t in targets] == [
        "http://nexus3.nexus.svc.cluster.local:8081/repository/pypi-proxy/simple/"
    ]


@pytest.mark.parametrize(
    "script, reason",
    [
        (probe_helpers.answer(302, "Found", headers=[("Location", "http://elsewhere.invalid/")]),
         "redirect"),
        (probe_helpers.answer(500, "Server Error"), "bad-response"),
    ],
)
def test_more_reasons_reach_the_outputs(tmp_path, script, reason):
    with probe_helpers.RawServer(script) as server:
        r = run_configure(tmp_path, "--index-url", server.url(), "--fallback-index-url", FALLBACK)
    assert (r.outputs["source"], r.outputs["reason"]) == ("fallback", reason)


def test_configured_is_the_rule_resolve_follows():
    from pipnexus.probe import index_configured

    assert not index_configured([], None, {})
    assert not index_configured([], "", {"PIPNEXUS_INDEX_URL": " ", "PIPNEXUS_NEXUS_URL": ""})
    assert index_configured(["http://h/simple/"], None, {})
    assert index_configured([], "http://h:8081", {})
    assert index_configured([], None, {"PIPNEXUS_NEXUS_URL": "http://h:8081"})
    assert index_configured([], None, {"PIPNEXUS_INDEX_URL": "http://h/simple/"})
    # PIPNEXUS_REPOSITORY alone names no server
    assert not index_configured([], None, {"PIPNEXUS_REPOSITORY": "pip-cache"})
