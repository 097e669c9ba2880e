// The end of the bin (dist/cli.js, after scripts/check-node.mjs, whose syntax rules it keeps: any Node must read it):
// when Node is new enough, turn on Node's compile cache and load the bundle.
//
// The compile cache (module.enableCompileCache, Node ≥ 22.1) keeps V8's compiled code of the bundle's modules on disk,
// so a start after the first does not compile them again: 40–50 ms less of the console's cold start
// (bench/RESULTS.md). It is kept per user, in $XDG_CACHE_HOME/modeldeck/compile-cache or ~/.cache/modeldeck/compile-cache
// (Node's default is one folder in /tmp shared by every user of a bastion host). NODE_COMPILE_CACHE=DIR puts it
// elsewhere and NODE_DISABLE_COMPILE_CACHE=1 turns it off, as for any Node program; a folder that cannot be written
// only means nothing is cached.
function compileCacheFolder(env) {
	if (env.NODE_COMPILE_CACHE) return undefined; // Node reads it itself.
	var base = env.XDG_CACHE_HOME || (env.HOME ? env.HOME + '/.cache' : '');
	return base ? base + '/modeldeck/compile-cache' : undefined;
}

if (!nodeTooOld) {
	var nodeModule = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule('module') : undefined;
	if (nodeModule && typeof nodeModule.enableCompileCache === 'function') {
		try {
			nodeModule.enableCompileCache(compileCacheFolder(process.env));
		} catch (error) {
			// A cache is an optimisation: without one, modeldeck starts as it always did.
		}
	}

	import('./main.js');
}
