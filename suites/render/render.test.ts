/**
 * The media of src/render: each escapes what would act in it and leaves ordinary text as it reads.
 * Table-driven: a hostile value and what it must become, and a plain value that must pass as is.
 * The `@ts-expect-error` lines are tests too: `tsc --noEmit` (part of npm test) fails if a tag ever
 * accepts a plain string, i.e. if text could reach an output without being marked and escaped.
 */
import { describe, expect, it } from 'vitest'
import { block, cell, cellCode, cellWithCode, code, escapeHtml, escapeXml, fileUrl, html, httpUrl, link, md, oneLine, printable, slack, slackBlock, slackCode, slackText, term, terminalSafe, text, textWithCode, untrusted, webhookJson, withCode, xml } from '../../src/render/index.ts'

const u = untrusted

describe('printable: controls are shown, never sent', () => {
  it.each([
    ['\u001b]0;pwned\u0007', '\\x1b]0;pwned\\x07'],
    ['\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\', '\\x1b]8;;http://evil\\x1b\\link\\x1b]8;;\\x1b\\'],
    ['a\u009bb', 'a\\x9bb'],
    ['lone\rCR', 'lone\\x0dCR'],
    ['right\u202eto-left', 'right\\u202eto-left'],
    ['EAAG\u200bsplit\ufeff', 'EAAG\\u200bsplit\\ufeff'],
    ['line\u2028sep', 'line\\u2028sep'],
    ['\uFFFD\uFFFD', '[not UTF-8 ×2]'],
  ])('%j becomes %j', (input, out) => expect(printable(input)).toBe(out))
  it('keeps tabs, newlines, CRLF as a newline, and text in any script', () => {
    expect(printable('a\tb\r\nc\nJosé ✓ 日本')).toBe('a\tb\nc\nJosé ✓ 日本')
  })
  it('oneLine shows newlines too, so a value cannot start a line of its own', () => {
    expect(oneLine('GET\n✓ all good')).toBe('GET\\n✓ all good')
  })
})

describe('html', () => {
  it('escapes values for content and attributes, and keeps its own markup', () => {
    const v = u(`"><img src=x onerror=alert(1)>'&`)
    expect(String(html`<td title="${v}">${v}</td>`)).toBe('<td title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&amp;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&amp;</td>')
    expect(String(html`<b>${html`<i>${u('x')}</i>`}</b> ${3}`)).toBe('<b><i>x</i></b> 3')
    expect(escapeHtml(u('plain text'))).toBe('plain text')
  })
  it('refuses fragments of another medium', () => {
    expect(() => html`${md`**x**` as never}`).toThrow(/only html fragments/)
  })
  it('does not take plain strings (compile-time)', () => {
    const plain: string = '<b>'
    // @ts-expect-error a plain string is not Untrusted: mark it, so it is escaped
    expect(String(html`${plain}`)).toBe('&lt;b&gt;')
  })
})

describe('markdown', () => {
  it.each([
    ['![x](http://evil/p.png)', '\\!\\[x\\](http\\://evil/p.png)'],
    ['[click](javascript:alert(1))', '\\[click\\](javascript:alert(1))'],
    ['<img src=x>', '\\<img src=x\\>'],
    ['see www.evil.example or a@b.example', 'see www\\.evil.example or a\\@b.example'],
    ['**bold** _em_ ~~s~~ `c`', '\\*\\*bold\\*\\* \\_em\\_ \\~\\~s\\~\\~ \\`c\\`'],
    ['&lt;entity&gt;', '\\&lt;entity\\&gt;'],
    ['x\n# heading', 'x\\\\n# heading'],
  ])('text(%j) is inert: %j', (input, out) => expect(String(text(u(input)))).toBe(out))
  it('leaves ordinary prose and snake_case as they read', () => {
    expect(String(text(u('Framing changed to chunked (contract: content-length); phone_number_id')))).toBe('Framing changed to chunked (contract: content-length); phone_number_id')
  })
  it('a cell stays one cell on one row', () => {
    expect(String(cell(u('a | b\r\nc\rd')))).toBe('a \\| b c\\\\x0dd')
  })
  it('a code span is fenced longer than any backtick run inside, and a pipe in a table is escaped', () => {
    expect(String(code(u('GET /x?a=`b``c`')))).toBe('``` GET /x?a=`b``c` ```')
    expect(String(cellCode(u('a|b')))).toBe('`a\\|b`')
    expect(String(code(u('plain')))).toBe('`plain`')
  })
  it('a fenced block cannot be closed by its content', () => {
    expect(String(block(u('x\n````\n# not a heading'), 'text'))).toBe('`````text\nx\n````\n# not a heading\n`````')
    expect(String(block(u('{}'), 'json'))).toBe('```json\n{}\n```')
  })
  it('the md tag takes only placed fragments (compile-time and at run time)', () => {
    // @ts-expect-error untrusted text must be placed (text, cell, code, block) before it goes into Markdown
    expect(() => md`${u('x')}`).toThrow(/must be placed/)
  })
})

describe('inline code in untrusted prose', () => {
  it('html: a `span` becomes <code>, escaped; prose around it escaped; no backtick left', () => {
    expect(String(withCode(u('`$.a<b>` is <i>gone</i>')))).toBe('<code>$.a&lt;b&gt;</code> is &lt;i&gt;gone&lt;/i&gt;')
  })
  it('markdown: the span is fenced anew (a crafted one cannot open more), the prose is text', () => {
    expect(String(textWithCode(u('`$.a` is [x](javascript:y)')))).toBe('`$.a` is \\[x\\](javascript:y)')
    expect(String(cellWithCode(u('`a|b` | c')))).toBe('`a\\|b` \\| c')
  })
  it('text without a single-backtick span is left as prose: a lone backtick, a ``` run', () => {
    expect(String(withCode(u('a ` b ```c``` d')))).toBe('a ` b ```c``` d')
    expect(String(textWithCode(u('a ` b')))).toBe('a \\` b')
  })
})

describe('link targets', () => {
  it('httpUrl keeps http(s) URLs, percent-encoding what acts in a Markdown destination or an attribute', () => {
    expect(httpUrl(u('https://github.com/acme/app/actions/runs/1'))).toBe('https://github.com/acme/app/actions/runs/1')
    expect(httpUrl(u('https://x.example/a(b)"c<d>'))).toBe('https://x.example/a%28b%29%22c%3Cd%3E')
  })
  it.each(['javascript:alert(1)', 'data:text/html,x', 'https://user:pw@x.example/', 'not a url', 'file:///etc/passwd'])('httpUrl refuses %j', (v) => expect(httpUrl(u(v))).toBeUndefined())
  it('fileUrl encodes each segment, so no segment becomes a scheme, and keeps a relative prefix', () => {
    expect(fileUrl(u('../..'), u('contracts/meta/a b.yaml'))).toBe('../../contracts/meta/a%20b.yaml')
    expect(fileUrl(u('.'), u('javascript:alert(1)'))).toBe('javascript%3Aalert(1)')
    expect(fileUrl(u('https://github.com/a/b/blob/abc'), u('contracts/x.yaml'))).toBe('https://github.com/a/b/blob/abc/contracts/x.yaml')
  })
  it('fileUrl gives nothing for an absolute path, a path leaving the repository, or a base that is not a path or http(s)', () => {
    expect(fileUrl(u('..'), u('/etc/passwd'))).toBeUndefined()
    expect(fileUrl(u('https://github.com/a/b/blob/abc'), u('../outside.yaml'))).toBeUndefined()
    expect(fileUrl(u('javascript:x'), u('a.yaml'))).toBeUndefined()
  })
  it('a Markdown link is made only to a safe target; otherwise the text stands alone', () => {
    expect(String(link(u('CI [run]'), u('https://x.example/r')))).toBe('[CI \\[run\\]](https://x.example/r)')
    expect(String(link(u('x'), u('javascript:alert(1)')))).toBe('x')
    expect(String(link(u('x'), u('a b)')))).toBe('x')
  })
})

describe('terminal', () => {
  it('shows every control of an untrusted value on one line, and the last guard catches what a command forgot', () => {
    expect(String(term`✗ ${u('GET\u001b[2J\n✓ fine')} → ${200}`)).toBe('✗ GET\\x1b[2J\\n✓ fine → 200')
    expect(terminalSafe(`raw \u001b]0;title\u0007 line\nnext`)).toBe('raw \\u001b]0;title\\u0007 line\nnext')
    const json = JSON.stringify({ title: 'a\u009bb\u2028c\u202ed' })
    expect(JSON.parse(terminalSafe(json))).toEqual({ title: 'a\u009bb\u2028c\u202ed' })
    expect(terminalSafe('✓ phone-numbers.get   1 req    41 ms')).toBe('✓ phone-numbers.get   1 req    41 ms')
  })
})

describe('xml', () => {
  it('escapes markup and shows what XML cannot carry', () => {
    expect(String(xml`<failure message="${u('a"<b>&\u0001')}"/>`)).toBe('<failure message="a&quot;&lt;b&gt;&amp;\\x01"/>')
    expect(escapeXml(u('ok'))).toBe('ok')
  })
})

describe('slack and JSON webhooks', () => {
  it('escapes & < > (no <!channel>, no <url|link>) and backticks cannot close code', () => {
    expect(String(slackText(u('<!channel> <http://evil|x> & co')))).toBe('&lt;!channel&gt; &lt;http://evil|x&gt; &amp; co')
    expect(String(slackCode(u('a`b')))).toBe('`aˋb`')
    expect(String(slackBlock(u('x```y')))).toBe('```xˋˋˋy```')
    expect(String(slack`*Drift* on ${slackCode(u('media.get'))}`)).toBe('*Drift* on `media.get`')
  })
  it('a JSON webhook body means the same JSON, with controls shown and markup characters as \\u escapes', () => {
    const body = webhookJson({ title: '<script>x</script> & \u001b[31m', n: 1 })
    expect(body).toBe('{"title":"\\u003cscript\\u003ex\\u003c/script\\u003e \\u0026 \\\\x1b[31m","n":1}')
    expect(JSON.parse(body)).toEqual({ title: '<script>x</script> & \\x1b[31m', n: 1 })
  })
})
