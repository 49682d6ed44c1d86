import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { booleanFromString, commonEnvShape, EnvError, parseEnv, portSchema } from './env.js';

const schema = z.object({
  ...commonEnvShape,
  DATABASE_URL: z.url(),
  PORT: portSchema.default(4001),
  FEATURE_ENABLED: booleanFromString,
});

function issuesOf(source: NodeJS.ProcessEnv): string[] {
  try {
    parseEnv(schema, source);
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as EnvError).issues;
  }
  throw new Error('expected the environment to be refused');
}

describe('parseEnv', () => {
  it('parses a valid environment into typed values with defaults', () => {
    expect(
      parseEnv(schema, { DATABASE_URL: 'postgresql://db/parley', FEATURE_ENABLED: '1', PORT: '8080' }),
    ).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      TRUST_PROXY: false,
      DATABASE_URL: 'postgresql://db/parley',
      PORT: 8080,
      FEATURE_ENABLED: true,
    });
  });

  it('reports every problem at once, each naming its variable', () => {
    const source = { PORT: 'eighty', FEATURE_ENABLED: 'yes', LOG_LEVEL: 'loud' };
    const issues = issuesOf(source);
    expect(issues.map((issue) => issue.split(':')[0]).sort()).toEqual([
      'DATABASE_URL',
      'FEATURE_ENABLED',
      'LOG_LEVEL',
      'PORT',
    ]);
    expect(() => parseEnv(schema, source)).toThrow(/DATABASE_URL[\s\S]*PORT|PORT[\s\S]*DATABASE_URL/);
  });

  it('treats an empty string as unset: defaults apply, and a required variable is reported missing', () => {
    const parsed = parseEnv(schema, {
      DATABASE_URL: 'postgresql://db/parley',
      FEATURE_ENABLED: '0',
      PORT: '',
      LOG_LEVEL: '',
    });
    expect(parsed).toMatchObject({ PORT: 4001, LOG_LEVEL: 'info', FEATURE_ENABLED: false });
    // `DATABASE_URL=` gets the same report as no DATABASE_URL at all, not "invalid URL".
    expect(issuesOf({ DATABASE_URL: '', FEATURE_ENABLED: '0' })).toEqual(issuesOf({ FEATURE_ENABLED: '0' }));
  });
});

describe('booleanFromString', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads %j as %s', (text, value) => {
    expect(booleanFromString.parse(text)).toBe(value);
  });

  it.each(['yes', 'no', 'on', 'TRUE', ' true'])('refuses %j rather than guessing', (text) => {
    expect(booleanFromString.safeParse(text).success).toBe(false);
  });

  it('TRUST_PROXY is off unless set, and "false" really means false', () => {
    const trustProxy = z.object(commonEnvShape);
    expect(parseEnv(trustProxy, {}).TRUST_PROXY).toBe(false);
    expect(parseEnv(trustProxy, { TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(parseEnv(trustProxy, { TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
  });
});

describe('portSchema', () => {
  it('accepts 0..65535 and refuses anything else', () => {
    expect(portSchema.parse('0')).toBe(0);
    expect(portSchema.parse('65535')).toBe(65_535);
    for (const text of ['65536', '-1', '80.5', 'http'])
      expect(portSchema.safeParse(text).success).toBe(false);
  });
});
