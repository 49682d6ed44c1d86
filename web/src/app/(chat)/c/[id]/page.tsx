'use client';

import { useParams } from 'next/navigation';
import { ConversationPane } from '../../../../components/conversation-pane';

export default function ConversationPage() {
  const { id } = useParams<{ id: string }>();
  return <ConversationPane key={id} conversationId={id} />;
}
