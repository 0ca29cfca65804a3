/**
 * The operator page: one HTML document with its style and script inline (the machines that
 * open it may have no way out to a CDN, and the CSP allows nothing else). It reads its own
 * event stream (`?stream` on the same URL) and draws with canvas. Channel names from the
 * stream are put in with textContent, never as HTML.
 */
export function dashboardPage(nonce: string, interval: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gripstream</title>
<style nonce="${nonce}">
  :root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --mute: #69738a; --line: #2f6fde; --bad: #c8372d; --ok: #1f8a4c; }
  @media (prefers-color-scheme: dark) { :root { --bg: #14171d; --card: #1d2129; --ink: #e8ebf1; --mute: #97a0b3; --line: #6ea1ff; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--ink); }
  header { display: flex; gap: 12px; align-items: baseline; padding: 14px 20px; }
  header h1 { font-size: 18px; margin: 0; }
  #status { color: var(--mute); }
  main { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; padding: 0 20px 20px; }
  section { background: var(--card); border-radius: 8px; padding: 12px 14px; box-shadow: 0 1px 2px #0002; }
  section h2 { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; color: var(--mute); margin: 0 0 6px; }
  .big { font-size: 28px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .sub { color: var(--mute); font-variant-numeric: tabular-nums; }
  canvas { width: 100%; height: 70px; display: block; margin-top: 6px; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  td { padding: 2px 0; border-bottom: 1px solid #8882; }
  td:last-child { text-align: right; }
  .wide { grid-column: span 2; }
  .up { color: var(--ok); } .down { color: var(--bad); }
</style>
</head>
<body>
<header><h1>gripstream</h1><span id="status">connecting…</span></header>
<main>
  <section><h2>Open streams</h2><div class="big" id="streams">–</div><div class="sub" id="streams-by"></div><canvas id="c-streams"></canvas></section>
  <section><h2>Published</h2><div class="big" id="publish-rate">–</div><div class="sub" id="published"></div><canvas id="c-publish"></canvas></section>
  <section><h2>Delivered</h2><div class="big" id="delivery-rate">–</div><div class="sub" id="delivered"></div><canvas id="c-delivery"></canvas></section>
  <section><h2>Dropped clients</h2><div class="big" id="drops">–</div><div class="sub" id="drops-by"></div><canvas id="c-drops"></canvas></section>
  <section><h2>Subscriptions</h2><div class="big" id="subscriptions">–</div><div class="sub" id="channels"></div></section>
  <section><h2>Resumes</h2><div class="big" id="resumes">–</div><div class="sub" id="resumes-by"></div></section>
  <section><h2>History</h2><div class="big" id="history">–</div><div class="sub" id="history-by"></div></section>
  <section><h2>Redis</h2><div class="big" id="redis">–</div><div class="sub" id="redis-by"></div></section>
  <section><h2>GRIP proxy</h2><div class="big" id="grip">–</div><div class="sub" id="grip-by"></div></section>
  <section class="wide"><h2>Top channels by subscribers</h2><table id="top"><tbody></tbody></table></section>
</main>
<script nonce="${nonce}">
"use strict";
const POINTS = 120;
const INTERVAL = ${JSON.stringify(interval)};
const series = { streams: [], publish: [], delivery: [], drops: [] };
let previous;
const $ = (id) => document.getElementById(id);
const fmt = (n) => n >= 1e9 ? (n / 1e9).toFixed(1) + 'G' : n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n));
const bytes = (n) => n >= 1048576 ? (n / 1048576).toFixed(1) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' B';
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
function push(name, value) { const s = series[name]; s.push(value); if (s.length > POINTS) s.shift(); draw($('c-' + name), s); }
function draw(canvas, values) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth * ratio, h = canvas.clientHeight * ratio;
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  if (values.length < 2) return;
  // Room above the highest point, so a steady figure is a visible line, not the top edge.
  const max = Math.max(1, ...values) * 1.2;
  const span = Math.max(values.length, 30) - 1;
  ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--line');
  ctx.lineWidth = 1.5 * ratio;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = (i / span) * w, y = h - (v / max) * (h - 4 * ratio) - 2 * ratio;
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}
function show(s) {
  const seconds = previous === undefined ? INTERVAL / 1000 : Math.max(0.001, (s.time - previous.time) / 1000);
  const rate = (k) => previous === undefined ? 0 : Math.max(0, (k(s) - k(previous)) / seconds);
  const open = sum(s.streams);
  $('streams').textContent = fmt(open);
  $('streams-by').textContent = Object.entries(s.streams).map(([k, v]) => k + ' ' + fmt(v)).join(' · ') + (s.grip === null ? '' : ' · handed to the GRIP proxy ' + fmt(s.heldStreams));
  push('streams', open);
  const publishRate = rate((x) => x.eventsPublished);
  $('publish-rate').textContent = fmt(publishRate) + '/s';
  $('published').textContent = fmt(s.eventsPublished) + ' events in all';
  push('publish', publishRate);
  const deliveryRate = rate((x) => x.deliveries);
  $('delivery-rate').textContent = fmt(deliveryRate) + '/s';
  $('delivered').textContent = fmt(s.deliveries) + ' deliveries · ' + bytes(s.bytesWritten) + ' written';
  push('delivery', deliveryRate);
  $('drops').textContent = fmt(sum(s.drops));
  $('drops-by').textContent = Object.entries(s.drops).map(([k, v]) => k.replace('_', ' ') + ' ' + fmt(v)).join(' · ');
  push('drops', rate((x) => sum(x.drops)));
  $('subscriptions').textContent = fmt(s.subscriptions);
  $('channels').textContent = fmt(s.channels) + ' channels with subscribers';
  $('resumes').textContent = fmt(s.resumes.exact + s.resumes.truncated);
  $('resumes-by').textContent = 'exact ' + fmt(s.resumes.exact) + ' · truncated ' + fmt(s.resumes.truncated) + ' · ' + fmt(s.eventsReplayed) + ' events replayed';
  $('history').textContent = s.history === null ? 'n/a' : fmt(s.history.events) + ' events';
  $('history-by').textContent = s.history === null ? 'kept elsewhere (Redis) or off' : bytes(s.history.bytes) + ' · ' + fmt(s.history.evicted) + ' evicted';
  const redis = $('redis');
  redis.textContent = s.redis === null ? 'not used' : s.redis.state;
  redis.className = 'big ' + (s.redis === null ? '' : s.redis.state);
  $('redis-by').textContent = s.redis === null ? '' : 'errors ' + fmt(s.redis.errors) + ' · reconnects ' + fmt(s.redis.reconnects) + ' · gaps filled ' + fmt(s.redis.gapsFilled);
  const grip = $('grip');
  grip.textContent = s.grip === null ? 'not used' : fmt(s.grip.publishes) + ' publishes';
  grip.className = 'big ' + (s.grip !== null && (s.grip.state === 'down' || s.grip.failures > (previous?.grip?.failures ?? s.grip.failures)) ? 'down' : '');
  $('grip-by').textContent = s.grip === null ? '' : s.grip.state + ' · failures ' + fmt(s.grip.failures) + ' · Grip-Last recoveries ' + fmt(s.grip.recoveries);
  const body = document.createElement('tbody');
  for (const { channel, subscribers } of s.topChannels) {
    const row = body.insertRow();
    row.insertCell().textContent = channel;
    row.insertCell().textContent = fmt(subscribers);
  }
  $('top').replaceChild(body, $('top').tBodies[0]);
  $('status').textContent = 'live · ' + new Date(s.time).toLocaleTimeString();
  previous = s;
}
const source = new EventSource(location.pathname + '?stream');
source.addEventListener('snapshot', (e) => show(JSON.parse(e.data)));
source.onerror = () => { $('status').textContent = 'reconnecting…'; };
</script>
</body>
</html>
`;
}
