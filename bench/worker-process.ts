// The Redis consumer dispatch scenario's worker, in a process of its own: start, CPU time, stop.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBenchChild } from './child-process';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 nearly everywhere). */
const CLOCK_TICKS = ((): number => {
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout);
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/** CPU milliseconds (user + system, all threads) a process has used: utime + stime of /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may hold spaces; state is field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [fields[14 - 3], fields[15 - 3]].map(Number);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc/${pid}/stat: ${stat}`);
  return ((utime + stime) * 1000) / CLOCK_TICKS;
}

export interface WorkerProcess {
  readonly pid: number;
  /** CPU time the worker process has used so far (10 ms resolution). */
  cpuMs(): number;
  /** Graceful (consumers in flight finish), SIGKILL if it has not exited in 5 s. */
  stop(): Promise<void>;
}

/** Starts bench/dispatch-worker.ts (runWorker on the Redis layer) and resolves once it runs. */
export async function startWorkerProcess(redisUrl: string): Promise<WorkerProcess> {
  const child = await startBenchChild(join('bench', 'dispatch-worker.ts'), [redisUrl]);
  return { pid: child.pid, cpuMs: () => processCpuMs(child.pid), stop: () => child.stop() };
}
