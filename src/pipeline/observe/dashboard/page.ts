// The dashboard's one page: HTML, style and script in one answer, loading nothing else (the
// server's Content-Security-Policy forbids it). The script listens to /events and draws each
// snapshot (model.ts) with DOM text, never as HTML, except the charts' SVG, which the server drew.

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:80rem;color:#1b1f24;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #d0d7de}
.sub{color:#57606a}#connection{float:right;font-size:12px;padding:.1rem .5rem;border-radius:1rem;background:#eaeef2}
#connection.live{background:#dafbe1}
.tiles{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}.tile{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:10rem}
.tile b{display:block;font-size:1.4rem;font-variant-numeric:tabular-nums}.tile span{color:#57606a;font-size:12px}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#eaeef2;border-radius:3px;height:.7rem;min-width:8rem}.bar div{background:#0969da;height:100%;border-radius:3px}
.status{padding:.6rem 1rem;border-radius:6px;margin:1rem 0}.status strong{text-transform:uppercase;margin-right:.5rem}.good{background:#dafbe1;border:1px solid #1a7f37}
.warn{background:#fff8c5;border:1px solid #9a6700}.bad{background:#ffebe9;border:1px solid #cf222e}.plain{background:#f6f8fa;border:1px solid #d0d7de}
.empty{color:#57606a}figure{margin:.5rem 0}figcaption{color:#57606a;font-size:12px}svg{max-width:100%;height:auto}
`;

// Plain ES2017 in the browser: no build step, no library.
const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const count = (n) => Math.round(n).toLocaleString('en-US');
function duration(s) {
  if (!(s >= 0) || !isFinite(s)) return '';
  s = Math.ceil(s);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  return Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
}
function cell(text, opts) {
  const td = document.createElement('td');
  td.textContent = text;
  if (opts && opts.num) td.className = 'n';
  if (opts && opts.field) td.dataset.field = opts.field;
  if (opts && opts.value !== undefined) td.dataset.value = String(opts.value);
  return td;
}
function fill(id, headers, rows, empty) {
  const box = $(id);
  box.replaceChildren();
  if (rows.length === 0) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = empty;
    box.append(p);
    return;
  }
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    if (r.key) tr.dataset.table = r.key;
    tr.append(...r.cells);
  }
  box.append(table);
}
function tile(field, value, text, label) {
  const d = document.createElement('div');
  d.className = 'tile';
  const b = document.createElement('b');
  b.dataset.total = field;
  b.dataset.value = String(value);
  b.textContent = text;
  const s = document.createElement('span');
  s.textContent = label;
  d.append(b, s);
  return d;
}
const VERDICT_CLASS = { verified: 'good', mismatches: 'bad', 'rejected rows': 'warn', 'not verified': 'warn', incomplete: 'bad' };
function banner(s) {
  const b = $('status');
  const run = s.run;
  b.replaceChildren();
  if (!run) { b.className = 'status plain'; b.textContent = 'waiting for a run to start'; return; }
  if (!s.verdict) { b.className = 'status plain'; b.textContent = 'running since ' + run.started; return; }
  b.className = 'status ' + VERDICT_CLASS[s.verdict.kind];
  const title = document.createElement('strong');
  title.textContent = s.verdict.title;
  // the detail is the report's Markdown: its code spans shown as plain text
  const detail = s.verdict.detail.split(String.fromCharCode(96)).join('');
  b.append(title, ' ' + detail + ' (run ' + run.status + ' at ' + run.finished + ')');
}
function render(s) {
  $('title').textContent = s.run ? 'ferry run ' + s.run.id : 'ferry';
  $('plan').textContent = s.run ? s.run.planFile : '';
  banner(s);
  const t = s.totals;
  const eta = t.rowsPerSecond > 0 && t.rowsEstimate > t.rows ? duration((t.rowsEstimate - t.rows) / t.rowsPerSecond) : '';
  $('tiles').replaceChildren(
    tile('rows', t.rows, count(t.rows), 'rows copied of ' + count(t.rowsEstimate)),
    tile('rate', t.rowsPerSecond, count(t.rowsPerSecond), 'rows/s'),
    tile('eta', eta, eta || '—', 'ETA'),
    tile('rejects', t.rejects, count(t.rejects), 'rows rejected'),
  );
  fill('tables', ['wave', 'table', 'phase', 'progress', 'rows', 'of', 'chunks done', 'running', 'failed', 'rows/s', 'ETA', 'rejected'],
    s.tables.map((x) => {
      const bar = document.createElement('td');
      const outer = document.createElement('div');
      outer.className = 'bar';
      const inner = document.createElement('div');
      inner.style.width = (x.rowsEstimate > 0 ? Math.min(100, (100 * x.rows) / x.rowsEstimate) : x.phase === 'done' ? 100 : 0) + '%';
      outer.append(inner);
      bar.append(outer);
      const chunks = x.chunks.pending + x.chunks.running + x.chunks.done + x.chunks.failed;
      return { key: x.name, cells: [
        cell(String(x.wave), { num: true }), cell(x.name), cell(x.phase, { field: 'phase' }), bar,
        cell(count(x.rows), { num: true, field: 'rows', value: x.rows }),
        cell(count(x.rowsEstimate), { num: true, field: 'estimate', value: x.rowsEstimate }),
        cell(count(x.chunks.done) + ' / ' + count(chunks), { num: true, field: 'chunks', value: x.chunks.done }),
        cell(count(x.chunks.running), { num: true }), cell(count(x.chunks.failed), { num: true }),
        cell(x.rowsPerSecond > 0 ? count(x.rowsPerSecond) : '', { num: true, field: 'rate', value: x.rowsPerSecond }),
        cell(duration(x.etaSeconds), { num: true }),
        cell(count(x.rejects), { num: true, field: 'rejects', value: x.rejects }),
      ] };
    }), 'no tables yet');
  $('throughput').innerHTML = s.throughputSvg || '<p class="empty">the chart starts once rows are copied</p>';
  $('cdc-section').hidden = !s.cdc;
  if (s.cdc) {
    $('cdc').textContent = 'from ' + s.cdc.start + '; applied up to ' + (s.cdc.applied || '(nothing yet)') + ', '
      + count(s.cdc.changes) + ' changes' + (s.cdc.lagSeconds !== undefined ? ', lag ' + s.cdc.lagSeconds.toFixed(1) + ' s' : '');
    $('lag').innerHTML = s.lagSvg;
  }
  fill('findings', ['severity', 'where', 'finding', 'what to do'],
    s.findings.map((f) => ({ cells: [cell(f.severity), cell(f.where), cell(f.message), cell(f.action)] })), 'no findings');
  fill('rejects', ['table', 'reason', 'refused by', 'rows'],
    s.rejects.map((r) => ({ key: r.table, cells: [cell(r.table), cell(r.reason), cell(r.refusedBy), cell(count(r.rows), { num: true })] })),
    'no rows rejected');
  const v = s.verification;
  $('verify-note').textContent = !v ? 'not verified yet: ferry verify PLAN compares source and target'
    : v.stale ? 'the latest verification (' + (v.finished || 'unfinished') + ') was made before this run ended: it does not speak for it'
    : 'verified at ' + v.finished;
  fill('verify', ['table', 'result', 'source rows', 'target rows', 'chunks differing', 'rows differing'],
    v && !v.stale ? v.results.map((r) => ({ key: r.table, cells: [cell(r.table), cell(r.status + (r.message ? ': ' + r.message : ''), { field: 'verify' }),
      cell(count(r.sourceRows), { num: true }), cell(count(r.targetRows), { num: true }),
      cell(count(r.mismatchedChunks), { num: true }), cell(count(r.mismatchedRows), { num: true })] })) : [], '');
  $('updated').textContent = new Date().toLocaleTimeString();
}
const token = new URLSearchParams(location.search).get('token');
const events = new EventSource('/events' + (token ? '?token=' + encodeURIComponent(token) : ''));
events.onopen = () => { $('connection').textContent = 'live'; $('connection').className = 'live'; };
events.onerror = () => { $('connection').textContent = 'reconnecting…'; $('connection').className = ''; };
events.onmessage = (m) => render(JSON.parse(m.data));
`;

export function dashboardPage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>ferry dashboard</title><link rel="icon" href="data:,"><style>${STYLE}</style></head><body>
<span id="connection">connecting…</span>
<h1 id="title">ferry</h1><div class="sub"><span id="plan"></span> · updated <span id="updated">—</span></div>
<div id="status" class="status plain">waiting for a run to start</div>
<div class="tiles" id="tiles"></div>
<h2>Tables, wave by wave</h2><div id="tables"></div>
<h2>Throughput</h2><div id="throughput"></div>
<section id="cdc-section" hidden><h2>Live changes</h2><p id="cdc"></p><div id="lag"></div></section>
<h2>Findings</h2><div id="findings"></div>
<h2>Rejected rows</h2><p class="sub">reasons and counts; the rows themselves are in the reject files</p><div id="rejects"></div>
<h2>Verification</h2><p id="verify-note" class="sub"></p><div id="verify"></div>
<script>${SCRIPT}</script>
</body></html>
`;
}
