import { describe, expect, it } from 'vitest';
import { listenService, reserveListener } from './http.js';
import { createLogger } from './logger.js';
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
          env: { PORT: 0, HOST: '127.0.0.1' },
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
