/**
 * The process's structured log: one JSON object per line on stderr (`time`, `level`, `scope`,
 * `msg`, then fields), or a readable `time level scope msg k=v` line for a terminal. Levels are
 * per scope and changeable at run time (the admin API's `POST /logging?level=`), as Envoy's
 * loggers are. Access logs are not written here: they go to stdout in their own formats.
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/** The scopes (Envoy: loggers) this process logs under. */
export const LOG_SCOPES = ['admin', 'config', 'connection', 'hbone', 'http', 'upstream', 'wasm'] as const;
export type LogScope = (typeof LOG_SCOPES)[number];

export type LogStyle = 'json' | 'text';

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly style?: LogStyle;
  readonly write?: (line: string) => void;
}

export class Logger {
  private readonly levels = new Map<LogScope, number>();
  private readonly style: LogStyle;
  private readonly write: (line: string) => void;

  constructor(opts: LoggerOptions = {}) {
    const level = LOG_LEVELS.indexOf(opts.level ?? 'info');
    for (const s of LOG_SCOPES) this.levels.set(s, level);
    this.style = opts.style ?? 'json';
    this.write = opts.write ?? ((line) => void process.stderr.write(line));
  }

  /** Sets every scope's level (Envoy's `/logging?level=`). */
  setLevel(level: LogLevel): void {
    for (const s of LOG_SCOPES) this.levels.set(s, LOG_LEVELS.indexOf(level));
  }

  setScopeLevel(scope: LogScope, level: LogLevel): void {
    this.levels.set(scope, LOG_LEVELS.indexOf(level));
  }

  /** Scope → level, in scope order (the admin API lists them). */
  activeLevels(): ReadonlyArray<readonly [LogScope, LogLevel]> {
    return LOG_SCOPES.map((s) => [s, LOG_LEVELS[this.levels.get(s) ?? 2] ?? 'info'] as const);
  }

  enabled(scope: LogScope, level: Exclude<LogLevel, 'off'>): boolean {
    return LOG_LEVELS.indexOf(level) >= (this.levels.get(scope) ?? 2);
  }

  log(scope: LogScope, level: Exclude<LogLevel, 'off'>, msg: string, fields: Readonly<Record<string, string | number | boolean>> = {}): void {
    if (!this.enabled(scope, level)) return;
    const time = new Date().toISOString();
    if (this.style === 'json') {
      this.write(`${JSON.stringify({ time, level, scope, msg, ...fields })}\n`);
      return;
    }
    let line = `${time}\t${level}\t${scope}\t${msg}`;
    for (const [k, v] of Object.entries(fields)) line += ` ${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`;
    this.write(`${line}\n`);
  }
}
