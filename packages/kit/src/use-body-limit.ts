import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Refuses request bodies over `maxBytes` before reading them: by Content-Length, and by requiring a
 * Content-Length on POST so a chunked body cannot slip past the check.
 */
export function useBodyLimit(maxBytes: number): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST') return;
      const length = request.headers.get('content-length');
      const refuse = (status: number, message: string) => {
        const error = new GraphQLError(message, { extensions: { code: 'BAD_REQUEST' } });
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [error.toJSON()] }), {
            status,
            headers: { 'content-type': 'application/json; charset=utf-8' },
          }),
        );
      };
      if (length === null) return refuse(411, 'Content-Length is required');
      if (!/^\d+$/.test(length) || Number(length) > maxBytes) {
        return refuse(413, `Request body too large (limit ${maxBytes} bytes)`);
      }
    },
  };
}
