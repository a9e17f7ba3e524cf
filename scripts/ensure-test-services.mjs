// Runs before `npm test`: the suite needs a Chromium (browser tests), a Redis and a RabbitMQ (a
// server that answers, or redis-server / rabbitmq-server to start one). Finds them; where one is missing and this user may
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

/** Whether an AMQP broker answers the protocol header on host:port (with a Connection.Start frame) within a second. */
function rabbitmqAnswers(host, port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('AMQP\x00\x00\x09\x01', 'latin1'));
    socket.once('data', (data) => done(data[0] === 1));
  });
}

async function rabbitmqAvailable() {
  if (process.env.RABBITMQ_URL) return true;
  return (
    onPath('rabbitmq-server') ||
    existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ||
    (await rabbitmqAnswers('127.0.0.1', 5672))
  );
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
if (!(await rabbitmqAvailable())) {
  missing.push({ package: 'rabbitmq-server', why: 'no RabbitMQ answers and no rabbitmq-server' });
}

if (missing.length > 0) {
  const packages = missing.map((item) => item.package);
  const prefix = installer();
  if (prefix === null) {
    console.error(
      `npm test needs ${missing.map((item) => `${item.package} (${item.why})`).join(' and ')}: ` +
        `install it (Debian/Ubuntu: sudo apt-get install -y ${packages.join(' ')}), ` +
        'or set CHROMIUM_PATH / REDIS_URL / RABBITMQ_URL to ones you have.',
    );
    process.exit(1);
  }
  console.log(`npm test: installing ${packages.join(', ')} from the system's packages (apt-get)`);
  const run = (args) => {
    const [command, ...rest] = [...prefix, ...args];
    execFileSync(command, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', ...packages]);
}
