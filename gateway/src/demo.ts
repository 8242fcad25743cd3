// `npm run demo`: the gateway with the built-in demo desktop (needs only Node.js) and, when
// TigerVNC and openbox are installed, a real kiosk desktop (Xvnc + openbox + xcalc) as a second
// target. Prints the URL. Everything listens on 127.0.0.1 and stops on Ctrl-C.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import pino from 'pino';
import { validateConfig } from './config.js';
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
    options: { port: { type: 'string', default: process.env['BEAMGATE_PORT'] ?? '8080' }, 'no-xvnc': { type: 'boolean' } },
  });
  const workDir = mkdtempSync(join(tmpdir(), 'beamgate-demo-'));
  // Fresh random VNC passwords each run: they stay on the gateway side, the browser never sees them.
  const demoPassword = randomBytes(6).toString('base64url').slice(0, 8);
  const kioskPassword = randomBytes(6).toString('base64url').slice(0, 8);
  writeFileSync(join(workDir, 'demo-password'), `${demoPassword}\n`, { mode: 0o600 });
  writeFileSync(join(workDir, 'kiosk-password'), `${kioskPassword}\n`, { mode: 0o600 });

  const desktop = await startDemoDesktop({ password: demoPassword });
  const kiosk = values['no-xvnc'] === true ? undefined : await startKiosk(workDir, kioskPassword).catch((e: unknown) => {
    process.stderr.write(`note: the real Xvnc kiosk desktop did not start (${(e as Error).message.split('\n')[0] ?? ''}); continuing without it\n`);
    return undefined;
  });

  const targets = [
    { id: 'bl-demo', name: 'BL-DEMO beamline (simulated)', host: desktop.host, port: desktop.port, security: ['vnc'], passwordFile: join(workDir, 'demo-password') },
    ...(kiosk === undefined ? [] : [{ id: 'bl-xvnc', name: 'BL-XVNC kiosk (real Xvnc)', host: '127.0.0.1', port: kiosk.port, security: ['vnc'], passwordFile: join(workDir, 'kiosk-password') }]),
  ];
  const config = validateConfig({ listen: { host: '127.0.0.1', port: Number(values.port) }, targets }, 'demo');
  const log = pino({ level: 'info', base: { service: 'beamgate' } });
  const { gateway, url } = await startGateway(config, log);

  const lines = [
    '',
    'Beamgate demo is running.',
    `  Open:       ${url}`,
    ...targets.map(t => `  Desktop:    ${`${url}view/${t.id}`.padEnd(40)} ${t.name}`),
    '  Logins:     none yet: login, roles and sample accounts come with OpenID Connect (issue 3);',
    '              until then the gateway serves 127.0.0.1 only and "Watch only" is the viewer\'s own choice.',
    '  Stop:       Ctrl-C',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  installSignalHandlers(async () => {
    await gateway.close();
    await desktop.close();
    await kiosk?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }, log);
}

main().catch((e: unknown) => {
  process.stderr.write(`beamgate demo: ${(e as Error).message}\n`);
  process.exit(1);
});
