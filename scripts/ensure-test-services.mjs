// Runs before `npm test`: the suite needs a Chromium (browser tests) and a Redis (a server that
// answers, or redis-server to start one). Finds them; where one is missing and this user may
// install system packages (root, or passwordless sudo, with apt-get), installs Debian's package,
// as `playwright install --with-deps` would; otherwise stops with one line saying what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Whether something answers PING on host:port within half a second. */
function redisAnswers(host, port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

async function redisAvailable() {
  if (process.env.REDIS_URL) return true;
  return onPath('redis-server') || (await redisAnswers('127.0.0.1', 6379));
}

/** `apt-get install` as root or through passwordless sudo; null when this user cannot. */
function installer() {
  if (!onPath('apt-get')) return null;
  if (process.getuid?.() === 0) return [];
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : null;
}

const missing = [];
if (!existsSync(CHROMIUM)) missing.push({ package: 'chromium', why: `no browser at ${CHROMIUM}` });
if (!(await redisAvailable())) missing.push({ package: 'redis-server', why: 'no Redis answers and no redis-server' });

if (missing.length > 0) {
  const packages = missing.map((item) => item.package);
  const prefix = installer();
  if (prefix === null) {
    console.error(
      `npm test needs ${missing.map((item) => `${item.package} (${item.why})`).join(' and ')}: ` +
        `install it (Debian/Ubuntu: sudo apt-get install -y ${packages.join(' ')}), ` +
        'or set CHROMIUM_PATH / REDIS_URL to ones you have.',
    );
    process.exit(1);
  }
  console.log(`npm test: installing ${packages.join(' and ')} from the system's packages (apt-get)`);
  const run = (args) => {
    const [command, ...rest] = [...prefix, ...args];
    execFileSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', ...packages]);
}
