// GET /metrics in the Prometheus text format: counts only (no names, no addresses), for the IT
// people's dashboards and alerts (e.g. on beamgate_recordings_failed_total). Answered only to the
// addresses in metrics.allowedAddresses (default: this machine), as metrics are no one else's business.
import type { Request, Response } from 'express';

export interface MetricSample {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly value: number;
}

export function formatMetrics(samples: readonly MetricSample[]): string {
  return samples.map(s => `# HELP ${s.name} ${s.help}\n# TYPE ${s.name} ${s.type}\n${s.name} ${Number.isFinite(s.value) ? s.value : 0}\n`).join('');
}

/** Strips the IPv4-mapped prefix so '::ffff:127.0.0.1' matches '127.0.0.1'. */
function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

export function metricsHandler(allowed: readonly string[], samples: () => readonly MetricSample[]) {
  const allowedSet = new Set(allowed.map(plainAddress));
  return (req: Request, res: Response): void => {
    if (!allowedSet.has(plainAddress(req.socket.remoteAddress))) {
      res.status(403).type('text').send('metrics are served to metrics.allowedAddresses only\n');
      return;
    }
    res.type('text/plain; version=0.0.4').send(formatMetrics(samples()));
  };
}
