import {
  createMemoryPresenceData,
  createMemoryPresenceStore,
  type MemoryPresenceData,
} from '../src/store/presence-store.js';
import { describePresenceStoreContract } from './presence-contract.js';

const memoryData = new Map<string, MemoryPresenceData>();
describePresenceStoreContract('memory', async ({ prefix, timings, clock }) => {
  const data = memoryData.get(prefix) ?? createMemoryPresenceData();
  memoryData.set(prefix, data);
  return {
    store: createMemoryPresenceStore({ data, timings, clock }),
    cleanup: async () => void memoryData.delete(prefix),
  };
});
