// Composition root: configuration -> logger -> store -> audit -> user office -> identity and
// policy -> gateway server -> listen; signals -> graceful close. The only place that reads
// argv, builds the logger and exits the process.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { AccessService } from './access/access-service.js';
import { AccessWatcher } from './access/access-watcher.js';
import { AuditWriter } from './audit/audit-writer.js';
import { cookiePolicy } from './auth/cookies.js';
import { claimPath, type ClaimMapping } from './auth/identity.js';
import { OidcClient } from './auth/oidc-client.js';
import { SessionService } from './auth/session-service.js';
import { configFromArgs } from './cli-args.js';
import { ConfigError, defaultOrigins, recordingsDirectory, type GatewayConfig } from './config.js';
import { DesktopControl } from './control/desktop-control.js';
import { PolicyDirectory } from './input-policy/policy-directory.js';
import { createGatewayServer, openUpstream, type GatewayServer, type LoginServices } from './http/gateway-server.js';
import { DEFAULT_RECORDER_OPTIONS } from './recording/desktop-recorder.js';
import { RecordingService } from './recording/recording-service.js';
import { loadOrCreateTokenKey, readSecretFile } from './secrets.js';
import { openStore } from './store/store.js';
import { storeConfigOf } from './store/store-config.js';
import type { Store } from './store/types.js';
import { FeedUserOfficeSource } from './user-office/feed-source.js';
import { FileUserOfficeSource } from './user-office/file-source.js';
import { countsOf, type UserOfficeSource } from './user-office/source.js';

export const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../kiosk-client');

export interface RunningGateway {
  readonly gateway: GatewayServer;
  readonly url: string;
  readonly store: Store;
  /** Stops the server, the watchers and the store, in that order. */
  close(): Promise<void>;
}

export function claimMappingOf(oidc: NonNullable<GatewayConfig['oidc']>): ClaimMapping {
  return {
    userId: claimPath(oidc.claims.userId),
    name: oidc.claims.name.map(claimPath),
    roleSources: (oidc.claims.roleSources ?? ['realm_access.roles', ['resource_access', oidc.clientId, 'roles'], 'groups']).map(claimPath),
    roles: { admin: oidc.roles.admin, 'safety-officer': oidc.roles.safetyOfficer, staff: oidc.roles.staff },
    mfa: oidc.mfa,
  };
}

function userOfficeSourceOf(config: GatewayConfig): UserOfficeSource | undefined {
  const uo = config.userOffice;
  if (uo === undefined) return undefined;
  if ('file' in uo) return new FileUserOfficeSource({ path: uo.file });
  return new FeedUserOfficeSource({
    url: uo.feed.url,
    intervalMs: uo.feed.intervalSeconds * 1000,
    timeoutMs: uo.feed.timeoutMs,
    ...(uo.feed.tokenFile === undefined ? {} : { tokenFile: uo.feed.tokenFile }),
    cacheFile: uo.feed.cacheFile ?? join(config.dataDir, 'user-office-cache.json'),
  });
}

export async function startGateway(config: GatewayConfig, log: Logger, clock: () => Date = () => new Date()): Promise<RunningGateway> {
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      await close().catch((e: unknown) => {
        log.error({ err: (e as Error).message }, 'close failed');
      });
    }
  };
  try {
    const tokenKey = loadOrCreateTokenKey(resolve(config.session.tokenKeyFile ?? join(config.dataDir, 'token.key')));
    const store = await openStore(storeConfigOf(config), { tokenKey, log: log.child({ part: 'store' }) });
    closers.push(() => store.close());
    const audit = new AuditWriter(store.audit, log.child({ part: 'audit' }), clock);
    const login = await startLogin(config, store, audit, log, clock, closers);
    const inputPolicies = await startInputPolicies(config, audit, log, closers);
    const sessions = await startRecordings(config, store, audit, login, inputPolicies, log, clock, closers);
    const gateway = createGatewayServer({
      config, log, clientDir: CLIENT_DIR, audit, login, ready: () => store.ping(), clock, inputPolicies, sessions,
      recordings: { directory: recordingsDirectory(config), index: store.recordings },
      metrics: () => sessions.metrics(),
      auditQueries: store.auditQueries,
    });
    const address = await gateway.listen();
    closers.push(() => gateway.close());
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = config.publicUrl === undefined ? `http://${host}:${address.port}/` : `${config.publicUrl}/`;
    await audit.record({ code: 'gateway.started', actor: 'system', message: `gateway started at ${url}`, details: { targets: config.targets.map(t => t.id), login: login === undefined ? 'none' : 'oidc' } });
    closers.push(async () => {
      await audit.tryRecord({ code: 'gateway.stopped', actor: 'system', message: 'gateway stopped' });
    });
    if (login === undefined) {
      log.warn({ url, targets: config.targets.map(t => t.id) }, 'gateway listening WITHOUT LOGIN (insecureNoLogin): loopback only, everyone here may drive every desktop');
    } else {
      log.info({ url, targets: config.targets.map(t => t.id), store: store.kind }, 'gateway listening');
    }
    return { gateway, url, store, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

async function startRecordings(
  config: GatewayConfig, store: Store, audit: AuditWriter, login: LoginServices | undefined, inputPolicies: PolicyDirectory | undefined,
  log: Logger, clock: () => Date, closers: (() => Promise<void>)[],
): Promise<RecordingService> {
  const settings = config.recordings;
  const directory = recordingsDirectory(config);
  const targets = new Map(config.targets.map(t => [t.id, t]));
  const service = new RecordingService({
    directory,
    recorder: {
      ...DEFAULT_RECORDER_OPTIONS,
      keyFrameIntervalMs: settings.keyFrameIntervalSeconds * 1000,
      minUpdateIntervalMs: 1000 / settings.maxUpdatesPerSecond,
    },
    sessionCloseGraceMs: settings.sessionCloseGraceSeconds * 1000,
    policyOf: (beamline) => {
      const own = inputPolicies?.recording(beamline);
      return { enabled: own?.enabled ?? settings.enabled, retentionDays: own?.retentionDays ?? settings.retentionDays };
    },
    beamtimeOf: (beamline, now) => login?.access.runningBeamtime(beamline, now),
    connect: (desktopId) => {
      const target = targets.get(desktopId);
      if (target === undefined) return Promise.reject(new Error(`no target ${desktopId}`));
      return openUpstream(target, config);
    },
  }, store.recordings, audit, log.child({ part: 'recordings' }), clock);
  const interrupted = await service.recoverInterrupted();
  if (interrupted > 0) log.warn({ interrupted }, 'recordings interrupted by the last stop were marked failed (readable up to where they end)');
  const prune = (): void => {
    service.prune().catch((e: unknown) => {
      log.error({ err: (e as Error).message }, 'pruning expired recordings failed');
    });
  };
  prune();
  const pruneTimer = setInterval(prune, settings.pruneIntervalMinutes * 60_000);
  pruneTimer.unref();
  closers.push(async () => {
    clearInterval(pruneTimer);
    await service.closeAll('the gateway stopped');
  });
  log.info({ directory, enabled: settings.enabled, retentionDays: settings.retentionDays }, 'recordings');
  return service;
}

async function startInputPolicies(
  config: GatewayConfig, audit: AuditWriter, log: Logger, closers: (() => Promise<void>)[],
): Promise<PolicyDirectory | undefined> {
  if (config.inputPolicies === undefined) {
    log.warn('no inputPolicies directory configured: input is not filtered beyond view-only and the control token');
    return undefined;
  }
  const directory = new PolicyDirectory({ directory: config.inputPolicies.directory });
  directory.onChange((event) => {
    if (event.kind === 'loaded') {
      log.info({ beamline: event.beamline, source: event.source, rules: event.ruleIds.length }, 'input policy loaded');
      void audit.tryRecord({ code: 'input.policy_loaded', actor: 'system', beamline: event.beamline, message: `input policy of ${event.beamline} loaded from ${event.source}`, details: { rules: [...event.ruleIds] } });
    } else if (event.kind === 'rejected') {
      log.error({ beamline: event.beamline, source: event.source, err: event.error }, 'input policy refused; the last good one stays');
      void audit.tryRecord({ code: 'input.policy_rejected', actor: 'system', beamline: event.beamline, message: `input policy refused, last good kept: ${event.error}` });
    } else {
      log.warn({ beamline: event.beamline }, 'input policy file removed: the conservative fallback applies');
      void audit.tryRecord({ code: 'input.policy_loaded', actor: 'system', beamline: event.beamline, message: `input policy of ${event.beamline} removed: the fallback policy applies` });
    }
  });
  await directory.start();
  closers.push(() => {
    directory.close();
    return Promise.resolve();
  });
  log.info({ directory: directory.describe(), beamlines: directory.beamlines() }, 'input policies loaded');
  return directory;
}

async function startLogin(
  config: GatewayConfig, store: Store, audit: AuditWriter, log: Logger, clock: () => Date, closers: (() => Promise<void>)[],
): Promise<LoginServices | undefined> {
  const oidcConfig = config.oidc;
  const source = userOfficeSourceOf(config);
  if (oidcConfig === undefined || source === undefined) return undefined;
  const publicUrl = config.publicUrl ?? defaultOrigins(config.listen.host, config.listen.port)[0] ?? '';
  const oidc = new OidcClient({
    issuer: oidcConfig.issuer, clientId: oidcConfig.clientId, clientSecret: readSecretFile(oidcConfig.clientSecretFile, 'OIDC client secret'),
    publicUrl, scopes: oidcConfig.scopes, allowInsecureHttpIssuer: oidcConfig.allowInsecureHttpIssuer, timeoutMs: oidcConfig.timeoutMs,
  });
  // Discovery now, so a wrong issuer shows at start; the gateway still starts when the provider is down.
  await oidc.configuration().catch((e: unknown) => {
    log.warn({ err: (e as Error).message }, 'identity provider not reachable yet; logins will retry');
  });

  // Listening before start(): a feed that is down at start serves its cache, and why is on record.
  const live: { current?: { access: AccessService; watcher: AccessWatcher } } = {};
  source.onChange((event) => {
    if (event.kind === 'loaded') {
      if (event.warning !== undefined) log.warn({ source: event.source, warning: event.warning }, 'user-office source warning');
      const current = live.current;
      if (current === undefined) return; // the data start() returns
      current.access.update(event.data);
      log.info({ source: event.source, counts: event.counts }, 'user-office data reloaded');
      void audit.tryRecord({ code: 'useroffice.reloaded', actor: 'system', message: `user-office data reloaded from ${event.source}`, details: { ...event.counts } });
      void current.watcher.reevaluate();
    } else {
      log.error({ source: event.source, err: event.error }, 'user-office load refused; the last good data stays');
      void audit.tryRecord({ code: 'useroffice.rejected', actor: 'system', message: `user-office load refused, last good data kept: ${event.error}` });
    }
  });
  const data = await source.start();
  closers.push(() => {
    source.close();
    return Promise.resolve();
  });
  const unknown = config.targets.filter(t => !data.beamlines.some(b => b.id === t.beamline));
  if (unknown.length > 0) {
    throw new ConfigError(`targets ${unknown.map(t => `${t.id} (beamline ${t.beamline ?? '?'})`).join(', ')}: no such beamline in the user-office data`);
  }
  const desktops = config.targets.map(t => ({ id: t.id, name: t.name, beamline: t.beamline ?? '' }));
  const access = new AccessService(data, desktops, store.acknowledgements, clock);
  await access.start();
  await audit.record({ code: 'useroffice.reloaded', actor: 'system', message: `user-office data loaded from ${source.describe()}`, details: { ...countsOf(data) } });

  const maxAgeMs = config.session.maxAgeHours * 3600_000;
  const sessions = new SessionService({ store: store.webSessions, oidc, mapping: claimMappingOf(oidcConfig), audit, log: log.child({ part: 'sessions' }), maxAgeMs, clock });
  const watcher = new AccessWatcher({ access, resolveSession: id => sessions.resolve(id), audit, log: log.child({ part: 'access' }), clock });
  sessions.onEnded((ended) => {
    watcher.sessionEnded(ended);
  });
  live.current = { access, watcher };
  const controls = new Map(desktops.map(d => [d.id, new DesktopControl(d, {
    idleTimeoutMs: config.control.idleTimeoutMinutes * 60_000,
    disconnectGraceMs: config.control.disconnectGraceSeconds * 1000,
    handOverTimeoutMs: config.control.handOverTimeoutSeconds * 1000,
    autoGrantAfterMs: access.autoGrantAfterMs(d),
    maxQueue: config.control.maxQueue,
  }, { audit, log: log.child({ part: 'control', target: d.id }), clock })]));
  // Time is an event for the arbiter: one tick a second fires idle, grace, hand-over and auto-grant timeouts.
  const ticker = setInterval(() => {
    for (const control of controls.values()) control.tick();
  }, 1000);
  ticker.unref();
  closers.push(() => {
    clearInterval(ticker);
    for (const control of controls.values()) control.close('The gateway is restarting.');
    return Promise.resolve();
  });
  const timer = setInterval(() => {
    void watcher.reevaluate();
    void store.webSessions.deleteExpired(clock()).catch(() => undefined);
  }, config.policy.reevaluateSeconds * 1000);
  timer.unref();
  closers.push(() => {
    clearInterval(timer);
    return Promise.resolve();
  });
  return { oidc, sessions, transactions: store.loginTransactions, access, watcher, cookies: cookiePolicy(publicUrl), maxAgeMs, controls };
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
  try {
    const running = await startGateway(config, log);
    installSignalHandlers(() => running.close(), log);
  } catch (e) {
    if (e instanceof ConfigError || (e as Error).name === 'UserOfficeError' || (e as Error).name === 'DocumentError') {
      process.stderr.write(`beamgate: ${(e as Error).message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`beamgate: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
