"""How Nexus's raw proxy turns a request path into the path it asks its remote for.

Nexus decodes the request path (``%2B`` becomes ``+``), then ``RawProxyFacet.getUrl`` re-escapes
it with ``EscapeHelper.uriSegments`` (``%``, ``:`` and space only), ``RawProxyFacet.encodeUrl``
escapes a few more characters with ``URLEncoder``, and ``ProxyFacetSupport.fetch`` resolves the
result against ``proxy.remoteUrl`` with ``java.net.URI`` (an ``IllegalArgumentException`` there
becomes ``BadRequestException("Invalid repository path")``). Sources, sonatype/nexus-public:

* ``plugins/nexus-repository-raw/src/main/java/org/sonatype/nexus/content/raw/internal/recipe/
  RawProxyFacet.java``: ``CHARS_TO_ENCODE`` is ``^ # ?`` up to 3.70, adds U+202F in 3.71 and
  ``[ ]`` in 3.73 (checked at every tag from 3.67.0 to 3.77.1);
* ``components/nexus-common/src/main/java/org/sonatype/nexus/common/template/EscapeHelper.java``
  and its test (``uriSegments("foo/bar+baz")`` is ``"foo/bar+baz"``);
* ``components/nexus-repository-services/src/main/java/org/sonatype/nexus/repository/proxy/
  ProxyFacetSupport.java`` (``config.remoteUrl.resolve(encodeUrl(url))``).

sonatype/nexus-public#385 shows the result on a real 3.67.1: a request for
``torch-1.10.2%2Brocm4.2-...whl`` went out as ``torch-1.10.2+rocm4.2-...whl``.

``proxy.preserveEncodedCharacters`` (in the published API from 3.82; the 3.90.1 and 3.93.2
descriptions add "only available when nexus.proxy.urlEncodingMode.enabled=true is set", the
3.94.0 and 3.96.0 ones do not) "preserves encoded characters like %2B (plus), %23 (hash), and
%20 (space) in their encoded form when proxying". The source of those versions is not public:
the double sends the path as the client wrote it, which is what the description says.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping

# characters java.net.URI refuses in a path (RFC 2396 as Java reads it), after the escaping
_URI_ILLEGAL = re.compile(r'[\x00-\x20"<>\[\]\\^`{|}\x7f]')


class InvalidPath(ValueError):
    """``URI.resolve`` failed: Nexus answers 400 "Invalid repository path"."""


def _chars_to_encode(version: tuple[int, ...]) -> tuple[str, ...]:
    chars: tuple[str, ...] = ("^", "#", "?")
    if version >= (3, 71):
        chars += ("\u202f",)
    if version >= (3, 73):
        chars += ("[", "]")
    return chars


def preserves_encoding(
    proxy: Mapping[str, object], version: tuple[int, ...], url_encoding_mode: bool
) -> bool:
    """Whether this Nexus honours the repository's ``proxy.preserveEncodedCharacters``."""
    if proxy.get("preserveEncodedCharacters") is not True or version < (3, 82):
        return False
    return version >= (3, 94) or url_encoding_mode


def remote_path(decoded: str, raw: str, version: tuple[int, ...], preserve: bool) -> str:
    """The path (below ``remoteUrl``, no leading ``/``) that Nexus ``version`` asks the remote
    for, given the request's ``decoded`` path and the ``raw`` one the client sent."""
    if preserve:
        return raw.lstrip("/")
    segments = (decoded[1:] if decoded.startswith("/") else decoded).split("/")
    while segments and not segments[-1]:
        segments.pop()  # Java's String.split drops trailing empty strings
    path = "/".join(
        seg.replace("%", "%25").replace(":", "%3A").replace(" ", "%20") for seg in segments
    )
    for ch in _chars_to_encode(version):
        path = path.replace(ch, urllib.parse.quote(ch, safe=""))
    if _URI_ILLEGAL.search(path):
        raise InvalidPath(path)
    # java.net.URI keeps other non-ASCII characters; HttpClient sends them as UTF-8 bytes
    return urllib.parse.quote(path, safe="".join(chr(c) for c in range(0x21, 0x7F)))
