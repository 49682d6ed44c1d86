import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

export interface LoggerConfig {
  service: string;
  level?: LoggerOptions['level'];
  /** Standard output unless given (tests read the lines). */
  destination?: DestinationStream;
  /** `json` (one object per line) or `pretty` (coloured lines for people); unset: pretty on a terminal. */
  format?: 'json' | 'pretty' | undefined;
}

/** The fields every line has, which a pretty line shows in its own way (service) or leaves out. */
const PRETTY_IGNORED = 'pid,hostname,service';

/**
 * Logs with the service name on every line (children add `requestId`): JSON, one line per event, for
 * machines; on a terminal (or with `format: 'pretty'`) one readable coloured line each, written
 * synchronously so nothing is lost at exit.
 */
export function createLogger({ service, level = 'info', destination, format }: LoggerConfig): Logger {
  const options: LoggerOptions = {
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
  };
  if (destination) return pino(options, destination);
  const pretty = (format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';
  if (!pretty) return pino(options);
  return pino(
    options,
    PinoPretty({
      colorize: Boolean(process.stdout.isTTY),
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: PRETTY_IGNORED,
      messageFormat: '{if service}[{service}] {end}{msg}',
      singleLine: true,
    }),
  );
}
