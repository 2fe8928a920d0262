"""Read-only views of a composed workflow: nodes, positions, jobs, steps (ruamel.yaml)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pipnexus.migrate.model import PathKey
from pipnexus.migrate.text import Text

STR_TAG = "tag:yaml.org,2002:str"


class AliasUse(NamedTuple):
    anchor: str
    start: int  # offset of `*name`
    end: int


class _RecordingComposer(Composer):
    """Composer that remembers where each alias (`*name`) was written, by (parent, slot)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            node = super().compose_node(parent, index)
            slot = index if isinstance(index, int) else id(index)
            self.loader.alias_uses[(id(parent), slot)] = AliasUse(
                event.anchor, event.start_mark.index, event.end_mark.index
            )
            return node
        return super().compose_node(parent, index)


class _Yaml(YAML):
    alias_uses: dict[tuple[int, Any], AliasUse]


def compose(text: str) -> tuple[Node | None, dict[tuple[int, Any], AliasUse], Any]:
    """Compose `text`; returns (root node, alias uses, constructed data)."""
    yaml = _Yaml(typ="safe", pure=True)
    yaml.Composer = _RecordingComposer
    yaml.alias_uses = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a re-used anchor name is legal YAML
        root = yaml.compose(text)
        if root is not None:
            _refuse_merge_keys(root)
        data = yaml.constructor.construct_document(root) if root is not None else None
    return root, yaml.alias_uses, data


MERGE_TAG = "tag:yaml.org,2002:merge"


def _refuse_merge_keys(root: Node) -> None:
    """GitHub Actions rejects merge keys (`<<: *x`), and the rules would edit the merged-in
    text through them: refuse the file at the first one (before construction flattens it)."""
    from ruamel.yaml.error import MarkedYAMLError

    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if str(key.tag) == MERGE_TAG:
                    raise MarkedYAMLError(
                        problem="merge keys (`<<`) are not supported by GitHub Actions",
                        problem_mark=key.start_mark,
                    )
                todo.append(value)
        elif isinstance(node, SequenceNode):
            todo.extend(node.value)


def load(text: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return YAML(typ="safe", pure=True).load(text)


def scalar(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def is_flow(node: Node) -> bool:
    return isinstance(node, (MappingNode, SequenceNode)) and bool(node.flow_style)


class Doc:
    """The composed document plus its text, with position helpers."""

    def __init__(self, text: Text, root: Node, aliases: dict[tuple[int, Any], AliasUse]) -> None:
        self.text = text
        self.root = root
        self.aliases = aliases
        self.anchors: dict[str, list[Node]] = {}  # a name may be defined more than once
        self._collect_anchors(root, set())

    def _collect_anchors(self, node: Node, seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if node.anchor:
            self.anchors.setdefault(node.anchor, []).append(node)
        if isinstance(node, MappingNode):
            for k, v in node.value:
                self._collect_anchors(k, seen)
                self._collect_anchors(v, seen)
        elif isinstance(node, SequenceNode):
            for v in node.value:
                self._collect_anchors(v, seen)

    # -- aliases
    def aliased(self, node: Node) -> bool:
        """True when the node carries an anchor that an alias somewhere uses."""
        return bool(node.anchor) and any(u.anchor == node.anchor for u in self.aliases.values())

    def item_alias(self, seq: Node, index: int) -> AliasUse | None:
        return self.aliases.get((id(seq), index))

    def value_alias(self, mapping: Node, key: Node) -> AliasUse | None:
        return self.aliases.get((id(mapping), id(key)))

    # -- positions
    def start(self, node: Node) -> int:
        """Offset where the node's content starts (after an `&anchor`)."""
        if isinstance(node, MappingNode) and not node.flow_style and node.value:
            return int(node.value[0][0].start_mark.index)
        if isinstance(node, SequenceNode) and not node.flow_style and node.value:
            return self.item_start(node, 0)
        index = int(node.start_mark.index)
        if node.anchor and self.text.text.startswith("&", index):
            index += 1 + len(node.anchor)
            while self.text.text[index] in " \t\r\n":
                index += 1
        return index

    def item_start(self, seq: Node, i: int) -> int:
        alias = self.item_alias(seq, i)
        if alias:
            return alias.start
        return self.start(seq.value[i])

    def end(self, node: Node) -> int:
        """Offset just after the node's last character of content (no trailing blanks)."""
        if isinstance(node, ScalarNode):
            end = int(node.end_mark.index)
            if node.style in ("|", ">"):
                text = self.text.text
                start = int(node.start_mark.index)
                while end > start and text[end - 1] in " \t\r\n":
                    end -= 1
            return end
        if is_flow(node) or not node.value:
            return int(node.end_mark.index)
        if isinstance(node, MappingNode):
            return self.pair_end(node, len(node.value) - 1)
        return self.item_end(node, len(node.value) - 1)

    def pair_end(self, mapping: Node, i: int) -> int:
        key, value = mapping.value[i]
        alias = self.value_alias(mapping, key)
        if alias:
            return alias.end
        if isinstance(value, ScalarNode) and value.value == "" and value.style is None:
            # implicit null: the value node's marks point past the line
            end = self.end(key)
            colon = self.text.text.find(":", end)
            return colon + 1 if colon >= 0 else end
        return self.end(value)

    def item_end(self, seq: Node, i: int) -> int:
        alias = self.item_alias(seq, i)
        if alias:
            return alias.end
        return self.end(seq.value[i])

    def dash_col(self, seq: Node, i: int) -> int | None:
        """Column of the `-` of block sequence item i, or None when it is not alone on its line."""
        start = self.item_start(seq, i)
        line = self.text.line_of(start)
        node = seq.value[i]
        if node.anchor and not self.item_alias(seq, i):
            start = int(node.start_mark.index)  # the `&anchor` is after the dash
            line = self.text.line_of(start)
        before = self.text.text[self.text.starts[line] : start]
        stripped = before.rstrip()
        if not stripped.endswith("-"):
            return None
        if stripped[:-1].strip():
            return None  # something else precedes the dash (`- - x`, a key)
        return len(stripped) - 1


# -------- mapping access


def get(mapping: Node | None, key: str) -> Node | None:
    pair = get_pair(mapping, key)
    return pair[2] if pair else None


def get_pair(mapping: Node | None, key: str) -> tuple[int, Node, Node] | None:
    if not isinstance(mapping, MappingNode):
        return None
    for i, (k, v) in enumerate(mapping.value):
        if isinstance(k, ScalarNode) and k.tag == STR_TAG and k.value == key:
            return i, k, v
    return None


def key_str(key: Node) -> str | None:
    if isinstance(key, ScalarNode) and key.tag == STR_TAG:
        return str(key.value)
    return None


# -------- steps

_USES = re.compile(r"^([^@\s]+)@(\S+)$")


class Step(NamedTuple):
    position: int  # index in the steps sequence
    node: Node  # a MappingNode
    path: tuple[PathKey, ...]
    alias: AliasUse | None  # set when the item is written `- *name`
    uses: str  # lower-cased action name without ref ("" when none)
    run: str


class StepList(NamedTuple):
    kind: str  # "job" or "composite"
    name: str
    seq: Node  # SequenceNode of steps
    path: tuple[PathKey, ...]  # path of the steps sequence
    steps: tuple[Step, ...]
    owner_start: int
    owner_end: int


def action_name(uses: str | None) -> str:
    if not uses:
        return ""
    m = _USES.match(uses.strip())
    return m.group(1).lower() if m else ""


def _steps(doc: Doc, seq: Node, path: tuple[PathKey, ...]) -> tuple[Step, ...]:
    out = []
    for i, node in enumerate(seq.value):
        if not isinstance(node, MappingNode):
            continue
        out.append(
            Step(
                i,
                node,
                (*path, i),
                doc.item_alias(seq, i),
                action_name(scalar(get(node, "uses"))),
                scalar(get(node, "run")) or "",
            )
        )
    return tuple(out)


def step_lists(doc: Doc) -> Iterator[StepList]:
    """Every steps sequence of the document that is written here (not reached via an alias)."""
    root = doc.root
    jobs = get_pair(root, "jobs")
    if jobs and isinstance(jobs[2], MappingNode) and not doc.value_alias(root, jobs[1]):
        jobs_node = jobs[2]
        for job_key, job in jobs_node.value:
            name = key_str(job_key)
            if name is None or not isinstance(job, MappingNode):
                continue
            if doc.value_alias(jobs_node, job_key) or get(job, "uses") is not None:
                continue  # alias of another job, or a reusable-workflow call
            pair = get_pair(job, "steps")
            if not pair or not isinstance(pair[2], SequenceNode):
                continue
            if doc.value_alias(job, pair[1]) or pair[2].flow_style:
                continue
            path: tuple[PathKey, ...] = ("jobs", name, "steps")
            yield StepList(
                "job", name, pair[2], path, _steps(doc, pair[2], path),
                doc.start(job_key), doc.end(job),
            )
    runs = get_pair(root, "runs")
    if runs and isinstance(runs[2], MappingNode) and not doc.value_alias(root, runs[1]):
        pair = get_pair(runs[2], "steps")
        using = (scalar(get(runs[2], "using")) or "").lower()
        if (
            using == "composite"
            and pair
            and isinstance(pair[2], SequenceNode)
            and not doc.value_alias(runs[2], pair[1])
            and not pair[2].flow_style
        ):
            path = ("runs", "steps")
            # the action's `outputs:` may read steps.<id> too: the whole file is in scope
            yield StepList(
                "composite", "runs", pair[2], path, _steps(doc, pair[2], path),
                0, len(doc.text.text),
            )


def editable_with(doc: Doc, steps: StepList, action: str) -> Iterator[tuple[Step, MappingNode]]:
    """The steps using `action` whose `with:` is a block or flow mapping that may be edited here
    (not written as an alias; a change to an anchored `with:` is made where it is defined)."""
    for step in steps.steps:
        if step.uses != action or step.alias:
            continue
        pair = get_pair(step.node, "with")
        if not pair or not isinstance(pair[2], MappingNode):
            continue
        if doc.value_alias(step.node, pair[1]):
            continue
        yield step, pair[2]
