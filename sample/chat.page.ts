/** The style of the sample's pages. */
export const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
#log{border:1px solid #ccc;height:20rem;overflow-y:auto;padding:.5rem;margin:1rem 0}
#log p{margin:.2rem 0}.me{color:#0a5}form{display:flex;gap:.5rem;margin:.5rem 0}input{flex:1;padding:.4rem}`;

/** The chat page: join a room with a name, then talk (a plain WebSocket to /chat/<room>/?username=…). */
export function chatPage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Chat</title><style>${STYLE}</style></head>
<body><h1>Chat over nestjs-channels</h1>
<p>Or <a href="/private/">log in</a> for the private chat.</p>
<form id="join"><input id="room" placeholder="room" value="lobby" pattern="[A-Za-z0-9_-]{1,50}" required>
<input id="username" placeholder="your name" required><button id="enter">Enter</button></form>
<p>Status: <span id="status">not connected</span></p>
<form id="say"><input id="text" placeholder="say something" autocomplete="off"><button id="send">Send</button></form>
<div id="log"></div>
<script>
const $ = (id) => document.getElementById(id);
$('username').value = localStorage.getItem('username') || 'guest' + Math.floor(Math.random() * 1000);
let socket;
function show(text, mine) {
  const line = document.createElement('p');
  line.textContent = text;
  if (mine) line.className = 'me';
  $('log').appendChild(line);
  $('log').scrollTop = $('log').scrollHeight;
}
$('join').onsubmit = async (event) => {
  event.preventDefault();
  if (socket) socket.close();
  const room = $('room').value, name = $('username').value;
  localStorage.setItem('username', name);
  $('log').textContent = '';
  for (const line of await (await fetch('/rooms/' + room + '/messages')).json()) show(line.username + ': ' + line.text);
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  socket = new WebSocket(scheme + location.host + '/chat/' + room + '/?username=' + encodeURIComponent(name));
  socket.onopen = () => { $('status').textContent = 'connected to ' + room; };
  socket.onclose = () => { $('status').textContent = 'disconnected'; };
  socket.onmessage = (event) => {
    const data = JSON.parse(event.data);
    show(data.username + ': ' + data.text, data.username === name);
  };
};
$('say').onsubmit = (event) => {
  event.preventDefault();
  if (!socket || socket.readyState !== WebSocket.OPEN || !$('text').value) return;
  socket.send($('text').value);
  $('text').value = '';
};
</script></body></html>`;
}
