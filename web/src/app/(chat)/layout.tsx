import type { ReactNode } from 'react';
import { ChatShell } from '../../components/chat-shell';
import { RequireSession } from '../../components/require-session';

export default function ChatLayout({ children }: { children: ReactNode }) {
  return (
    <RequireSession>
      <ChatShell>{children}</ChatShell>
    </RequireSession>
  );
}
