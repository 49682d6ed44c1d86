'use client';

import { Provider as UrqlProvider } from 'urql';
import {
  createContext,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react';
import { createParleyClient } from '../lib/client';
import { loadConfig, type ClientConfig } from '../lib/config';
import { LogoutMutation } from '../lib/operations';
import { persistedFetch } from '../lib/persisted-fetch';
import { createRealtime, type Realtime } from '../lib/realtime';
import { createServiceStatus, type Availability, type ServiceStatus } from '../lib/service-status';
import { clearSession, onSessionChange, readSession, type Session } from '../lib/session';

interface AppState {
  config: ClientConfig | null;
  /** Undefined until read from storage (on the client), null when signed out. */
  session: Session | null | undefined;
  /** The realtime socket, while signed in. */
  realtime: Realtime | null;
  /** Whether the graph answers the queries shown, while signed in. */
  serviceStatus: ServiceStatus | null;
  signOut(): void;
}

const AppContext = createContext<AppState>({
  config: null,
  session: undefined,
  realtime: null,
  serviceStatus: null,
  signOut: () => {},
});

export const useApp = () => useContext(AppContext);

/** Runs `listener` whenever the realtime socket is back after a loss (see Realtime.onReconnect). */
export function useOnReconnect(listener: () => void) {
  const { realtime } = useApp();
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => realtime?.onReconnect(() => latest.current()), [realtime]);
}

const noSubscription = () => () => {};

/** Whether the graph answers the queries shown (see ServiceStatus), and a way to send those that gave up again. */
export function useServiceAvailability(): { availability: Availability; retryNow(): void } {
  const { serviceStatus } = useApp();
  const availability = useSyncExternalStore(
    serviceStatus?.subscribe ?? noSubscription,
    () => serviceStatus?.availability() ?? 'available',
    () => 'available' as const,
  );
  return { availability, retryNow: () => serviceStatus?.retryNow() };
}

/**
 * The app's state above every page: where the graph is, the session (shared by the tabs), and one urql
 * client with its realtime socket per signed-in user (a new user gets a new cache).
 */
export function Providers({ children }: { children: ReactNode }) {
  const [config, setConfig] = useState<ClientConfig | null>(null);
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  useEffect(() => {
    loadConfig().then(setConfig, (error: unknown) => console.error(error));
    setSession(readSession());
    return onSessionChange(setSession);
  }, []);

  const userId = session?.user.id;
  const clients = useMemo(() => {
    const current = readSession();
    if (!config || !userId || !current) return null;
    const realtime = createRealtime(config);
    const serviceStatus = createServiceStatus();
    return { realtime, serviceStatus, client: createParleyClient(config, current, realtime, serviceStatus) };
  }, [config, userId]);
  useEffect(() => () => clients?.realtime.dispose(), [clients]);

  const state = useMemo<AppState>(
    () => ({
      config,
      session,
      realtime: clients?.realtime ?? null,
      serviceStatus: clients?.serviceStatus ?? null,
      signOut() {
        const current = readSession();
        clearSession();
        // Ends the session on the server too, without making the person wait for the network.
        if (config && current) {
          void persistedFetch(config.graphqlUrl, LogoutMutation, {}, current.accessToken).catch(
            () => undefined,
          );
        }
      },
    }),
    [config, session, clients],
  );

  return (
    <AppContext.Provider value={state}>
      {clients ? <UrqlProvider value={clients.client}>{children}</UrqlProvider> : children}
    </AppContext.Provider>
  );
}
