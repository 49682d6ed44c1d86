import type { RequestListener } from 'node:http';
import type { Logger } from '@parley/kit';
import { createServerAdapter } from '@whatwg-node/server';
import { blobRefusal, type LocalBlobStorage } from './storage/local-blob-storage.js';

/** Where local storage's signed URLs point, on the blob listener. */
export const BLOB_PATH = '/blobs/';

/**
 * The blob listener: local storage's signed PUTs and GETs at /blobs/ (the signature is the authorization:
 * no token) and nothing else, on a port of its own, so clients reach it without reaching the subgraph's
 * /graphql (which must stay internal: it trusts the entity representations the router sends). CORS is
 * answered for the allowed browser origins, so the web app uploads and downloads directly, as it would
 * with S3's presigned URLs.
 */
export function createBlobListener(
  storage: LocalBlobStorage,
  allowedOrigins: readonly string[],
  logger: Logger,
): RequestListener {
  const allowed = new Set(allowedOrigins.map((origin) => new URL(origin).origin));
  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const origin = request.headers.get('origin');
    const cors: Record<string, string> = { vary: 'Origin' };
    if (origin && allowed.has(origin)) {
      Object.assign(cors, {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, PUT',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
    }
    let response: Response;
    if (!url.pathname.startsWith(BLOB_PATH)) {
      response = blobRefusal(404, 'NOT_FOUND', 'Only signed blob URLs are served here');
    } else if (request.method === 'OPTIONS') {
      response = new Response(null, { status: 204 });
    } else {
      try {
        response = (await storage.handle(request)) ?? blobRefusal(404, 'NOT_FOUND', 'No such blob');
      } catch (error) {
        // A disk failure, say: logged here, never described to the client.
        logger.error({ err: error, method: request.method, path: url.pathname }, 'blob request failed');
        response = blobRefusal(500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
      }
    }
    for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    return response;
  };
  return createServerAdapter(handle) as unknown as RequestListener;
}
