// Types of scripts/no-undici.mjs, for its test.
import type {Plugin} from 'esbuild';

export declare const httpWithoutFacade: Plugin;
export declare const axiosPatches: Record<string, Array<[string, string]>>;
export declare const axiosWithoutWebGlobals: Plugin;
