// `npm run demo`: the gateway with the built-in demo desktop (needs only Node.js), a local
// OpenID Connect provider with sample accounts, a sample user-office file (hot-reloaded: edit
// it and watch rights change), the embedded SQLite store and, when TigerVNC and openbox are
// installed, a real kiosk desktop (Xvnc + openbox + xcalc) as a second desktop of the demo
// beamline. Prints the URL and the logins. Everything listens on 127.0.0.1 and stops on Ctrl-C.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import pino from 'pino';
import { stringify } from 'yaml';
import { validateConfig } from './config.js';
import { DEMO_ACCOUNTS } from './demo-idp/accounts.js';
import { startDemoIdentityProvider } from './demo-idp/identity-provider.js';
import { DEMO_BEAMLINE, sampleUserOffice } from './demo-idp/sample-user-office.js';
import { startDemoDesktop } from './demo-desktop/rfb-server.js';
import { installSignalHandlers, startGateway } from './main.js';

const run = promisify(execFile);
const KIOSK_SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), '../../../scripts/kiosk');

function onPath(binary: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some(dir => existsSync(join(dir, binary)));
}

async function startKiosk(workDir: string, password: string): Promise<{ port: number; stop: () => Promise<void> } | undefined> {
  if (!onPath('Xtigervnc') || !onPath('openbox') || !onPath('vncpasswd')) return undefined;
  const app = ['/usr/bin/xcalc', '/usr/bin/xclock'].find(existsSync);
  if (app === undefined) return undefined;
  const appsFile = join(workDir, 'apps');
  const stateDir = join(workDir, 'kiosk');
  writeFileSync(appsFile, `${app}${app.endsWith('xclock') ? ' -digital -update 1' : ''}\n`);
  await run('bash', [join(KIOSK_SCRIPTS, 'start-kiosk.sh'), '--apps', appsFile, '--state-dir', stateDir, '--geometry', '1024x768',
    '--name', 'BL-XVNC kiosk', '--exit-with', String(process.pid)], { env: { ...process.env, KIOSK_PASSWORD: password }, timeout: 60_000 });
  const port = Number(readFileSync(join(stateDir, 'rfbport'), 'utf8').trim());
  return {
    port,
    stop: async () => {
      await run('bash', [join(KIOSK_SCRIPTS, 'stop-kiosk.sh'), '--state-dir', stateDir]).catch(() => undefined);
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env['BEAMGATE_PORT'] ?? '8080' },
      'no-xvnc': { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
  });
  const port = Number(values.port);
  const workDir = mkdtempSync(join(tmpdir(), 'beamgate-demo-'));
  const dataDir = values['data-dir'] ?? join(workDir, 'data');
  // Fresh random VNC passwords and client secret each run: they stay on the gateway side.
  const demoPassword = randomBytes(6).toString('base64url').slice(0, 8);
  const kioskPassword = randomBytes(6).toString('base64url').slice(0, 8);
  const clientSecret = randomBytes(24).toString('base64url');
  writeFileSync(join(workDir, 'demo-password'), `${demoPassword}\n`, { mode: 0o600 });
  writeFileSync(join(workDir, 'kiosk-password'), `${kioskPassword}\n`, { mode: 0o600 });
  writeFileSync(join(workDir, 'oidc-client-secret'), `${clientSecret}\n`, { mode: 0o600 });
  const userOfficeFile = join(workDir, 'user-office.yaml');
  writeFileSync(userOfficeFile, `# Sample user-office data (docs/user-office-data.md). Edit and save: the gateway reloads it.\n${stringify(sampleUserOffice(new Date()))}`);

  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startDemoIdentityProvider({
    host: '127.0.0.1', port: 0,
    clients: [{ clientId: 'beamgate', clientSecret, redirectUris: [`${publicUrl}/auth/callback`], postLogoutRedirectUris: [`${publicUrl}/`], name: 'Beamgate demo' }],
  });
  const desktop = await startDemoDesktop({ password: demoPassword });
  const kiosk = values['no-xvnc'] === true ? undefined : await startKiosk(workDir, kioskPassword).catch((e: unknown) => {
    process.stderr.write(`note: the real Xvnc kiosk desktop did not start (${(e as Error).message.split('\n')[0] ?? ''}); continuing without it\n`);
    return undefined;
  });

  const targets = [
    { id: 'bl-demo', name: 'BL-DEMO control desktop (simulated)', beamline: DEMO_BEAMLINE, host: desktop.host, port: desktop.port, security: ['vnc'], passwordFile: join(workDir, 'demo-password') },
    ...(kiosk === undefined ? [] : [{ id: 'bl-demo-xvnc', name: 'BL-DEMO kiosk (real Xvnc)', beamline: DEMO_BEAMLINE, host: '127.0.0.1', port: kiosk.port, security: ['vnc'], passwordFile: join(workDir, 'kiosk-password') }]),
  ];
  const config = validateConfig({
    listen: { host: '127.0.0.1', port },
    publicUrl,
    dataDir,
    oidc: { issuer: idp.issuer, clientId: 'beamgate', clientSecretFile: join(workDir, 'oidc-client-secret'), allowInsecureHttpIssuer: true },
    userOffice: { file: userOfficeFile },
    targets,
  }, 'demo');
  const log = pino({ level: 'info', base: { service: 'beamgate' } });
  const gateway = await startGateway(config, log);

  const width = Math.max(...DEMO_ACCOUNTS.map(a => a.login.length));
  const pwWidth = Math.max(...DEMO_ACCOUNTS.map(a => a.password.length));
  const lines = [
    '',
    'Beamgate demo is running.',
    `  Open:        ${gateway.url}   (log in with one of the accounts below)`,
    ...targets.map(t => `  Desktop:     ${`${gateway.url}view/${t.id}`.padEnd(40)} ${t.name}`),
    `  Identity:    ${idp.issuer}   (local OpenID Connect provider, demo accounts only)`,
    `  User office: ${userOfficeFile}   (edit it: rights change within seconds)`,
    `  Data:        ${dataDir}   (SQLite store with the audit log: npm run beamgate -- audit verify --sqlite ${join(dataDir, 'beamgate.sqlite')})`,
    '',
    '  Logins:',
    ...DEMO_ACCOUNTS.map(a => `    ${a.login.padEnd(width)}  ${a.password.padEnd(pwWidth)}  ${a.shows}`),
    '',
    '  Stop:        Ctrl-C',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  installSignalHandlers(async () => {
    await gateway.close();
    await idp.close();
    await desktop.close();
    await kiosk?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }, log);
}

main().catch((e: unknown) => {
  process.stderr.write(`beamgate demo: ${(e as Error).message}\n`);
  process.exit(1);
});
