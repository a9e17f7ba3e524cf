import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export type Exit = { code: number | null; signal: NodeJS.Signals | null };
export interface WorkerChild {
  child: ChildProcess;
  exited: Promise<Exit>;
}

/** Runs `node --import tsx <script>` from the repository root; resolves once it prints "worker ready". */
export function startWorkerProcess(script: string, env: NodeJS.ProcessEnv): Promise<WorkerChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in 20 s`)), 20_000);
    child.stdout?.on('data', (data: Buffer) => {
      if (data.toString().includes('worker ready')) {
        clearTimeout(timer);
        resolve({ child, exited });
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${String(code)}`)));
  });
}
