import type { Logger, Plugin } from '@parley/kit';
import type { LocalBlobStorage } from './storage/local-blob-storage.js';

/** Where local storage's signed URLs point, beside /graphql. */
export const BLOB_PATH = '/blobs/';

/**
 * Serves local storage's signed PUTs and GETs at /blobs/ (the signature is the authorization: no token),
 * with CORS for the allowed browser origins so the web app uploads and downloads directly, as it would
 * with S3's presigned URLs.
 */
export function useBlobEndpoint(
  storage: LocalBlobStorage,
  allowedOrigins: readonly string[],
  logger: Logger,
): Plugin {
  const allowed = new Set(allowedOrigins.map((origin) => new URL(origin).origin));
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(BLOB_PATH)) return;
      const origin = request.headers.get('origin');
      const cors: Record<string, string> =
        origin && allowed.has(origin)
          ? {
              'access-control-allow-origin': origin,
              'access-control-allow-methods': 'GET, PUT',
              'access-control-allow-headers': 'content-type',
              'access-control-max-age': '600',
              vary: 'Origin',
            }
          : {};
      if (request.method === 'OPTIONS') {
        endResponse(new fetchAPI.Response(null, { status: 204, headers: cors }));
        return;
      }
      let response: Response;
      try {
        response =
          (await storage.handle(request)) ??
          fetchAPI.Response.json({ error: { code: 'NOT_FOUND', message: 'No such blob' } }, { status: 404 });
      } catch (error) {
        // A disk failure, say: logged here, never described to the client.
        logger.error({ err: error, method: request.method, path: url.pathname }, 'blob request failed');
        response = fetchAPI.Response.json(
          { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } },
          { status: 500 },
        );
      }
      for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
      endResponse(response);
    },
  };
}
