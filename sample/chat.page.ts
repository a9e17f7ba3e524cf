const STYLE = `body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
#log{border:1px solid #ccc;height:20rem;overflow-y:auto;padding:.5rem;margin:1rem 0}
#log p{margin:.2rem 0}.me{color:#0a5}form{display:flex;gap:.5rem}input{flex:1;padding:.4rem}`;

export function homePage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Chat</title><style>${STYLE}</style></head>
<body><h1>Chat over nestjs-channels</h1>
<form onsubmit="location.href='/chat/'+encodeURIComponent(document.getElementById('room').value)+'/';return false">
<input id="room" placeholder="room name" value="lobby" pattern="[A-Za-z0-9_-]{1,50}" required><button>Enter</button></form>
</body></html>`;
}

/** The room page: a plain WebSocket to /chat/<room>/ (the consumers route on that path). */
export function chatPage(room: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Chat: ${room}</title><style>${STYLE}</style></head>
<body><h1>Room “${room}”</h1>
<p>Status: <span id="status">connecting…</span></p>
<form id="form"><input id="username" placeholder="your name" style="flex:.4"><input id="text" placeholder="say something" autocomplete="off"><button>Send</button></form>
<div id="log"></div>
<script>
const log = document.getElementById('log');
const status = document.getElementById('status');
const username = document.getElementById('username');
username.value = localStorage.getItem('username') || 'guest' + Math.floor(Math.random() * 1000);
let socket;
function connect() {
  socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat/${room}/');
  socket.onopen = () => { status.textContent = 'connected'; };
  socket.onclose = () => { status.textContent = 'disconnected, retrying…'; setTimeout(connect, 1000); };
  socket.onmessage = (event) => {
    const data = JSON.parse(event.data);
    const line = document.createElement('p');
    line.textContent = data.error ? '⚠ ' + data.error : data.username + ': ' + data.text;
    if (data.username === username.value) line.className = 'me';
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  };
}
connect();
document.getElementById('form').onsubmit = (event) => {
  event.preventDefault();
  const text = document.getElementById('text');
  if (!text.value || socket.readyState !== WebSocket.OPEN) return;
  localStorage.setItem('username', username.value);
  socket.send(JSON.stringify({ username: username.value, text: text.value }));
  text.value = '';
};
</script></body></html>`;
}
