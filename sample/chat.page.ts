import { PAGE_HELPERS } from './page-script';
/** The style of the sample's pages. */
export const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
#log{border:1px solid #ccc;height:20rem;overflow-y:auto;padding:.5rem;margin:1rem 0}
#log p{margin:.2rem 0}.me{color:#0a5}form{display:flex;gap:.5rem;margin:.5rem 0}input{flex:1;padding:.4rem}`;

/**
 * The chat page: join a room with a name, then talk. It talks to `/chat/<room>/?username=…` with
 * `WebSocketBridge` (the script ChannelsModule serves at `/channels/websocketbridge.js`), which
 * sends JSON (`{"text": …}`), queues what is sent while the socket is down and reconnects by itself;
 * the status line follows the socket. Everything from the server goes in as text (`textContent`).
 */
export function chatPage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Chat</title><style>${STYLE}</style></head>
<body><h1>Chat over nestjs-channels</h1>
<p>Or <a href="/private/">log in</a> for the private chat, or try <a href="/multi/">two streams on one socket</a>.</p>
<form id="join"><label for="room">Room</label>
<input id="room" placeholder="letters, digits, - and _" value="lobby" pattern="[A-Za-z0-9_\\-]{1,50}" title="1 to 50 letters, digits, - and _" required>
<label for="username">Name</label><input id="username" placeholder="your name" maxlength="50" required><button id="enter">Enter</button></form>
<p>Status: <span id="status">not connected</span></p>
<form id="say"><label for="text">Message</label><input id="text" placeholder="say something" autocomplete="off"><button id="send">Send</button></form>
<div id="log"></div>
<script src="/channels/websocketbridge.js"></script>
<script>
${PAGE_HELPERS}
$('username').value = localStorage.getItem('username') || 'guest' + Math.floor(Math.random() * 1000);
let bridge;
const show = (text, mine) => addLine(text, mine);
$('join').onsubmit = async (event) => {
  event.preventDefault();
  if (bridge) bridge.close();
  const room = $('room').value, name = $('username').value;
  localStorage.setItem('username', name);
  $('log').textContent = '';
  const current = (bridge = new channels.WebSocketBridge());
  $('status').textContent = 'connecting to ' + room + '…';
  const history = await fetch('/rooms/' + encodeURIComponent(room) + '/messages');
  if (!history.ok) {
    // The server refused the room (say, a name the field's pattern let through): say so, do not hang.
    $('status').textContent = 'not connected: ' + ((await history.json()).message || 'room refused');
    if (bridge === current) bridge = undefined;
    return;
  }
  for (const line of await history.json()) show(line.username + ': ' + line.text);
  if (bridge !== current) return; // joined another room meanwhile
  current.connect('/chat/' + encodeURIComponent(room) + '/?username=' + encodeURIComponent(name));
  current.listen((data) => {
    if (data && typeof data.error === 'string') show('error: ' + data.error);
    else show(data.username + ': ' + data.text, data.username === name);
  });
  trackStatus(current, () => bridge === current, room);
};
sendTextOnSubmit(() => bridge);
</script></body></html>`;
}
