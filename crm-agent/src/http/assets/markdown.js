// The Markdown renderer and HTML escaping: the page's only way from untrusted text to HTML.
// No DOM access, so node can import it (tests/markdown.test.mjs).

/** Escapes text for HTML (element content and double- or single-quoted attributes). */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// ---------------------------------------------------------------------------------------------
// Markdown: escape everything, then add a few tags of our own.

const LIST_RE = /^(\s*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const FENCE_RE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING_RE = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const HR_RE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE_RE = /^ {0,3}>[ \t]?(.*)$/;
const TABLE_SEP_RE = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

const isBlank = (line) => /^\s*$/.test(line);
const indentOf = (line) => {
  const m = /^[ \t]*/.exec(line)[0];
  return m.replace(/\t/g, '    ').length;
};
const isOrdered = (marker) => /\d/.test(marker);

function isTableStart(lines, i) {
  return i + 1 < lines.length && lines[i].includes('|') && lines[i + 1].includes('|') && lines[i + 1].includes('-') && TABLE_SEP_RE.test(lines[i + 1]);
}

function isBlockStart(lines, i) {
  const line = lines[i];
  return FENCE_RE.test(line) || HEADING_RE.test(line) || HR_RE.test(line) || QUOTE_RE.test(line) || isTableStart(lines, i);
}

/** Renders Markdown to HTML. All input text is escaped; only tags made here are produced. */
export function renderMarkdown(source) {
  const text = String(source ?? '').replace(/\0/g, '').replace(/\r\n?/g, '\n');
  return renderBlocks(text.split('\n'));
}

function renderBlocks(lines) {
  const out = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.push(`<p>${inline(paragraph.join('\n'))}</p>`);
    paragraph = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      flush();
      i++;
      continue;
    }
    let m = FENCE_RE.exec(line);
    if (m) {
      flush();
      const fence = m[1];
      const lang = m[2].replace(/[^\w+#.-]/g, '');
      const body = [];
      i++;
      while (i < lines.length) {
        const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
        if (close && close[1][0] === fence[0] && close[1].length >= fence.length) {
          i++;
          break;
        }
        body.push(lines[i]);
        i++;
      }
      const cls = lang ? ` class="language-${escapeHtml(lang)}"` : '';
      out.push(`<pre><code${cls}>${escapeHtml(body.join('\n'))}</code></pre>`);
      continue;
    }
    m = HEADING_RE.exec(line);
    if (m) {
      flush();
      // The page already uses h1/h2: a model's "#" becomes h3, and so on.
      const level = Math.min(m[1].length + 2, 6);
      out.push(`<h${level}>${inline(m[2])}</h${level}>`);
      i++;
      continue;
    }
    if (HR_RE.test(line)) {
      flush();
      out.push('<hr>');
      i++;
      continue;
    }
    if (QUOTE_RE.test(line)) {
      flush();
      const inner = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE_RE.exec(lines[i]);
        inner.push(q ? q[1] : lines[i]);
        i++;
      }
      out.push(`<blockquote>${renderBlocks(inner)}</blockquote>`);
      continue;
    }
    if (isTableStart(lines, i)) {
      flush();
      const [html, next] = renderTable(lines, i);
      out.push(html);
      i = next;
      continue;
    }
    if (LIST_RE.test(line)) {
      flush();
      const [html, next] = renderList(lines, i);
      out.push(html);
      i = next;
      continue;
    }
    paragraph.push(line.trim());
    i++;
  }
  flush();
  return out.join('\n');
}

function renderList(lines, start) {
  const first = LIST_RE.exec(lines[start]);
  const baseIndent = indentOf(lines[start]);
  const ordered = isOrdered(first[2]);
  const startNumber = ordered ? parseInt(first[2], 10) : 1;
  const parts = [ordered ? (startNumber !== 1 ? `<ol start="${startNumber}">` : '<ol>') : '<ul>'];
  let item = null;
  const closeItem = () => {
    if (item) parts.push(`<li>${inline(item.text.join('\n'))}${item.nested}</li>`);
    item = null;
  };
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      // A blank line ends the list unless the list (or the item) goes on after it.
      let j = i + 1;
      while (j < lines.length && isBlank(lines[j])) j++;
      if (j >= lines.length) break;
      const next = LIST_RE.exec(lines[j]);
      const indent = indentOf(lines[j]);
      const sibling = next && indent >= baseIndent && indent <= baseIndent + 1 && isOrdered(next[2]) === ordered;
      const deeper = indent > baseIndent + 1 && item;
      if (sibling || deeper) {
        i = j;
        continue;
      }
      break;
    }
    const m = LIST_RE.exec(line);
    const indent = indentOf(line);
    if (m && indent < baseIndent) break;
    if (m && indent <= baseIndent + 1) {
      if (isOrdered(m[2]) !== ordered) break;
      closeItem();
      item = { text: [m[3].trim()], nested: '' };
      i++;
      continue;
    }
    if (m && item) {
      const [html, next] = renderList(lines, i);
      item.nested += html;
      i = next;
      continue;
    }
    if (item && (indent > baseIndent || !isBlockStart(lines, i))) {
      item.text.push(line.trim());
      i++;
      continue;
    }
    break;
  }
  closeItem();
  parts.push(ordered ? '</ol>' : '</ul>');
  return [parts.join(''), i];
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function renderTable(lines, start) {
  const header = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((cell) => {
    const left = cell.startsWith(':');
    const right = cell.endsWith(':');
    return left && right ? 'center' : right ? 'right' : left ? 'left' : '';
  });
  const cellHtml = (tag, text, index) => {
    const align = aligns[index] ? ` class="align-${aligns[index]}"` : '';
    return `<${tag}${align}>${inline(text)}</${tag}>`;
  };
  const rows = [];
  let i = start + 2;
  while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) {
    const cells = splitRow(lines[i]);
    rows.push(`<tr>${header.map((_, index) => cellHtml('td', cells[index] ?? '', index)).join('')}</tr>`);
    i++;
  }
  const head = `<thead><tr>${header.map((text, index) => cellHtml('th', text, index)).join('')}</tr></thead>`;
  return [`<div class="table-wrap"><table>${head}<tbody>${rows.join('')}</tbody></table></div>`, i];
}

const SAFE_URL_RE = /^https?:\/\/[^\s]+$/i;

/** Inline Markdown of one block's text: code, links, bare URLs, bold, italic, strikethrough. */
function inline(raw) {
  const held = [];
  const hold = (html) => `\0${held.push(html) - 1}\0`;
  // 1. Code spans, taken out before anything else touches them.
  let text = raw.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_, _ticks, code) => hold(`<code>${escapeHtml(code.replace(/^ (.*) $/s, '$1'))}</code>`));
  // 2. Everything else is escaped.
  text = escapeHtml(text);
  // 3. Links [label](http(s)://…); other schemes stay plain text.
  text = text.replace(/\[([^\]\n]+)\]\(\s*([^\s)]+)(?:\s+&quot;[^\n]*?&quot;)?\s*\)/g, (whole, label, url) => {
    if (!SAFE_URL_RE.test(url)) return label;
    return hold(`<a href="${url}" rel="noopener noreferrer" target="_blank">${emphasis(label)}</a>`);
  });
  // 4. Bare URLs.
  text = text.replace(/\bhttps?:\/\/[^\s<>\0]+/gi, (match) => {
    let url = match;
    let tail = '';
    for (;;) {
      const trailing = /(?:[.,:;!?)\]*_~]|&quot;|&#39;|&gt;)$/.exec(url);
      if (!trailing) break;
      tail = trailing[0] + tail;
      url = url.slice(0, -trailing[0].length);
    }
    if (!SAFE_URL_RE.test(url) || url.length < 9) return match;
    return hold(`<a href="${url}" rel="noopener noreferrer" target="_blank">${url}</a>`) + tail;
  });
  // 5. Emphasis.
  text = emphasis(text);
  // 6. Put held pieces back (labels may hold code spans, so repeat).
  for (let n = 0; n < 3 && text.includes('\0'); n++) text = text.replace(/\0(\d+)\0/g, (_, index) => held[Number(index)] ?? '');
  return text.replace(/\n/g, '<br>');
}

function emphasis(text) {
  return text
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1<strong>$2</strong>')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>')
    .replace(/(^|[^*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![*\w])/g, '$1<em>$2</em>')
    .replace(/(^|[^\w])_(?=[^\s_])([^_\n]*?[^\s_])_(?!\w)/g, '$1<em>$2</em>');
}
