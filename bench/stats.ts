// Latency samples and percentiles; CPU use of this process and of the whole machine.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** An append-only list of numbers (milliseconds) that stays cheap at millions of samples. */
export class Samples {
  private values = new Float64Array(4096);
  private count = 0;

  add(value: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = value;
  }

  addAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.add(values[i]);
  }

  /** A copy of the samples, in the order they were added. */
  toArray(): Float64Array {
    return this.values.slice(0, this.count);
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.count).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      count: this.count,
      mean: this.count === 0 ? NaN : sum / this.count,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: this.count === 0 ? NaN : sorted[this.count - 1],
    };
  }
}

/** Nearest-rank percentile of ascending `sorted` values; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** CPU time used during a stretch of wall time, in milliseconds of one core. */
export interface CpuTime {
  wallMs: number;
  /** This process, all its threads. */
  clientMs: number;
  /** Every process and the kernel (steal excluded). */
  machineMs: number;
  /** Time the hypervisor ran something else while this machine wanted a CPU (Linux only, else 0). */
  stealMs: number;
}

interface MachineTicks {
  busy: number;
  steal: number;
  total: number;
}

/** Kernel counters summed over all cores: /proc/stat where there is one (it has steal), else os.cpus(). */
function machineTicks(): MachineTicks {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const [user, nice, system, , iowait, irq, softirq, steal] = fields;
    return { busy: user + nice + system + irq + softirq, steal, total: fields.reduce((a, b) => a + b, 0) - iowait };
  } catch {
    let busy = 0;
    let total = 0;
    for (const { times } of cpus()) {
      const all = times.user + times.nice + times.sys + times.idle + times.irq;
      busy += all - times.idle;
      total += all;
    }
    return { busy, steal: 0, total };
  }
}

/** Starts measuring CPU use; the returned function gives the CPU time used since. */
export function startCpuMeter(): () => CpuTime {
  const cores = cpus().length;
  const wall = performance.now();
  const usage = process.cpuUsage();
  const ticks = machineTicks();
  return () => {
    const wallMs = performance.now() - wall;
    const used = process.cpuUsage(usage);
    const now = machineTicks();
    const total = now.total - ticks.total;
    const share = (delta: number): number => (total > 0 ? (delta / total) * wallMs * cores : 0);
    return {
      wallMs,
      clientMs: (used.user + used.system) / 1000,
      machineMs: share(now.busy - ticks.busy),
      stealMs: share(now.steal - ticks.steal),
    };
  };
}

export function addCpuTime(a: CpuTime, b: CpuTime): CpuTime {
  return {
    wallMs: a.wallMs + b.wallMs,
    clientMs: a.clientMs + b.clientMs,
    machineMs: a.machineMs + b.machineMs,
    stealMs: a.stealMs + b.stealMs,
  };
}
