/** Types of scripts/build-console.js (plain JavaScript: `npm run build` runs it before any compiler). */
export declare const CONSOLE_OUT: string;
export declare function buildConsole(outdir?: string): Promise<Record<string, number>>;
