"""``pipnexus nexus values``: Helm values for the stevehipwell/nexus3 chart (5.x).

The values are rendered as text by a small emitter so that every choice carries a comment and
the output is byte-for-byte reproducible (examples/nexus/values.yaml is checked against it).
Standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NamedTuple

from pipnexus import options, urls
from pipnexus.diagnostics import format_info
from pipnexus.errors import InputError
from pipnexus.fsutil import atomic_write
from pipnexus.nexus import schema
from pipnexus.nexus.emit import emit

DEFAULT_REPOSITORY = options.DEFAULT_REPOSITORY
DEFAULT_REMOTE_URL = "https://pypi.org"
DEFAULT_BLOB_STORE = "default"
DEFAULT_METADATA_MAX_AGE = 60
DOCKER_HUB_REPOSITORY = "docker-hub"
DOCKER_HUB_PORT = 8082
# uv's UV_PYTHON_INSTALL_MIRROR replaces this prefix of python-build-standalone's asset URLs
# (<prefix>/<release tag>/<asset>): the raw proxy's remote is exactly it
PYTHON_MIRROR_REPOSITORY = "python-build-standalone"
PYTHON_MIRROR_REMOTE = "https://github.com/astral-sh/python-build-standalone/releases/download"
ROOT_SECRET = "nexus3-root-password"


class Options(NamedTuple):
    repository: str = DEFAULT_REPOSITORY
    remote_url: str = DEFAULT_REMOTE_URL
    blob_store: str = DEFAULT_BLOB_STORE
    metadata_max_age: int = DEFAULT_METADATA_MAX_AGE
    storage_class: str | None = None
    anonymous: bool = True
    docker_hub: bool = False
    # name of the raw proxy for uv's interpreter downloads; None: none
    python_mirror: str | None = PYTHON_MIRROR_REPOSITORY


def add_repository_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``values`` and ``apply`` that describe the repositories."""
    options.add_repository(
        parser, help_text=f"name of the PyPI proxy repository (default: {DEFAULT_REPOSITORY})"
    )
    parser.add_argument(
        "--remote-url",
        metavar="URL",
        help=f"upstream index root, without /simple (default: {DEFAULT_REMOTE_URL})",
    )
    parser.add_argument(
        "--blob-store",
        metavar="NAME",
        help=f"blob store for the cached files (default: {DEFAULT_BLOB_STORE}); any other "
        "name becomes a file blob store of that name",
    )
    parser.add_argument(
        "--metadata-max-age",
        metavar="MINUTES",
        type=int,
        help="how long Nexus serves a cached project page before asking upstream again, i.e. "
        f"the longest delay before a new release shows up (default: {DEFAULT_METADATA_MAX_AGE})",
    )
    parser.add_argument(
        "--docker-hub",
        action="store_true",
        default=None,
        help=f"also add a Docker Hub proxy repository ({DOCKER_HUB_REPOSITORY}, port "
        f"{DOCKER_HUB_PORT}) against Docker Hub's pull rate limit",
    )
    mirror = parser.add_mutually_exclusive_group()
    mirror.add_argument(
        "--python-mirror",
        metavar="NAME",
        help="name of the raw proxy repository for python-build-standalone interpreters "
        f"(uv's UV_PYTHON_INSTALL_MIRROR; default: {PYTHON_MIRROR_REPOSITORY})",
    )
    mirror.add_argument(
        "--no-python-mirror",
        dest="python_mirror",
        action="store_const",
        const="",
        help="no interpreter mirror repository",
    )
    parser.add_argument(
        "--anonymous",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow anonymous reads, so CI jobs need no credentials (values: on by default; "
        "apply: left as it is unless given)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repository_arguments(parser)
    parser.add_argument(
        "--storage-class",
        metavar="NAME",
        help="StorageClass of the data volume (default: the cluster's default class)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the values to FILE (atomically) instead of standard output",
    )


def options_from_args(args: argparse.Namespace) -> Options:
    d = Options()
    opts = Options(
        repository=args.repository if args.repository is not None else d.repository,
        remote_url=args.remote_url if args.remote_url is not None else d.remote_url,
        blob_store=args.blob_store if args.blob_store is not None else d.blob_store,
        metadata_max_age=(
            args.metadata_max_age if args.metadata_max_age is not None else d.metadata_max_age
        ),
        storage_class=getattr(args, "storage_class", None),
        anonymous=args.anonymous if args.anonymous is not None else d.anonymous,
        docker_hub=bool(args.docker_hub),
        python_mirror=(
            d.python_mirror if args.python_mirror is None else (args.python_mirror or None)
        ),
    )
    check_options(opts)
    return opts


def check_options(opts: Options) -> None:
    if not urls.is_repository_name(opts.repository):
        raise InputError(f"--repository {opts.repository!r}: {schema.NAME_MESSAGE}")
    if opts.docker_hub and opts.repository == DOCKER_HUB_REPOSITORY:
        raise InputError(f"--repository {DOCKER_HUB_REPOSITORY!r} is taken by --docker-hub")
    if opts.python_mirror is not None:
        if not urls.is_repository_name(opts.python_mirror):
            raise InputError(f"--python-mirror {opts.python_mirror!r}: {schema.NAME_MESSAGE}")
        taken = [opts.repository] + ([DOCKER_HUB_REPOSITORY] if opts.docker_hub else [])
        if opts.python_mirror in taken:
            raise InputError(f"--python-mirror {opts.python_mirror!r}: the name is taken")
    if not urls.is_repository_name(opts.blob_store):
        raise InputError(f"--blob-store {opts.blob_store!r}: {schema.NAME_MESSAGE}")
    try:
        urls.validate_url(opts.remote_url, "--remote-url")
    except InputError as e:
        raise InputError(f"{e} (expected an http(s) URL)") from None
    if remote_url_has_simple(opts.remote_url):
        raise InputError(
            f"--remote-url {opts.remote_url!r}: give the index root without /simple "
            "(Nexus appends /simple/<project>/ itself)"
        )
    if "@" in opts.remote_url.split("/")[2]:
        raise InputError("--remote-url must not contain credentials")
    if opts.metadata_max_age < -1:
        raise InputError("--metadata-max-age: minutes, or -1 for never")
    if opts.storage_class is not None and not re.match(
        r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?\Z", opts.storage_class
    ):
        raise InputError(f"--storage-class {opts.storage_class!r}: not a Kubernetes name")


def remote_url_has_simple(url: str) -> bool:
    return url.rstrip("/").endswith("/simple")


def _proxy_repository(
    opts: Options, name: str, fmt: str, proxy: dict[str, Any], strict: bool = True
) -> dict[str, Any]:
    """The fields every proxy repository we write shares, in the order the chart entry shows."""
    return {
        "name": name,
        "format": fmt,
        "type": "proxy",
        "online": True,
        "storage": {"blobStoreName": opts.blob_store, "strictContentTypeValidation": strict},
        "proxy": proxy,
        "negativeCache": {"enabled": True, "timeToLive": 10},
        "httpClient": {
            "blocked": False,
            "autoBlock": True,
            "connection": {"retries": 2, "timeout": 60, "useTrustStore": False},
        },
    }


def pypi_repository(opts: Options) -> dict[str, Any]:
    """The PyPI proxy as chart entry: the full REST body plus ``format`` and ``type``."""
    proxy = {
        "remoteUrl": opts.remote_url,
        "contentMaxAge": -1,
        "metadataMaxAge": opts.metadata_max_age,
    }
    return {
        **_proxy_repository(opts, opts.repository, "pypi", proxy),
        "pypi": {"removeQuarantined": False},
    }


def docker_hub_repository(opts: Options) -> dict[str, Any]:
    proxy = {"remoteUrl": "https://registry-1.docker.io", "contentMaxAge": 1440,
             "metadataMaxAge": 1440}
    return {
        **_proxy_repository(opts, DOCKER_HUB_REPOSITORY, "docker", proxy),
        "docker": {
            "v1Enabled": False,
            "forceBasicAuth": not opts.anonymous,
            "httpPort": DOCKER_HUB_PORT,
        },
        "dockerProxy": {"indexType": "HUB", "cacheForeignLayers": False},
    }


def python_mirror_repository(opts: Options, name: str) -> dict[str, Any]:
    """The raw proxy of python-build-standalone releases (uv's UV_PYTHON_INSTALL_MIRROR).

    Release assets never change once published, and uv asks for exact asset names that its
    own download list pins with a sha256: content and metadata are cached for ever (-1, the
    value Nexus's ProxyFacetSupport reads as "never expire")."""
    proxy = {"remoteUrl": PYTHON_MIRROR_REMOTE, "contentMaxAge": -1, "metadataMaxAge": -1}
    return {
        **_proxy_repository(opts, name, "raw", proxy, strict=False),
        "raw": {"contentDisposition": "ATTACHMENT"},
    }


def repositories(opts: Options) -> list[dict[str, Any]]:
    repos = [pypi_repository(opts)]
    if opts.python_mirror:
        repos.append(python_mirror_repository(opts, opts.python_mirror))
    if opts.docker_hub:
        repos.append(docker_hub_repository(opts))
    return repos


def blob_stores(opts: Options) -> list[dict[str, Any]]:
    """config.blobStores entries (the REST body plus ``type``): none for 'default'."""
    if opts.blob_store == DEFAULT_BLOB_STORE:
        return []
    return [{"name": opts.blob_store, "type": "file", "path": opts.blob_store}]


def values(opts: Options) -> dict[str, Any]:
    persistence: dict[str, Any] = {"enabled": True}
    if opts.storage_class:
        persistence["storageClass"] = opts.storage_class
    persistence["size"] = "50Gi"
    config: dict[str, Any] = {
        "enabled": True,
        "anonymous": {"enabled": opts.anonymous},
    }
    if opts.docker_hub:
        config["realms"] = {"enabled": True, "values": ["NexusAuthenticatingRealm", "DockerToken"]}
    config["createDefaultBlobStore"] = opts.blob_store == DEFAULT_BLOB_STORE
    config["blobStores"] = blob_stores(opts)
    config["repos"] = repositories(opts)
    out: dict[str, Any] = {
        "rootPassword": {"secret": ROOT_SECRET, "key": "password"},
        "persistence": persistence,
        "resources": {"requests": {"cpu": "500m", "memory": "3Gi"}},
    }
    if opts.docker_hub:
        out["service"] = {
            "additionalPorts": [
                {
                    "port": DOCKER_HUB_PORT,
                    "name": DOCKER_HUB_REPOSITORY,
                    "containerPort": DOCKER_HUB_PORT,
                }
            ]
        }
    out["config"] = config
    return out


def command_line(opts: Options) -> str:
    d = Options()
    parts = ["pipnexus nexus values"]
    if opts.repository != d.repository:
        parts.append(f"--repository {opts.repository}")
    if opts.remote_url != d.remote_url:
        parts.append(f"--remote-url {opts.remote_url}")
    if opts.blob_store != d.blob_store:
        parts.append(f"--blob-store {opts.blob_store}")
    if opts.metadata_max_age != d.metadata_max_age:
        parts.append(f"--metadata-max-age {opts.metadata_max_age}")
    if opts.storage_class:
        parts.append(f"--storage-class {opts.storage_class}")
    if not opts.anonymous:
        parts.append("--no-anonymous")
    if opts.python_mirror is None:
        parts.append("--no-python-mirror")
    elif opts.python_mirror != d.python_mirror:
        parts.append(f"--python-mirror {opts.python_mirror}")
    if opts.docker_hub:
        parts.append("--docker-hub")
    return " ".join(parts)


def _comments(opts: Options) -> dict[str, str]:
    """Comment lines above a key, by path (list items are named by their ``format``)."""
    age = opts.metadata_max_age
    age_text = "never re-checked" if age == -1 else f"re-checked after {age} minutes"
    if opts.anonymous:
        anon = (
            "Anonymous reads: CI jobs pip install without credentials. A new Nexus starts\n"
            "with it on (InitialAnonymousConfigurationProvider), but the config Job sets it\n"
            "from this key and the chart's default is false; without it every runner needs\n"
            "a user and password."
        )
    else:
        anon = (
            "Anonymous reads are off: every client (pip, uv, the pipnexus probe) needs a\n"
            "Nexus user; give it to pipnexus with the action's username/password inputs."
        )
    sc = (
        f"StorageClass {opts.storage_class}."
        if opts.storage_class
        else "No storageClass: the cluster's default StorageClass (--storage-class NAME)."
    )
    blob = (
        "The 'default' file blob store that Nexus creates at first start (chart >= 5.25 asks\n"
        "for it with createDefaultBlobStore; older 5.x charts always create it)."
        if opts.blob_store == DEFAULT_BLOB_STORE
        else f"A file blob store '{opts.blob_store}' under /nexus-data/blobs, created by the\n"
        "config Job before the repositories that use it."
    )
    c = {
        "rootPassword": (
            "The admin password comes from a Secret you create before installing, e.g.\n"
            f"  kubectl create secret generic {ROOT_SECRET} \\\n"
            '    --from-literal=password="$(openssl rand -base64 24)"\n'
            "With it the chart sets NEXUS_SECURITY_INITIAL_PASSWORD. Without it Nexus makes a\n"
            "random one (/nexus-data/admin.password) and the config Job is not rendered at all.\n"
            "Only 'secret' and 'key' belong here; 'config' is a top-level key."
        ),
        "persistence": (
            "The cache must survive restarts, or every restart re-downloads from upstream.\n" + sc
        ),
        "persistence.size": "Room for the wheels your CI installs; grow it with the PVC if needed.",
        "resources": (
            "Nexus is a JVM: the chart's default install4jAddVmParams are -Xms1024m -Xmx1024m\n"
            "-XX:MaxDirectMemorySize=2048m, so request enough memory not to be evicted."
        ),
        "service": (
            "Docker clients talk to a repository on its own port (docker.httpPort below);\n"
            "the Service must expose it."
        ),
        "config": (
            "The chart's config Job applies this block through the Nexus REST API after every\n"
            "install and upgrade (GET, then PUT if the repository exists or POST if not). It\n"
            "only prints 'Could not create repository' on failure: run `pipnexus nexus lint`\n"
            "on this file first, and `pipnexus nexus apply --values` shows Nexus's reasons."
        ),
        "config.enabled": "Needs rootPassword.secret: the Job logs in as admin.",
        "config.anonymous": anon,
        "config.realms": (
            "DockerToken lets docker pull anonymously (forceBasicAuth: false). Keep\n"
            "NexusAuthenticatingRealm in the list, or nobody can log in with a password."
        ),
        "config.createDefaultBlobStore": blob,
        "config.repos": (
            "Each entry is the exact REST API body plus 'format' and 'type'. The chart merges\n"
            "no defaults: a missing required field makes Nexus answer 400 'must not be null'."
        ),
        "config.repos.pypi.name": (
            "pip's index URL inside the cluster:\n"
            "  http://<service>.<namespace>.svc.cluster.local:8081/repository/"
            f"{opts.repository}/simple/"
        ),
        "config.repos.pypi.storage.strictContentTypeValidation": (
            "Reject upstream responses whose content does not match their type."
        ),
        "config.repos.pypi.proxy.remoteUrl": (
            "The index root: Nexus appends /simple/<project>/ itself, so never end it in /simple."
        ),
        "config.repos.pypi.proxy.contentMaxAge": (
            "Files (wheels, sdists) never change on PyPI once uploaded: cache them forever (-1)."
        ),
        "config.repos.pypi.proxy.metadataMaxAge": (
            f"Project pages (the list of versions) are {age_text}:\n"
            "a release published upstream shows up here at most that late. Lower it if\n"
            "you pin fresh releases; higher means fewer requests to upstream."
        ),
        "config.repos.pypi.negativeCache": (
            "Remember 'not found' answers briefly only, so a project that is just being\n"
            "published is not hidden for a day (Nexus's default timeToLive is 1440 minutes)."
        ),
        "config.repos.pypi.httpClient": (
            "Required by Nexus up to 3.94 (with blocked and autoBlock up to 3.90), optional\n"
            "since; every version reads it. autoBlock: when upstream fails, Nexus stops asking\n"
            "for a while and serves what it has cached; the pipnexus probe reports\n"
            "'remote-blocked' and falls back meanwhile."
        ),
        "config.repos.pypi.pypi": (
            "Optional block. Nexus 3.67-3.93 require removeQuarantined in it when it is sent;\n"
            "3.94 and later ignore it (a top-level firewall block replaced it)."
        ),
        "config.repos.pypi.httpClient.connection": (
            "retries, timeout and useTrustStore go under connection, not directly under\n"
            "httpClient (Nexus silently ignores them there)."
        ),
        "config.repos.raw.name": (
            "Interpreters for uv (python-build-standalone releases from GitHub); the action\n"
            "sets UV_PYTHON_INSTALL_MIRROR to\n"
            "  http://<service>.<namespace>.svc.cluster.local:8081/repository/"
            f"{opts.python_mirror}"
        ),
        "config.repos.raw.storage.strictContentTypeValidation": (
            "Off: Nexus need not sniff the archives; uv checks each one's sha256."
        ),
        "config.repos.raw.proxy.remoteUrl": (
            "The prefix uv's mirror replaces: <remoteUrl>/<release tag>/<asset name>."
        ),
        "config.repos.raw.proxy.contentMaxAge": (
            "Release assets never change and uv checks each one's sha256: cache them\n"
            "forever (-1), metadata too."
        ),
        "config.repos.raw.raw": "ATTACHMENT: Nexus never serves the archives for display.",
        "config.repos.docker.proxy.remoteUrl": "Docker Hub's registry endpoint.",
        "config.repos.docker.docker.httpPort": (
            f"docker pull <host>:{DOCKER_HUB_PORT}/library/python:3.12\n"
            "(the port is exposed in service.additionalPorts)."
        ),
        "config.repos.docker.dockerProxy.indexType": "HUB: search Docker Hub's index.",
    }
    return c


def render(opts: Options) -> str:
    lines = [
        "# Helm values for the stevehipwell/nexus3 chart (5.x): a PyPI proxy for CI.",
        f"# Generated by: {command_line(opts)}",
        "# Install:  helm repo add stevehipwell https://stevehipwell.github.io/helm-charts/",
        "#           helm upgrade --install nexus3 stevehipwell/nexus3 -n nexus -f values.yaml",
        "# Check edits with `pipnexus nexus lint values.yaml` before every upgrade.",
        "",
    ]
    emit(values(opts), "", "", _comments(opts), lines)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    opts = options_from_args(args)
    text = render(opts)
    if args.output and args.output != "-":
        try:
            atomic_write(args.output, text.encode("utf-8"))
        except OSError as e:
            raise InputError(f"cannot write {args.output}: {e.strerror}") from None
        print(format_info("pipnexus nexus values", f"wrote {args.output}"), file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
