"""The double's raw proxy asks its remote for the path real Nexus would (testbed/nexus_raw.py).

The expectations are the upstream tests' and code's: sonatype/nexus-public
``components/nexus-common/src/test/java/org/sonatype/nexus/common/template/EscapeHelperTest.java``
(``testUriSegmentsEncoding``), ``plugins/nexus-repository-raw/src/test/java/org/sonatype/nexus/
content/raw/internal/recipe/RawProxyFacetTest.java`` (``encodeUrl``: ``[`` -> ``%5B``, U+202F ->
``%E2%80%AF``), and sonatype/nexus-public#385 (3.67.1 sent ``%2B`` on as ``+``).
"""

from __future__ import annotations

import http.client

import pytest

from testbed import nexus_raw
from testbed.httpbase import HOST
from testbed.nexus_double import NexusDouble
from testbed.pbs import Build, Releases, make_archive

V3_67, V3_77, V3_90, V3_96 = (3, 67, 1), (3, 77, 1), (3, 90, 1), (3, 96, 3)


@pytest.mark.parametrize(
    "decoded, expected",
    [
        ("foo/bar+baz", "foo/bar+baz"),  # EscapeHelperTest
        ("foo/bar%baz", "foo/bar%25baz"),
        ("foo/bar baz", "foo/bar%20baz"),
        ("foo:path/bar:baz", "foo%3Apath/bar%3Abaz"),
        ("/20241016/cpython-3.12.7+20241016-x.tar.gz", "20241016/cpython-3.12.7+20241016-x.tar.gz"),
        ("a/b^c", "a/b%5Ec"),  # RawProxyFacet.CHARS_TO_ENCODE
        ("a/b\u202fc", "a/b%E2%80%AFc"),
        ("a/b[c]", "a/b%5Bc%5D"),
        ("a/b/", "a/b"),  # String.split drops the trailing empty segment
    ],
)
def test_escaping_follows_nexus_3_77(decoded: str, expected: str) -> None:
    assert nexus_raw.remote_path(decoded, "ignored", V3_77, preserve=False) == expected


def test_brackets_before_3_73_are_an_invalid_path() -> None:
    # CHARS_TO_ENCODE is ^ # ? up to 3.70; java.net.URI then refuses '['
    with pytest.raises(nexus_raw.InvalidPath):
        nexus_raw.remote_path("a/b[c]", "", V3_67, preserve=False)


@pytest.mark.parametrize(
    "version, preserve, property_set, honoured",
    [
        (V3_77, True, True, False),  # no such key before 3.82
        (V3_90, True, False, False),  # 3.82-3.93: only with nexus.proxy.urlEncodingMode.enabled
        (V3_90, True, True, True),
        (V3_96, True, False, True),
        (V3_96, False, False, False),
    ],
)
def test_preserve_encoded_characters_by_version(
    version: tuple[int, ...], preserve: bool, property_set: bool, honoured: bool
) -> None:
    proxy = {"preserveEncodedCharacters": preserve}
    assert nexus_raw.preserves_encoding(proxy, version, property_set) is honoured


@pytest.mark.parametrize("preserve", [False, True])
def test_uv_asset_name_reaches_the_remote_as_nexus_sends_it(preserve: bool) -> None:
    build = Build()
    assert "%2B" in build.path  # what uv asks its mirror for
    with Releases({build: make_archive(build)}) as releases, NexusDouble(
        repository=None, version="3.96.3"
    ) as nexus:
        cfg = nexus.add_raw_proxy("pbs", releases.base_url)
        cfg["proxy"]["preserveEncodedCharacters"] = preserve
        conn = http.client.HTTPConnection(HOST, nexus.port, timeout=10)
        try:
            conn.request("GET", "/repository/pbs" + build.path)
            resp = conn.getresponse()
            resp.read()
        finally:
            conn.close()
        assert resp.status == 200
        sent = build.path if preserve else build.path.replace("%2B", "+")
        assert [p for _, p, _ in releases.requests] == [sent]
