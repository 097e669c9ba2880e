/**
 * `modeldeck model-server …`: flags in, a running server out, stopped by SIGINT or SIGTERM.
 */
import {parseArgs} from 'node:util';
import {checkKnob, type Knobs} from './knobs.ts';
import {type ModelServerOptions, startModelServer} from './server.ts';

export {startModelServer} from './server.ts';
export type {ModelServerOptions, RunningModelServer} from './server.ts';

export const MODEL_SERVER_USAGE = `Usage: modeldeck model-server [options]

Serves a small logistic regression over the Open Inference Protocol v2, with Prometheus metrics and
fault-injection knobs (also changeable at runtime: POST /admin/knobs {"latencyMs": 200}).

Options:
  --listen HOST:PORT                 Address to listen on (default 127.0.0.1:8080)
  --model NAME                       Model name (default model)
  --model-version V                  Model version (default v1)
  --latency-ms N                     Extra latency per request, ms (default 0)
  --error-rate R                     Share of requests answered 500, 0–1 (default 0)
  --memory-growth-mb-per-min N       Memory retained per minute, MB (default 0)
  --output-drift D                   Shift added to every logit (default 0)
  --log-url URL                      POST requests and responses there as KServe's logger does
  --namespace NS                     ce-namespace of logged events (default $POD_NAMESPACE or default)
  --log-endpoint NAME                ce-endpoint of logged events (default: the model version)
  -h, --help                         Show this help
`;

const knobFlags: Record<string, keyof Knobs> = {
	'latency-ms': 'latencyMs',
	'error-rate': 'errorRate',
	'memory-growth-mb-per-min': 'memoryGrowthMbPerMin',
	'output-drift': 'outputDrift',
};

export type ParsedModelServerArgs = {ok: true; help: boolean; options: ModelServerOptions} | {ok: false; message: string};

/** Splits `HOST:PORT`, `[::1]:PORT` or `:PORT`. */
export function parseListen(value: string): {host: string; port: number} | undefined {
	const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
	if (!match) return undefined;
	const port = Number(match[3]);
	if (port > 65_535) return undefined;
	const host = match[1] ?? match[2] ?? '';
	return {host: host === '' ? '0.0.0.0' : host, port};
}

/**
 * parseArgs reads `--output-drift -1.5` as a flag missing its value followed by a flag `-1`; a negative number after
 * a long flag is that flag's value, so it is joined as `--output-drift=-1.5`.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
	const joined: string[] = [];
	for (let index = 0; index < argv.length; index++) {
		const arg = argv[index]!;
		const next = argv[index + 1];
		if (/^--[a-z-]+$/.test(arg) && next !== undefined && /^-\d/.test(next)) {
			joined.push(`${arg}=${next}`);
			index++;
		} else {
			joined.push(arg);
		}
	}
	return joined;
}

export function parseModelServerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedModelServerArgs {
	let values: Record<string, string | boolean | undefined>;
	const args = joinNegativeValues(argv);
	try {
		({values} = parseArgs({
			args,
			strict: true,
			allowPositionals: false,
			options: {
				listen: {type: 'string'},
				model: {type: 'string'},
				'model-version': {type: 'string'},
				'latency-ms': {type: 'string'},
				'error-rate': {type: 'string'},
				'memory-growth-mb-per-min': {type: 'string'},
				'output-drift': {type: 'string'},
				'log-url': {type: 'string'},
				namespace: {type: 'string'},
				'log-endpoint': {type: 'string'},
				help: {type: 'boolean', short: 'h'},
			},
		}));
	} catch (error) {
		return {ok: false, message: (error as Error).message};
	}
	if (values['help']) return {ok: true, help: true, options: {}};

	const listen = parseListen((values['listen'] as string | undefined) ?? '127.0.0.1:8080');
	if (!listen) return {ok: false, message: `--listen must be HOST:PORT, e.g. 127.0.0.1:8080; got ${values['listen']}`};

	const knobs: Partial<Knobs> = {};
	for (const [flag, knob] of Object.entries(knobFlags)) {
		const text = values[flag] as string | undefined;
		if (text === undefined) continue;
		const value = text.trim() === '' ? Number.NaN : Number(text);
		const problem = checkKnob(knob, value);
		if (problem) return {ok: false, message: `--${flag}: ${problem.replace(`${knob} must`, 'must')}`};
		knobs[knob] = value;
	}

	const logUrl = values['log-url'] as string | undefined;
	if (logUrl !== undefined && !/^https?:\/\/./.test(logUrl)) {
		return {ok: false, message: `--log-url must be an http(s) URL, e.g. http://127.0.0.1:8081/v1/logs; got ${logUrl}`};
	}
	for (const name of ['model', 'model-version'] as const) {
		const value = values[name] as string | undefined;
		if (value !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value)) {
			return {ok: false, message: `--${name} must be letters, digits, '.', '_' or '-'; got ${JSON.stringify(value)}`};
		}
	}

	const options: ModelServerOptions = {host: listen.host, port: listen.port, knobs};
	if (values['model'] !== undefined) options.model = values['model'] as string;
	if (values['model-version'] !== undefined) options.modelVersion = values['model-version'] as string;
	if (logUrl !== undefined) options.logUrl = logUrl;
	const namespace = (values['namespace'] as string | undefined) ?? env['POD_NAMESPACE'];
	if (namespace) options.namespace = namespace;
	if (values['log-endpoint'] !== undefined) options.logEndpoint = values['log-endpoint'] as string;
	return {ok: true, help: false, options};
}

/** Runs until SIGINT or SIGTERM. Returns the process exit code: 0 after a clean stop, 1 if it cannot start, 2 for bad flags. */
export async function runModelServer(argv: string[]): Promise<number> {
	const parsed = parseModelServerArgs(argv);
	if (!parsed.ok) {
		process.stderr.write(`modeldeck model-server: ${parsed.message}\n\n${MODEL_SERVER_USAGE}`);
		return 2;
	}
	if (parsed.help) {
		process.stdout.write(MODEL_SERVER_USAGE);
		return 0;
	}
	let server;
	try {
		server = await startModelServer(parsed.options);
	} catch (error) {
		const cause = error as NodeJS.ErrnoException;
		const where = `${parsed.options.host}:${parsed.options.port}`;
		const hint =
			cause.code === 'EADDRINUSE'
				? `${where} is already in use; pick another --listen port`
				: cause.code === 'EADDRNOTAVAIL'
					? `${parsed.options.host} is not an address of this machine; use 127.0.0.1 or 0.0.0.0`
					: cause.message;
		process.stderr.write(`modeldeck model-server: cannot listen on ${where}: ${hint}\n`);
		return 1;
	}
	const {model = 'model', modelVersion = 'v1'} = parsed.options;
	process.stdout.write(
		`model-server: ${model} ${modelVersion} listening on ${server.url} (infer: POST ${server.url}/v2/models/${model}/infer, metrics: ${server.url}/metrics)\n`,
	);
	await new Promise<void>((resolve) => {
		const stop = () => {
			process.off('SIGINT', stop);
			process.off('SIGTERM', stop);
			resolve();
		};
		process.on('SIGINT', stop);
		process.on('SIGTERM', stop);
	});
	await server.close();
	return 0;
}
