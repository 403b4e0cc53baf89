// The page's XSS boundary: everything the model, the store or a user writes reaches the page as
// textContent or through renderMarkdown(), which escapes first. These pin what it produces.
// Run: node --test crm-agent/src/http/assets/tests/markdown.test.mjs (a file, not the directory:
// Node 21 and later take only files and globs).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { escapeHtml, renderMarkdown } from '../markdown.js';

const LINK = (href, label) => `<a href="${href}" rel="noopener noreferrer" target="_blank">${label}</a>`;

// Every tag the renderer makes, and the attributes it gives them. Anything else in the output
// (a tag name, an attribute, a scheme) came from the input and would be an injection.
const TAGS = new Set(['p', 'br', 'h3', 'h4', 'h5', 'h6', 'hr', 'blockquote', 'ul', 'ol', 'li', 'pre', 'code', 'strong', 'em', 'del', 'a', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td']);
const ATTRIBUTES = {
  a: { href: /^https?:\/\/[^"\s]+$/i, rel: /^noopener noreferrer$/, target: /^_blank$/ },
  code: { class: /^language-[\w+#.-]+$/ },
  ol: { start: /^\d+$/ },
  div: { class: /^table-wrap$/ },
  th: { class: /^align-(left|right|center)$/ },
  td: { class: /^align-(left|right|center)$/ },
};
const TAG_RE = /<(\/?)([a-z][a-z0-9]*)((?: [a-z]+="[^"<>]*")*)>/y;
const ATTRIBUTE_RE = / ([a-z]+)="([^"<>]*)"/g;

/** Fails unless every `<` in `html` opens a tag the renderer makes, with only its own attributes. */
function assertOnlyOwnTags(html, source) {
  for (let at = html.indexOf('<'); at >= 0; at = html.indexOf('<', at + 1)) {
    TAG_RE.lastIndex = at;
    const m = TAG_RE.exec(html);
    assert.ok(m, `a '<' that opens no tag of the renderer at ${at} in ${JSON.stringify(html)} (from ${JSON.stringify(source)})`);
    const [, closing, name, attributes] = m;
    assert.ok(TAGS.has(name), `tag <${name}> from ${JSON.stringify(source)}`);
    if (closing) assert.equal(attributes, '', `attributes on </${name}>`);
    for (const [, attribute, value] of attributes.matchAll(ATTRIBUTE_RE)) {
      const allowed = ATTRIBUTES[name]?.[attribute];
      assert.ok(allowed, `attribute ${attribute} on <${name}> from ${JSON.stringify(source)}`);
      assert.match(value, allowed, `${attribute} of <${name}> from ${JSON.stringify(source)}`);
    }
  }
}

describe('escapeHtml', () => {
  test('escapes the five characters that matter in content and quoted attributes', () => {
    assert.equal(escapeHtml(`& < > " '`), '&amp; &lt; &gt; &quot; &#39;');
    assert.equal(escapeHtml('<img src=x onerror="alert(\'1\')">'), '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;');
  });

  test('escapes an entity again: the text shows as written', () => {
    assert.equal(escapeHtml('&amp; &lt;b&gt; &#39;'), '&amp;amp; &amp;lt;b&amp;gt; &amp;#39;');
  });

  test('leaves other text alone and takes any value', () => {
    assert.equal(escapeHtml('Zephyr Labs — 3 € / día'), 'Zephyr Labs — 3 € / día');
    assert.equal(escapeHtml(''), '');
    assert.equal(escapeHtml(12), '12');
  });
});

describe('renderMarkdown: HTML in the input is text', () => {
  for (const [source, expected] of [
    ['<script>alert(1)</script>', '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>'],
    ['<img src=x onerror=alert(1)>', '<p>&lt;img src=x onerror=alert(1)&gt;</p>'],
    ['<a href="javascript:alert(1)">x</a>', '<p>&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;</p>'],
    ['**<i>x</i>**', '<p><strong>&lt;i&gt;x&lt;/i&gt;</strong></p>'],
    ['- <b>x</b>\n- `<i>`', '<ul><li>&lt;b&gt;x&lt;/b&gt;</li><li><code>&lt;i&gt;</code></li></ul>'],
    ['> quote <b>', '<blockquote><p>quote &lt;b&gt;</p></blockquote>'],
    ['# <svg onload=alert(1)>', '<h3>&lt;svg onload=alert(1)&gt;</h3>'],
    ['| <x> | y |\n|:-|-:|\n| <td onclick=x> | y |', '<div class="table-wrap"><table><thead><tr><th class="align-left">&lt;x&gt;</th><th class="align-right">y</th></tr></thead><tbody><tr><td class="align-left">&lt;td onclick=x&gt;</td><td class="align-right">y</td></tr></tbody></table></div>'],
  ]) {
    test(JSON.stringify(source), () => {
      assert.equal(renderMarkdown(source), expected);
    });
  }

  test('NUL, which the renderer uses internally to hold finished pieces, is dropped from the input', () => {
    assert.equal(renderMarkdown('x \u00000\u0000 y'), '<p>x 0 y</p>');
    assert.equal(renderMarkdown('`<b>` \u00000\u0000'), '<p><code>&lt;b&gt;</code> 0</p>');
  });
});

describe('renderMarkdown: links', () => {
  test('an http(s) link becomes an anchor that opens apart from the page', () => {
    assert.equal(renderMarkdown('[Acme](https://acme.example/a)'), `<p>${LINK('https://acme.example/a', 'Acme')}</p>`);
    assert.equal(renderMarkdown('[a & b](https://x.example/?q=1&r=2)'), `<p>${LINK('https://x.example/?q=1&amp;r=2', 'a &amp; b')}</p>`);
    assert.equal(renderMarkdown('[x](https://x.example "title")'), `<p>${LINK('https://x.example', 'x')}</p>`);
    assert.equal(renderMarkdown('[**b** `c`](https://x.example)'), `<p>${LINK('https://x.example', '<strong>b</strong> <code>c</code>')}</p>`);
    assert.equal(renderMarkdown('[<b>](https://x.example)'), `<p>${LINK('https://x.example', '&lt;b&gt;')}</p>`);
  });

  test('any other scheme leaves the label as plain text, without an href', () => {
    // The URL ends at the first ")", so the ")" of "alert(1)" stays behind as text.
    assert.equal(renderMarkdown('[x](javascript:alert(1))'), '<p>x)</p>');
    assert.equal(renderMarkdown('[x](JavaScript:alert%281%29)'), '<p>x</p>');
    assert.equal(renderMarkdown('[x]( javascript:alert(1) )'), '<p>x )</p>');
    assert.equal(renderMarkdown('[x](vbscript:msgbox)'), '<p>x</p>');
    assert.equal(renderMarkdown('[x](data:text/html;base64,PHNjcmlwdD4=)'), '<p>x</p>');
    assert.equal(renderMarkdown('[x](//evil.example)'), '<p>x</p>');
    assert.equal(renderMarkdown('[x](/api/tokens)'), '<p>x</p>');
    assert.equal(renderMarkdown('[x](https://x.example)[y](javascript:void)'), `<p>${LINK('https://x.example', 'x')}y</p>`);
    assert.equal(renderMarkdown('![img](https://x.example/i.png)'), `<p>!${LINK('https://x.example/i.png', 'img')}</p>`);
    for (const source of ['[x](javascript:alert(1))', '[x](JAVASCRIPT:alert(1))', '[x](\tjavascript:alert(1))', 'javascript:alert(1)']) {
      assert.doesNotMatch(renderMarkdown(source), /href/, source);
    }
  });

  test('a quote in a URL stays inside the href, escaped', () => {
    assert.equal(renderMarkdown('[x](https://a.example/"><script>)'), `<p>${LINK('https://a.example/&quot;&gt;&lt;script&gt;', 'x')}</p>`);
    assert.equal(renderMarkdown("[x](https://a.example/'onerror='x)"), `<p>${LINK('https://a.example/&#39;onerror=&#39;x', 'x')}</p>`);
    assert.equal(
      renderMarkdown('https://a.example/"onmouseover=alert(1)'),
      `<p>${LINK('https://a.example/&quot;onmouseover=alert(1', 'https://a.example/&quot;onmouseover=alert(1')})</p>`,
    );
  });

  test('bare URLs are linked without their trailing punctuation', () => {
    assert.equal(
      renderMarkdown('see https://example.com/path?a=1&b=2.'),
      `<p>see ${LINK('https://example.com/path?a=1&amp;b=2', 'https://example.com/path?a=1&amp;b=2')}.</p>`,
    );
    assert.equal(renderMarkdown('(https://x.example/a_b_c), *x*'), `<p>(${LINK('https://x.example/a_b_c', 'https://x.example/a_b_c')}), <em>x</em></p>`);
    assert.equal(renderMarkdown('<https://x.example>'), `<p>&lt;${LINK('https://x.example', 'https://x.example')}&gt;</p>`);
    assert.equal(renderMarkdown('javascript:alert(1)//https://x.example'), `<p>javascript:alert(1)//${LINK('https://x.example', 'https://x.example')}</p>`);
    assert.equal(renderMarkdown('`https://x.example`'), '<p><code>https://x.example</code></p>');
  });
});

describe('renderMarkdown: code', () => {
  test('a fence language is cut to word characters, so it cannot leave the class attribute', () => {
    assert.equal(renderMarkdown('```"><img src=x onerror=alert(1)>\ncode\n```'), '<pre><code class="language-img">code</code></pre>');
    assert.equal(renderMarkdown('```js" onload="x\nbody\n```'), '<pre><code class="language-js">body</code></pre>');
    assert.equal(renderMarkdown("```'><script>\nbody\n```"), '<pre><code class="language-script">body</code></pre>');
    assert.equal(renderMarkdown('```"\nbody\n```'), '<pre><code>body</code></pre>');
  });

  test('a fenced block is escaped and kept as written', () => {
    assert.equal(renderMarkdown('```js\n<b>x</b>\n  **y**\n```'), '<pre><code class="language-js">&lt;b&gt;x&lt;/b&gt;\n  **y**</code></pre>');
    assert.equal(renderMarkdown('~~~c++\nif (a < b && c) {}\n~~~'), '<pre><code class="language-c++">if (a &lt; b &amp;&amp; c) {}</code></pre>');
    assert.equal(renderMarkdown('a\n\n```\nunterminated <b>'), '<p>a</p>\n<pre><code>unterminated &lt;b&gt;</code></pre>');
  });

  test('inline code is escaped and not formatted', () => {
    assert.equal(renderMarkdown('use `<b>` here'), '<p>use <code>&lt;b&gt;</code> here</p>');
    assert.equal(renderMarkdown('`**not bold**` and `a_b_c`'), '<p><code>**not bold**</code> and <code>a_b_c</code></p>');
    assert.equal(renderMarkdown('`` a ` b ``'), '<p><code>a ` b</code></p>');
    assert.equal(renderMarkdown('`"onclick="x`'), '<p><code>&quot;onclick=&quot;x</code></p>');
  });
});

describe('renderMarkdown: formatting', () => {
  test('bold, italic and strikethrough', () => {
    assert.equal(
      renderMarkdown('**bold** and *it* and _it2_ and __b2__ and ~~del~~'),
      '<p><strong>bold</strong> and <em>it</em> and <em>it2</em> and <strong>b2</strong> and <del>del</del></p>',
    );
    assert.equal(renderMarkdown('snake_case_word and 2*3*4'), '<p>snake_case_word and 2*3*4</p>');
    assert.equal(renderMarkdown('** not bold **'), '<p>** not bold **</p>');
  });

  test('headings start at h3 (the page has h1 and h2) and stop at h6', () => {
    assert.equal(renderMarkdown('# Title\n## Sub\n#### Four ##\n###### six'), '<h3>Title</h3>\n<h4>Sub</h4>\n<h6>Four</h6>\n<h6>six</h6>');
    assert.equal(renderMarkdown('#hashtag'), '<p>#hashtag</p>');
    assert.equal(renderMarkdown('# A & *B*'), '<h3>A &amp; <em>B</em></h3>');
  });

  test('lists: bullets, numbers, a start number, nesting and continuation lines', () => {
    assert.equal(renderMarkdown('- a\n- b\n  - c\n- d'), '<ul><li>a</li><li>b<ul><li>c</li></ul></li><li>d</li></ul>');
    assert.equal(renderMarkdown('* a\n+ **b**'), '<ul><li>a</li><li><strong>b</strong></li></ul>');
    assert.equal(renderMarkdown('1. one\n2. two'), '<ol><li>one</li><li>two</li></ol>');
    assert.equal(renderMarkdown('3) three\n4) four'), '<ol start="3"><li>three</li><li>four</li></ol>');
    assert.equal(renderMarkdown('- a\n  more\n\n- b'), '<ul><li>a<br>more</li><li>b</li></ul>');
    assert.equal(renderMarkdown('- a\n\nafter'), '<ul><li>a</li></ul>\n<p>after</p>');
  });

  test('paragraphs, line breaks, rules and quotes', () => {
    assert.equal(renderMarkdown('line1\nline2\n\nnext'), '<p>line1<br>line2</p>\n<p>next</p>');
    assert.equal(renderMarkdown('a\n\n---\n\nb'), '<p>a</p>\n<hr>\n<p>b</p>');
    assert.equal(renderMarkdown('> **q**\n> r'), '<blockquote><p><strong>q</strong><br>r</p></blockquote>');
    assert.equal(renderMarkdown('a\r\nb\rc'), '<p>a<br>b<br>c</p>');
    assert.equal(renderMarkdown(''), '');
    assert.equal(renderMarkdown(null), '');
    assert.equal(renderMarkdown(undefined), '');
  });

  test('the answer the browser test streams', () => {
    assert.equal(
      renderMarkdown('Here is the **customer overview**:\n\n- Active customers lead the list\n- Prospects follow\n- *VIP* accounts are few\n\nAsk me for details on any group.'),
      '<p>Here is the <strong>customer overview</strong>:</p>\n<ul><li>Active customers lead the list</li><li>Prospects follow</li><li><em>VIP</em> accounts are few</li></ul>\n<p>Ask me for details on any group.</p>',
    );
  });
});

describe('renderMarkdown: entities are escaped exactly once', () => {
  for (const [source, expected] of [
    ['a &amp; b &lt;c&gt; &#39; &quot; &nbsp;', '<p>a &amp;amp; b &amp;lt;c&amp;gt; &amp;#39; &amp;quot; &amp;nbsp;</p>'],
    ['Tom & Jerry <3', '<p>Tom &amp; Jerry &lt;3</p>'],
    ['**&lt;b&gt;**', '<p><strong>&amp;lt;b&amp;gt;</strong></p>'],
    ['`&amp;`', '<p><code>&amp;amp;</code></p>'],
    ['```\n&lt;b&gt; & <b>\n```', '<pre><code>&amp;lt;b&amp;gt; &amp; &lt;b&gt;</code></pre>'],
    ['# A &amp; B', '<h3>A &amp;amp; B</h3>'],
    ['- &lt;li&gt;', '<ul><li>&amp;lt;li&amp;gt;</li></ul>'],
    ['| &amp; |\n|---|\n| & |', '<div class="table-wrap"><table><thead><tr><th>&amp;amp;</th></tr></thead><tbody><tr><td>&amp;</td></tr></tbody></table></div>'],
    ['[&lt;x&gt;](https://x.example/?a=1&amp;b=2)', `<p>${LINK('https://x.example/?a=1&amp;amp;b=2', '&amp;lt;x&amp;gt;')}</p>`],
  ]) {
    test(JSON.stringify(source), () => {
      assert.equal(renderMarkdown(source), expected);
    });
  }

  test('the text of the output, decoded once, is the input', () => {
    const decode = (html) => html.replace(/<[^>]*>/g, '').replace(/&(amp|lt|gt|quot|#39);/g, (_, name) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name]);
    for (const source of ['a &amp; b', '&lt;script&gt;', `"quoted" 'single' <tag> & done`, '&&amp;&amp;amp;']) {
      assert.equal(decode(renderMarkdown(source)), `${source}`, source);
    }
  });
});

describe('renderMarkdown: only its own tags, whatever the input', () => {
  const hostile = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '[x](javascript:alert(1))',
    '[x](https://x.example/"onmouseover="alert(1)")',
    '```"><img src=x onerror=alert(1)>\nx\n```',
    '<a href="javascript:alert(1)">x</a>',
    '| <x> | "y" |\n|:-:|---|\n| `<z>` | [a](https://a.example/\'b) |',
    '> <iframe src=//evil>\n> - [q](data:text/html,<b>)',
    '1. <svg/onload=alert(1)>\n   - **<b>** _<i>_ ~~<s>~~',
    'https://x.example/<script>',
    '\u00000\u0000<b>\u00001\u0000',
  ];

  for (const source of hostile) {
    test(JSON.stringify(source), () => {
      assertOnlyOwnTags(renderMarkdown(source), source);
    });
  }

  test('random mixes of Markdown syntax and HTML', () => {
    // A fixed seed: a failure names an input that reproduces it.
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pieces = [
      '**', '*', '_', '__', '~~', '`', '```', '~~~', '[', ']', '(', ')', '](', '# ', '- ', '1. ', '> ', '|', '|---|', '---', '\n', '\n\n', ' ', '  ',
      '<', '>', '"', "'", '&', '&amp;', '&quot;', '\u0000', '<script>', '</p>', '<img src=x onerror=alert(1)>', '" onclick="x', 'javascript:alert(1)',
      'https://x.example/', 'https://x.example/"><b>', 'data:text/html,', 'text', 'code',
    ];
    for (let n = 0; n < 3000; n++) {
      const length = 1 + Math.floor(random() * 24);
      let source = '';
      for (let k = 0; k < length; k++) source += pieces[Math.floor(random() * pieces.length)];
      assertOnlyOwnTags(renderMarkdown(source), source);
    }
  });
});
