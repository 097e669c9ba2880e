// Types of scripts/sea.mjs, for the tests that use its archive step.
export declare const postjectVersion: string;
export declare const hostTarget: string;
/** The release archive's name for TARGET (`modeldeck-vVERSION-TARGET.tar.gz`). */
export declare function archiveName(version: string, target: string): string;
/** OUT/modeldeck-vVERSION-TARGET.tar.gz holding EXECUTABLE as `modeldeck`, and LICENSE; returns its path. */
export declare function archiveExecutable(executable: string, target: string, version: string, out: string): string;
/** Bundles the single executable's CommonJS script into OUTFILE; resolves with package.json's version. */
export declare function bundle(outfile: string): Promise<string>;
/** The V8 flags of source/cli.tsx's shebang. */
export declare function shebangFlags(): string[];
