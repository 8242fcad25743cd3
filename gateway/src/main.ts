// Composition root: configuration -> logger -> gateway server -> listen; signals -> graceful close.
// The only place that reads argv, builds the logger and exits the process.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { configFromArgs } from './cli-args.js';
import { ConfigError, type GatewayConfig } from './config.js';
import { createGatewayServer, type GatewayServer } from './http/gateway-server.js';

export const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../kiosk-client');

export async function startGateway(config: GatewayConfig, log: Logger): Promise<{ gateway: GatewayServer; url: string }> {
  const gateway = createGatewayServer({ config, log, clientDir: CLIENT_DIR });
  const address = await gateway.listen();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/`;
  log.info({ url, targets: config.targets.map(t => t.id) }, 'gateway listening (loopback only: login is not in place yet)');
  return { gateway, url };
}

export function installSignalHandlers(close: () => Promise<void>, log: Logger): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    close().then(() => process.exit(0), (e: unknown) => {
      log.error({ err: e }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = configFromArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = pino({ level: config.log.level, base: { service: 'beamgate' } });
  const { gateway } = await startGateway(config, log);
  installSignalHandlers(() => gateway.close(), log);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`beamgate: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
