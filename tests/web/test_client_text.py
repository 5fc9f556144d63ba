"""
The browser client's bidi text rules, run under Node (issue 11, defect 6):
the page refuses the embedding and override controls U+202A to U+202E as
the server does, lets the isolates through, and balances the isolates of
any text it shows so that the text cannot leak out of its own isolate.
"""

import subprocess

from test_client_static import WEB, _node

NODE_UNIT = r"""
import assert from 'node:assert/strict';
const text = await import(process.argv[2] + '/js/text.js');

const names = {
  '\u202a': 'LEFT-TO-RIGHT EMBEDDING', '\u202b': 'RIGHT-TO-LEFT EMBEDDING',
  '\u202c': 'POP DIRECTIONAL FORMATTING', '\u202d': 'LEFT-TO-RIGHT OVERRIDE',
  '\u202e': 'RIGHT-TO-LEFT OVERRIDE',
};
for (const [c, name] of Object.entries(names)) {
  const hex = 'U+' + c.codePointAt(0).toString(16).toUpperCase();
  const problem = text.textProblem(`rtl ${c} override`, 4000);
  assert.ok(problem && problem.includes(`${hex} (${name}) at position 5`), problem);
  assert.match(text.textProblem(`a${c}`, 390, 'topic'), /^The topic holds the bidi control/);
  assert.match(text.textProblem(`a${c}`, 0, 'reason'), /^The reason holds the bidi control/);
}
// Positions count characters, as the server does, not UTF-16 units.
assert.match(text.textProblem('😀\u202e', 4000), /at position 2;/);
// The isolates, which right-to-left writers use, pass; so does Hebrew.
assert.equal(text.textProblem('\u2067שלום\u2069 and \u2066x\u2069 \u2068y', 4000), null);

// Balancing: what closes nothing is dropped, what is left open is closed.
const PDI = '\u2069';
assert.equal(text.closeIsolates('plain'), 'plain');
assert.equal(text.closeIsolates('a\u2067שלום'), 'a\u2067שלום' + PDI);
assert.equal(text.closeIsolates('\u2066\u2068x'), '\u2066\u2068x' + PDI + PDI);
assert.equal(text.closeIsolates(PDI + 'x' + PDI), 'x');
assert.equal(text.closeIsolates('\u2067a' + PDI + PDI + 'b'), '\u2067a' + PDI + 'b');
assert.equal(text.closeIsolates('\u2067a' + PDI + '\u2066'), '\u2067a' + PDI + '\u2066' + PDI);
console.log('ok');
"""


def test_bidi_rules_under_node(tmp_path):
    node = _node()
    script = tmp_path / "bidi.mjs"
    script.write_text(NODE_UNIT, encoding="utf-8")
    run = subprocess.run([node, str(script), WEB.as_uri()], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr or run.stdout
