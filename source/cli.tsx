#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=192
// The V8 flags in the line above keep the console's memory flat (about 140 MB instead of growing past 300 MB at
// 1,000 predictions/s): the console keeps only bounded data, so a small young generation and a cap on the old one cost
// a little GC time and nothing else. Measured at 1,000 predictions/s: 8 MB semi-spaces 165 MB, 4 MB 150 MB, 2 MB 143 MB
// RSS; 2 MB doubled the time spent in the garbage collector, 4 MB did not. `npm start` passes the same flags; the
// agent's image runs node with its own.
/**
 * modeldeck: the command line. Parses flags (one table, cli-flags/table.ts), then starts the console on the demo fleet or a real
 * cluster. Subcommands (status, weight, promote, rollback, agent, model-server, config) load only what they need.
 */
import {appendFileSync, existsSync} from 'node:fs';
import {homedir} from 'node:os';
import path from 'node:path';
import {traceStartup as trace} from './adapters/startup-trace.ts';
import {consoleFlagValues, validateConsoleFlags} from './cli-flags/console-options.ts';
import {consoleHelp} from './cli-flags/help.ts';
import {parseFlags} from './flags/parse.ts';
import {consoleFlags, subcommandTable} from './cli-flags/table.ts';
import {runSubcommand} from './cli-subcommands.ts';

const traceStartup = process.env['MODELDECK_TRACE_STARTUP'] === '1';

/**
 * `MODELDECK_TRACE_FRAMES=FILE` appends a line per frame to FILE (for the console benchmark): epoch ms, Ink's render
 * ms, then RSS, V8 heap used, V8 heap total and external memory in bytes.
 */
const frameTraceFile = process.env['MODELDECK_TRACE_FRAMES'];
function traceFrame(renderMs: number): void {
	if (!frameTraceFile) return;
	const memory = process.memoryUsage();
	appendFileSync(
		frameTraceFile,
		`${Date.now()} ${renderMs.toFixed(2)} ${memory.rss} ${memory.heapUsed} ${memory.heapTotal} ${memory.external}\n`,
	);
}

/** `__complete` is the completion scripts' own, not listed. */
const subcommands = new Set(subcommandTable.map((subcommand) => subcommand.name));

async function main(): Promise<number> {
	let argv = process.argv.slice(2);
	// `runbook play FILE [flags]` is the console with a narration panel, and `runbook run FILE [flags]` on a cluster the
	// console without a terminal: the console's own start-up, with its flags.
	let root: import('./app.tsx').ConsoleSetup['root'];
	let headless: import('./runbook/start.ts').RunbookConsole['headless'];
	if (argv[0] === 'runbook' && (argv[1] === 'play' || argv[1] === 'run')) {
		const started = await (await import('./runbook/start.ts')).startRunbook(argv.slice(1), process);
		if ('code' in started) return started.code;
		if ('console' in started) ({argv, root, headless} = started.console);
	}

	const subcommand = argv[0];
	if (subcommand && (subcommands.has(subcommand) || subcommand === '__complete')) return runSubcommand(subcommand, argv.slice(1));
	if (subcommand && !subcommand.startsWith('-')) {
		process.stderr.write(`Unknown command "${subcommand}". Commands: ${[...subcommands].join(', ')}. Run modeldeck --help.\n`);
		return 2;
	}

	const parsed = parseFlags(argv, consoleFlags);
	if ('errors' in parsed) {
		process.stderr.write(`${parsed.errors.join('\n')}\n`);
		return 2;
	}

	if (parsed.values.has('help')) {
		process.stdout.write(consoleHelp());
		return 0;
	}

	if (parsed.values.has('version')) {
		// meow found package.json above source/cli.tsx or the bundle's dist/cli.js.
		if (parsed.version !== undefined) {
			process.stdout.write(`${parsed.version}\n`);
			return 0;
		}

		process.stderr.write(
			`The version is in ${new URL('../package.json', import.meta.url).pathname}, which is missing or unreadable: this copy of modeldeck was installed without it.\n`,
		);
		return 1;
	}

	if (parsed.positionals.length > 0) {
		process.stderr.write(`Unexpected argument ${parsed.positionals.join(' ')}: the console takes only flags. Run modeldeck --help.\n`);
		return 2;
	}

	trace('flags parsed');
	// The first lists go out before anything else loads, the settings included, so that the API server serves them
	// meanwhile (adapters/kube/early-lists.ts); they need only the kubeconfig, context and namespace flags, and are
	// dropped if the flags or the settings turn out to ask for something else (several contexts), or wrong.
	// The settings module (conf, its schema validator) is asked for only once they are out: modules are evaluated one
	// at a time, and the lists' module must not wait behind it.
	earlyLists = parsed.values.has('demo')
		? undefined
		: await sendEarlyLists(consoleFlagValues(parsed.values), import('./adapters/kube/early-lists.ts'));
	const {loadSettings, contextSettings, SettingsError} = await import('./settings/settings.ts');
	let loaded;
	try {
		loaded = await loadSettings();
	} catch (error) {
		if (error instanceof SettingsError) {
			process.stderr.write(`${error.message}\n`);
			return 1;
		}

		throw error;
	}

	const {settings} = loaded;
	trace('settings loaded');
	// Several contexts at once have no early lists; the settings' showContexts is known only now.
	if (earlyLists && severalContexts(consoleFlagValues(parsed.values).context, settings)) {
		earlyLists.discard();
		earlyLists = undefined;
	}

	// Yoga (Ink's layout engine) loads its WebAssembly through fetch() when fetch exists, which costs Node's whole
	// HTTP client at start-up; without fetch it decodes the inline bytes directly. fetch comes back right after.
	const fetchDescriptor = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
	Object.defineProperty(globalThis, 'fetch', {value: undefined, configurable: true, writable: true});
	// Start loading everything the first frame needs at once.
	// The demo (its simulation) loads only for --demo; the scenario names the flags are checked against are small.
	const demoModule = parsed.values.has('demo') ? import('./demo/index.ts') : undefined;
	const scenariosModule = import('./demo/scenarios.ts');
	const appModule = import('./app.tsx');
	const themeModule = import('./ui/theme.ts');
	const analysisModule = loadAnalysis();
	const {scenarioNames} = await scenariosModule;
	const validated = validateConsoleFlags(consoleFlagValues(parsed.values), scenarioNames);
	if ('errors' in validated) {
		process.stderr.write(`${validated.errors.join('\n')}\n`);
		return 2;
	}

	const options = validated.options;
	trace('modules loaded');
	const {chooseTheme, noColorTheme, ansi16Theme, fullTheme} = await themeModule;
	const theme =
		options.colors === 'none'
			? noColorTheme
			: options.colors === '16'
				? ansi16Theme
				: options.colors === 'full'
					? fullTheme
					: chooseTheme({noColor: false, env: process.env});
	if (theme === noColorTheme) process.env['FORCE_COLOR'] = '0';
	const {runConsole, KeymapError} = await appModule.finally(() => {
		if (fetchDescriptor) Object.defineProperty(globalThis, 'fetch', fetchDescriptor);
	});
	const analysis = await analysisModule;
	trace('app loaded');
	let sources;
	let onExit: (() => void) | undefined;
	// The settings' top-level readOnly holds in every context, as --read-only does (which stays the reason shown).
	const settingsReadOnly = settings.readOnly ? `readOnly in ${loaded.path}` : undefined;
	let readOnlyReason = options.readOnly ? '--read-only' : settingsReadOnly;
	let contextNamespace: string | undefined;
	if (options.demo) {
		const {createDemoSources} = await (demoModule ?? import('./demo/index.ts'));
		// Benchmarks size the demo with these; they are not flags because operators never need them.
		const rate = Number(process.env['MODELDECK_DEMO_RATE'] ?? Number.NaN);
		const extraModels = Number(process.env['MODELDECK_DEMO_EXTRA_MODELS'] ?? Number.NaN);
		const demo = createDemoSources({
			...(options.scenario ? {scenario: options.scenario as never} : {}),
			...(options.atSeconds !== undefined ? {atMs: options.atSeconds * 1000} : {}),
			...(Number.isFinite(rate) ? {predictionsPerSecond: rate} : {}),
			...(Number.isFinite(extraModels) ? {extraModels} : {}),
		});
		if (options.context !== undefined) {
			const known = demo.cluster.contexts().map((context) => context.name);
			if (!known.includes(options.context)) {
				demo.stop();
				process.stderr.write(
					`Context ${options.context} is not in the demo (contexts: ${known.join(', ')}). Pick one with --context NAME.\n`,
				);
				return 2;
			}

			await demo.cluster.switchContext(options.context);
		}

		sources = demo;
		onExit = () => demo.stop();
		trace('demo created');
	} else {
		const kubeconfig = kubeconfigPath(options);
		if (!existsSync(kubeconfig)) {
			process.stderr.write(
				`No kubeconfig at ${kubeconfig}. Point --kubeconfig or KUBECONFIG at one, start a local cluster with \`npm run cluster:up\`, or try the demo: modeldeck --demo\n`,
			);
			return 1;
		}

		const {readKubeconfigContexts} = await import('./adapters/kube/kubeconfig-contexts.ts');
		// Several contexts at once (--context a,b or the settings' showContexts): one merged fleet (adapters/multi).
		const multi = await multiSources(options, kubeconfig, settings, contextSettings, loaded.path);
		if ('error' in multi) {
			process.stderr.write(`${multi.error}\n`);
			return 2;
		}

		const inForce = 'sources' in multi ? undefined : await readKubeconfigContexts(kubeconfig, multi.context ?? options.context);
		if (inForce && options.context !== undefined && !inForce.contexts.some((context) => context.name === options.context)) {
			const known = inForce.contexts.map((context) => context.name).join(', ') || 'none';
			process.stderr.write(
				`Context ${options.context} is not in the kubeconfig ${kubeconfig} (contexts: ${known}). Pick one with --context NAME.\n`,
			);
			return 2;
		}

		const real =
			'sources' in multi
				? {sources: multi.sources, stop: () => undefined, namespace: undefined}
				: await realSources(
						multi.context ? {...options, context: multi.context} : options,
						kubeconfig,
						settings,
						contextSettings,
						inForce,
						earlyLists,
					);
		sources = real.sources;
		onExit = real.stop;
		contextNamespace = real.namespace;
		const perContext = contextSettings(settings, sources.cluster.currentContext());
		if (!readOnlyReason && perContext.readOnly) readOnlyReason = `settings for context ${sources.cluster.currentContext()}`;
	}

	if (headless) {
		const code = await headless({
			sources,
			readOnly: readOnlyReason !== undefined,
			...(readOnlyReason ? {readOnlyReason} : {}),
			namespace: options.allNamespaces ? undefined : (options.namespace ?? contextNamespace),
			refreshSeconds: options.refreshSeconds ?? settings.refreshSeconds,
			weightStep: settings.weightStep,
			thresholds: settings.thresholds,
			keyOverrides: {},
			...analysis,
		}).finally(() => onExit?.());
		// Requests the run no longer waits for (a watch, a keep-alive socket) must not hold the process open.
		await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
		return process.exit(code);
	}

	// After the flags' names are checked against the kubeconfig or the demo: a wrong --context is said first.
	if (!process.stdout.isTTY || !process.stdin.isTTY) {
		onExit?.();
		process.stderr.write('modeldeck needs a terminal. For scripts use `modeldeck status --json`.\n');
		return 2;
	}

	// --record: opened before the console starts, so a path that cannot be written is said at once.
	let recording: import('./recording/record-stream.ts').Recording<NodeJS.WriteStream> | undefined;
	if (options.record !== undefined) {
		const {startRecording, RecordingError} = await import('./recording/record-stream.ts');
		try {
			// The title is the command without --record's own words (a path on the recorder's machine).
			const shown = process.argv.slice(2).filter((word, index, words) => word !== '--record' && words[index - 1] !== '--record');
			const title = ['modeldeck', ...shown.filter((word) => !word.startsWith('--record='))].join(' ');
			recording = startRecording(process.stdout, options.record, {title});
		} catch (error) {
			if (!(error instanceof RecordingError)) throw error;
			onExit?.();
			process.stderr.write(`${error.message}\n`);
			return 2;
		}

		// Ink's console patch writes to stderr, which shows on the same terminal.
		if (process.stderr.isTTY) recording.tee(process.stderr);
	}

	try {
		await runConsole({
			sources,
			theme,
			readOnly: readOnlyReason !== undefined,
			...(readOnlyReason ? {readOnlyReason} : {}),
			namespace: options.allNamespaces ? undefined : (options.namespace ?? contextNamespace),
			// Switching to a context that settings mark read-only makes the console read-only there.
			readOnlyForContext: (context: string) =>
				options.readOnly
					? '--read-only'
					: (settingsReadOnly ?? (contextSettings(settings, context).readOnly ? `settings for context ${context}` : undefined)),
			refreshSeconds: options.refreshSeconds ?? settings.refreshSeconds,
			weightStep: settings.weightStep,
			thresholds: settings.thresholds,
			keyOverrides: settings.keys,
			loadTest: settings.loadTest,
			clusterStyles: settings.contexts,
			...analysis,
			onExit,
			...(root ? {root} : {}),
			onFirstFrame: () => {
				trace('first frame');
				firstFrameShown();
			},
			...(earlyLists ? {firstModelsWaitMs: EARLY_MODELS_WAIT_MS} : {}),
			...(traceStartup ? {onTrace: trace} : {}),
			...(frameTraceFile ? {onFrame: traceFrame} : {}),
		});
	} catch (error) {
		if (error instanceof KeymapError) {
			process.stderr.write(`${error.message} (in ${loaded.path})\n`);
			return 1;
		}

		throw error;
	} finally {
		recording?.stop();
	}

	return 0;
}

/**
 * The merged sources when several contexts are shown at once (--context a,b, else the settings' showContexts), checked
 * against the kubeconfig; else the one context the settings' list names, if any.
 */
async function multiSources(
	options: import('./cli-flags/console-options.ts').ConsoleOptions,
	kubeconfig: string,
	settings: import('./settings/settings.ts').Settings,
	contextSettings: typeof import('./settings/settings.ts').contextSettings,
	settingsFile: string,
): Promise<{sources: import('./domain/ports.ts').Sources} | {context?: string} | {error: string}> {
	if (!severalContexts(options.context, settings)) return {};
	const {readKubeconfigContexts} = await import('./adapters/kube/kubeconfig-contexts.ts');
	const {chooseContexts} = await import('./adapters/multi/context-list.ts');
	const known = (await readKubeconfigContexts(kubeconfig, undefined))?.contexts ?? [];
	const chosen = chooseContexts({
		flag: options.context,
		settings: settings.showContexts,
		known: known.map((context) => context.name),
		settingsPath: settingsFile,
	});
	if ('error' in chosen) return {error: `${chosen.error} (kubeconfig ${kubeconfig})`};
	if (!chosen.contexts) return chosen.context ? {context: chosen.context} : {};
	const {createMultiSources} = await import('./adapters/multi/create-multi-sources.ts');
	const sources = createMultiSources({
		kubeconfigPath: kubeconfig,
		contexts: chosen.contexts,
		known,
		namespace: options.allNamespaces ? 'all' : options.namespace,
		promoteKeepsOldStable: settings.promoteKeepsOldStable,
		prometheusUrl: (context) => contextSettings(settings, context).prometheusUrl ?? options.prometheus ?? settings.prometheusUrl,
		prometheusService: (context) => contextSettings(settings, context).prometheusService,
		profiles: settings.profiles,
		// A context the settings mark read-only refuses changes (the console as a whole stays writable for the others).
		readOnly: (context) => (contextSettings(settings, context).readOnly ? `settings for context ${context}` : undefined),
	});
	return {sources};
}

/** The kubeconfig the console reads: --kubeconfig, else the first file of KUBECONFIG, else ~/.kube/config. */
function kubeconfigPath(options: {kubeconfig?: string | undefined}): string {
	return options.kubeconfig ?? process.env['KUBECONFIG']?.split(path.delimiter)[0] ?? path.join(homedir(), '.kube', 'config');
}

/**
 * How long the first frame waits for the first models when the early lists are out (else 120 ms), and the Kubernetes
 * client's load for the frame that shows them.
 */
const EARLY_MODELS_WAIT_MS = 1000;
/** The first frame with models is on the screen. */
let firstFrameShown: () => void = () => undefined;
const firstFrameDrawn = new Promise<void>((resolve) => {
	firstFrameShown = resolve;
});

/** Sent at start-up (one context only); whatever the console did not take is dropped when main() ends. */
let earlyLists: import('./adapters/kube/early-lists.ts').EarlyLists | undefined;

/**
 * Whether several contexts are shown at once: `--context a,b`, else the settings' showContexts (when the settings are
 * not read yet, only the flag can say so).
 */
function severalContexts(context: string | undefined, settings?: import('./settings/settings.ts').Settings): boolean {
	return context?.includes(',') === true || (context === undefined && (settings?.showContexts?.length ?? 0) > 0);
}

/** The first lists of one context, sent before the Kubernetes client loads; none for several contexts at once. */
async function sendEarlyLists(
	options: {
		context?: string | undefined;
		namespace?: string | undefined;
		allNamespaces?: boolean | undefined;
		kubeconfig?: string | undefined;
	},
	module: Promise<typeof import('./adapters/kube/early-lists.ts')>,
) {
	if (severalContexts(options.context)) return undefined;
	const {startEarlyLists} = await module;
	const early = startEarlyLists(kubeconfigPath(options), options.context, options.allNamespaces ? 'all' : options.namespace);
	if (early) trace('early lists sent');
	return early;
}

async function loadAnalysis() {
	const [{defaultDetectors}, {MannWhitneyJudge}] = await Promise.all([import('./domain/detectors.ts'), import('./domain/judge.ts')]);
	return {detectors: defaultDetectors(), judge: new MannWhitneyJudge()};
}

async function realSources(
	options: import('./cli-flags/console-options.ts').ConsoleOptions,
	kubeconfigPath: string,
	settings: import('./settings/settings.ts').Settings,
	contextSettings: typeof import('./settings/settings.ts').contextSettings,
	inForce: import('./adapters/kube/kubeconfig-contexts.ts').KubeconfigContexts | undefined,
	early: import('./adapters/kube/early-lists.ts').EarlyLists | undefined,
): Promise<{sources: import('./domain/ports.ts').Sources; stop: () => void; namespace: string | undefined}> {
	const {LazyClusterPort} = await import('./adapters/lazy-cluster.ts');
	const {LazyMetricsPort} = await import('./adapters/lazy-metrics.ts');
	// The header names the context in force from the first frame, reachable or not; without one it says so.
	const contextName = inForce?.current ?? options.context ?? '(no context)';
	const contextNamespace = inForce?.contexts.find((context) => context.name === contextName)?.namespace;
	// The first models come from the early lists when they can, and the Kubernetes client (which the cluster, the
	// metrics and the agent sources all load) is loaded after the frame that shows them is drawn: the client's load
	// holds the thread ~100 ms. At most EARLY_MODELS_WAIT_MS, so that a silent API server is still said in time.
	const earlyModels = early?.models().then((models) => {
		trace(models ? `early models built (${models.length})` : 'no early models');
		return models;
	});
	const drawn = earlyModels?.then((models) => (models && models.length > 0 ? firstFrameDrawn : undefined));
	const clientMayLoad = async () => {
		if (drawn) await Promise.race([drawn, new Promise((resolve) => setTimeout(resolve, EARLY_MODELS_WAIT_MS))]);
		await new Promise((resolve) => setTimeout(resolve, 0));
	};
	const cluster = new LazyClusterPort(
		async (picked) => {
			await clientMayLoad();
			trace('kubernetes client loading');
			const {createKubeCluster} = await import('./adapters/kube/index.ts');
			trace('kubernetes client loaded');
			const context = picked ?? options.context;
			return createKubeCluster({
				kubeconfigPath,
				...(context ? {context} : {}),
				...(options.allNamespaces ? {namespace: 'all' as const} : options.namespace ? {namespace: options.namespace} : {}),
				promoteKeepsOldStable: settings.promoteKeepsOldStable,
				...(early ? {earlyLists: early} : {}),
			});
		},
		contextName,
		inForce?.contexts ?? [],
		earlyModels && early ? {namespace: early.namespace, models: earlyModels} : undefined,
	);
	// Each context's Prometheus: --prometheus, else the context's URL in settings, else the global one; without a URL,
	// the context's Service named in settings, else the Prometheus found in the cluster, through the API server.
	const prometheusUrlFor = (context: string) =>
		options.prometheus ?? contextSettings(settings, context).prometheusUrl ?? settings.prometheusUrl;
	const startUrl = prometheusUrlFor(contextName);
	const metrics = new LazyMetricsPort(async (picked) => {
		const url = prometheusUrlFor(picked ?? contextName);
		if (url) {
			const {createPrometheusMetrics} = await import('./adapters/prometheus/index.ts');
			return createPrometheusMetrics({url, profiles: settings.profiles});
		}

		await clientMayLoad();
		const {prometheusInCluster} = await import('./adapters/prometheus/discover.ts');
		const context = picked ?? inForce?.current ?? options.context;
		const service = context ? contextSettings(settings, context).prometheusService : undefined;
		return prometheusInCluster({kubeconfig: kubeconfigPath, context, service, metrics: {profiles: settings.profiles}});
	}, startUrl ?? 'prometheus in the cluster');
	const {LazyAgentPort} = await import('./adapters/lazy-agent.ts');
	// The agent: at --agent URL, or found in the cluster and reached through the API server's service proxy. Each
	// context has its own: switching context looks again.
	const agent = new LazyAgentPort(
		async (context) => {
			await clientMayLoad();
			const {createAgentClient} = await import('./adapters/agent-client.ts');
			if (options.agent) {
				// --agent names one cluster's agent: acting through it on another context's models would change the wrong cluster.
				if (context !== contextName)
					return {
						absent: `--agent ${options.agent} is the agent of context ${contextName}, not of ${context}: start modeldeck again to use this context's agent`,
					};
				// MODELDECK_TOKEN, else the kubeconfig user's own token: the agent checks that identity either way.
				const {kubeconfigToken} = await import('./adapters/agent-client/find-agent.ts');
				const token = process.env['MODELDECK_TOKEN'] || (await kubeconfigToken(kubeconfigPath, contextName).catch(() => undefined));
				return createAgentClient({url: options.agent, ...(token ? {token} : {})});
			}

			const {findAgent} = await import('./adapters/agent-client/find-agent.ts');
			const found = await findAgent({kubeconfig: kubeconfigPath, context: context ?? contextName});
			return found ? createAgentClient(found.clientOptions) : undefined;
		},
		'agent',
		contextName,
	);

	return {
		sources: {cluster, metrics, agent, demo: false},
		stop: () => undefined,
		namespace: contextNamespace,
	};
}

/** The demo for the one-shot commands' `--demo`: chosen here, the composition root, and loaded only when asked for. */
main().then(
	(code) => {
		earlyLists?.discard();
		process.exitCode = code;
	},
	(error: unknown) => {
		earlyLists?.discard();
		process.stderr.write(`modeldeck: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exitCode = 1;
	},
);
