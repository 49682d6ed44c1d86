/** Where the graph is, as served by the web server at `/config.json` (see web/server/server.ts). */
export interface ClientConfig {
  graphqlUrl: string;
  wsUrl: string;
}

/** The trusted-document client the router knows this app's manifest by (router/persisted/parley-web.json). */
export const CLIENT_NAME = 'parley-web';

let loading: Promise<ClientConfig> | undefined;

export function loadConfig(): Promise<ClientConfig> {
  loading ??= fetch('/config.json', { cache: 'no-store' }).then(async (response) => {
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    return (await response.json()) as ClientConfig;
  });
  return loading;
}
