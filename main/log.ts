/** Where components report what a person running them may want to read. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that drops everything: for tests and benchmarks. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** A logger that writes lines to the console, for the command line and the desktop app. */
export function consoleLogger(prefix = ''): Logger {
  return {
    info: (m) => console.log(`${prefix}${m}`),
    warn: (m) => console.warn(`${prefix}warning: ${m}`),
    error: (m) => console.error(`${prefix}error: ${m}`),
  };
}
