import type { Device, PrismaClient } from '../generated/prisma/client.js';
import { isUuid } from '@parley/kit';

export type { Device };

export const MAX_DEVICES_PER_USER = 20;

export interface NewDevice {
  name: string;
  keyAlgorithm: 'ED25519' | 'X25519';
  identityPublicKey: string;
}

/** Public identity keys per device. There is deliberately no column for a private key. */
export function createDeviceStore(prisma: PrismaClient) {
  return {
    count: (userId: string): Promise<number> => prisma.device.count({ where: { userId } }),

    register: (userId: string, device: NewDevice): Promise<Device> =>
      prisma.device.create({ data: { userId, ...device } }),

    list: (userId: string): Promise<Device[]> =>
      prisma.device.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } }),

    async remove(userId: string, deviceId: string): Promise<boolean> {
      if (!isUuid(deviceId)) return false;
      const { count } = await prisma.device.deleteMany({ where: { id: deviceId, userId } });
      return count > 0;
    },
  };
}

export type DeviceStore = ReturnType<typeof createDeviceStore>;
