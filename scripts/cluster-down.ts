#!/usr/bin/env node
// npm run cluster:down — stops the control plane that `npm run cluster:up` started, by the PIDs in its state dir
// ($MODELDECK_CLUSTER_DIR or ${XDG_CACHE_HOME:-~/.cache}/modeldeck/cluster). Logs and certificates stay there.
import {defaultStateDir, stopCluster} from '../harness/cluster.ts';

const dir = process.env.MODELDECK_CLUSTER_DIR || defaultStateDir();
try {
	const n = await stopCluster(dir);
	console.log(n > 0 ? `[cluster:down] stopped ${n} processes (state in ${dir})` : `[cluster:down] nothing running from ${dir}`);
} catch (err) {
	console.error(`[cluster:down] ${err instanceof Error ? err.message : String(err)}`);
	process.exit(1);
}
