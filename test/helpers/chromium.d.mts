/** The chromium the tests drive: CHROMIUM_PATH, or Debian's. */
export declare const CHROMIUM: string;
/** The flags every headless launch starts with. */
export declare const CHROMIUM_ARGS: readonly string[];
