// An opt-in V8 CPU profile of a helper process (BENCH_BROADCAST_PROFILE=<dir>), taken over the
// inspector so it covers exactly one measured run, not the process's start-up.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';

export class CpuProfiler {
  private session: Session | undefined;

  async start(): Promise<void> {
    if (this.session) return;
    const session = new Session();
    session.connect();
    this.session = session;
    await this.post('Profiler.enable');
    // 200 µs sampling: fine enough for per-frame costs of a few microseconds.
    await this.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.post('Profiler.start');
  }

  async stopTo(file: string): Promise<void> {
    if (!this.session) return;
    const result = (await this.post('Profiler.stop')) as { profile: object };
    this.session.disconnect();
    this.session = undefined;
    await writeFile(file, JSON.stringify(result.profile));
  }

  private post(method: string, params?: object): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.session!.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
    );
  }
}
