// Where the store is, from the gateway configuration: the embedded SQLite file under dataDir,
// or PostgreSQL when a URL is configured. Shared by the gateway and the `beamgate` command line.
import { join } from 'node:path';
import type { GatewayConfig } from '../config.js';
import { readSecretFile } from '../secrets.js';
import type { StoreConfig } from './types.js';

export function storeConfigOf(config: Pick<GatewayConfig, 'dataDir' | 'store'>): StoreConfig {
  if (config.store.postgresUrl === undefined) return { kind: 'sqlite', file: join(config.dataDir, 'beamgate.sqlite') };
  let url = config.store.postgresUrl;
  if (config.store.postgresPasswordFile !== undefined) {
    const parsed = new URL(url);
    parsed.password = encodeURIComponent(readSecretFile(config.store.postgresPasswordFile, 'PostgreSQL password'));
    url = parsed.href;
  }
  return { kind: 'postgres', url };
}
