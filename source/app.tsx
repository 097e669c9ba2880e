/**
 * Puts the console together: store, controller, keymap, theme, and the Ink render. The sources come from cli.tsx.
 */
import type React from 'react';
import {render, type Instance} from 'ink';
import type {CanaryJudge, FlagDetector} from './domain/analysis.ts';
import type {AuditEntry, Sources} from './domain/ports.ts';
import type {ThresholdSettings} from './domain/thresholds.ts';
import {buildKeymap} from './keymap/registry.ts';

export {KeymapError} from './keymap/registry.ts';
import {Controller} from './console/controller.ts';
import {initialState} from './state/state.ts';
import {Store} from './console/store.ts';
import {App} from './ui/App.tsx';
import {Providers} from './ui/contexts.tsx';
import type {Theme} from './ui/theme.ts';

export interface ConsoleSetup {
	sources: Sources;
	theme: Theme;
	readOnly: boolean;
	readOnlyReason?: string;
	namespace: string | undefined;
	refreshSeconds: number;
	weightStep: number;
	thresholds: ThresholdSettings;
	keyOverrides: Record<string, string[]>;
	/** What `t` asks for (settings `loadTest`). */
	loadTest?: {rps: number; durationSeconds: number; warmupSeconds: number};
	detectors?: readonly FlagDetector[];
	judge?: CanaryJudge;
	recordAudit?: (entry: AuditEntry) => void;
	/** Why a context is read-only (flag or settings), or undefined: applied again on every context switch. */
	readOnlyForContext?: (context: string) => string | undefined;
	/** Labels and colours of contexts (settings `contexts.NAME.label`, `.color`): badges in the header and CLUSTER column. */
	clusterStyles?: Record<string, {label?: string; color?: string}>;
	/** Start-up tracing. */
	onTrace?: (stage: string) => void;
	/** Called once the first frame with models has been written (start-up tracing; the Kubernetes client loads after it). */
	onFirstFrame?: () => void;
	/** How long the first frame waits for models before it is drawn without them. Default 120 ms. */
	firstModelsWaitMs?: number;
	/** Called after every frame with Ink's render time (frame tracing for the benchmark). */
	onFrame?: (renderMs: number) => void;
	/** Anything that must stop on exit (demo timers, sockets). */
	onExit?: () => void;
	/**
	 * The root inside the providers instead of the console alone (`runbook play` puts its narration panel below it);
	 * given the console's store and controller. Default: the console.
	 */
	root?: (console: {store: Store; controller: Controller; size?: {width: number; height: number}}) => React.ReactElement;
}

export interface ConsoleHandle {
	store: Store;
	controller: Controller;
	element: React.ReactElement;
}

/** Build everything but the terminal, so tests can render the same tree with ink-testing-library. */
export function createConsole(setup: ConsoleSetup, size?: {width: number; height: number}): ConsoleHandle {
	// Dangerous commands stay in the keymap but are unavailable while state.readOnly holds (it can change with the
	// context): pressed, they say why.
	const keymap = buildKeymap({overrides: setup.keyOverrides});
	const store = new Store(
		initialState({
			demo: setup.sources.demo,
			readOnly: setup.readOnly,
			...(setup.readOnlyReason ? {readOnlyReason: setup.readOnlyReason} : {}),
			context: setup.sources.cluster.currentContext(),
			namespace: setup.namespace,
			weightStep: setup.weightStep,
			refreshSeconds: setup.refreshSeconds,
			thresholds: setup.thresholds,
			now: Date.now(),
			agentExpected: setup.sources.agent !== undefined,
			metricsExpected: setup.sources.metrics !== undefined,
			// Several clusters shown at once: each context's health and the CLUSTER column.
			...(setup.sources.cluster.shownContexts ? {clusters: setup.sources.cluster.shownContexts()} : {}),
			...(setup.clusterStyles ? {clusterStyles: setup.clusterStyles} : {}),
		}),
	);
	const controller = new Controller({
		store,
		sources: setup.sources,
		keymap,
		...(setup.detectors ? {detectors: setup.detectors} : {}),
		...(setup.judge ? {judge: setup.judge} : {}),
		...(setup.recordAudit ? {recordAudit: setup.recordAudit} : {}),
		...(setup.readOnlyForContext ? {readOnlyForContext: setup.readOnlyForContext} : {}),
		...(setup.loadTest ? {loadTest: setup.loadTest} : {}),
	});
	const element = (
		<Providers store={store} controller={controller} theme={setup.theme} keymap={keymap}>
			{setup.root ? (
				setup.root({store, controller, ...(size ? {size} : {})})
			) : (
				<App {...(size ? {width: size.width, height: size.height} : {})} />
			)}
		</Providers>
	);
	return {store, controller, element};
}

const FIRST_MODELS_WAIT_MS = 120;

function firstModels(store: Store, timeoutMs: number): Promise<void> {
	if (store.getState().models.length > 0) return Promise.resolve();
	return new Promise((resolve) => {
		const timer = setTimeout(done, timeoutMs);
		const unsubscribe = store.subscribe(() => {
			if (store.getState().models.length > 0) done();
		});
		function done() {
			clearTimeout(timer);
			unsubscribe();
			resolve();
		}
	});
}

/** Run the console in the terminal until the operator quits. */
export async function runConsole(setup: ConsoleSetup): Promise<void> {
	const handle = createConsole(setup);
	handle.controller.start();
	setup.onTrace?.('controller started');
	// Draw the first frame with the models when they come at once (the demo, a warm cache); a slow cluster gets the
	// frame after a short wait anyway, saying it is looking for models.
	await firstModels(handle.store, setup.firstModelsWaitMs ?? FIRST_MODELS_WAIT_MS);
	let firstFrame = setup.onFirstFrame;
	const instance: Instance = render(handle.element, {
		onRender(metrics) {
			setup.onFrame?.(metrics.renderTime);
			if (firstFrame) setup.onTrace?.(`render took ${metrics.renderTime.toFixed(1)} ms`);
			if (firstFrame && handle.store.getState().models.length > 0) {
				firstFrame();
				firstFrame = undefined;
			}
		},
		// A terminal is a terminal even where CI=true is set (Ink would otherwise print only the last frame).
		interactive: Boolean(process.stdout.isTTY),
		alternateScreen: true,
		incrementalRendering: process.env['MODELDECK_INCREMENTAL_RENDERING'] !== '0',
		// Frames come from keys and from the clock's once-a-second tick (background data rides on it). The cap only
		// merges bursts (a held key); Ink holds a frame back for the rest of the cap's interval after the previous one,
		// so a key pressed just after a tick waits up to 1000/maxFps ms: 60 keeps that under the key-latency budget.
		maxFps: 60,
		exitOnCtrlC: false,
		patchConsole: true,
	});
	setup.onTrace?.('render called');
	try {
		await instance.waitUntilExit();
	} finally {
		handle.controller.stop();
		setup.onExit?.();
	}
}
