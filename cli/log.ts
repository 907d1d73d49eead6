/**
 * A small leveled logger with flanneld's (klog's) verbosity model: errors, warnings and info always print,
 * `debug(level, …)` prints when `-v` is at least that level. Lines go to stderr, one event a line:
 *
 *     I1125 01:05:02.123456 lease] Acquired lease subnet=10.5.3.0/24 ttl=86400
 *
 * A `Logger` is passed in, never imported as a global, so tests can capture what was logged.
 *
 * @module
 */

/** Severity, as klog spells it. */
export type Severity = "I" | "W" | "E";

/** Extra key-value pairs printed after the message. */
export type Fields = Readonly<Record<string, unknown>>;

/** A sink for log lines. */
export interface Logger {
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** Logged only when the verbosity is at least `level` (flanneld's `-v`). */
  debug(level: number, message: string, fields?: Fields): void;
  /** A logger whose lines carry `component` as their source. */
  child(component: string): Logger;
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value) ?? String(value);
}

/** Renders one log line (without the newline). Exported for tests. */
export function formatLine(
  severity: Severity,
  component: string,
  message: string,
  fields: Fields | undefined,
  now: Date,
): string {
  const p2 = (n: number) => String(n).padStart(2, "0");
  const stamp = `${p2(now.getUTCMonth() + 1)}${p2(now.getUTCDate())} ${p2(now.getUTCHours())}:` +
    `${p2(now.getUTCMinutes())}:${p2(now.getUTCSeconds())}.${
      String(now.getUTCMilliseconds()).padStart(3, "0")
    }`;
  const extra = fields
    ? Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}=${formatValue(v)}`)
      .join("")
    : "";
  return `${severity}${stamp} ${component}] ${message}${extra}`;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** flanneld's `-v`: debug lines up to this level are printed. */
  verbosity?: number;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  /** The component name of the root logger. */
  component?: string;
}

const encoder = new TextEncoder();

/** Creates a logger writing to stderr (or `write`). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const verbosity = options.verbosity ?? 0;
  const write = options.write ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  const make = (component: string): Logger => {
    const emit = (severity: Severity, message: string, fields?: Fields) =>
      write(formatLine(severity, component, message, fields, new Date()));
    return {
      info: (m, f) => emit("I", m, f),
      warn: (m, f) => emit("W", m, f),
      error: (m, f) => emit("E", m, f),
      debug: (level, m, f) => {
        if (level <= verbosity) emit("I", m, f);
      },
      child: (name) => make(name),
    };
  };
  return make(options.component ?? "flannel-lab");
}

/** A logger that keeps lines in memory, for tests. */
export function memoryLogger(verbosity = 10): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ verbosity, write: (l) => lines.push(l) });
  return Object.assign(logger, { lines });
}
