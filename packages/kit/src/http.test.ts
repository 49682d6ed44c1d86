import { describe, expect, it } from 'vitest';
import { listenService, reserveListener } from './http.js';
import { createLogger } from './logger.js';
import { Counter } from 'prom-client';
import { createMetricsRegistry } from './metrics.js';
import { startWithResources } from './resources.js';

describe('reserveListener', () => {
  it('answers 503 until served, then the handler given to listenService, on the address it had', async () => {
    const listener = await reserveListener(0);
    try {
      expect(listener.port).toBeGreaterThan(0);
      const early = await fetch(`${listener.url}/graphql`);
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');

      const service = await startWithResources((resources) =>
        listenService(resources, (_request, response) => response.end('served'), {
          env: { PORT: 0, METRICS_PORT: 0, HOST: '127.0.0.1' },
          metrics: createMetricsRegistry('test'),
          logger: createLogger({ service: 'test', level: 'silent' }),
          name: 'test',
          listener,
        }),
      );
      expect(service.url).toBe(listener.url);
      expect(await (await fetch(`${listener.url}/graphql`)).text()).toBe('served');
      // Stopping the service leaves the reserved listener to whoever reserved it, answering 503 again.
      await service.stop();
      expect(listener.server.listening).toBe(true);
      expect((await fetch(`${listener.url}/graphql`)).status).toBe(503);
    } finally {
      await listener.close();
    }
    expect(listener.server.listening).toBe(false);
  });
});

describe('listenService', () => {
  it("serves the service's metrics at /metrics on a port of its own, and closes it with the service", async () => {
    const metrics = createMetricsRegistry('test');
    new Counter({ name: 'test_probes_total', help: 'probes', registers: [metrics] }).inc(3);
    const service = await startWithResources((resources) =>
      listenService(resources, (_request, response) => response.writeHead(404).end(), {
        env: { PORT: 0, METRICS_PORT: 0, HOST: '127.0.0.1' },
        metrics,
        logger: createLogger({ service: 'test', level: 'silent' }),
        name: 'test',
      }),
    );
    try {
      const metricsUrl = new URL(service.metricsUrl);
      expect(metricsUrl.pathname).toBe('/metrics');
      expect(metricsUrl.port).not.toBe(String(service.port));
      const response = await fetch(service.metricsUrl);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toMatch(/^test_probes_total\{service="test"\} 3$/m);
      expect((await fetch(new URL('/graphql', metricsUrl))).status).toBe(404);
      expect((await fetch(service.metricsUrl, { method: 'POST' })).status).toBe(404);
    } finally {
      await service.stop();
    }
    await expect(fetch(service.metricsUrl)).rejects.toThrow();
  });
});
