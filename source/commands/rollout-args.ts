/**
 * Flags of `modeldeck rollout`, pure: every bad flag becomes a message that says how to fix it (exit 2).
 */
import {type FlagDef, flagHelp, parseFlags} from '../flags/parse.ts';
import {defaultDeliverySteps, deliveryDefaults, deliverySpecProblems, parseSteps} from '../domain/delivery.ts';

export interface RolloutArgs {
	/** The model's namespace (from NAMESPACE/MODEL, --namespace, or undefined: the context's). */
	namespace?: string;
	model: string;
	/** Undefined with --abort. */
	image?: string;
	version?: string;
	steps: number[];
	pauseSeconds: number;
	readyTimeoutSeconds: number;
	maxHolds: number;
	wait: boolean;
	output: 'text' | 'json';
	/** Abort the model's rollout instead of starting one. */
	abort: boolean;
	context?: string;
	kubeconfig?: string;
	/** The agent's URL (a port-forward); default: found in the cluster. */
	agent?: string;
	/** Run in this process even when an agent is reachable. */
	foreground: boolean;
	/** Prometheus for the foreground runner's judge. */
	prometheus?: string;
	help: boolean;
}

/** The flags of `modeldeck rollout`: the parser (flags/parse.ts) and the help are made from this table. */
export const rolloutFlags: readonly FlagDef[] = [
	{name: 'image', value: 'IMAGE', help: ["the new version's container image (required to start)"]},
	{name: 'version', value: 'V', help: ["the new version's name (default: the image's tag)"]},
	{
		name: 'steps',
		value: '5,25,50,100',
		help: [`the new version's weights, rising, 1-100 (default ${defaultDeliverySteps.join(',')}); 100 is the promotion`],
	},
	{
		name: 'pause',
		value: 'DURATION',
		help: [`time at each step before its judgement: 90s, 2m, 1h (default ${deliveryDefaults.pauseSeconds / 60}m)`],
	},
	{
		name: 'ready-timeout',
		value: 'DURATION',
		help: [`how long the new version may take to become ready (default ${deliveryDefaults.readyTimeoutSeconds / 60}m)`],
	},
	{name: 'max-holds', value: 'N', help: [`unclear judgements in a row before rolling back (default ${deliveryDefaults.maxHolds})`]},
	{name: 'namespace', short: 'n', value: 'NS', help: ["the model's namespace (default: the context's)"]},
	{name: 'wait', help: ['block until promoted or rolled back (in the foreground it always does: it runs it)']},
	{name: 'output', value: 'text|json', help: ["json: print the rollout's final state (with --wait) or its first state"]},
	{name: 'abort', help: ["abort the model's rollout in progress (rolls it back)"]},
	{name: 'context', value: 'NAME', help: ['kubeconfig context'], emptyIsUnset: true},
	{name: 'kubeconfig', value: 'FILE', help: ['kubeconfig file'], emptyIsUnset: true},
	{name: 'agent', value: 'URL', help: ["the agent's URL, e.g. a port-forward (default: found in the cluster)"], emptyIsUnset: true},
	{name: 'foreground', help: ['run the rollout here even when an agent is reachable']},
	{name: 'prometheus', value: 'URL', help: ['Prometheus for the judge when running in the foreground'], emptyIsUnset: true},
	{name: 'help', short: 'h', help: ['this help']},
];

export const rolloutUsage = `Usage: modeldeck rollout MODEL --image IMAGE [options]
       modeldeck rollout MODEL --abort [options]

Starts a progressive rollout of a new version of MODEL (a model name, or NAMESPACE/MODEL): a new Deployment from the
stable one's template with IMAGE, its Service and a router backend at 0%; once ready and smoke-tested its weight
goes through the steps, judged canary vs stable before each; a failing judgement rolls it back; a step of 100% (or
the end of the steps) promotes it. A model a controller owns has IMAGE set on its owner: an Argo Rollout or a
Flagger Canary runs its own canary, followed here; a serverless KServe InferenceService gets it on its predictor with
canaryTrafficPercent 0, and the version is the revision KServe creates, stepped by canaryTrafficPercent. With an agent
in the cluster the agent runs it (it survives this command); otherwise it runs here, in the foreground, until it ends.

Options:
${flagHelp(rolloutFlags, '  ')}

Exit codes: 0 started (or, with --wait, promoted), 1 rolled back, aborted, failed or refused, 2 bad input.
`;

/** `90s`, `2m`, `1h`, `1m30s` or plain seconds → seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
	if (/^\d{1,6}$/.test(text)) return Number(text);
	const match = /^(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$/.exec(text);
	if (!match || text === '') return undefined;
	return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** The tag of an image reference, for the default version: `registry:5000/fraud:v13` → `v13`; none for a digest. */
export function imageTag(image: string): string | undefined {
	if (image.includes('@')) return undefined;
	const last = image.slice(image.lastIndexOf('/') + 1);
	const colon = last.lastIndexOf(':');
	return colon === -1 ? undefined : last.slice(colon + 1);
}

const kubeName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseRolloutArgs(argv: readonly string[]): {args: RolloutArgs} | {usageError: string} {
	const parsed = parseFlags(argv, rolloutFlags, 'Run modeldeck rollout --help for the list.');
	if ('errors' in parsed) return {usageError: parsed.errors.join('\n')};
	const {positionals} = parsed;
	const values = new Map<string, string>();
	const flags = new Set<string>();
	for (const [name, value] of parsed.values) {
		if (value === true) flags.add(name);
		else values.set(name, value);
	}

	const help = flags.has('help');
	const base: Omit<RolloutArgs, 'model'> = {
		steps: [...defaultDeliverySteps],
		pauseSeconds: deliveryDefaults.pauseSeconds,
		readyTimeoutSeconds: deliveryDefaults.readyTimeoutSeconds,
		maxHolds: deliveryDefaults.maxHolds,
		wait: flags.has('wait'),
		output: 'text',
		abort: flags.has('abort'),
		foreground: flags.has('foreground'),
		help,
	};
	if (help) return {args: {...base, model: positionals[0] ?? ''}};
	if (positionals.length === 0)
		return {usageError: 'which model? give MODEL or NAMESPACE/MODEL, e.g. modeldeck rollout fraud --image registry/fraud:v13'};
	if (positionals.length > 1)
		return {usageError: `one model at a time: got ${positionals.map((word) => `"${word.slice(0, 40)}"`).join(', ')}`};
	const [first] = positionals as [string];
	const slash = first.indexOf('/');
	const model = slash === -1 ? first : first.slice(slash + 1);
	let namespace = slash === -1 ? undefined : first.slice(0, slash);
	if (!kubeName.test(model)) return {usageError: `"${model.slice(0, 64)}" is not a model name: lower-case letters, digits and "-"`};
	const namespaceFlag = values.get('namespace');
	if (namespaceFlag !== undefined) {
		if (namespace !== undefined && namespace !== namespaceFlag) {
			return {usageError: `the model says namespace ${namespace} but --namespace says ${namespaceFlag}: give one of them`};
		}

		namespace = namespaceFlag;
	}

	if (namespace !== undefined && !kubeName.test(namespace)) return {usageError: `"${namespace.slice(0, 64)}" is not a namespace name`};
	const args: RolloutArgs = {...base, model, ...(namespace === undefined ? {} : {namespace})};
	for (const name of ['context', 'kubeconfig', 'prometheus', 'agent'] as const) {
		const value = values.get(name);
		// An empty value is a pipeline's unset variable (--prometheus "$PROMETHEUS_URL"): as if not given.
		if (value !== undefined && value !== '') args[name] = value;
	}

	for (const name of ['agent', 'prometheus'] as const) {
		if (args[name] !== undefined && !/^https?:\/\/[^\s]+$/.test(args[name]!))
			return {usageError: `--${name} takes a URL like ${example(name)}`};
	}

	const output = values.get('output');
	if (output !== undefined) {
		if (output !== 'text' && output !== 'json') return {usageError: `--output is text or json, not "${output.slice(0, 20)}"`};
		args.output = output;
	}

	if (args.abort) {
		const starting = ['image', 'version', 'steps', 'pause', 'ready-timeout', 'max-holds'].filter((name) => values.has(name));
		if (starting.length > 0) return {usageError: `--abort stops a rollout; --${starting[0]} is for starting one: leave it out`};
		return {args};
	}

	const image = values.get('image');
	if (image === undefined) return {usageError: "give the new version's image: --image registry/fraud:v13"};
	args.image = image;
	const version = values.get('version') ?? imageTag(image);
	if (version === undefined) return {usageError: `the image ${image.slice(0, 80)} has no tag to name the version by: add --version V`};
	args.version = version;
	const steps = values.get('steps');
	if (steps !== undefined) {
		try {
			args.steps = parseSteps(steps);
		} catch (error) {
			return {usageError: `--steps: ${(error as Error).message}`};
		}
	}

	for (const [flag, field] of [
		['pause', 'pauseSeconds'],
		['ready-timeout', 'readyTimeoutSeconds'],
	] as const) {
		const text = values.get(flag);
		if (text === undefined) continue;
		const seconds = parseDuration(text);
		if (seconds === undefined) return {usageError: `--${flag} "${text.slice(0, 20)}" is not a duration: use e.g. 90s, 2m, 1h or 1m30s`};
		args[field] = seconds;
	}

	const holds = values.get('max-holds');
	if (holds !== undefined) {
		if (!/^\d{1,3}$/.test(holds)) return {usageError: `--max-holds "${holds.slice(0, 20)}" is not a whole number: give 0 or more, e.g. 2`};
		args.maxHolds = Number(holds);
	}

	const problems = deliverySpecProblems({
		model: {namespace: namespace ?? 'default', name: model},
		image,
		version,
		steps: args.steps,
		pauseSeconds: args.pauseSeconds,
		readyTimeoutSeconds: args.readyTimeoutSeconds,
		maxHolds: args.maxHolds,
		requestedBy: '',
	});
	if (problems.length > 0) return {usageError: problems.map(toFlags).join('\n')};
	return {args};
}

/** The domain's problems in the words of the flags. */
function toFlags(problem: string): string {
	return problem
		.replace(/^(".*" is not a version name)/, '--version: $1')
		.replace(/^(no steps|step \d+|steps must go up)/, '--steps: $1')
		.replace(/^the pause/, '--pause: the pause')
		.replace(/^the ready timeout/, '--ready-timeout: the ready timeout');
}

function example(name: string): string {
	switch (name) {
		case 'image':
			return '--image registry/fraud:v13';
		case 'steps':
			return '--steps 5,25,50,100';
		case 'pause':
			return '--pause 2m';
		case 'ready-timeout':
			return '--ready-timeout 5m';
		case 'max-holds':
			return '--max-holds 2';
		case 'output':
			return '--output json';
		case 'agent':
			return 'http://localhost:8090';
		case 'prometheus':
			return 'http://localhost:9090';
		default:
			return `--${name} VALUE`;
	}
}
