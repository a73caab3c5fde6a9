"""Every script of the dashboard parses, alone and together with the scripts its page loads before it.

A syntax error in one file (a ``const`` declared twice, left by an edit) stops that script, and every
page that loads it stays at "Loading…" ("WalkResults is not defined"): seen during review on
2026-12-05. Classic scripts of one page share one global scope, so two files that declare the same
top-level name break the page too; each page's scripts are checked as one script in the order its
template loads them (``base.html``'s ``app.js`` first). Parsed by Node.js (``vm.Script``, one process
for all), which the test bootstrap installs (Debian ``nodejs``); without it the test skips and says so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
SCRIPT_RE = re.compile(r"""<script src="\{\{ url_for\('static', filename='(js/[\w.]+\.js)'\) \}\}"></script>""")
PARSE = """
const vm = require("vm");
const failed = [];
for (const {name, source} of JSON.parse(require("fs").readFileSync(0, "utf8"))) {
  try { new vm.Script(source, {filename: name}); } catch (err) { failed.push(`${name}: ${err.message}`); }
}
process.stdout.write(JSON.stringify(failed));
"""


def _pages() -> dict[str, list[str]]:
    """Each template's scripts in the order a page loads them."""
    base = SCRIPT_RE.findall((WEB / "templates" / "base.html").read_text())
    pages = {}
    for template in sorted((WEB / "templates").rglob("*.html")):
        text = template.read_text()
        own = SCRIPT_RE.findall(text)
        scripts = (base + own) if '{% extends "base.html" %}' in text else own
        if scripts:
            pages[str(template.relative_to(WEB))] = scripts
    return pages


def _failures(sources: list[dict]) -> list[str]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed (Debian nodejs; tests/bootstrap.sh installs it)")
    done = subprocess.run([node, "-e", PARSE], input=json.dumps(sources), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_dashboard_script_and_every_page_s_scripts_together_parse():
    pages = _pages()
    assert "js/walk_results.js" in pages["templates/dashboard/results.html"], pages  # the templates were read
    files = sorted({s for scripts in pages.values() for s in scripts} | {f"js/{p.name}" for p in (WEB / "static" / "js").glob("*.js")})
    sources = [{"name": f, "source": (WEB / "static" / f).read_text()} for f in files]
    sources += [{"name": f"{page} ({' + '.join(scripts)})", "source": "\n;\n".join((WEB / "static" / s).read_text() for s in scripts)}
                for page, scripts in pages.items()]
    assert _failures(sources) == []


def test_a_name_declared_twice_is_found_alone_and_across_a_page_s_scripts():
    """The check itself: the defects it exists for are reported, with the file named."""
    failed = _failures([
        {"name": "one.js", "source": "const shown = 1;\nconst shown = 2;\n"},
        {"name": "page (a.js + b.js)", "source": "const Panel = {};\n;\nconst Panel = {};\n"},
        {"name": "fine.js", "source": "const a = 1; function f() { const a = 2; return a; }\n"},
    ])
    assert len(failed) == 2 and failed[0].startswith("one.js: Identifier 'shown' has already been declared")
    assert failed[1].startswith("page (a.js + b.js): Identifier 'Panel' has already been declared")
