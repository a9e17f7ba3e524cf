// The interface scenarios of `npm run bench`: WebSocket echo and HTTP, run after the layer and
// dispatch scenarios (their servers start only then, so their start-up skews nothing else).
import { CONTROLLER, formatHttp, HTTP_SETTINGS, runHttp, type HttpOutcome, type HttpTarget } from './http-bench';
import { RedisProbe } from './redis-stats';
import { startServer, startServers, stopAllServers, type BenchServer, type ServerName } from './servers';
import { connect, disconnect } from './targets';
import { formatWsEcho, runWsEcho, WS_SETTINGS, type WsOutcome } from './ws-echo';

export interface InterfaceSections {
  websocketEcho: {
    settings: typeof WS_SETTINGS;
    /** Server processes that did not start. */
    serverErrors: Array<{ name: ServerName; error: string }>;
    scenarios: WsOutcome[];
  };
  http: { settings: typeof HTTP_SETTINGS; error?: string; scenarios: HttpOutcome[] };
}

export interface InterfaceResults {
  sections: InterfaceSections;
  text: string;
  failed: number;
}

export { stopAllServers };

export async function runInterfaceBenchmarks(redisUrl: string): Promise<InterfaceResults> {
  const admin = connect(redisUrl);
  const probe = new RedisProbe(admin);
  try {
    process.stderr.write('starting the WebSocket / HTTP servers\n');
    const { servers, failed: serverErrors } = await startServers(redisUrl);
    for (const { name, error } of serverErrors) process.stderr.write(`server ${name} FAILED: ${error}\n`);
    const ws = await runWsEcho(servers, async () => (await probe.cpuSeconds()) * 1000);
    // The HTTP reference: a standalone Nest app with the controller alone, in a process of its own.
    let controller: BenchServer<string> | undefined;
    let httpError: string | undefined;
    try {
      controller = await startServer('standalone Nest controller', ['nest-http'], redisUrl);
    } catch (error) {
      httpError = `the standalone Nest controller did not start: ${error instanceof Error ? error.message : String(error)}`;
    }
    const memory = servers.find((s) => s.name === 'nestjs-channels in-memory');
    const redis = servers.find((s) => s.name === 'nestjs-channels redis');
    const targets: HttpTarget[] = [
      ...(controller ? [{ route: CONTROLLER, server: controller }] : []),
      ...(memory ? [{ route: 'http.request consumer, in-memory' as const, server: memory }] : []),
      ...(redis ? [{ route: 'http.request consumer, Redis' as const, server: redis }] : []),
    ];
    const http = controller ? await runHttp(targets) : [];
    const failed =
      serverErrors.length + ws.filter((o) => o.error).length + http.filter((o) => o.error).length + (httpError ? 1 : 0);
    const text = [
      formatWsEcho(ws),
      ...serverErrors.map(({ name, error }) => `${name}: FAILED to start: ${error}`),
      '',
      httpError ? `HTTP: FAILED: ${httpError}` : formatHttp(http),
    ].join('\n');
    return {
      sections: {
        websocketEcho: { settings: WS_SETTINGS, serverErrors, scenarios: ws },
        http: { settings: HTTP_SETTINGS, ...(httpError ? { error: httpError } : {}), scenarios: http },
      },
      text,
      failed,
    };
  } finally {
    await stopAllServers();
    await disconnect(admin);
  }
}
