/* report.html's only script: its SHA-256 is in the page's
   Content-Security-Policy, so no other script can run.  It reads the data
   embedded as inert JSON (a data block of type application/json), sorts the
   tables, and draws the examples.  Everything it shows goes through
   textContent and createElement: captured traffic is never parsed as HTML. */
(function () {
  'use strict';

  /* Characters that would hide or reorder text: controls, bidirectional
     overrides and isolates, zero-width characters, line separators, tags.
     The same set as reports/escape.c. */
  var HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;
  var HIDDEN_INLINE = /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;
  var BODY_LINES_MAX = 20000;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function picture(ch) {
    var cp = ch.codePointAt(0);
    if (cp < 0x20) { return String.fromCharCode(0x2400 + cp); }
    if (cp === 0x7f) { return '\u2421'; }
    var hex = cp.toString(16).toUpperCase();
    while (hex.length < 4) { hex = '0' + hex; }
    return '[U+' + hex + ']';
  }

  /* Append text to parent, hidden characters as visible <span class="cc">.
     multiline keeps \n and \t (bodies); otherwise they are shown too. */
  function vis(parent, text, multiline) {
    var s = String(text), re = multiline ? HIDDEN : HIDDEN_INLINE, last = 0, m;
    re.lastIndex = 0;
    while ((m = re.exec(s)) !== null) {
      if (m.index > last) { parent.appendChild(document.createTextNode(s.slice(last, m.index))); }
      parent.appendChild(el('span', 'cc', picture(m[0])));
      last = m.index + m[0].length;
    }
    if (last < s.length) { parent.appendChild(document.createTextNode(s.slice(last))); }
    return parent;
  }

  function visEl(tag, cls, text, multiline) {
    return vis(el(tag, cls), text, multiline);
  }

  /* ------------------------------------------------------------ sorting */

  function sortKey(cell, numeric) {
    if (numeric) {
      var v = parseFloat(cell.getAttribute('data-v'));
      return isNaN(v) ? -Infinity : v;
    }
    return cell.textContent.toLowerCase();
  }

  function sortTable(table, col, th) {
    var numeric = th.getAttribute('data-type') === 'number';
    var dir = th.getAttribute('aria-sort') === (numeric ? 'descending' : 'ascending') ?
      (numeric ? 'ascending' : 'descending') : (numeric ? 'descending' : 'ascending');
    var heads = table.tHead.rows[0].cells, i;
    for (i = 0; i < heads.length; i++) { heads[i].removeAttribute('aria-sort'); }
    th.setAttribute('aria-sort', dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = dir === 'ascending' ? 1 : -1;
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[col], numeric), y = sortKey(b.cells[col], numeric);
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return Number(a.getAttribute('data-i')) - Number(b.getAttribute('data-i'));
    });
    for (i = 0; i < rows.length; i++) { body.appendChild(rows[i]); }
  }

  function makeSortable(table) {
    var heads = table.tHead.rows[0].cells, rows = table.tBodies[0].rows, i;
    for (i = 0; i < rows.length; i++) { rows[i].setAttribute('data-i', String(i)); }
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector('button');
      if (button) {
        button.addEventListener('click', function () { sortTable(table, col, th); });
      }
    });
  }

  /* ------------------------------------------------------- JSON bodies */

  function pointerToken(key) {
    return '/' + String(key).replace(/~/g, '~0').replace(/\//g, '~1');
  }

  /* A tolerant pretty-printer, one pass over the tokens: it keeps every
     token as written (numbers of any size, escapes), tracks the JSON
     Pointer of each value, marks the lines of differing paths, and shows
     whatever does not parse (a body cut short) as raw text. */
  var SCALAR = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/;

  function jsonView(text, marks) {
    var t = String(text), i = 0, n = t.length, lines = 0;
    var pre = el('pre', 'body json'), cur = null;
    /* frames: {obj, path, mark, count, expect: 'key'|'colon'|'value'|'sep', key} */
    var stack = [], ok = true;

    function newLine(depth, mark) {
      lines++;
      cur = el('span', 'line' + (mark ? ' hl-' + mark : ''));
      cur.appendChild(document.createTextNode(new Array(depth + 1).join('  ')));
      pre.appendChild(cur);
      return cur;
    }
    function markOf(path, inherited) { return marks[path] || inherited || ''; }
    function stringEnd(from) {
      var k = from + 1;
      while (k < n) {
        var c = t.charAt(k);
        if (c === '\\') { k += 2; continue; }
        k++;
        if (c === '"') { return k; }
      }
      return -1;
    }
    /* Where the next value goes: its path, mark, and line. */
    function placeValue() {
      var top = stack[stack.length - 1];
      if (!top) { return { path: '', mark: markOf('', ''), line: newLine(0, markOf('', '')) }; }
      if (top.obj) {
        if (top.expect !== 'value') { return null; }
        top.expect = 'sep';
        return { path: top.childPath, mark: top.childMark, line: cur };
      }
      if (top.expect !== 'value' && top.expect !== 'first') { return null; }
      var path = top.path + '/' + top.count, mark = markOf(path, top.mark);
      top.expect = 'sep';
      top.any = true;
      return { path: path, mark: mark, line: newLine(stack.length, mark) };
    }

    while (i < n && lines <= BODY_LINES_MAX) {
      var c = t.charAt(i), top = stack[stack.length - 1], at;
      if (c === ' ' || c === '\n' || c === '\r' || c === '\t') { i++; continue; }
      if (c === '{' || c === '[') {
        if (!(at = placeValue())) { ok = false; break; }
        at.line.appendChild(document.createTextNode(c));
        stack.push({ obj: c === '{', path: at.path, mark: at.mark, count: 0,
                     expect: c === '{' ? 'key' : 'first', line: at.line });
        i++;
        if (stack.length > 200) { ok = false; break; }
        continue;
      }
      if (c === '}' || c === ']') {
        if (!top || top.obj !== (c === '}') ||
            !(top.expect === 'sep' || (top.obj ? top.expect === 'key' && !top.any : top.expect === 'first'))) {
          ok = false;
          break;
        }
        stack.pop();
        if (!top.any) { top.line.appendChild(document.createTextNode(c)); }
        else { newLine(stack.length, top.mark).appendChild(document.createTextNode(c)); }
        i++;
        continue;
      }
      if (c === ',') {
        if (!top || top.expect !== 'sep') { ok = false; break; }
        cur.appendChild(document.createTextNode(','));
        top.count++;
        top.expect = top.obj ? 'key' : 'value';
        i++;
        continue;
      }
      if (c === ':') {
        if (!top || !top.obj || top.expect !== 'colon') { ok = false; break; }
        cur.appendChild(document.createTextNode(': '));
        top.expect = 'value';
        i++;
        continue;
      }
      if (c === '"' && top && top.obj && top.expect === 'key') {
        var end = stringEnd(i);
        if (end < 0) { ok = false; break; }
        var raw = t.slice(i, end), key;
        try { key = JSON.parse(raw); } catch (e) { key = raw; }
        top.childPath = top.path + pointerToken(key);
        top.childMark = markOf(top.childPath, top.mark);
        vis(newLine(stack.length, top.childMark).appendChild(el('span', 'k')), raw, false);
        top.expect = 'colon';
        top.any = true;
        i = end;
        continue;
      }
      var tok;
      if (c === '"') {
        var e2 = stringEnd(i);
        if (e2 < 0) { ok = false; break; }
        tok = t.slice(i, e2);
      } else {
        var m = SCALAR.exec(t.slice(i, i + 400));
        if (!m) { ok = false; break; }
        tok = m[0];
      }
      if (!(at = placeValue())) { ok = false; break; }
      vis(at.line, tok, false);
      i += tok.length;
    }
    if (lines > BODY_LINES_MAX) {
      pre.appendChild(el('span', 'line more', '\u2026 the rest of the body is not shown'));
    } else if (!ok || stack.length) {
      /* the rest as written: a cut body, or not JSON from here on */
      if (i < n) {
        var rest = el('span', 'line raw');
        vis(rest, t.slice(i, i + 65536), true);
        pre.appendChild(rest);
      }
      pre.setAttribute('data-partial', '1');
    }
    return { pre: pre, valid: ok && !stack.length && lines <= BODY_LINES_MAX };
  }

  function textView(text, marks) {
    var pre = el('pre', 'body text'), lines = String(text).split('\n'), i;
    for (i = 0; i < lines.length && i < BODY_LINES_MAX; i++) {
      var line = el('span', 'line' + (marks['line:' + (i + 1)] ? ' hl-' + marks['line:' + (i + 1)] : ''));
      line.appendChild(el('span', 'ln', String(i + 1)));
      vis(line, lines[i], true);
      pre.appendChild(line);
    }
    if (i < lines.length) { pre.appendChild(el('span', 'more', '\u2026 ' + (lines.length - i) + ' more lines')); }
    return pre;
  }

  function hexView(b64) {
    var pre = el('pre', 'body hex'), bytes;
    try { bytes = atob(String(b64).slice(0, 1368)); } catch (e) { bytes = ''; }
    var out = [];
    for (var i = 0; i < bytes.length; i += 16) {
      var row = bytes.slice(i, i + 16), hex = [], asc = '';
      for (var k = 0; k < row.length; k++) {
        var c = row.charCodeAt(k);
        hex.push((c < 16 ? '0' : '') + c.toString(16));
        asc += c >= 32 && c < 127 ? row.charAt(k) : '.';
      }
      out.push(('0000' + i.toString(16)).slice(-5) + '  ' + hex.join(' ') + '  ' + asc);
    }
    pre.textContent = out.join('\n');
    return pre;
  }

  function bodyView(resp, marks) {
    var box = el('div', 'bodybox');
    if (resp.body === null || resp.body === undefined) {
      box.appendChild(el('p', 'note', 'Body not kept' +
        (resp.size !== undefined ? ': ' + resp.size + ' bytes' : '') +
        (resp.sha256 ? ', SHA-256 ' + resp.sha256 : '') + '.'));
      return box;
    }
    var view = null;
    if (resp.encoding === 'base64') {
      box.appendChild(el('p', 'note', 'Binary body' + (resp.size !== undefined ? ', ' + resp.size + ' bytes' : '') +
        (resp.sha256 ? ', SHA-256 ' + resp.sha256 : '') + '; the first bytes:'));
      view = hexView(resp.body);
    } else if (resp.encoding === 'json' || resp.encoding === undefined) {
      var jv = jsonView(resp.body, marks);
      view = jv.pre;
      if (!jv.valid) {
        box.appendChild(el('p', 'note', 'Not complete JSON' +
          (resp.truncated || resp.cut ? ' (the body was cut)' : '') +
          ': what does not parse is shown as written.'));
      }
    } else {
      view = textView(resp.body, marks);
    }
    box.appendChild(view);
    if (resp.truncated || resp.cut) {
      box.appendChild(el('p', 'note', 'The body was cut' +
        (resp.truncated ? ' by rehearse diff (caps.example_body_bytes)' : '') +
        (resp.cut ? '; ' + resp.cut + ' more bytes are in DIFF.json' : '') + '.'));
    }
    return box;
  }

  /* ---------------------------------------------------------- examples */

  var ROLE_TITLE = { base: 'base', candidate: 'candidate', noise: 'noise reference', captured: 'captured (production)' };

  function headersTable(headers, differing) {
    var table = el('table', 'headers'), body = el('tbody');
    (headers || []).forEach(function (h) {
      var tr = el('tr', differing[String(h[0]).toLowerCase()] ? 'd' : '');
      tr.appendChild(visEl('td', '', h[0], false));
      tr.appendChild(visEl('td', '', h[1], false));
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  function fillFinding(card, f) {
    if (card.getAttribute('data-done')) { return; }
    card.setAttribute('data-done', '1');
    card.textContent = '';
    var h = el('h3');
    h.appendChild(document.createTextNode('Transaction ' + Number(f.tx) + ' \u00b7 '));
    vis(h, (f.method || '') + ' ' + (f.target || ''), false);
    card.appendChild(h);
    var meta = el('div', 'tags');
    vis(meta.appendChild(el('span')), f.endpoint, false);
    if (f.conn !== undefined) { meta.appendChild(el('span', '', 'connection ' + Number(f.conn))); }
    (f.kinds || []).forEach(function (k) { vis(meta.appendChild(el('span')), k + ' differs', false); });
    card.appendChild(meta);

    /* maps keyed by input: no prototype, so "constructor" or "__proto__" mean nothing */
    var marks = Object.create(null), noise = Object.create(null);
    (f.noise_paths || []).forEach(function (p) { noise[p] = true; marks[p] = 'n'; });
    (f.paths || []).forEach(function (p) { if (!noise[p]) { marks[p] = 'd'; } });
    var paths = el('p', 'paths');
    paths.appendChild(document.createTextNode('Differing: '));
    (f.paths || []).forEach(function (p) {
      if (!noise[p]) { vis(paths.appendChild(el('code', 'd')), p, false); }
    });
    if ((f.noise_paths || []).length) {
      paths.appendChild(document.createTextNode(' noise: '));
      f.noise_paths.forEach(function (p) { vis(paths.appendChild(el('code', 'n')), p, false); });
    }
    card.appendChild(paths);

    var differing = Object.create(null);
    (f.headers || []).forEach(function (n) { differing[String(n).toLowerCase()] = true; });
    var sides = el('div', 'sides'), baseStatus = null;
    (f.responses || []).forEach(function (resp) {
      var side = el('div', 'side'), title = el('h4');
      vis(title, (ROLE_TITLE[resp.role] || resp.role) + (resp.target ? ' \u00b7 ' + resp.target : ''), false);
      if (resp.role === 'base') { baseStatus = resp.status; }
      var st = el('span', 'status' + (resp.role !== 'base' && resp.status !== baseStatus ? ' d' : ''),
        resp.status === null || resp.status === undefined ? 'no status' : String(Number(resp.status)));
      title.appendChild(st);
      side.appendChild(title);
      side.appendChild(headersTable(resp.headers, differing));
      side.appendChild(bodyView(resp, marks));
      sides.appendChild(side);
    });
    card.appendChild(sides);

    if (f.patch && f.patch.length) {
      var patch = el('pre', 'patch');
      vis(patch, 'JSON Patch (base \u2192 candidate):\n[\n  ' + f.patch.join(',\n  ') + '\n]', true);
      card.appendChild(patch);
    }
  }

  function renderFindings(data) {
    var list = document.getElementById('findings-list');
    if (!list || !data || !data.findings) { return; }
    var cards = [];
    data.findings.forEach(function (f, i) {
      var card = el('article', 'finding');
      card.id = 'ex-' + Number(f.e) + '-' + Number(f.tx);
      var h = el('h3');
      h.appendChild(document.createTextNode('Transaction ' + Number(f.tx) + ' \u00b7 '));
      vis(h, (f.method || '') + ' ' + (f.target || ''), false);
      card.appendChild(h);
      list.appendChild(card);
      cards.push({ card: card, f: f });
      if (i < 12) { fillFinding(card, f); }
    });
    function fillAll() { cards.forEach(function (c) { fillFinding(c.card, c.f); }); }
    window.addEventListener('beforeprint', fillAll);
    if ('IntersectionObserver' in window) {
      var io = new IntersectionObserver(function (entries) {
        entries.forEach(function (en) {
          if (en.isIntersecting) {
            var c = cards[Number(en.target.getAttribute('data-n'))];
            fillFinding(c.card, c.f);
            io.unobserve(en.target);
          }
        });
      }, { rootMargin: '1200px 0px' });
      cards.forEach(function (c, n) { c.card.setAttribute('data-n', String(n)); io.observe(c.card); });
    } else {
      fillAll();
    }
    if (location.hash.indexOf('#ex-') === 0) {
      var target = document.getElementById(location.hash.slice(1));
      if (target) {
        var idx = Number(target.getAttribute('data-n'));
        if (cards[idx]) { fillFinding(cards[idx].card, cards[idx].f); }
      }
    }
  }

  /* ------------------------------------------------------------- start */

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), makeSortable);
    var node = document.getElementById('report-data'), data = null;
    if (node) {
      try { data = JSON.parse(node.textContent); } catch (e) { data = null; }
    }
    var js = document.getElementById('js-note');
    if (js) { js.textContent = ''; }
    renderFindings(data);
    document.documentElement.setAttribute('data-ready', '1');
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
