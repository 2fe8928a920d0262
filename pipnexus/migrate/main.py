"""`pipnexus migrate`: command line. Standard library only at import time."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from typing import Any, NamedTuple

from pipnexus.diagnostics import Diagnostic, as_json, format_info, format_text
from pipnexus.errors import InputError
from pipnexus.migrate.model import ALL_CACHES, DEFAULT_ACTION_REF, STRATEGIES, Change, Options
from pipnexus.options import add_format, add_index_location, given

# OWNER/REPO[/PATH]@REF or ./PATH, optionally followed by ` # comment` (e.g. a SHA's version)
_ACTION_REF = re.compile(
    r"^(?P<ref>\./[A-Za-z0-9_./-]*|[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[A-Za-z0-9_./+-]+)"
    r"(?:\s+#\s*(?P<comment>[^\s#][^\r\n#]*))?$"
)
# below this many files a process pool costs more than it saves
_POOL_MIN_FILES = 48


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="workflow/action files or directories (default: .github/ of the current directory; "
        "directories are searched for workflows/*.yml|yaml and action.yml|yaml)",
    )
    mode = parser.add_argument_group("mode (default: rewrite files in place)")
    mode.add_argument("--diff", action="store_true",
                      help="print a unified diff (coloured on a terminal), change nothing")
    mode.add_argument("--check", action="store_true",
                      help="change nothing, exit 1 if any file would change")
    add_format(parser, "report format (default: text)")
    parser.add_argument("--action-ref", metavar="OWNER/REPO@REF",
                        help="what the inserted step uses, optionally with a comment "
                        "('OWNER/REPO@SHA # v1.0.0'); given, it also re-pins the pipnexus steps "
                        f"already there (default: {DEFAULT_ACTION_REF}, no re-pinning)")
    parser.add_argument("--caches", default=",".join(ALL_CACHES), metavar="LIST",
                        help="comma-separated caches to drop, of pip,pipenv,poetry,uv "
                        "(default: all four)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="remove",
                        help="remove: drop the caches and insert the pipnexus step (default); "
                        "conditional: keep the caches, used only when the pipnexus step did not "
                        "pick Nexus; hook: for runners with the pipnexus job-started hook, drop "
                        "the caches and insert no step (what is kept is gated on the hook's "
                        "env.PIPNEXUS_HOOK_SOURCE)")
    jobs = parser.add_argument_group(
        "which jobs", "default: those on self-hosted runners; jobs on GitHub-hosted runners are "
        "left as they are, and jobs whose runner is unknown get the conditional form (with "
        "hook: gated on the hook's marker, no step)")
    jobs.add_argument("--runners", metavar="LABEL,...",
                      help="comma-separated labels (or runner group names) of your self-hosted "
                      "runners, e.g. an ARC scale set's name: only jobs that ask for one of them "
                      "(or for `self-hosted`) are migrated")
    jobs.add_argument("--all-jobs", action="store_true",
                      help="migrate every job with --strategy, GitHub-hosted ones included")
    step = parser.add_argument_group(
        "the inserted step's inputs", "written into its `with:`, for runners without "
        "PIPNEXUS_* settings (never a password: URLs with credentials are refused)")
    # the shared options; a group takes the same add_argument calls as the parser it is of
    add_index_location(step)  # type: ignore[arg-type]


class FileReport(NamedTuple):
    path: str
    changed: bool
    written: bool
    error: Diagnostic | None
    changes: tuple[Change, ...]
    findings: list[Diagnostic]
    diff: str


def _file_error(path: str, line: int, col: int, message: str, code: str) -> Diagnostic:
    return Diagnostic("error", message, code, path, line, col)


def _options(args: argparse.Namespace) -> Options:
    caches = [c.strip().lower() for c in args.caches.split(",") if c.strip()]
    bad = [c for c in caches if c not in ALL_CACHES]
    if bad or not caches:
        raise InputError(f"--caches: unknown cache {', '.join(bad) or '(empty)'}; "
                         f"choose from {','.join(ALL_CACHES)}")
    options = Options(caches=frozenset(caches), strategy=args.strategy,
                      runners=_runners(args.runners), all_jobs=bool(args.all_jobs),
                      step_inputs=_step_inputs(args))
    if args.action_ref is None:
        return options
    m = _ACTION_REF.match(args.action_ref.strip())
    if not m:
        raise InputError(f"--action-ref {args.action_ref.strip()!r}: expected "
                         "OWNER/REPO[/PATH]@REF or ./PATH, optionally followed by ' # COMMENT'")
    return options._replace(action_ref=m.group("ref"),
                            action_comment=(m.group("comment") or "").strip(), repin=True)


def _runners(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    labels = frozenset(x.strip().lower() for x in value.split(",") if x.strip())
    if not labels:
        raise InputError("--runners: give at least one runner label, e.g. --runners arc-runner-set")
    if any(any(c.isspace() or c in "\"'{}[]$#" for c in x) for x in labels):
        raise InputError("--runners: a label has a blank or a YAML special character")
    return labels


def _step_inputs(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The `with:` of the inserted step, validated as the action would read it."""
    from pipnexus.probe.candidates import resolve_candidates
    from pipnexus.urls import parse_url

    index_urls = [u for value in args.index_url for u in value.split()]
    nexus_url, repository = given(args.nexus_url), given(args.repository)
    if not (index_urls or nexus_url or repository):
        return ()
    if repository and not nexus_url:
        raise InputError("--repository goes with --nexus-url (or give the whole --index-url)")
    if index_urls and nexus_url:
        raise InputError("give --index-url or --nexus-url, not both (the action would use only "
                         "the index URL)")
    for value, what in [*((u, "--index-url") for u in index_urls), (nexus_url, "--nexus-url")]:
        if value and parse_url(value, what).has_credentials:
            raise InputError(
                f"{what} has a user name or password: migrate writes it into the workflow, "
                "which is no place for a secret; give the URL without them and pass the "
                "action's `username`/`password` inputs from secrets by hand"
            )
    resolve_candidates(index_urls, nexus_url, repository, {})  # the action's own checks
    if index_urls:
        return (("index-url", " ".join(index_urls)),)
    assert nexus_url is not None
    return (("nexus-url", nexus_url), *((("repository", repository),) if repository else ()))


def process(path: str, options: Options, write: bool, want_diff: bool, color: bool) -> FileReport:
    """Migrate one file on disk (run in a worker process for large batches)."""
    try:
        return _process(path, options, write, want_diff, color)
    except Exception as e:  # a bug must not stop the other files; PIPNEXUS_DEBUG=1 re-raises
        if os.environ.get("PIPNEXUS_DEBUG"):
            raise
        problem = f"internal error: {type(e).__name__}: {e}; file left unchanged"
        error = _file_error(path, 1, 1, problem, "internal-error")
        return FileReport(path, False, False, error, (), [], "")


def _process(path: str, options: Options, write: bool, want_diff: bool, color: bool) -> FileReport:
    from pathlib import Path

    from pipnexus.migrate import files
    from pipnexus.migrate.diff import unified_diff
    from pipnexus.migrate.driver import migrate_text

    p = Path(path)
    text = files.read_text(p)
    if isinstance(text, files.ReadError):
        error = _file_error(path, text.line, text.col, text.message, "unreadable-file")
        return FileReport(path, False, False, error, (), [], "")
    # the uv.lock only matters to the `uv sync|run|export --frozen` report: skip the file
    # system walk for the (many) files that never mention uv
    if "uv" in text and (files.repo_root(p) / "uv.lock").is_file():
        options = options._replace(uv_lock=True)
    result = migrate_text(text, path, options)
    findings = list(result.findings)
    if result.error:
        return FileReport(path, False, False, result.error, (), findings, "")
    changes = result.changes
    diff = unified_diff(path, text, result.new_text, color) if want_diff and result.changed else ""
    if result.changed and write:
        problem = files.rewrite(p, result.new_text)
        if problem:
            error = _file_error(path, 1, 1, problem, "unwritable-file")
            return FileReport(path, True, False, error, changes, findings, diff)
        return FileReport(path, True, True, None, changes, findings, diff)
    return FileReport(path, result.changed, False, None, changes, findings, diff)


def _run_all(paths: list[str], options: list[Options], write: bool, want_diff: bool,
             color: bool) -> list[FileReport]:
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < _POOL_MIN_FILES or workers < 2:
        return [process(p, o, write, want_diff, color) for p, o in zip(paths, options)]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    n = len(paths)
    try:
        with ProcessPoolExecutor(workers) as pool:
            return list(pool.map(
                process, paths, options, [write] * n, [want_diff] * n, [color] * n,
                chunksize=max(1, n // (workers * 4)),
            ))
    except (OSError, NotImplementedError, BrokenProcessPool):
        # no usable process pool here (sandbox, no /dev/shm): do the work in this process;
        # files already written are unchanged by a second pass (idempotent)
        return [process(p, o, write, want_diff, color) for p, o in zip(paths, options)]


def _problem(path: str, message: str) -> Diagnostic:
    """A path that could not be used at all (missing, not a file)."""
    return Diagnostic("error", message, "unreadable-file", path)


def _summary(report: FileReport) -> str:
    counts = Counter(change.rule for change in report.changes)
    return ", ".join(f"{rule} x{n}" if n > 1 else rule for rule, n in counts.items())


def run(args: argparse.Namespace) -> int:
    from pipnexus.migrate import files

    options = _options(args)
    raw_paths = list(args.paths)
    if not raw_paths:
        if not os.path.isdir(".github"):
            raise InputError("no PATH given and no .github/ directory here")
        raw_paths = [".github"]
    found, problems = files.discover(raw_paths)
    write = not (args.check or args.diff)
    color = bool(args.diff) and args.format == "text" and sys.stdout.isatty()
    # a file named on the command line is always parsed, so an invalid one is an error even
    # without any of the words that let the others be skipped unparsed
    named = {os.path.realpath(p) for p in raw_paths if os.path.isfile(p)}
    each = [options._replace(parse_all=os.path.realpath(p) in named) for p in found]
    reports = _run_all([str(p) for p in found], each, write, bool(args.diff), color)
    errors = len(problems) + sum(1 for r in reports if r.error)
    changed = sum(1 for r in reports if r.changed)

    if args.format == "json":
        import json

        doc: dict[str, Any] = {
            "files": [_json_file(r, args.diff) for r in reports],
            "errors": [as_json(_problem(p, m)) for p, m in problems],
            "summary": {"files": len(reports), "changed": changed, "errors": errors,
                        "written": sum(1 for r in reports if r.written)},
        }
        print(json.dumps(doc, indent=2))
    else:
        for raw, message in problems:
            print(format_text(_problem(raw, message)), file=sys.stderr)
        for r in reports:
            for finding in r.findings:
                print(format_text(finding), file=sys.stderr)
            if r.error:
                print(format_text(r.error), file=sys.stderr)
            if r.diff:
                sys.stdout.write(r.diff)
            if r.changed and not args.diff:
                verb = "rewrote" if r.written else "would rewrite"
                if not r.error:
                    print(format_info("pipnexus migrate", f"{verb} {r.path} ({_summary(r)})"))
    if errors:
        return 2
    if args.check and changed:
        return 1
    return 0


def _json_file(r: FileReport, with_diff: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": r.path,
        "changed": r.changed,
        "written": r.written,
        "error": None if r.error is None else as_json(r.error),
        "changes": [{"line": c.line, "rule": c.rule, "message": c.message} for c in r.changes],
        "findings": [as_json(f) for f in r.findings],
    }
    if with_diff:
        out["diff"] = r.diff
    return out
