// Types for k9s.mjs (plain JavaScript so it runs without a build step).

export declare const K9S_VERSION: string;
/** The k9s binary to run: MODELDECK_K9S, else the cached build, else built now with `go install` (and said so). */
export declare function ensureK9s(options?: {log?: (line: string) => void}): Promise<string>;
