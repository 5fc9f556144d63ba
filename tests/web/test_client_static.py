"""
Static checks of the browser client in web/: no browser and no server.

- index.html keeps the stable hooks (name="nick", name="message", the
  data-testid attributes) that tests and user scripts rely on;
- everything it loads is same-origin, and nothing runs or styles inline
  (the daemon sends CSP default-src 'self', which would block it anyway);
- the JavaScript never turns strings into HTML (innerHTML and friends are
  forbidden outright, so user text can only ever be text);
- every JS file parses (node --check), and the pure helpers behave
  (a few assertions run under Node).

Node.js is needed for the last two: if it is missing the tests skip, except
under CI=true, where they fail.
"""

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from lacking import lacking

WEB = Path(__file__).resolve().parents[2] / "web"
INDEX = WEB / "index.html"
JS_FILES = sorted(p for p in WEB.rglob("*.js") if "node_modules" not in p.parts)
CSS_FILES = sorted(WEB.rglob("*.css"))

#: Attributes that load or link something.
URL_ATTRS = {"src", "href", "action", "formaction", "srcset", "poster", "data", "manifest", "background"}


class Page(HTMLParser):
    """Collects the parts of index.html the checks need."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, {attr: value})
        self.scripts = []  # (attrs, inline text)
        self.styles = []  # inline <style> text
        self._in = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag in ("script", "style"):
            self._in = (tag, attrs)
            self._text = []

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._in is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._in is not None and tag == self._in[0]:
            text = "".join(self._text)
            if tag == "script":
                self.scripts.append((self._in[1], text))
            else:
                self.styles.append(text)
            self._in = None


@pytest.fixture(scope="module")
def html() -> str:
    return INDEX.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    return p


def _with(page, **wanted):
    return [
        (tag, attrs)
        for tag, attrs in page.elements
        if all(attrs.get(k) == v for k, v in wanted.items())
    ]


def test_client_files_exist():
    for name in ("index.html", "js/main.js", "style.css", "favicon.svg"):
        assert (WEB / name).is_file(), f"web/{name} is missing"


# ---------------------------------------------------------------- hooks


def test_nick_and_message_hooks(page):
    nick = _with(page, name="nick")
    message = _with(page, name="message")
    assert len(nick) == 1 and nick[0][0] == "input", nick
    assert len(message) == 1 and message[0][0] in ("input", "textarea"), message


def test_inputs_have_labels(page):
    labelled = {attrs.get("for") for tag, attrs in page.elements if tag == "label"}
    for name in ("nick", "message"):
        (tag, attrs), = _with(page, name=name)
        assert attrs.get("id") in labelled or attrs.get("aria-label"), f"{name} has no label"


@pytest.mark.parametrize("testid", ["log", "status", "rooms", "members", "composer", "login", "error"])
def test_testids_present_once(page, testid):
    found = _with(page, **{"data-testid": testid})
    assert len(found) == 1, f'data-testid="{testid}" appears {len(found)} times'


def test_log_is_a_live_region(page):
    (tag, attrs), = _with(page, **{"data-testid": "log"})
    assert attrs.get("role") == "log"
    assert attrs.get("aria-live") in ("polite", "assertive")


def test_hooks_documented_at_top(html):
    head = html[: html.index("<head")]
    for hook in ('name="nick"', 'name="message"', 'data-testid="log"', 'data-testid="message"',
                 'data-testid="status"', 'data-testid="rooms"', 'data-testid="members"', "data-room"):
        assert hook in head, f"{hook} is not documented in the comment at the top of index.html"


def test_message_lines_and_room_switching_hooks_in_js():
    app = "\n".join(js.read_text(encoding="utf-8") for js in JS_FILES)
    assert re.search(r"""testid\s*=\s*['"]message['"]""", app), "chat lines lack data-testid=message"
    assert re.search(r"""dataset\.room\s*=""", app), "room list entries lack data-room"


# ---------------------------------------------------------------- same origin, nothing inline


def test_no_absolute_urls_in_index(html):
    assert not re.search(r"(?i)\b(https?|wss?):", html), "index.html names an absolute URL"


def test_loaded_resources_are_relative_and_exist(page):
    for tag, attrs in page.elements:
        for name, value in attrs.items():
            if name not in URL_ATTRS or value is None:
                continue
            assert not re.match(r"(?i)^\s*([a-z][a-z0-9+.-]*:|//)", value), (
                f"<{tag} {name}={value!r}> is not a same-origin relative reference"
            )
            if tag in ("script", "link", "img") and name in ("src", "href"):
                path = value.split("?")[0].split("#")[0].lstrip("/")
                assert (WEB / path).is_file(), f"<{tag} {name}={value!r}> does not exist in web/"


def test_scripts_are_external_modules(page):
    assert page.scripts, "index.html loads no script"
    for attrs, text in page.scripts:
        assert attrs.get("src"), "inline <script> (CSP blocks it)"
        assert not text.strip(), "a <script src> with inline content"
        assert attrs.get("type") == "module", f"{attrs.get('src')} is not loaded as a module"


def test_no_inline_styles_or_handlers(page, html):
    assert not page.styles, "inline <style> (CSP blocks it)"
    for tag, attrs in page.elements:
        for name in attrs:
            assert name != "style", f"<{tag} style=...> (CSP blocks inline styles)"
            assert not name.startswith("on"), f"<{tag} {name}=...> inline handler (CSP blocks it)"
    assert not re.search(r"(?i)javascript:", html)


def test_stylesheets_are_local(page):
    sheets = [attrs["href"] for tag, attrs in page.elements if tag == "link" and attrs.get("rel") == "stylesheet"]
    assert sheets == ["style.css"] or all(not re.match(r"(?i)^([a-z]+:|//)", s) for s in sheets)
    for css in CSS_FILES:
        text = css.read_text(encoding="utf-8")
        assert not re.search(r"(?i)@import", text), f"{css.name}: @import"
        for url in re.findall(r"(?i)url\(\s*['\"]?([^'\")]+)", text):
            assert not re.match(r"(?i)^([a-z]+:|//)", url) or url.startswith("data:"), f"{css.name}: url({url})"


# ---------------------------------------------------------------- JavaScript: text only


@pytest.mark.parametrize("js", JS_FILES, ids=lambda p: str(p.relative_to(WEB)))
def test_js_never_writes_html(js):
    text = js.read_text(encoding="utf-8")
    for api in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "createContextualFragment",
                "DOMParser", "srcdoc"):
        assert api not in text, f"{js.name} uses {api}; build elements and use textContent instead"


@pytest.mark.parametrize("js", JS_FILES, ids=lambda p: str(p.relative_to(WEB)))
def test_js_no_eval_inline_styles_or_remote_urls(js):
    text = js.read_text(encoding="utf-8")
    assert not re.search(r"\beval\s*\(|\bnew\s+Function\s*\(", text), f"{js.name}: eval"
    assert not re.search(r"""setTimeout\(\s*['"`]|setInterval\(\s*['"`]""", text), f"{js.name}: string timer"
    assert not re.search(r"""setAttribute\(\s*['"]style['"]""", text), f"{js.name}: style attribute (CSP blocks it)"
    assert not re.search(r"""setAttribute\(\s*['"]on""", text), f"{js.name}: inline handler attribute"
    assert not re.search(r"""['"`](https?|wss?)://""", text), f"{js.name}: an absolute URL literal"


@pytest.mark.parametrize("js", JS_FILES, ids=lambda p: str(p.relative_to(WEB)))
def test_js_imports_are_relative_and_exist(js):
    text = js.read_text(encoding="utf-8")
    specs = re.findall(r"""(?m)^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]""", text)
    specs += re.findall(r"""(?m)^\s*import\s*['"]([^'"]+)['"]""", text)
    specs += re.findall(r"""\bimport\(\s*['"]([^'"]+)['"]\s*\)""", text)
    for spec in specs:
        assert spec.startswith(("./", "../")), f"{js.name} imports {spec!r}: only relative modules"
        assert (js.parent / spec).resolve().is_file(), f"{js.name} imports {spec!r}, which does not exist"


def test_links_are_built_safely():
    """The only links come from linkify, which checks the scheme first."""
    text = (WEB / "js" / "text.js").read_text(encoding="utf-8")
    assert "noopener noreferrer" in text
    assert "'_blank'" in text
    assert re.search(r"protocol\s*!==\s*'http:'\s*&&\s*url\.protocol\s*!==\s*'https:'", text)
    for js in JS_FILES:
        body = js.read_text(encoding="utf-8")
        if js.name != "text.js":
            assert not re.search(r"\.href\s*=", body), f"{js.name} sets a link target outside text.js"


# ---------------------------------------------------------------- Node.js


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        lacking("Node.js is not installed; the JavaScript syntax check needs it (apt-get install nodejs)")
    return node


@pytest.mark.parametrize("js", JS_FILES, ids=lambda p: str(p.relative_to(WEB)))
def test_node_check(js, tmp_path):
    node = _node()
    # As .mjs, so every Node version parses it as an ES module (imports are
    # not resolved by --check).
    copy = tmp_path / (js.stem + ".mjs")
    shutil.copyfile(js, copy)
    run = subprocess.run([node, "--check", str(copy)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"node --check {js.relative_to(WEB)}:\n{run.stderr}"


NODE_UNIT = r"""
import assert from 'node:assert/strict';
const base = process.argv[2];
const text = await import(base + '/js/text.js');
const cmds = await import(base + '/js/commands.js');

// A minimal DOM, enough for appendLinkified.
class Node_ { constructor() { this.children = []; } appendChild(c) { this.children.push(c); return c; } }
class Text_ extends Node_ { constructor(t) { super(); this.text = t; } }
class El_ extends Node_ { constructor(tag) { super(); this.tag = tag; this.textContent = ''; } }
globalThis.document = { createTextNode: (t) => new Text_(t), createElement: (t) => new El_(t) };
const render = (s) => text.appendLinkified(new El_('span'), s).children.map(
  (c) => c instanceof Text_ ? c.text : `<a ${c.href}>${c.textContent}</a>`).join('');
const links = (s) => text.appendLinkified(new El_('span'), s).children.filter((c) => c.tag === 'a');

// Text stays text.
assert.equal(render('<b>bold</b> & <i>'), '<b>bold</b> & <i>');
// Only http(s) becomes a link, with safe attributes.
assert.equal(links('javascript:alert(1) data:text/html,x ftp://x.org').length, 0);
const [a] = links('see https://example.org/a?b=1.');
assert.equal(a.href, 'https://example.org/a?b=1');
assert.equal(a.textContent, 'https://example.org/a?b=1');
assert.equal(a.rel, 'noopener noreferrer');
assert.equal(a.target, '_blank');
assert.equal(links('(https://en.wikipedia.org/wiki/Foo_(bar))')[0].textContent, 'https://en.wikipedia.org/wiki/Foo_(bar)');
assert.equal(render('x https://a.example/<b> y'), 'x <a https://a.example/>https://a.example/</a><b> y');
assert.equal(links('xhttps://example.org').length, 0);

// Folding, as the server compares nicks and rooms.
assert.equal(text.fold('ALICE'), text.fold('alice'));
assert.equal(text.fold('Ａｌｉｃｅ'), 'alice');
assert.equal(text.fold('Straße'), text.fold('STRASSE'));

// Local checks mirror the protocol's text rules.
assert.equal(text.nickProblem('alice'), null);
assert.ok(text.nickProblem('a b'));
assert.ok(text.nickProblem('#alice'));
assert.ok(text.nickProblem('al:ice'));
assert.ok(text.nickProblem('x'.repeat(33)));
assert.equal(text.roomProblem('#lobby'), null);
assert.ok(text.roomProblem('lobby'));
assert.ok(text.roomProblem('#a,b'));
assert.equal(text.asRoom('lobby'), '#lobby');
assert.equal(text.textProblem('hello\tworld', 4000), null);
assert.match(text.textProblem('a\nb', 4000), /line break/);
assert.match(text.textProblem('a\u001b[2J', 4000), /U\+001B/);
assert.match(text.textProblem('a\u2028', 4000), /line break/);
assert.match(text.textProblem('a\u0085', 4000), /U\+0085/);
assert.match(text.textProblem('x'.repeat(11), 10), /limit is 10/);
assert.equal(text.textProblem('😀'.repeat(10), 10), null);  // characters, not UTF-16 units
assert.equal(text.flattenLines('a\r\nb\n\nc'), 'a b c');
// Multi-line messages: line breaks as the server relays them, blank lines at the ends dropped.
assert.equal(text.normalizeLines('\n\none\r\ntwo\rthree\u2028four\n \n'), 'one\ntwo\nthree\nfour');
assert.equal(text.messageProblem('one\ntwo\nthree', 4000, 20), null);
assert.match(text.messageProblem('a\nb\nc', 4000, 2), /3 lines; the limit is 2/);
assert.match(text.messageProblem('ok\nnot \u001b ok', 4000, 20), /U\+001B/);
assert.match(text.messageProblem('x\n'.repeat(3), 4, 20), /limit is 4/);
assert.match(text.textProblem('a\nb', 390, 'topic'), /line break/);
// A reply quotes the first line, cut at 80 characters.
assert.equal(text.excerptOf('short'), 'short');
assert.equal(text.excerptOf('first\nsecond'), 'first …');
assert.equal(text.excerptOf('x'.repeat(100)), 'x'.repeat(79) + '…');
assert.ok(text.mentions('hi Alice!', 'alice'));
assert.ok(!text.mentions('malice', 'alice'));
assert.match(text.nickClass('bob'), /^nc-\d+$/);
assert.equal(text.nickClass('Bob'), text.nickClass('bob'));
assert.match(text.hhmm(new Date(2026, 0, 2, 3, 4)), /^03:04$/);
assert.ok(text.newCid().length >= 16);
assert.notEqual(text.newCid(), text.newCid());

// Slash commands.
const p = cmds.parseInput;
assert.deepEqual(p('hello'), { kind: 'text', text: 'hello' });
assert.deepEqual(p('//etc/passwd'), { kind: 'text', text: '/etc/passwd' });
assert.equal(p('/join #x').name, 'join');
assert.equal(p('/JOIN #x').args, '#x');
assert.equal(p('/me waves  hard').args, 'waves  hard');
assert.equal(p('/frobnicate').kind, 'unknown');
for (const c of ['join', 'part', 'me', 'msg', 'nick', 'topic', 'who', 'rooms', 'history', 'help', 'quit']) {
  assert.equal(p('/' + c).kind, 'command', c);
}
assert.deepEqual(cmds.firstWord('bob hello there'), ['bob', 'hello there']);
console.log('ok');
"""


def test_pure_helpers_under_node(tmp_path):
    node = _node()
    script = tmp_path / "unit.mjs"
    script.write_text(NODE_UNIT, encoding="utf-8")
    run = subprocess.run(
        [node, str(script), WEB.as_uri()], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr or run.stdout


TRANSPORT_UNIT = r"""
import assert from 'node:assert/strict';
const { LongPollTransport } = await import(process.argv[2] + '/js/longpoll.js');
const { Connection } = await import(process.argv[2] + '/js/connection.js');

// A fake long-poll server: one session, a queue of events with seq.
const calls = [];
let queue = [];
let seq = 0;
const push = (ev) => queue.push({ seq: ++seq, ...ev });
globalThis.fetch = async (url, opts = {}) => {
  const method = opts.method || 'GET';
  calls.push(`${method} ${url}`);
  const json = (status, body) => ({ status, ok: status < 300, json: async () => body });
  if (method === 'POST' && url === 'api/sessions') {
    push({ type: 'notice', from: 'chatd', text: 'hi' });
    return json(201, { session: 'T1', welcome: { type: 'welcome', limits: { message: 4000 } } });
  }
  if (method === 'POST' && url === 'api/sessions/T1/commands') {
    const cmd = JSON.parse(opts.body);
    if (cmd.type === 'who') {
      push({ type: 'members', room: cmd.room, nicks: ['a'], ref: cmd.ref });
      return json(200, { type: 'ok', ref: cmd.ref });
    }
    return json(200, { type: 'error', code: 'no-nick', message: 'Choose a nick first.', ref: cmd.ref });
  }
  if (method === 'GET' && url.startsWith('api/sessions/T1/events')) {
    const after = Number(new URL('http://x/' + url).searchParams.get('after'));
    queue = queue.filter((e) => e.seq > after);  // acknowledged
    for (let i = 0; i < 50 && !queue.length; i++) await new Promise((r) => setTimeout(r, 10));
    if (opts.signal && opts.signal.aborted) throw new Error('aborted');
    return json(200, { events: queue, last: queue.length ? queue[queue.length - 1].seq : after });
  }
  if (method === 'DELETE') return json(204, null);
  return json(404, {});
};

const events = [];
const t = new LongPollTransport('api', { onEvent: (e) => events.push(e) });
const welcome = await t.open();
assert.equal(welcome.limits.message, 4000);
const err = await t.send({ type: 'say', room: '#x', text: 'hi' });
assert.equal(err.type, 'error');
assert.equal(err.code, 'no-nick');
const ok = await t.send({ type: 'who', room: '#x', ref: 'w1' });
assert.equal(ok.type, 'ok');
for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
assert.deepEqual(events.map((e) => e.type), ['notice', 'members']);
assert.equal(events[1].ref, 'w1');
// Polls acknowledge what was processed: the next poll asks after the last seq.
for (let i = 0; i < 100 && !calls.some((c) => c.includes('after=2')); i++) await new Promise((r) => setTimeout(r, 10));
assert.ok(calls.some((c) => c.includes('events?after=2')), calls.join('\n'));
t.close();
assert.ok(calls.includes('DELETE api/sessions/T1'), 'close() DELETEs the session');

// Connection in forced long-poll mode reports its states.
const states = [];
const conn = new Connection({ mode: 'longpoll', apiBase: 'api', wsUrl: 'ws://unused/ws' },
  { onState: (s) => states.push(s.state + ':' + s.transport), onSession: () => states.push('session') });
conn.start();
for (let i = 0; i < 100 && !states.includes('session'); i++) await new Promise((r) => setTimeout(r, 10));
assert.deepEqual(states.slice(0, 3), ['connecting:longpoll', 'connected:longpoll', 'session']);
const who = await conn.send({ type: 'who', room: '#y' });
assert.equal(who.type, 'ok');
conn.stop();
assert.equal(states[states.length - 1], 'offline:null');
console.log('ok');
process.exit(0);
"""


def test_longpoll_transport_under_node(tmp_path):
    node = _node()
    script = tmp_path / "transport.mjs"
    script.write_text(TRANSPORT_UNIT, encoding="utf-8")
    run = subprocess.run(
        [node, str(script), WEB.as_uri()], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr or run.stdout
