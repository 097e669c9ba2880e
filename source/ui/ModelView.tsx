import React from 'react';
import {Box, Text} from 'ink';
import {modelKey, refOf, versionKey, type MetricName, type Model, type Series, type Version} from '../domain/types.ts';
import {findModel, versionsInOrder} from '../state/selectors.ts';
import type {AppState, Task} from '../state/state.ts';
import {useTheme} from './contexts.tsx';
import {columnChart, formatAge, formatBytes, formatCores, formatMs, formatPercent, formatRps, pad, truncate, weightBar} from './format.ts';
import {SmokePanels, TaskPanel, taskPanelLines} from './TaskPanel.tsx';
import {ControllerRolloutLines} from './ControllerRolloutLines.tsx';
import {DeliveryPanel, deliveryDetailLines} from './DeliveryPanel.tsx';
import {withDeliveredFirst} from './delivery-marker.ts';
import {controllerLine} from './controller-line.ts';
import type {Theme} from './theme.ts';

interface ChartSpec {
	metric: MetricName;
	label: string;
	format: (value: number | null | undefined) => string;
	color: (theme: Theme) => string | undefined;
}

const charts: ChartSpec[] = [
	{metric: 'p50Ms', label: 'p50 ms', format: formatMs, color: (theme) => theme.chart.p50},
	{metric: 'p95Ms', label: 'p95 ms', format: formatMs, color: (theme) => theme.chart.p95},
	{metric: 'p99Ms', label: 'p99 ms', format: formatMs, color: (theme) => theme.chart.p99},
	{metric: 'rps', label: 'req/s', format: formatRps, color: (theme) => theme.chart.rps},
	{metric: 'errorRatio', label: 'errors', format: formatPercent, color: (theme) => theme.chart.errors},
	{metric: 'cpuCores', label: 'CPU', format: formatCores, color: (theme) => theme.chart.cpu},
	{metric: 'memoryBytes', label: 'memory', format: formatBytes, color: (theme) => theme.chart.memory},
];

function values(series: Series | undefined, metric: MetricName): number[] {
	return (series?.[metric] ?? []).map((point) => point.value);
}

/** What a version's column shows: decided by ModelView from the room it has. */
interface PanelLayout {
	details: boolean;
	image: boolean;
	capacity: boolean;
	charts: readonly ChartSpec[];
	chartRows: number;
}

function VersionPanel(props: {
	state: AppState;
	model: Model;
	version: Version;
	width: number;
	layout: PanelLayout;
	scales: Map<MetricName, {min: number; max: number}>;
}) {
	const {state, model, version, width, layout, scales} = props;
	const theme = useTheme();
	const key = versionKey({...refOf(model), version: version.name});
	const sample = state.samples[key];
	const series = state.history[key];
	const sparkWidth = Math.max(1, width - 16);
	const bar = weightBar(version.weight, Math.max(4, Math.min(20, width - 26)));
	// Every line is cut to the column: a wrapped line would push the charts under the panel's next neighbour.
	return (
		<Box flexDirection="column" width={width} flexShrink={0}>
			<Text bold color={version.track === 'canary' ? theme.track.canary : theme.track.stable} wrap="truncate-end">
				{`${version.track.toUpperCase()} ${version.name}`}
				{layout.details ? '' : ` ${version.weight}%`}
			</Text>
			{layout.details ? (
				<Text wrap="truncate-end">
					<Text color={theme.bar.filled}>{bar.filled}</Text>
					<Text color={theme.bar.empty}>{bar.empty}</Text>
					<Text> {version.weight}% </Text>
					<Text color={version.replicasReady < version.replicasDesired ? theme.status.warning : theme.text.muted}>
						ready {version.replicasReady}/{version.replicasDesired} rst {version.podsPending ? '… (pods not listed yet)' : version.restarts}{' '}
						age {formatAge(version.created, state.now)}
					</Text>
				</Text>
			) : null}
			{layout.image ? <Text color={theme.text.muted}>{truncate(version.image, width)}</Text> : null}
			{layout.capacity ? <Text color={theme.text.muted}>{truncate(capacityLine(version), width)}</Text> : null}
			{layout.charts.map((chart) => {
				const lines = columnChart(values(series, chart.metric), sparkWidth, layout.chartRows, scales.get(chart.metric));
				return (
					<Box key={chart.metric} flexDirection="column" flexShrink={0}>
						{lines.map((line, index) => (
							<Text key={index} wrap="truncate-end">
								<Text color={theme.text.muted}>{pad(index === lines.length - 1 ? chart.label : '', 7)}</Text>
								<Text>{pad(index === lines.length - 1 ? chart.format(sample?.[chart.metric]) : '', 7, 'right')} </Text>
								<Text color={chart.color(theme)}>{line}</Text>
							</Text>
						))}
					</Box>
				);
			})}
		</Box>
	);
}

/** Autoscaler and resources in one line: `HPA 2–10 now 4 · req 500m/512Mi · lim 1.00/1.0Gi`. */
export function capacityLine(version: Version): string {
	const parts: string[] = [];
	if (version.autoscaler) parts.push(`HPA ${version.autoscaler.min}–${version.autoscaler.max} now ${version.autoscaler.current}`);
	const resources = version.resources;
	if (resources?.cpuRequestCores !== undefined || resources?.memoryRequestBytes !== undefined) {
		parts.push(`req ${formatCores(resources.cpuRequestCores)}/${formatBytes(resources.memoryRequestBytes)}`);
	}

	if (resources?.cpuLimitCores !== undefined || resources?.memoryLimitBytes !== undefined) {
		parts.push(`lim ${formatCores(resources.cpuLimitCores)}/${formatBytes(resources.memoryLimitBytes)}`);
	}

	if (version.problems?.length) parts.push(version.problems.join(', '));
	return parts.length > 0 ? parts.join(' · ') : 'no autoscaler, no resource requests or limits';
}

function sharedScales(state: AppState, model: Model): Map<MetricName, {min: number; max: number}> {
	const scales = new Map<MetricName, {min: number; max: number}>();
	for (const chart of charts) {
		const all = model.versions.flatMap((version) =>
			values(state.history[versionKey({...refOf(model), version: version.name})], chart.metric),
		);
		if (all.length > 0) scales.set(chart.metric, {min: Math.min(...all), max: Math.max(...all)});
	}

	return scales;
}

function modelTasks(state: AppState, model: Model): Task[] {
	return state.tasks.filter((task) => {
		const action = task.action;
		if ('model' in action) return modelKey(action.model) === modelKey(model);
		if (action.kind === 'smoke-test') return modelKey(action.target) === modelKey(model);
		return action.targets.some((target) => modelKey(target) === modelKey(model));
	});
}

export function ModelView({state, width, height}: {state: AppState; width: number; height: number}) {
	const theme = useTheme();
	const model = state.view.screen === 'model' ? findModel(state, state.view.model) : undefined;
	if (!model) {
		return (
			<Box height={height}>
				<Text color={theme.status.warning}>This model is no longer in the cluster. esc goes back to the fleet.</Text>
			</Box>
		);
	}

	const ordered = withDeliveredFirst(versionsInOrder(model), model.delivery);
	const shown = ordered.slice(0, width >= 120 ? 3 : 2);
	const panelWidth = Math.max(1, Math.floor((width - (shown.length - 1) * 2) / shown.length));
	const scales = sharedScales(state, model);
	const verdict = state.verdicts[modelKey(model)];
	// Critical flags first: on a short terminal the flag that has a line is the worst one.
	const flagLines = model.versions
		.flatMap((version) =>
			(state.flags[versionKey({...refOf(model), version: version.name})] ?? []).map((flag) => ({
				version: version.name,
				flag,
			})),
		)
		.sort((a, b) => Number(b.flag.severity === 'critical') - Number(a.flag.severity === 'critical'));
	const all = modelTasks(state, model);
	// The latest smoke test of each version, side by side, and the latest other action (a load test, a change).
	const smokes = shown.flatMap((version) => {
		const latest = all.findLast((task) => task.action.kind === 'smoke-test' && task.action.target.version === version.name);
		return latest ? [latest] : [];
	});
	const tasks = all.filter((task) => task.action.kind !== 'smoke-test').slice(-1);
	// A canary the controller runs has its own lines (ControllerRolloutLines); otherwise, who owns the router.
	const controller = model.rollout ? undefined : controllerLine(model);
	const room = modelViewLayout({
		height,
		controller: controller !== undefined,
		verdict: verdict !== undefined,
		rollout: model.rollout !== undefined,
		rolloutCommand: model.rollout !== undefined && model.owner?.command !== undefined,
		flags: flagLines.length,
		warnings: model.warnings?.length ?? 0,
		smokeChecks: smokes.length === 0 ? undefined : Math.max(0, ...smokes.map((task) => task.checks.length)),
		failedChecks: Math.max(0, ...smokes.map((task) => task.checks.filter((check) => !check.ok).length)),
		taskLines: tasks.reduce((sum, task) => sum + taskPanelLines(task), 0),
		discoveredBy: model.discoveredBy !== undefined,
		...(model.delivery ? {delivery: deliveryDetailLines(model.delivery)} : {}),
	});
	const hiddenFlags = flagLines.length - room.flags;
	return (
		<Box flexDirection="column" height={height} overflow="hidden">
			<Text wrap="truncate-end">
				<Text bold>{model.name}</Text>
				<Text color={theme.text.muted}>
					{' '}
					{model.cluster ? `${state.clusterStyles[model.cluster]?.label ?? model.cluster} · ` : ''}
					{model.namespace} · router {model.router}
					{model.routerObject ? ` ${model.routerObject}` : ''}
					{model.runtime ? ` · runtime ${model.runtime}` : ''}
				</Text>
			</Text>
			{controller ? (
				<Text
					wrap="truncate-end"
					color={
						controller.tone === 'critical'
							? theme.status.critical
							: controller.tone === 'warning'
								? theme.status.warning
								: controller.tone === 'ok'
									? theme.status.ok
									: theme.text.muted
					}
				>
					{controller.text}
				</Text>
			) : null}
			<Box flexShrink={0}>
				{shown.map((version, index) => (
					<Box key={version.name} marginLeft={index === 0 ? 0 : 2} flexShrink={0}>
						<VersionPanel state={state} model={model} version={version} width={panelWidth} layout={room.panel} scales={scales} />
					</Box>
				))}
			</Box>
			{model.rollout ? <ControllerRolloutLines model={model} detail={room.rolloutDetail} /> : null}
			{model.delivery ? <DeliveryPanel delivery={model.delivery} now={state.now} detail={room.deliveryDetail} /> : null}
			{verdict ? (
				<Text
					color={verdict.result === 'pass' ? theme.status.ok : verdict.result === 'fail' ? theme.status.critical : theme.status.warning}
					wrap="truncate-end"
				>
					verdict: {verdict.summary}
				</Text>
			) : null}
			{flagLines.length === 0 ? (
				<Text color={theme.status.ok}>no flags</Text>
			) : (
				flagLines.slice(0, room.flags).map(({version, flag}, index) => (
					<Text
						key={`${version}-${index}`}
						wrap="truncate-end"
						color={flag.severity === 'critical' ? theme.status.critical : theme.status.warning}
					>
						{/* The count of flags without a line goes first, where cutting the line cannot hide it. */}
						{index === room.flags - 1 && hiddenFlags > 0 ? `+${hiddenFlags} more flags · ` : ''}
						{flag.severity === 'critical' ? '✖' : '▲'} {version}: {flag.message}
					</Text>
				))
			)}
			{model.warnings?.slice(0, room.warnings).map((warning) => (
				<Text key={warning} color={theme.status.warning} wrap="truncate-end">
					! {warning}
				</Text>
			))}
			{room.discoveredBy && model.discoveredBy ? (
				<Text color={theme.text.muted} wrap="truncate-end">
					found by {model.discoveredBy}
				</Text>
			) : null}
			{room.rolloutCommand && model.owner?.command ? (
				<Text color={theme.text.muted} wrap="truncate-end">
					{model.owner.controller} acts, not modeldeck: {model.owner.command}
				</Text>
			) : null}
			{smokes.length > 0 ? <SmokePanels tasks={smokes} width={width} maxChecks={room.smokeChecks} /> : null}
			{tasks.map((task) => (
				<TaskPanel key={task.id} task={task} width={width} />
			))}
		</Box>
	);
}

/** Charts in the order they give way when a short terminal has no line for each: the least telling first. */
const chartsByPriority: readonly MetricName[] = ['p99Ms', 'errorRatio', 'rps', 'p95Ms', 'memoryBytes', 'p50Ms', 'cpuCores'];

export interface ModelViewRoom {
	panel: PanelLayout;
	flags: number;
	warnings: number;
	smokeChecks: number;
	/** A line saying how the model was found (Model.discoveredBy). */
	discoveredBy: boolean;
	/** A second line for a controller's rollout: its failing metric and value, or its checks. */
	rolloutDetail: boolean;
	/** A third: the controller's own command for the change modeldeck leaves to it. */
	rolloutCommand: boolean;
	/** Lines of a rollout's panel beyond its first (the judgement, who started it, events). */
	deliveryDetail: number;
}

/**
 * How the model view spends its lines. Everything it draws is counted here, so the sum never exceeds the height and
 * nothing is squeezed (a squeezed box is drawn over by the next). First what must show: the title, the line of a
 * controller that owns the model's router (when no canary of its own is shown), the STABLE and CANARY headings, a
 * controller's rollout, the verdict, a flag line, the smoke summaries and the latest task; then one line per chart
 * (the least telling give way first on a very short terminal); then, while lines are left, the weight bar, failed
 * checks, the rollout's analysis, more flags, warnings, the controller's command, image, capacity, passed checks,
 * and taller charts.
 */
export function modelViewLayout(needs: {
	height: number;
	/** A line for the controller that owns the model's router, when it runs no canary shown here. */
	controller?: boolean;
	verdict: boolean;
	/** A controller runs the canary (Argo Rollouts, Flagger): its line always shows. */
	rollout?: boolean;
	/** The owning controller has a command to show (after the warnings, when there is room). */
	rolloutCommand?: boolean;
	flags: number;
	warnings: number;
	/** The most checks of one version's smoke test, or undefined without smoke tests. */
	smokeChecks: number | undefined;
	failedChecks: number;
	taskLines: number;
	/** The model says how it was found. */
	discoveredBy?: boolean;
	/** A rollout of ours (Model.delivery): its first line always shows; this many more are wanted. */
	delivery?: number;
}): ModelViewRoom {
	const smoke = needs.smokeChecks !== undefined;
	let left =
		needs.height -
		(2 +
			(needs.controller ? 1 : 0) +
			(needs.verdict ? 1 : 0) +
			(needs.rollout ? 1 : 0) +
			(needs.delivery === undefined ? 0 : 1) +
			1 +
			(smoke ? 1 : 0) +
			needs.taskLines);
	const chartCount = Math.max(1, Math.min(charts.length, left));
	left -= chartCount;
	const take = (wanted: number) => {
		const granted = Math.max(0, Math.min(wanted, left));
		left -= granted;
		return granted;
	};

	const details = take(1) === 1;
	const smokeChecks = smoke ? take(Math.min(needs.smokeChecks ?? 0, Math.max(1, needs.failedChecks))) : 0;
	const rolloutDetail = needs.rollout ? take(1) === 1 : false;
	// The rollout's last judgement (with its time) next, then who started it; its events after the warnings.
	let deliveryDetail = take(Math.min(2, needs.delivery ?? 0));
	const flags = 1 + take(Math.min(3, Math.max(0, needs.flags - 1)));
	const warnings = take(needs.warnings);
	const rolloutCommand = needs.rolloutCommand ? take(1) === 1 : false;
	deliveryDetail += take(Math.max(0, (needs.delivery ?? 0) - deliveryDetail));
	const image = take(1) === 1;
	const capacity = take(1) === 1;
	const discoveredBy = needs.discoveredBy === true && take(1) === 1;
	const moreChecks = smoke ? take(Math.min(8, needs.smokeChecks ?? 0) - smokeChecks) : 0;
	// Charts grow with the terminal: 1 to 3 lines each.
	const chartRows = chartCount < charts.length ? 1 : 1 + Math.min(2, Math.floor(Math.max(0, left) / charts.length));
	const kept = new Set(chartsByPriority.slice(0, chartCount));
	return {
		panel: {details, image, capacity, charts: charts.filter((chart) => kept.has(chart.metric)), chartRows},
		flags,
		warnings,
		smokeChecks: smokeChecks + moreChecks,
		discoveredBy,
		rolloutDetail,
		rolloutCommand,
		deliveryDetail,
	};
}
