import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export interface CliProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Whether it is still running. */
  alive(): boolean;
}

/** The CLIs started by a spec file, for `killAll` in its afterAll. */
const started = new Set<ChildProcess>();

/** Runs the CLI from source (under tsx) and resolves once its output matches `ready`. */
export function startCli(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<CliProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${String(ready)}" in 20 s:\n${output}`)), 20_000);
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output, alive: () => child.exitCode === null && child.signalCode === null });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!ready.test(output)) reject(new Error(`exited with ${String(code)}:\n${output}`));
    });
  });
}

/** SIGKILLs every CLI process still running. */
export function killAllCli(): void {
  for (const child of started) child.kill('SIGKILL');
  started.clear();
}
