/**
 * Browser helpers shared by the sample's pages (plain JavaScript, inlined in each page's script):
 * `$`, `addLine` (appends a line of text, never HTML), `trackStatus` (the connection status of a
 * WebSocketBridge, while it is the page's current one) and `sendTextOnSubmit` (the `say` form sends
 * `{ text }` through the page's current bridge).
 */
export const PAGE_HELPERS = `
const $ = (id) => document.getElementById(id);
function addLine(node, mine) {
  const line = document.createElement('p');
  line.append(node);
  if (mine) line.className = 'me';
  $('log').appendChild(line);
  $('log').scrollTop = $('log').scrollHeight;
}
function trackStatus(bridge, isCurrent, label) {
  bridge.socket.addEventListener('open', () => {
    if (isCurrent()) $('status').textContent = 'connected to ' + label;
  });
  bridge.socket.addEventListener('close', () => {
    if (isCurrent()) $('status').textContent = 'disconnected, reconnecting…';
  });
}
function sendTextOnSubmit(currentBridge) {
  $('say').onsubmit = (event) => {
    event.preventDefault();
    const bridge = currentBridge();
    if (!bridge || !$('text').value) return;
    bridge.send({ text: $('text').value }); // queued while reconnecting
    $('text').value = '';
  };
}
`;
