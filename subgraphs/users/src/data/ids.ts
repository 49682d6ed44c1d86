const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs: anything else is unknown without a query (and would make PostgreSQL fail on the cast). */
export const isUuid = (value: string): boolean => UUID.test(value);
