"""Reading a PEP 503 project page (pipnexus/probe/page.py) as pip's HTML parser reads it.
"""

from __future__ import annotations

import pytest

from pipnexus import probe


def test_count_project_files() -> None:
    page = (
        b'<a href="../../packages/pip/24.0/pip-24.0-py3-none-any.whl#sha256=1">x</a>'
        b'<a href="https://files.example/pip-23.0.tar.gz?x=1">y</a>'
        b'<a href="pip-1.0.zip">z</a><a>no href</a><a href="pip-1.0.exe">exe</a>'
        b'<a href="pipx-1.0-py3-none-any.whl">pipx</a><a href="pip-tools-1.0.tar.gz">t</a>'
    )
    assert probe.count_project_files(page, "pip") == 3
    assert probe.count_project_files(b"<html>Sign in</html>", "pip") == 0
    assert probe.count_project_files(b'<a href="Foo.Bar-1.0.tar.gz">', "foo-bar") == 1


@pytest.mark.parametrize(
    ("html", "hrefs"),
    [
        (b'<a href="pip-1.0.whl#sha256=1">', ["pip-1.0.whl#sha256=1"]),
        (b"<a href='pip-1.0.zip?x=1'>", ["pip-1.0.zip?x=1"]),
        (b"<a href=pip-1.0.zip>", ["pip-1.0.zip"]),
        (b'<A HREF="Q">', ["Q"]),
        (b'<a class="c" href = "r&amp;s&lt;&gt;&quot;&#65;&#x42;t">', ['r&s<>"ABt']),
        (b"<a href=u&amp;v>", ["u&v"]),
        (b'<a href="a&unknown;b">', ["a&unknown;b"]),
        (b'<a data-href="no" href="yes">', ["yes"]),
        (b'<a title=" href=no" href="yes">', ["yes"]),
        (b'<a title="a>b" href="tricky">', ["tricky"]),
        (b'<a title="x"href="glued">', ["glued"]),
        (b'<a\nhref="nl">', ["nl"]),
        (b'<abbr href="no"><a>none</a><a href="">', []),
        (b'<a href="p"><a href="q">', ["p", "q"]),
    ],
)
def test_page_links_as_html_parser_reads_them(html: bytes, hrefs: list[str]) -> None:
    from html.parser import HTMLParser

    from pipnexus.probe.page import hrefs as page_hrefs

    found: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                found.extend(value for name, value in attrs if name == "href" and value)

    parser = Links()
    parser.feed(html.decode())
    parser.close()
    assert found == hrefs  # the reference reading
    assert page_hrefs(html.decode()) == hrefs


def test_count_project_files_entities_and_suffixes() -> None:
    page = (
        b'<a href="../../packages/a&amp;b/1.0/pip-1.0.tar.gz#sha256=1">1</a>'
        b"<a href=pip-2.0-py3-none-any.whl?x=1&amp;y=2>2</a>"
        b'<a href="pip&#45;3.0.zip">3</a><a href="pip&#x2D;4.0.tar.bz2">4</a>'
        b'<a href="pip%2D5.0.tgz">5</a><a title="pip-9.0.zip" href="other-1.0.zip">no</a>'
    )
    assert probe.count_project_files(page, "pip") == 5
