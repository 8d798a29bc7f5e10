import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';

/** Log redaction: no bearer token or secret reaches a log line, whatever logs it. */
export const REDACT = {
  paths: [
    'req.headers.authorization',
    'headers.authorization',
    'authorization',
    '*.authorization',
    'token',
    '*.token',
    'password',
    '*.password',
    'config.fullstory.token',
    'config.idp.token',
    'config.ops.token',
    'config.notify.webhookUrl',
    'webhookUrl',
    '*.webhookUrl',
  ],
  censor: '[redacted]',
};

/** The bridge's logger: JSON lines to stdout (pretty on a terminal), or to `destination` (tests, the CLI's stderr). */
export function makeLogger(config: Config, destination?: pino.DestinationStream): Logger {
  const pretty = !destination && (config.log.format === 'pretty' || (config.log.format === 'auto' && process.stdout.isTTY === true));
  const options = {
    level: config.log.level,
    redact: REDACT,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard' } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
