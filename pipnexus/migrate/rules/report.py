"""Report-only findings — things that would still bypass the proxy. Never rewritten."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, ScalarNode

from pipnexus.migrate.plugin import Context, Item, register_document
from pipnexus.migrate.tree import get, get_pair, key_str

INDEX_ENV = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX", "UV_INDEX",
)
_INDEX_OPT = re.compile(r"(?<![\w-])(--index-url|--extra-index-url)(?=[\s=]|$)", re.M)
_PIP_INSTALL = re.compile(r"\b(?:pip[\d.]*|uv\s+pip)\s+(?:install|download|wheel)\b")
_SHORT_I = re.compile(r"(?<=\s)-i(?=\s)")
_UV_FROZEN = re.compile(r"\buv\s+(?:sync|run|export)\b[^\n]*?(--frozen|--locked)\b")
_POETRY = re.compile(r"\bpoetry\s+(?:install|add|update|lock|sync|run|build)\b|snok/install-poetry")
_POETRY_MIRROR = re.compile(r"poetry-plugin-pypi-mirror|POETRY_PYPI_MIRROR_URL")


def _env_findings(ctx: Context, mapping: object, where: str) -> Iterator[Item]:
    env = get(mapping if isinstance(mapping, MappingNode) else None, "env")
    if not isinstance(env, MappingNode):
        return
    for key, _value in env.value:
        name = key_str(key)
        if name and name.upper() in INDEX_ENV:
            yield ctx.warning_at(
                ctx.doc.start(key), "index-env",
                f"{where} env sets {name}: it overrides the index pipnexus configures",
            )


CODES = ("index-env", "index-url-in-run", "uv-frozen-lock", "poetry-no-mirror")


@register_document("report", CODES)
def findings(ctx: Context) -> Iterator[Item]:
    """Only about the jobs migrate changes: a job it leaves alone does not use the proxy."""
    doc, text = ctx.doc, ctx.doc.text
    if not ctx.lists:
        return
    yield from _env_findings(ctx, doc.root, "workflow")
    jobs = get(doc.root, "jobs")
    left_alone = {sl.name for sl in ctx.every if sl.kind == "job"} - {
        sl.name for sl in ctx.lists if sl.kind == "job"}
    if isinstance(jobs, MappingNode):
        for key, job in jobs.value:
            if key_str(key) not in left_alone:
                yield from _env_findings(ctx, job, f"job `{key_str(key)}`")
    for sl in ctx.lists:
        for step in sl.steps:
            if step.alias:
                continue
            yield from _env_findings(ctx, step.node, "step")
            run = get_pair(step.node, "run")
            if not run or not isinstance(run[2], ScalarNode):
                continue
            start, end = doc.start(run[2]), doc.end(run[2])
            raw = text.text[start:end]
            for m in _INDEX_OPT.finditer(raw):
                yield ctx.warning_at(
                    start + m.start(), "index-url-in-run",
                    f"`{m.group(1)}` in a run script bypasses the index pipnexus configures",
                )
            offset = 0
            for raw_line in raw.splitlines(keepends=True):
                if _PIP_INSTALL.search(raw_line):
                    for m in _SHORT_I.finditer(raw_line):
                        yield ctx.warning_at(
                            start + offset + m.start(), "index-url-in-run",
                            "`-i` in a run script bypasses the index pipnexus configures",
                        )
                offset += len(raw_line)
            if ctx.options.uv_lock:
                for m in _UV_FROZEN.finditer(raw):
                    flag = m.group(1)
                    effect = (
                        "ignores every index setting and downloads from the URLs in the lock "
                        "file, bypassing the proxy"
                        if flag == "--frozen"
                        else "fails because the proxy is a different index than the lock "
                        "file records"
                    )
                    yield ctx.warning_at(
                        start + m.start(), "uv-frozen-lock",
                        f"`{m.group(0).strip()}` with a uv.lock: uv {effect} "
                        "(https://github.com/astral-sh/uv/issues/6349); see the pipnexus README "
                        "on lock files",
                    )
    if not _POETRY_MIRROR.search(text.text):
        poetry = min(
            (m for m in (_POETRY.search(text.text, sl.owner_start, sl.owner_end)
                         for sl in ctx.lists) if m),
            key=lambda m: m.start(), default=None,
        )
        if poetry:
            yield ctx.warning_at(
                poetry.start(), "poetry-no-mirror",
                "poetry ignores PIP_INDEX_URL: add poetry-plugin-pypi-mirror (`poetry self add "
                "poetry-plugin-pypi-mirror`) so pipnexus can point it at the proxy",
            )
