// Helper processes of the bench (the consumer dispatch scenarios): started under tsx with an IPC
// channel, asked things over it, and always stopped.
import { spawn, type Serializable } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
/** Makes the helper load the compiled library, as the bench process does (bench/compiled-library.cjs). */
const COMPILED_LIBRARY = join(__dirname, 'compiled-library.cjs');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** What a helper sends once it is ready to work. */
export interface ReadyMessage {
  type: 'ready';
  pid: number;
}

export interface BenchChild {
  /** The process itself (tsx runs in it as a loader: there is no wrapper process). */
  readonly pid: number;
  /** Sends `message` and resolves with the next message the child sends; rejects if it exits first. */
  request(message: Serializable): Promise<unknown>;
  /** Closes the channel (the child closes and exits), then SIGKILL if it has not exited in 5 s. */
  stop(): Promise<void>;
}

function isReady(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as ReadyMessage).type === 'ready';
}

/** In a helper: says it is ready, and exits (after `close`) when the bench goes away, however it ends. */
export function serveParent(close: () => Promise<void>): void {
  if (!process.send) throw new Error('a bench helper must be started with an IPC channel (bench/child-process.ts)');
  const ready: ReadyMessage = { type: 'ready', pid: process.pid };
  process.send(ready);
  process.once('disconnect', () => {
    void close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

/**
 * Starts `node --require bench/compiled-library.cjs --import tsx <script> ...args` from the repository root, with an IPC channel (and
 * the advanced serialization, so typed arrays go through), and resolves once it says it is ready.
 * Its stdout and stderr are this process's. If the bench dies without stopping it, the channel
 * closes and the helper exits (see `serveParent`).
 */
export function startBenchChild(script: string, args: readonly string[] = []): Promise<BenchChild> {
  const child = spawn(process.execPath, ['--require', COMPILED_LIBRARY, '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const exitWithin = async (ms: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  };
  const stop = async (): Promise<void> => {
    // Closing the channel asks the child to close and exit (serveParent); one that does not is killed.
    if (child.connected) child.disconnect();
    if (running()) await exitWithin(STOP_TIMEOUT_MS);
    if (running()) {
      child.kill('SIGKILL');
      await exitWithin(STOP_TIMEOUT_MS);
    }
  };
  const request = (message: Serializable): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const onMessage = (reply: unknown): void => {
        child.off('exit', onExit);
        resolve(reply);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        child.off('message', onMessage);
        reject(new Error(`${script} exited with ${signal ?? code}`));
      };
      if (!running()) return reject(new Error(`${script} is not running`));
      child.once('message', onMessage).once('exit', onExit);
      child.send(message);
    });
  // Errors after start-up (a failed kill or send) must not crash the bench; requests time out instead.
  child.on('error', () => undefined);
  return new Promise<BenchChild>((resolve, reject) => {
    const fail = (error: Error): void => {
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit).off('error', fail);
      void stop().finally(() => reject(error));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`${script} exited with ${signal ?? code} before it was ready`));
    const onMessage = (message: unknown): void => {
      if (!isReady(message)) return fail(new Error(`${script} sent ${JSON.stringify(message)} before it was ready`));
      clearTimeout(timer);
      child.off('message', onMessage).off('exit', onExit).off('error', fail);
      resolve({ pid: message.pid, request, stop });
    };
    const timer = setTimeout(
      () => fail(new Error(`${script} was not ready in ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    child.on('message', onMessage).once('exit', onExit).once('error', fail);
  });
}
