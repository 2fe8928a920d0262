"""``pipnexus nexus lint FILE``: check stevehipwell/nexus3 values against Nexus and the chart.

Prints one diagnostic a line, ``FILE:LINE:COL: severity: message [code]`` (or ``--format
json``); exit 1 on errors, 2 when the file cannot be read or is not valid YAML.
The rules are those of one Nexus version: ``--nexus-version``, else the values' ``image.tag``,
else the newest known (:data:`pipnexus.nexus.schema.NEWEST`). The checks of each repository
are in :mod:`pipnexus.nexus.lint_repo`. ruamel.yaml is imported only when linting runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from pipnexus import diagnostics, options
from pipnexus.diagnostics import Diagnostic
from pipnexus.errors import InputError
from pipnexus.nexus import schema
from pipnexus.nexus.chart_keys import (
    CHART_KEYS,
    CONFIG_ALL_KEYS,
    CONFIG_AT_TOP,
    CONFIG_MARKERS,
    HELM_KEYS,
    ROOT_PASSWORD_KEYS,
)
from pipnexus.nexus.lint_repo import Pos, RepoLinter, Sink, is_map, item_at, key_at, node_at


class YamlSyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message

    def diagnostic(self, path: str | None = None) -> Diagnostic:
        return Diagnostic("error", self.message, "yaml-syntax", path, self.line, self.column)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the values file (- for stdin)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="report errors only, no warnings"
    )
    parser.add_argument(
        "--nexus-version",
        metavar="X.Y.Z",
        help="check against this Nexus version's rules (default: the version in image.tag, "
        f"else the newest known, {schema.NEWEST})",
    )
    options.add_format(
        parser,
        "text: one 'FILE:LINE:COL: severity: message [code]' a line (default); json: a list of "
        "objects with the same fields",
    )


def parse_nexus_version(value: str | None) -> schema.Version | None:
    if not value:
        return None
    try:
        return schema.parse_version(value)
    except ValueError:
        raise InputError("--nexus-version must be a Nexus version such as 3.95.1") from None


def load(text: str) -> Any:
    """Parse with ruamel.yaml round-trip (keeps line numbers); raise YamlSyntaxError."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise YamlSyntaxError(line, col, f"invalid YAML: {what}") from None
    except YAMLError as e:
        raise YamlSyntaxError(1, 1, f"invalid YAML: {e}") from None


def version_of(doc: Any) -> schema.Version | None:
    """The Nexus version that the values' ``image.tag`` names, if it names one."""
    image = doc.get("image") if isinstance(doc, dict) else None
    tag = image.get("tag") if isinstance(image, dict) else None
    return schema.version_from_tag(tag) if isinstance(tag, str) else None


# image blocks whose tag the chart's nexus3.image helper compares with a string
# the plain scalars YAML 1.1 reads as false besides false/False/FALSE (yaml.org/type/bool.html)
YAML11_FALSE = frozenset({"n", "N", "no", "No", "NO", "off", "Off", "OFF"})
IMAGE_TAGS = ("image.tag", "bashImage.tag", "jdkImage.tag", "config.job.image.tag")


class _Linter(Sink):
    def __init__(self, version: schema.Version, every_version: bool, source: str) -> None:
        super().__init__(version, every_version)
        self.source = source.splitlines()  # for values as written

    def lint(self, doc: Any) -> list[Diagnostic]:
        if doc is None:
            self.error((1, None), "empty values file", "invalid-value")
            return self.diagnostics
        if not is_map(doc):
            self.error(node_at(doc), "values must be a mapping at the top level", "invalid-value")
            return self.diagnostics
        props = doc.get("properties")
        self.url_encoding_mode = isinstance(props, list) and any(
            isinstance(p, str) and p.replace(" ", "") == schema.URL_ENCODING_PROPERTY
            for p in props
        )
        self.root_password(doc)
        self.misnested_config(doc, "", top=True)
        for key in CONFIG_AT_TOP:
            if key in doc:
                self.error(
                    key_at(doc, key),
                    f"'{key}' at the top level is ignored by the chart; it belongs under config",
                    "misplaced-key",
                )
        self.unknown_keys(doc, "", CHART_KEYS | HELM_KEYS | frozenset(CONFIG_AT_TOP))
        config = doc.get("config")
        if is_map(config):
            self.unknown_keys(config, "config.", CONFIG_ALL_KEYS)
        if config is not None and not is_map(config):
            self.error(key_at(doc, "config"), "config must be a mapping", "invalid-value")
            config = None
        self.persistence(doc)
        for path in IMAGE_TAGS:
            self.image_tag(doc, path)
        if config is not None:
            self.config(doc, config)
        order = {"error": 0, "warning": 1, "note": 2}
        return sorted(self.diagnostics, key=lambda d: (d.line or 0, order[d.severity], d.col or 0))

    def unknown_keys(self, node: Any, prefix: str, known: frozenset[str]) -> None:
        import difflib

        for key in node:
            if not isinstance(key, str) or key in known:
                continue
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            hint = f"; did you mean {prefix}{close[0]}?" if close else ""
            self.warn(
                key_at(node, key),
                f"unknown key {prefix}{key}: the chart ignores it{hint}",
                "unknown-key",
            )

    def root_password(self, doc: Any) -> None:
        rp = doc.get("rootPassword")
        if rp is None:
            return
        if not is_map(rp):
            self.error(
                key_at(doc, "rootPassword"),
                "rootPassword must be a mapping with 'secret' (the name of a Secret holding "
                "the admin password) and 'key'; the chart takes no inline password",
                "root-password",
            )
            return
        for key in rp:
            if key in ROOT_PASSWORD_KEYS:
                continue
            at = key_at(rp, key)
            if key == "config":
                self.error(
                    at,
                    "'config' is nested under rootPassword, so the chart ignores it; "
                    "it must be a top-level key (unindent it)",
                    "misplaced-key",
                )
            elif key in ("password", "value"):
                self.error(
                    at,
                    f"unknown key rootPassword.{key}: the chart reads the password from the "
                    "Secret named by rootPassword.secret (and rootPassword.key)",
                    "root-password",
                )
            else:
                self.error(
                    at,
                    f"unknown key rootPassword.{key}: only rootPassword.secret and "
                    "rootPassword.key exist",
                    "root-password",
                )

    def misnested_config(self, node: Any, path: str, top: bool = False) -> None:
        if is_map(node):
            for key, value in node.items():
                p = f"{path}.{key}" if path else str(key)
                if (
                    key == "config"
                    and not top
                    and path != "rootPassword"  # reported by root_password
                    and is_map(value)
                    and CONFIG_MARKERS.intersection(value)
                ):
                    self.error(
                        key_at(node, key),
                        f"a 'config' block is nested under {path}, so the chart ignores it; "
                        "it must be a top-level key",
                        "misplaced-key",
                    )
                if path == "" and key == "config":
                    continue  # the real one
                self.misnested_config(value, p)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self.misnested_config(item, f"{path}[{i}]")

    def image_tag(self, doc: Any, path: str) -> None:
        """A tag YAML reads as a number or boolean: the chart's ``nexus3.image`` helper compares
        it with a string (``ne .tag "-"``, stevehipwell/helm-charts: charts/nexus3/templates/
        _helpers.tpl), which helm refuses ("incompatible types for comparison")."""
        node = doc
        for part in path.split("."):
            if not is_map(node):
                return
            parent, node = node, node.get(part)
        if node is None or isinstance(node, str) or not is_map(parent):
            return
        raw = self.source_text(parent, "tag") or str(node).lower()
        self.error(
            key_at(parent, "tag"),
            f"{path}: {raw} is a {'boolean' if isinstance(node, bool) else 'number'} in YAML, "
            f'and the chart compares the tag with a string, so helm fails; quote it: tag: "{raw}"',
            "invalid-value",
        )

    def source_text(self, m: Any, key: str) -> str | None:
        """The value of ``key`` as written in the file (``3.90``, not the float 3.9)."""
        try:
            line, col = m.lc.value(key)
            found = re.match(r"[^\s,\]}#]+", self.source[int(line)][int(col) :])
        except (AttributeError, KeyError, TypeError, IndexError):
            return None
        return found.group(0) if found else None

    def helm_value(self, m: Any, key: str) -> Any:
        """``m[key]`` as Helm reads it: a plain ``no``/``off``/``n`` is a string in YAML 1.2
        (ruamel) but false in the YAML 1.1 of sigs.k8s.io/yaml, which Helm reads values with
        (its go-yaml v2 fork: kubernetes/kubernetes: vendor/sigs.k8s.io/yaml/goyaml.v2,
        resolve.go). Quoted, it stays a string (true in a template's ``if``)."""
        value = m.get(key)
        if isinstance(value, str) and self.source_text(m, key) in YAML11_FALSE:
            return False
        return value

    def persistence(self, doc: Any) -> None:
        pers = doc.get("persistence")
        if not is_map(pers) or not self.helm_value(pers, "enabled"):
            at = key_at(doc, "persistence") if "persistence" in doc else (1, None)
            self.warn(
                at,
                "persistence.enabled is not true: the cache lives in an emptyDir and is lost "
                "(re-downloaded from upstream) whenever the pod restarts",
                "no-persistence",
            )

    def config(self, doc: Any, config: Any) -> None:
        rp = doc.get("rootPassword")
        secret = rp.get("secret") if is_map(rp) else None
        self.config_disabled(doc, config)
        if config.get("enabled") is True and not secret:
            self.error(
                key_at(config, "enabled"),
                "config.enabled needs rootPassword.secret: the chart renders the config Job "
                "only when both are set, so nothing below would be applied",
                "root-password",
            )
        if "rootPassword" in config:
            self.error(
                key_at(config, "rootPassword"),
                "config.rootPassword was replaced by the top-level rootPassword in chart 4.19 "
                "and is ignored by chart 5.x",
                "root-password",
            )
        anon = config.get("anonymous")
        if anon is not None and not is_map(anon):
            self.error(
                key_at(config, "anonymous"),
                "config.anonymous must be a mapping, e.g. 'anonymous: {enabled: true}'",
                "invalid-value",
            )
        realm_values = self.realms(config)
        blob_stores = self.blob_stores(config)
        repos = config.get("repos")
        if repos is None:
            return
        if not isinstance(repos, list):
            self.error(key_at(config, "repos"), "config.repos must be a list", "invalid-value")
            return
        ports = self.additional_ports(doc)
        names: dict[str, int] = {}
        for i, repo in enumerate(repos):
            at = item_at(repos, i)
            if not is_map(repo):
                self.error(
                    at, f"config.repos[{i}] must be a mapping (a REST API body)", "invalid-value"
                )
                continue
            RepoLinter(self, repo, i, at, blob_stores, ports, realm_values).lint()
            name = repo.get("name")
            if isinstance(name, str) and name:
                key = name.lower()
                if key in names:
                    self.error(
                        at,
                        f"config.repos[{i}]: repository name '{name}' is already used on line "
                        f"{names[key]} (Nexus names are unique ignoring case)",
                        "duplicate-name",
                    )
                else:
                    names[key] = at[0]

    def config_disabled(self, doc: Any, config: Any) -> None:
        """The chart renders its config Job (and the ConfigMap of its bodies) only when
        ``config.enabled`` is true in Go's sense (stevehipwell/helm-charts: charts/nexus3/
        templates/job-config.yaml, configmap-config.yaml), so every list below is then dead."""
        enabled = self.helm_value(config, "enabled")
        if enabled:
            return
        dead = [k for k in ("blobStores", "repos") if isinstance(config.get(k), list) and config[k]]
        if not dead:
            return
        if "enabled" in config:
            written = self.source_text(config, "enabled") if enabled is not None else None
            at, what = key_at(config, "enabled"), f"is {written or 'empty'}"
        else:
            at, what = key_at(doc, "config"), "is not set (the chart's default: false)"
        lists = " and ".join(f"config.{k}" for k in dead)
        self.error(
            at,
            f"config.enabled {what}: the chart renders no config Job, so {lists} "
            f"{'are' if len(dead) > 1 else 'is'} never applied; set config.enabled: true",
            "config-disabled",
        )

    def realms(self, config: Any) -> list[Any] | None:
        realms = config.get("realms")
        if not (is_map(realms) and realms.get("enabled")):
            return None
        vals = realms.get("values")
        realm_values = list(vals) if isinstance(vals, list) else []
        if "NexusAuthenticatingRealm" not in realm_values:
            self.error(
                key_at(realms, "values") if "values" in realms else key_at(config, "realms"),
                "config.realms.values lacks NexusAuthenticatingRealm: the Job replaces the "
                "active realms, and nobody (not even the Job) could log in with a password",
                "missing-realm",
            )
        return realm_values

    def blob_stores(self, config: Any) -> set[str]:
        stores: set[str] = set()
        if config.get("createDefaultBlobStore", True) is not False:
            stores.add("default")
        bs = config.get("blobStores")
        if bs is None:
            return stores
        if not isinstance(bs, list):
            self.error(
                key_at(config, "blobStores"), "config.blobStores must be a list", "invalid-value"
            )
            return stores
        for i, store in enumerate(bs):
            at = item_at(bs, i)
            if not is_map(store):
                self.error(at, f"config.blobStores[{i}] must be a mapping", "invalid-value")
                continue
            self.blob_store(store, i, at)
            if isinstance(store.get("name"), str):
                stores.add(store["name"])
        return stores

    def blob_store(self, store: Any, i: int, at: Pos) -> None:
        if not store.get("type"):
            self.error(at, f"config.blobStores[{i}].type: must not be empty", "missing-field")
        if store.get("type") not in (None, "", "file"):
            return  # only file blob stores are in the table
        for field in self.required(schema.BLOB_STORE_FIELDS):
            if not store.get(field.path):
                self.error(
                    at,
                    f"config.blobStores[{i}].{field.path}: {field.message} (required by "
                    f"{field.versions}, linted for {self.linted_for})",
                    "missing-field",
                )

    def additional_ports(self, doc: Any) -> set[int] | None:
        service = doc.get("service")
        ports: set[int] = set()
        if is_map(service) and isinstance(service.get("additionalPorts"), list):
            for p in service["additionalPorts"]:
                if is_map(p):
                    for k in ("containerPort", "port"):
                        if isinstance(p.get(k), int):
                            ports.add(p[k])
        return ports


def lint_text(
    text: str, version: schema.Version | None = None, every_version: bool = False
) -> list[Diagnostic]:
    """Diagnostics (without a path) for a values document, for Nexus ``version`` (default:
    the document's image.tag, else the newest known), or with ``every_version`` only the
    errors of every known version; raises YamlSyntaxError."""
    doc = load(text)
    return _Linter(version or version_of(doc) or schema.NEWEST, every_version, text).lint(doc)


def read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}", "unreadable-file") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {path}: not UTF-8 text", "unreadable-file") from None


def emit(found: list[Diagnostic], fmt: str, extra: dict[str, object] | None = None) -> None:
    """Print diagnostics as text lines or, with ``fmt == "json"``, one JSON document: a list of
    :func:`diagnostics.as_json` objects, or ``extra`` with that list under "diagnostics"."""
    if fmt != "json":
        for d in found:
            print(diagnostics.format_text(d))
        return
    items = [diagnostics.as_json(d) for d in found]
    doc: object = {**extra, "diagnostics": items} if extra is not None else items
    print(json.dumps(doc, indent=2))


def run(args: argparse.Namespace) -> int:
    version = parse_nexus_version(args.nexus_version)
    text = read(args.file)
    try:
        found = lint_text(text, version)
    except YamlSyntaxError as e:
        d = e.diagnostic(args.file)
        if args.format == "json":
            emit([d], "json")
        else:
            print(diagnostics.format_text(d), file=sys.stderr)
        return 2
    shown = [d._replace(path=args.file) for d in found]
    if args.quiet:
        shown = [d for d in shown if d.severity == "error"]
    emit(shown, args.format)
    errors = sum(d.severity == "error" for d in found)
    if errors and args.format != "json":
        summary = f"{args.file}: {errors} error{'s' if errors != 1 else ''}"
        print(diagnostics.format_info("pipnexus nexus lint", summary), file=sys.stderr)
    return 1 if errors else 0
