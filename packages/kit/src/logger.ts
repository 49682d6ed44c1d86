import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerConfig {
  service: string;
  level?: LoggerOptions['level'];
}

/** JSON logs, one line per event, with the service name on every line; children add `requestId`. */
export function createLogger({ service, level = 'info' }: LoggerConfig): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.refreshToken',
        '*.accessToken',
        'password',
        'refreshToken',
        'accessToken',
      ],
      censor: '[redacted]',
    },
  });
}
