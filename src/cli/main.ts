#!/usr/bin/env node
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { runServer } from '../process/run-server';
import { runWorker } from '../process/run-worker';
import { loadModule } from './load-module';

const USAGE = `Usage:
  nestjs-channels runserver <module>[#Export] [-b host] [-p port] [--noworker] [--http-timeout s]
                            [--ws-protocol p]... [--proxy-headers] [--root-path /prefix]
  nestjs-channels runworker <module>[#Export] [--only-channels glob]... [--exclude-channels glob]...
                            [--layer alias] [--controllers] [-v]

<module> is the file of your Nest module (compiled JS, or TS under tsx); the export defaults to AppModule.`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'runserver') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        bind: { type: 'string', short: 'b', default: '127.0.0.1' },
        port: { type: 'string', short: 'p', default: '8000' },
        noworker: { type: 'boolean', default: false },
        'http-timeout': { type: 'string' },
        'ws-protocol': { type: 'string', multiple: true },
        'proxy-headers': { type: 'boolean', default: false },
        'root-path': { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('runserver takes one module');
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad port: ${values.port}`);
    const httpTimeout = values['http-timeout'] === undefined ? undefined : Number(values['http-timeout']);
    if (httpTimeout !== undefined && !(httpTimeout > 0)) throw new UsageError('--http-timeout takes seconds > 0');
    const app = await runServer(loadModule(positionals[0]), {
      host: values.bind,
      port,
      noWorker: values.noworker,
      httpTimeout,
      wsProtocols: values['ws-protocol'],
      proxyHeaders: values['proxy-headers'],
      rootPath: values['root-path'],
    });
    process.stdout.write(`nestjs-channels: serving on ${await app.getUrl()}\n`);
    return;
  }
  if (command === 'runworker') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        'only-channels': { type: 'string', multiple: true },
        'exclude-channels': { type: 'string', multiple: true },
        layer: { type: 'string' },
        controllers: { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('runworker takes one module');
    const { worker } = await runWorker(loadModule(positionals[0]), {
      onlyChannels: values['only-channels'],
      excludeChannels: values['exclude-channels'],
      layers: values.layer ? [values.layer] : undefined,
      controllers: values.controllers,
    });
    if (values.verbose) {
      worker.on('consumerFinished', ({ message, consumer, durationMs }) =>
        process.stdout.write(`${message.channel.name} → ${consumer} (${durationMs.toFixed(1)} ms)\n`),
      );
    }
    process.stdout.write(
      `nestjs-channels: worker listening on ${worker.workers.flatMap((w) => w.channels).join(', ')}\n`,
    );
    return;
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'no command');
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`nestjs-channels: ${(error as Error).message}\n`);
  if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
