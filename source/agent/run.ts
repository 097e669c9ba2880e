/** Runs the agent straight from source (`node source/agent/run.ts …`), without the console's CLI: tests and benches start it this way. */
import {runAgent} from './main.ts';

const code = await runAgent(process.argv.slice(2));
process.exit(code);
