import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(__dirname, '..', '..', '..');
const script = join(__dirname, 'ipc-child.ts');

/** A second Node process (the same binary as the tests) running `ipc-child.ts`, driven by calls. */
export class IpcChild {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(({ code, signal }) => {
      for (const { reject } of this.pending.values()) reject(new Error(`child exited (${String(code ?? signal)})`));
      this.pending.clear();
    });
  }

  static start(): Promise<IpcChild> {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const made = new IpcChild(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the IPC child did not start in 20 s')), 20_000);
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        if (line === 'child ready') {
          clearTimeout(timer);
          resolve(made);
          return;
        }
        const reply = JSON.parse(line) as { id: number; ok: boolean; value?: unknown; error?: Error };
        const waiting = made.pending.get(reply.id);
        made.pending.delete(reply.id);
        if (reply.ok) waiting?.resolve(reply.value);
        else waiting?.reject(Object.assign(new Error(reply.error?.message), { name: reply.error?.name }));
      });
      child.once('exit', (code) => reject(new Error(`the IPC child exited with ${String(code)}`)));
    });
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Kills the process (SIGKILL unless told) and waits for it to go. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}
