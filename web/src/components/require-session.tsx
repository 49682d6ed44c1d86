'use client';

import { useRouter } from 'next/navigation';
import { useEffect, type ReactNode } from 'react';
import { useApp } from './providers';

/** Pages of a signed-in user: anyone else goes to the sign-in page. */
export function RequireSession({ children }: { children: ReactNode }) {
  const { session, config } = useApp();
  const router = useRouter();
  useEffect(() => {
    if (session === null) router.replace('/login');
  }, [session, router]);
  if (!session || !config)
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  return <>{children}</>;
}
