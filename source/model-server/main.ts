/**
 * `modeldeck model-server …`: flags in, a running server out, stopped by SIGINT or SIGTERM.
 */
import {type FlagDef, flagHelp, flagReader, parseFlags} from '../flags/parse.ts';
import {checkKnob, type Knobs} from './knobs.ts';
import {type ModelServerOptions, startModelServer} from './server.ts';

export {startModelServer} from './server.ts';
export type {ModelServerOptions, RunningModelServer} from './server.ts';

/** The model server's flags: the parser (flags/parse.ts) and the help are made from this table. */
export const modelServerFlags: readonly FlagDef[] = [
	{name: 'listen', value: 'HOST:PORT', help: ['Address to listen on (default 127.0.0.1:8080)']},
	{name: 'model', value: 'NAME', help: ['Model name (default model)']},
	{name: 'model-version', value: 'V', help: ['Model version (default v1)']},
	{name: 'latency-ms', value: 'N', help: ['Extra latency per request, ms (default 0)']},
	{name: 'error-rate', value: 'R', help: ['Share of requests answered 500, 0–1 (default 0)']},
	{name: 'memory-growth-mb-per-min', value: 'N', help: ['Memory retained per minute, MB (default 0)']},
	{name: 'output-drift', value: 'D', help: ['Shift added to every logit (default 0)']},
	{name: 'log-url', value: 'URL', help: ["POST requests and responses there as KServe's logger does"]},
	{name: 'namespace', value: 'NS', help: ['ce-namespace of logged events (default $POD_NAMESPACE or default)']},
	{name: 'log-endpoint', value: 'NAME', help: ['ce-endpoint of logged events (default: the model version)']},
	{name: 'help', short: 'h', help: ['Show this help']},
];

export const MODEL_SERVER_USAGE = `Usage: modeldeck model-server [options]

Serves a small logistic regression over the Open Inference Protocol v2, with Prometheus metrics and
fault-injection knobs (also changeable at runtime: POST /admin/knobs {"latencyMs": 200}).

Options:
${flagHelp(modelServerFlags, '  ')}
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

export function parseModelServerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedModelServerArgs {
	const parsed = parseFlags(argv, modelServerFlags, 'Run modeldeck model-server --help for the list.');
	if ('errors' in parsed) return {ok: false, message: parsed.errors.join('\n')};
	if (parsed.positionals.length > 0) return {ok: false, message: `modeldeck model-server takes flags only, not "${parsed.positionals[0]}"`};
	const {text: value, on} = flagReader(parsed);
	if (on('help')) return {ok: true, help: true, options: {}};

	const listen = parseListen(value('listen') ?? '127.0.0.1:8080');
	if (!listen) return {ok: false, message: `--listen must be HOST:PORT, e.g. 127.0.0.1:8080; got ${value('listen')}`};

	const knobs: Partial<Knobs> = {};
	for (const [flag, knob] of Object.entries(knobFlags)) {
		const text = value(flag);
		if (text === undefined) continue;
		const number = text.trim() === '' ? Number.NaN : Number(text);
		const problem = checkKnob(knob, number);
		if (problem) return {ok: false, message: `--${flag}: ${problem.replace(`${knob} must`, 'must')}`};
		knobs[knob] = number;
	}

	const logUrl = value('log-url');
	if (logUrl !== undefined && !/^https?:\/\/./.test(logUrl)) {
		return {ok: false, message: `--log-url must be an http(s) URL, e.g. http://127.0.0.1:8081/v1/logs; got ${logUrl}`};
	}
	for (const name of ['model', 'model-version'] as const) {
		const given = value(name);
		if (given !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(given)) {
			return {ok: false, message: `--${name} must be letters, digits, '.', '_' or '-'; got ${JSON.stringify(given)}`};
		}
	}

	const options: ModelServerOptions = {host: listen.host, port: listen.port, knobs};
	const model = value('model');
	if (model !== undefined) options.model = model;
	const modelVersion = value('model-version');
	if (modelVersion !== undefined) options.modelVersion = modelVersion;
	if (logUrl !== undefined) options.logUrl = logUrl;
	const namespace = value('namespace') ?? env['POD_NAMESPACE'];
	if (namespace) options.namespace = namespace;
	const logEndpoint = value('log-endpoint');
	if (logEndpoint !== undefined) options.logEndpoint = logEndpoint;
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
