import { STYLE } from './chat.page';
import { PAGE_HELPERS } from './page-script';

const PAGE_STYLE = `${STYLE}
.error{color:#b00}.author{font-weight:bold}.bar{display:flex;gap:1rem;align-items:center}`;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The login form: a plain POST of username and password to /login (form-urlencoded). */
function loginForm(): string {
  return `<form id="login" method="post" action="/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login-button">Log in</button></form>
<p>Demo users: <code>alice</code> / <code>wonderland</code>, <code>bob</code> / <code>builder</code>.</p>`;
}

/** `GET /login`, and the answer to a failed login (with `error`). */
export function loginPage(error?: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Log in</title><style>${PAGE_STYLE}</style></head>
<body><h1>Log in</h1>
${error ? `<p id="error" class="error">${escapeHtml(error)}</p>` : ''}
${loginForm()}
<p><a href="/private/">Private chat</a> · <a href="/">Public chat</a></p>
</body></html>`;
}

/**
 * `GET /private/`: the login form when nobody is logged in (it asks `/me`), else a room box, the
 * chat (a `WebSocketBridge` to /private/<room>/: same origin, so the handshake carries the session
 * cookie; it reconnects by itself) and a logout button. Everything that comes from the server is
 * put in the page as text (`textContent`), never as HTML.
 */
export function privatePage(): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Private chat</title><style>${PAGE_STYLE}</style></head>
<body><h1>Private chat</h1>
<section id="anonymous" hidden><p>Log in to chat with the other members.</p>${loginForm()}</section>
<section id="member" hidden>
<div class="bar"><span>Logged in as <b id="me"></b>.</span>
<form id="logout" method="post" action="/logout"><button id="logout-button">Log out</button></form></div>
<form id="join"><label for="room">Room</label>
<input id="room" placeholder="letters, digits, - and _" value="lobby" pattern="[A-Za-z0-9_\\-]{1,50}" title="1 to 50 letters, digits, - and _" required>
<button id="enter">Enter</button></form>
<p>Status: <span id="status">not connected</span></p>
<form id="say"><label for="text">Message</label><input id="text" placeholder="say something" autocomplete="off"><button id="send">Send</button></form>
<div id="log"></div>
</section>
<p><a href="/">Public chat</a></p>
<script src="/channels/websocketbridge.js"></script>
<script>
${PAGE_HELPERS}
let bridge, me;
function show(author, text) {
  const who = document.createElement('span');
  who.className = 'author';
  who.textContent = author;
  const line = document.createDocumentFragment();
  line.append(who, ': ' + text);
  addLine(line, author === me);
}
(async () => {
  const response = await fetch('/me', { credentials: 'same-origin' });
  if (!response.ok) {
    $('anonymous').hidden = false;
    return;
  }
  me = (await response.json()).username;
  $('me').textContent = me;
  $('member').hidden = false;
})();
$('join').onsubmit = (event) => {
  event.preventDefault();
  if (bridge) bridge.close();
  const room = $('room').value;
  $('log').textContent = '';
  $('status').textContent = 'connecting to ' + room + '…';
  // Same origin: the browser sends the session cookie (and Origin) with the handshake.
  const current = (bridge = new channels.WebSocketBridge());
  current.connect('/private/' + encodeURIComponent(room) + '/');
  current.listen((data) => {
    if (data && typeof data.error === 'string') show('error', data.error);
    else show(String(data.username), String(data.text));
  });
  trackStatus(current, () => bridge === current, room);
};
sendTextOnSubmit(() => bridge);
</script></body></html>`;
}
