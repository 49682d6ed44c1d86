import type { SignedInUser } from '@parley/testkit';

/** Runs `document` as `user` and returns its data; any error fails the benchmark's set-up. */
export async function call<Data>(
  user: SignedInUser,
  document: string,
  variables: Record<string, unknown> = {},
): Promise<Data> {
  const response = await user.client.request<Data>(document, variables);
  if (!response.data || response.errors) {
    throw new Error(`set-up call failed: ${JSON.stringify(response.errors)}\n${document}`);
  }
  return response.data;
}

export const CREATE_GROUP = `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { id } }`;
export const CREATE_DIRECT = `mutation ($userId: ID!) { createDirectConversation(userId: $userId) { id } }`;
export const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }`;

/** Runs `task` over `items`, `concurrency` at a time, keeping the results in order. */
export async function mapLimit<Item, Result>(
  items: readonly Item[],
  concurrency: number,
  task: (item: Item, index: number) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
