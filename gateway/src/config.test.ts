import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configFromArgs } from './cli-args.js';
import { ConfigError, isLoopback, parseConfig } from './config.js';

const good = `
listen:
  host: 127.0.0.1
  port: 8080
insecureNoLogin: true
targets:
  - id: p11-control
    name: P11 control desktop
    host: 10.1.2.3
    port: 5901
    passwordFile: /etc/beamgate/p11.pass
`;

describe('parseConfig', () => {
  it('fills defaults', () => {
    const config = parseConfig(good, 'beamgate.yaml');
    assert.deepEqual(config.targets[0]?.security, ['vnc']);
    assert.equal(config.limits.maxClientCutText, 262144);
    assert.equal(config.log.level, 'info');
  });

  it('names the file, the path and the line of a mistake', () => {
    const text = good.replace('port: 5901', 'port: "5901"');
    assert.throws(() => parseConfig(text, 'beamgate.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^beamgate\.yaml: invalid configuration:/);
      assert.match(e.message, /targets\.0\.port \(line 10\): .*number/);
      return true;
    });
  });

  it('rejects unknown keys (a typo must not be silently ignored)', () => {
    assert.throws(() => parseConfig(`${good}    pasword: x\n`, 'c.yaml'), /targets\.0.*pasword/s);
  });

  it('rejects broken YAML with the parser message', () => {
    assert.throws(() => parseConfig('targets: [', 'c.yaml'), /c\.yaml: not valid YAML/);
  });

  it('rejects a duplicate target id', () => {
    const twice = good + good.slice(good.indexOf('  - id'));
    assert.throws(() => parseConfig(twice.replace(/targets:\n(.*)targets:\n/s, 'targets:\n$1'), 'c.yaml'), /"p11-control" is used twice/);
  });

  it('refuses to listen beyond loopback without login', () => {
    assert.throws(() => parseConfig(good.replace('host: 127.0.0.1', 'host: 0.0.0.0'), 'c.yaml'), /0\.0\.0\.0 is not a loopback address, and insecureNoLogin/);
  });

  const withLogin = good.replace('insecureNoLogin: true', `oidc:
  issuer: https://login.example.org/realms/facility
  clientId: beamgate
  clientSecretFile: /etc/beamgate/secret
userOffice:
  file: /etc/beamgate/user-office.yaml`).replace('    passwordFile:', '    beamline: p11\n    passwordFile:');

  it('with oidc: serves any address, and fills the Keycloak-shaped defaults', () => {
    const config = parseConfig(withLogin.replace('host: 127.0.0.1', 'host: 0.0.0.0'), 'c.yaml');
    assert.equal(config.oidc?.claims.userId, 'facility_user_id');
    assert.deepEqual(config.oidc.roles.staff, ['beamgate-staff']);
    assert.deepEqual(config.oidc.scopes, ['openid', 'profile', 'offline_access']);
  });

  it('requires either oidc or an explicit insecureNoLogin, not both', () => {
    assert.throws(() => parseConfig(good.replace('insecureNoLogin: true\n', ''), 'c.yaml'), /oidc: required/);
    assert.throws(() => parseConfig(`${withLogin}insecureNoLogin: true\n`, 'c.yaml'), /exclude each other/);
  });

  it('refuses a plain-http issuer unless the option that says so is set', () => {
    const http = withLogin.replace('https://login.example.org', 'http://127.0.0.1:9000');
    assert.throws(() => parseConfig(http, 'c.yaml'), /not https; set oidc\.allowInsecureHttpIssuer/);
    const allowed = http.replace('  clientId: beamgate', '  clientId: beamgate\n  allowInsecureHttpIssuer: true');
    assert.equal(parseConfig(allowed, 'c.yaml').oidc?.allowInsecureHttpIssuer, true);
  });

  it('with oidc: needs user-office data and a beamline for every target', () => {
    assert.throws(() => parseConfig(withLogin.replace(/userOffice:\n  file: .*\n/, ''), 'c.yaml'), /userOffice: required/);
    assert.throws(() => parseConfig(withLogin.replace('    beamline: p11\n', ''), 'c.yaml'), /targets\.0\.beamline: required/);
  });

  it('refuses a plain-http publicUrl beyond loopback, and one with a path', () => {
    assert.throws(() => parseConfig(`${withLogin}publicUrl: http://beamgate.example.org\n`, 'c.yaml'), /must be https/);
    assert.throws(() => parseConfig(`${withLogin}publicUrl: https://beamgate.example.org/gw\n`, 'c.yaml'), /an origin without path/);
    assert.equal(parseConfig(`${withLogin}publicUrl: http://127.0.0.1:8080\n`, 'c.yaml').publicUrl, 'http://127.0.0.1:8080');
  });

  it('parses the example configuration shipped in docs/', () => {
    const config = parseConfig(readFileSync('docs/beamgate.example.yaml', 'utf8'), 'docs/beamgate.example.yaml');
    assert.ok(config.targets.length >= 1);
  });

  const loopback: [string, boolean][] = [['127.0.0.1', true], ['127.1.2.3', true], ['::1', true], ['localhost', true], ['0.0.0.0', false], ['10.0.0.1', false], ['::', false], ['127.0.0.1.nip.io', false]];
  for (const [host, expected] of loopback) {
    it(`isLoopback(${host}) is ${expected}`, () => {
      assert.equal(isLoopback(host), expected);
    });
  }
});

describe('configFromArgs', () => {
  it('builds a single "default" target from --upstream', () => {
    const config = configFromArgs(['--listen', '127.0.0.1:7071', '--upstream', '127.0.0.1:5901', '--upstream-security', 'none']);
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 7071 });
    assert.deepEqual(config.targets.map(t => [t.id, t.host, t.port, t.security]), [['default', '127.0.0.1', 5901, ['none']]]);
    assert.equal(config.insecureNoLogin, true);
  });

  it('a trial from flags alone has no login and therefore stays on loopback', () => {
    assert.throws(() => configFromArgs(['--listen', '0.0.0.0:7071', '--upstream', '127.0.0.1:5901']), /not a loopback address, and insecureNoLogin/);
  });

  it('accepts a bracketed IPv6 listen address', () => {
    assert.equal(configFromArgs(['--listen', '[::1]:7071', '--upstream', '127.0.0.1:5901']).listen.host, '::1');
  });

  it('explains what is missing', () => {
    assert.throws(() => configFromArgs([]), /give --config FILE or --upstream HOST:PORT/);
    assert.throws(() => configFromArgs(['--upstream', 'nohost']), /--upstream nohost: expected HOST:PORT/);
    assert.throws(() => configFromArgs(['--bogus']), /Unknown option '--bogus'/);
    assert.throws(() => configFromArgs(['--upstream', '127.0.0.1:5901', '--upstream-security', 'telnet']), /targets\.0\.security\.0/);
  });
});
