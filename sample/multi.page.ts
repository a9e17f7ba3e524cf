import { PAGE_HELPERS } from './page-script';
import { STYLE } from './chat.page';

const PAGE_STYLE = `${STYLE}
.counter{display:flex;gap:.5rem;align-items:center}#counter{font-size:1.5rem;min-width:3rem;text-align:center}`;

/**
 * `GET /multi/`: two streams on one WebSocket to `/multi/`, with `WebSocketBridge`:
 * `/multi/?username=<name>` (a new name reconnects), `demultiplex('chat', …)` and
 * `demultiplex('counter', …)` take the frames of each stream,
 * `stream('chat').send(…)` and `stream('counter').send({add})` send on them. The status line
 * follows the bridge's socket (it reconnects by itself). Everything from the server goes in as
 * text (`textContent`), never as HTML.
 */
export function multiPage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Two streams, one socket</title>
<style>${PAGE_STYLE}</style></head>
<body><h1>Two streams, one socket</h1>
<p>A chat and a counter shared by everyone on this page, multiplexed on one WebSocket.
<a href="/">Rooms</a> · <a href="/private/">Private chat</a></p>
<p>Status: <span id="status">connecting…</span></p>
<div class="counter">Counter: <span id="counter">?</span>
<button id="subtract" type="button">−1</button><button id="add" type="button">+1</button></div>
<form id="say"><label for="username">Name</label><input id="username" placeholder="your name" maxlength="50">
<label for="text">Message</label><input id="text" placeholder="say something" autocomplete="off"><button id="send">Send</button></form>
<div id="log"></div>
<script src="/channels/websocketbridge.js"></script>
<script>
${PAGE_HELPERS}
$('username').value = localStorage.getItem('username') || 'guest' + Math.floor(Math.random() * 1000);
const show = (text, mine) => addLine(text, mine);
let bridge, name;
// The username travels once, in the handshake; a new name is a new connection.
function connect() {
  if (bridge) bridge.close();
  name = $('username').value.trim() || 'guest';
  localStorage.setItem('username', name);
  const current = (bridge = new channels.WebSocketBridge());
  current.connect('/multi/?username=' + encodeURIComponent(name));
  // Frames of no demultiplexed stream, such as the {"error"} answer to a frame of an unknown stream.
  current.listen((message) => show('error: ' + (message && message.error ? message.error : JSON.stringify(message))));
  current.demultiplex('chat', (payload) => {
    if (typeof payload.error === 'string') return show('error: ' + payload.error);
    show(payload.username + ': ' + payload.text, payload.username === name);
  });
  current.demultiplex('counter', (payload) => {
    if (typeof payload.error === 'string') return show('error: ' + payload.error);
    $('counter').textContent = String(payload.value);
  });
  trackStatus(current, () => bridge === current, 'the two streams');
}
connect();
$('username').onchange = connect;
$('say').onsubmit = (event) => {
  event.preventDefault();
  if (!$('text').value) return;
  if ($('username').value.trim() !== name) connect();
  bridge.stream('chat').send({ text: $('text').value });
  $('text').value = '';
};
$('add').onclick = () => bridge.stream('counter').send({ add: 1 });
$('subtract').onclick = () => bridge.stream('counter').send({ add: -1 });
</script></body></html>`;
}
