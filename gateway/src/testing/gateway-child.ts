// Test support: runs a gateway in a child process (for crash tests: kill -9 it). argv[2] is a JSON
// config file; prints one line "listening <url>" on stdout when it serves.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { validateConfig } from '../config.js';
import { startGateway } from '../main.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: gateway-child.js CONFIG.json');
const config = validateConfig(JSON.parse(readFileSync(path, 'utf8')), path);
const running = await startGateway(config, pino({ level: 'warn' }, pino.destination(2)));
process.stdout.write(`listening ${running.url}\n`);
