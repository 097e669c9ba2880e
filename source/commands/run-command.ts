/**
 * `modeldeck status|weight|promote|rollback`: the console's own sources and actions, for scripts and runbooks.
 * Exit codes scripts can rely on: 0 done, 1 refused or failed (with a message on stderr), 2 usage error.
 */
import {createInterface} from 'node:readline';
import {
	isNoop,
	noopMessage,
	plannedAction,
	planDangers,
	PlanRefusal,
	planLines,
	planResult,
	type ChangePlan,
	type PlanDanger,
	type TrafficAction,
} from '../domain/plan.ts';
import {type ClusterPort, ConflictError, type MetricsPort, type MetricTarget, SourceAbsentError} from '../domain/ports.ts';
import type {ThresholdSettings} from '../domain/thresholds.ts';
import type {Flag, Model, ModelRef, Sample, Version, VersionKey} from '../domain/types.ts';
import {modelKey, versionKey, type Series} from '../domain/types.ts';
import type {Verdict} from '../domain/analysis.ts';
import {MannWhitneyJudge} from '../domain/judge.ts';
import {analyse} from '../domain/pipeline.ts';

/** The canary judge compares the last ten minutes, as the console does. */
const judgeWindowSeconds = 600;
import type {Conventions} from '../sources/kube/conventions.ts';
import {type CommandArgs, type CommandName, parseCommandArgs, usage} from './command-args.ts';
import {Deadline} from './deadline.ts';
import {buildStatusDocument, renderStatusTable} from './status-document.ts';

export interface CommandIo {
	stdout: {write(chunk: string): unknown};
	stderr: {write(chunk: string): unknown};
	stdin: NodeJS.ReadableStream & {isTTY?: boolean};
}

export interface CommandOptions {
	/** Metrics for `status`; without it versions have `metrics: null` and only readiness flags. */
	metrics?: MetricsPort;
	/** Threshold settings for status flags (global and per model). */
	thresholds?: ThresholdSettings;
	/** Metrics window for status samples, in seconds. Default 60. */
	metricsWindowSeconds?: number;
	/** Refuse every change, as `--read-only` does (the lead passes the setting). */
	readOnly?: boolean;
	/** Why readOnly holds (e.g. the settings file's readOnly), for the refusal message. */
	readOnlyReason?: string;
	/** Use this cluster instead of one made from the kubeconfig. */
	cluster?: ClusterPort;
	/** Discovery conventions and promotion behaviour for clusters made from the kubeconfig. */
	conventions?: Partial<Conventions>;
	promoteKeepsOldStable?: boolean;
	/** Epoch-ms clock. Default Date.now. */
	now?: () => number;
	/** Contexts that settings mark read-only: changes there are refused whichever way the context was chosen. */
	readOnlyContexts?: string[];
	/** Prometheus URL from settings, used by status when --prometheus is not given. */
	prometheusUrl?: string;
	/** Settings' `prometheusService` (`namespace/service:port`) for the context: status reaches it through the API server. */
	prometheusService?: string;
	/** Custom PromQL profiles from settings. */
	profiles?: Record<string, Record<string, string>>;
	/** The simulated fleet for `--demo`, given by the composition root: commands do not import the demo. */
	demo?: DemoConnector;
}

/**
 * Starts the simulated fleet for `--demo` (with `--scenario`, `--at`): its cluster and metrics, stopped when the
 * command ends, or a usage message (exit 2) when the flags name nothing there.
 */
export type DemoConnector = (options: {scenario?: string | undefined; atSeconds?: number | undefined}) => DemoFleet | Promise<DemoFleet>;

type DemoFleet = {cluster: ClusterPort; metrics: MetricsPort; stop(): void} | {usage: string};

/** A failure said for people; the command exits 1. */
class Refusal extends Error {
	override name = 'Refusal';
}

/** A flag that names something that is not there (a context, a scenario): a usage error, exit 2. */
class UsageRefusal extends Error {
	override name = 'UsageRefusal';
}

const processIo: CommandIo = {stdout: process.stdout, stderr: process.stderr, stdin: process.stdin};

export async function runCommand(
	name: CommandName,
	argv: string[],
	io: CommandIo = processIo,
	options: CommandOptions = {},
): Promise<number> {
	const parsed = parseCommandArgs(name, argv);
	if ('usageError' in parsed) {
		io.stderr.write(`modeldeck ${name}: ${parsed.usageError}\n\n${usage(name)}`);
		return 2;
	}

	const {args} = parsed;
	if (args.help) {
		io.stdout.write(usage(name));
		return 0;
	}

	if (name !== 'status' && (args.readOnly || options.readOnly)) {
		const why = args.readOnly ? '--read-only' : (options.readOnlyReason ?? 'read-only');
		io.stderr.write(`modeldeck ${name}: refused: read-only (${why}); ${name} changes the cluster\n`);
		return 1;
	}

	let cleanup: (() => void) | undefined;
	const deadline = new Deadline(args.timeoutSeconds);
	try {
		const connecting = connect(args, options);
		const connection = {
			...(await deadline
				.race(connecting, `could not connect within ${args.timeoutSeconds} s (--timeout SECONDS waits longer)`)
				.catch((error: unknown) => {
					// A connection that arrives after the deadline is closed when it does.
					void connecting.then(
						(late) => late.cleanup?.(),
						() => undefined,
					);
					throw error;
				})),
			deadline,
		};
		cleanup = connection.cleanup;
		if (name === 'status') return await status(args, connection, io, options);
		const context = connection.cluster.currentContext();
		if (options.readOnlyContexts?.includes(context)) {
			io.stderr.write(`modeldeck ${name}: refused: context ${context} is read-only in settings (${name} changes the cluster)\n`);
			return 1;
		}

		return await act(args, connection, io, options);
	} catch (error) {
		if (error instanceof UsageRefusal) {
			io.stderr.write(`modeldeck ${name}: ${error.message}\n`);
			return 2;
		}

		const message = error instanceof Error ? error.message : String(error);
		io.stderr.write(`modeldeck ${name}: ${error instanceof ConflictError ? `conflict: ${message}` : message}\n`);
		return 1;
	} finally {
		cleanup?.();
	}
}

interface Connection {
	cluster: ClusterPort;
	metrics?: MetricsPort;
	/** Namespace to watch; undefined means all. */
	namespace: string | undefined;
	cleanup?: () => void;
	deadline?: Deadline;
}

async function connect(args: CommandArgs, options: CommandOptions): Promise<Connection> {
	const modelNamespace = args.model?.includes('/') ? args.model.split('/')[0] : undefined;
	const chosen = modelNamespace ?? (args.namespace === 'all' ? undefined : args.namespace);
	if (options.cluster) {
		const own = (options.cluster as {namespace?: string}).namespace;
		return {cluster: options.cluster, metrics: options.metrics, namespace: args.namespace === 'all' ? modelNamespace : (chosen ?? own)};
	}

	if (args.demo) {
		if (!options.demo) throw new Refusal('--demo is not available here: the program was started without the demo');
		const sources = await options.demo({scenario: args.scenario, atSeconds: args.atSeconds});
		if ('usage' in sources) throw new UsageRefusal(sources.usage);
		if (args.context !== undefined) {
			const known = sources.cluster.contexts().map((context) => context.name);
			if (!known.includes(args.context)) {
				sources.stop();
				throw new UsageRefusal(`context ${args.context} is not in the demo (contexts: ${known.join(', ')})`);
			}

			await sources.cluster.switchContext(args.context);
		}

		return {cluster: sources.cluster, metrics: options.metrics ?? sources.metrics, namespace: chosen, cleanup: () => sources.stop()};
	}

	const {createKubeCluster, UnknownContextError} = await import('../sources/kube/index.ts');
	const cluster = await createKubeCluster({
		kubeconfigPath: args.kubeconfig,
		context: args.context,
		namespace: args.namespace,
		conventions: options.conventions,
		promoteKeepsOldStable: options.promoteKeepsOldStable,
	}).catch((error: unknown) => {
		throw error instanceof UnknownContextError ? new UsageRefusal(error.message) : error;
	});
	return {
		cluster,
		metrics: options.metrics ?? (await prometheusFor(args, options)),
		namespace: args.namespace === 'all' ? modelNamespace : (chosen ?? cluster.namespace),
	};
}

/**
 * Prometheus from --prometheus, else from settings (per context, then global); else, for status, the settings'
 * Service or the Prometheus found in the cluster (looked for when first asked); else none.
 */
async function prometheusFor(args: CommandArgs, options: CommandOptions): Promise<MetricsPort | undefined> {
	const url = args.prometheus ?? options.prometheusUrl;
	const profiles = options.profiles ? {profiles: options.profiles} : {};
	if (!url) {
		if (args.command !== 'status') return undefined;
		const [{LazyMetricsPort}, {prometheusInCluster}] = await Promise.all([
			import('../sources/lazy-metrics.ts'),
			import('../sources/prometheus/discover.ts'),
		]);
		return new LazyMetricsPort(
			() =>
				prometheusInCluster({
					kubeconfig: args.kubeconfig,
					context: args.context,
					service: options.prometheusService,
					metrics: profiles,
				}),
			'prometheus in the cluster',
		);
	}

	const {createPrometheusMetrics} = await import('../sources/prometheus/index.ts');
	return createPrometheusMetrics({url, ...profiles});
}

/**
 * The first list of models the cluster reports; its first error, or silence past the timeout, is a failure. A source
 * that only says it got no answer in time (its own heartbeat's shorter timeout) is waited for until the command's.
 * SAID_SECONDS is the timeout named in the message (the command's whole --timeout, of which TIMEOUT_MS is what is left).
 */
export function firstModels(
	cluster: ClusterPort,
	namespace: string | undefined,
	timeoutMs: number,
	saidSeconds = timeoutMs / 1000,
): Promise<Model[]> {
	return new Promise((resolve, reject) => {
		let settled = false;
		let unsubscribe: (() => void) | undefined;
		const finish = (action: () => void) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			unsubscribe?.();
			action();
		};

		let silence: string | undefined;
		const timer = setTimeout(
			() =>
				finish(() =>
					reject(
						new Refusal(
							`no answer from ${cluster.label} within ${saidSeconds} s${silence ? ` (${silence})` : ''}; is the cluster reachable? (--timeout SECONDS waits longer)`,
						),
					),
				),
			timeoutMs,
		);
		unsubscribe = cluster.watchModels(
			namespace,
			(models) => finish(() => resolve(models)),
			// The watch says it retries; the command does not: it gives up at the first error and must not say otherwise.
			(error) => {
				const message = error.message.replace(/ — retrying$/, '');
				if (error.timedOut) silence = message;
				else finish(() => reject(new Refusal(message)));
			},
		);
		if (settled) unsubscribe();
	});
}

function where(namespace: string | undefined): string {
	return namespace ? `namespace ${namespace}` : 'any namespace';
}

function findModel(models: Model[], spec: string, namespace: string | undefined): Model {
	const [specNamespace, specName] = spec.includes('/') ? spec.split('/') : [undefined, spec];
	const matches = models.filter((model) => model.name === specName && (!specNamespace || model.namespace === specNamespace));
	if (matches.length === 0) {
		const known = models.map((model) => `${model.namespace}/${model.name}`).join(', ') || 'none';
		throw new Refusal(`no model ${spec} in ${where(specNamespace ?? namespace)} (models: ${known})`);
	}

	if (matches.length > 1) {
		throw new Refusal(
			`${specName} is in several namespaces (${matches.map((model) => model.namespace).join(', ')}): pass -n NAMESPACE or NAMESPACE/${specName}`,
		);
	}

	return matches[0]!;
}

async function status(args: CommandArgs, connection: Connection, io: CommandIo, options: CommandOptions): Promise<number> {
	const {cluster, metrics, namespace} = connection;
	const deadline = connection.deadline ?? new Deadline(args.timeoutSeconds);
	let models = await firstModels(cluster, namespace, deadline.remainingMs, args.timeoutSeconds);
	if (args.model) models = [findModel(models, args.model, namespace)];
	let samples: Map<VersionKey, Sample> | undefined;
	let verdicts: Map<string, Verdict> | undefined;
	if (metrics) {
		const targets: MetricTarget[] = models.flatMap((model) =>
			model.versions.map((version) => {
				const target: MetricTarget = {namespace: model.namespace, name: model.name, version: version.name};
				if (model.runtime) target.runtime = model.runtime;
				return target;
			}),
		);
		try {
			const now = (options.now ?? Date.now)();
			const windowSeconds = options.metricsWindowSeconds ?? 60;
			const [sampled, history] =
				targets.length > 0
					? await deadline.race(
							Promise.all([
								metrics.sample(targets, windowSeconds),
								metrics.history(targets, {start: now - judgeWindowSeconds * 1000, end: now, stepSeconds: 15}),
							]),
							`no answer within ${args.timeoutSeconds} s (--timeout SECONDS waits longer); the models are shown without metrics`,
						)
					: [new Map<VersionKey, Sample>(), new Map<VersionKey, Series>()];
			samples = sampled;
			// The same analysis as the console, over the same history window: a verdict never pass beside a critical flag.
			verdicts = analyseForCommand(models, sampled, history, options.thresholds, now).verdicts;
			if (metrics.found) io.stderr.write(`modeldeck status: metrics from prometheus ${metrics.found}\n`);
		} catch (error) {
			// None configured and none found in the cluster: the versions' metrics are null, as without Prometheus.
			if (!(error instanceof SourceAbsentError)) {
				io.stderr.write(
					`modeldeck status: metrics from ${metrics.label} unavailable: ${error instanceof Error ? error.message : String(error)}\n`,
				);
			}
		}
	}

	const document = buildStatusDocument({
		context: cluster.currentContext(),
		models,
		samples,
		thresholds: options.thresholds,
		...(verdicts ? {verdicts} : {}),
		...(metrics && samples ? {explain: (target, metric) => metrics.explain(target, metric)} : {}),
		now: (options.now ?? Date.now)(),
	});
	if (args.json) {
		io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
	} else {
		const warnings = new Map(models.map((model) => [modelKey(model), model.warnings ?? []]));
		io.stdout.write(renderStatusTable(document, warnings));
	}

	return 0;
}

/** The same canary judge as the console, over the same history window: a verdict per model with a stable and a canary. */
/** The console's analysis (thresholds, flags, the judge, and the rule that a verdict agrees with the flags). */
function analyseForCommand(
	models: Model[],
	samples: Map<VersionKey, Sample>,
	history: Map<VersionKey, Series>,
	thresholds: ThresholdSettings | undefined,
	now: number,
): {verdicts: Map<string, Verdict>; flags: Map<string, Flag[]>} {
	const analysis = analyse({
		models,
		samples: Object.fromEntries(samples),
		history: Object.fromEntries(history),
		thresholds: thresholds ?? {},
		detectors: [],
		judge: new MannWhitneyJudge(),
		judgeWindowSeconds,
		previous: {},
		now,
	});
	return {verdicts: new Map(Object.entries(analysis.verdicts)), flags: new Map(Object.entries(analysis.flags))};
}

/**
 * The danger gate, as in the console: the versions the plan gives more traffic to that status flags critical or the
 * judge fails, from the metrics source. Undefined when there is no metrics source to tell.
 */
async function planDangersFromMetrics(
	plan: ChangePlan,
	model: Model,
	metrics: MetricsPort | undefined,
	options: CommandOptions,
): Promise<PlanDanger[] | undefined> {
	if (!metrics) return undefined;
	const targets: MetricTarget[] = model.versions.map((version) => ({
		namespace: model.namespace,
		name: model.name,
		version: version.name,
		...(model.runtime ? {runtime: model.runtime} : {}),
	}));
	const now = (options.now ?? Date.now)();
	const [samples, history] = await Promise.all([
		metrics.sample(targets, options.metricsWindowSeconds ?? 60),
		metrics.history(targets, {start: now - judgeWindowSeconds * 1000, end: now, stepSeconds: 15}),
	]);
	const {flags, verdicts} = analyseForCommand([model], samples, history, options.thresholds, now);
	const verdict = verdicts.get(modelKey(model));
	return planDangers(plan, (version) => flags.get(versionKey({namespace: model.namespace, name: model.name, version})) ?? [], verdict);
}

function pickCanary(model: Model, requested: string | undefined, allowSole: boolean): Version {
	const list = model.versions.map((version) => `${version.name} ${version.track} ${version.weight}%`).join(', ') || 'none';
	if (requested) {
		const version = model.versions.find((candidate) => candidate.name === requested);
		if (!version) throw new Refusal(`${model.name} has no version ${requested} (versions: ${list})`);
		return version;
	}

	const canaries = model.versions.filter((version) => version.track === 'canary');
	if (canaries.length === 1) return canaries[0]!;
	if (canaries.length > 1) {
		throw new Refusal(
			`${model.name} has several canaries (${canaries.map((version) => `${version.name} ${version.weight}%`).join(', ')}): pass --canary VERSION`,
		);
	}

	if (allowSole && model.versions.length === 1) return model.versions[0]!;
	throw new Refusal(`${model.name} has no canary (versions: ${list})`);
}

type Answer = 'yes' | 'no' | 'no-terminal';

async function confirm(io: CommandIo, change: string, yes: boolean): Promise<Answer> {
	if (yes) return 'yes';
	if (!io.stdin.isTTY) return 'no-terminal';
	io.stderr.write(`${change}\nApply? [y/N] `);
	const lines = createInterface({input: io.stdin, terminal: false});
	try {
		const answer = await new Promise<string>((resolve) => {
			lines.once('line', resolve);
			lines.once('close', () => resolve(''));
		});
		return /^\s*y(es)?\s*$/i.test(answer) ? 'yes' : 'no';
	} finally {
		lines.close();
	}
}

async function act(args: CommandArgs, connection: Connection, io: CommandIo, options: CommandOptions): Promise<number> {
	const {cluster, namespace} = connection;
	const command = args.command;
	const deadline = connection.deadline ?? new Deadline(args.timeoutSeconds);
	const model = findModel(await firstModels(cluster, namespace, deadline.remainingMs, args.timeoutSeconds), args.model!, namespace);
	const ref: ModelRef = {namespace: model.namespace, name: model.name};
	const canary = pickCanary(model, args.canary, command === 'rollback');
	let action: TrafficAction;
	switch (command) {
		case 'weight': {
			if (canary.track === 'stable') throw new Refusal(`${canary.name} is the stable version of ${model.name}: set a canary's weight`);
			action = {kind: 'set-weight', model: ref, canary: canary.name, from: canary.weight, to: args.weight!};
			break;
		}

		case 'promote': {
			const stable = model.versions.find((version) => version.track === 'stable' && version !== canary);
			if (!stable) throw new Refusal(`${canary.name} is already the stable version of ${model.name}`);
			action = {kind: 'promote', model: ref, canary: canary.name, stable: stable.name};
			break;
		}

		case 'rollback': {
			action = {kind: 'rollback', model: ref, canary: canary.name};
			break;
		}

		default: {
			throw new Refusal(`unknown command ${command}`);
		}
	}

	// Planned from a fresh read: what is asked, applied and printed is this plan, every version it moves included.
	let plan: ChangePlan;
	try {
		plan = await deadline.race(
			cluster.plan(action),
			`no answer from ${cluster.label} within ${args.timeoutSeconds} s (--timeout SECONDS waits longer); nothing was changed`,
		);
	} catch (error) {
		if (error instanceof PlanRefusal) throw new Refusal(error.message);
		throw error;
	}

	if (isNoop(plan)) {
		io.stdout.write(`${noopMessage(plan)}\n`);
		return 0;
	}

	// More traffic to a version flagged critical or judged fail needs --force, and says why first.
	let dangers: PlanDanger[] | undefined;
	try {
		dangers = await deadline.race(
			planDangersFromMetrics(plan, model, connection.metrics, options),
			`no answer from the metrics source within ${args.timeoutSeconds} s, so the flags and verdict could not be checked; nothing was changed`,
		);
	} catch (error) {
		throw new Refusal(
			`cannot check ${model.name}'s flags and verdict before the change (metrics from ${connection.metrics?.label ?? 'none'}: ${error instanceof Error ? error.message : String(error)}); fix the metrics source or retry`,
		);
	}

	const danger =
		dangers && dangers.length > 0
			? dangers.flatMap((entry) => [
					`DANGER: ${entry.version} would get more traffic (${entry.before}% → ${entry.after}%) though:`,
					...entry.evidence.map((line) => `  ${line}`),
				])
			: [];
	if (danger.length > 0 && !args.force) {
		throw new Refusal(`refused: ${danger.join('\n')}\npass --force to go ahead anyway`);
	}

	if (danger.length > 0) io.stderr.write(`${danger.join('\n')}\n--force: going ahead anyway\n`);
	const change = [`${model.name}: ${command} ${canary.name}`, ...planLines(plan).map((line) => `  ${line}`)].join('\n');
	const answer = await confirm(io, change, args.yes);
	if (answer === 'no-terminal') {
		io.stderr.write(
			`modeldeck ${command}: refused: no terminal to confirm on (${planResult(plan)}); pass --yes to apply without confirmation\n`,
		);
		return 1;
	}

	if (answer === 'no') {
		io.stderr.write(`modeldeck ${command}: cancelled; nothing changed\n`);
		return 1;
	}

	if (!args.yes) deadline.restart();
	// The plan's weights go with the action: a model that changed meanwhile is a conflict, not a different change.
	await deadline.race(
		cluster.act(plannedAction(plan)),
		`no answer from ${cluster.label} to the change within ${args.timeoutSeconds} s; it may or may not have been applied: check with modeldeck status ${model.namespace}/${model.name}`,
	);
	io.stdout.write(`${planResult(plan)} — done\n`);
	return 0;
}
