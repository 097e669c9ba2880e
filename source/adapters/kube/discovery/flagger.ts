/**
 * A Flagger Canary is a model whose versions are the primary (stable: `<target>-primary`, the Deployment Flagger
 * copies the promoted template into) and, while an analysis runs, the canary (the target Deployment itself). Weights
 * are Flagger's own `status.canaryWeight`; phase, failed checks against `analysis.threshold` and the Promoted
 * condition's message are shown as Flagger wrote them. Flagger keeps no metric values in the Canary's status: it
 * writes them in Events on the Canary ("Halt fraud.ml advancement success rate 45.20% < 99%"), so the last such Event
 * gives the failing metric and its value.
 *
 * Flagger owns the target, the primary, the Services `<svc>`, `<svc>-primary`, `<svc>-canary` and the router it
 * generates: they are claimed so that no later step shows them again, and modeldeck never writes to them. Its actions
 * go through Flagger: they are refused with the reason and Flagger's own way (a loadtester gate when the Canary has
 * one, `skipAnalysis` or a reverted target otherwise) — see `flaggerRefusals`.
 */
import type {TrafficAction} from '../../../domain/plan.ts';
import type {ControllerRollout, Model, Version} from '../../../domain/types.ts';
import type {Deployment, HttpRoute, VirtualService} from '../objects.ts';
import type {CanaryEvent, FlaggerAnalysis, FlaggerCanary, FlaggerMetric, FlaggerWebhook} from '../objects/flagger.ts';
import type {Claims} from './claims.ts';
import {listOf, namespaceOf, resolveHost, type SnapshotIndex} from './snapshot.ts';
import type {ModelAnalysis} from './traffic.ts';
import {modeldeckAnnotations} from './tracks.ts';
import {versionFromDeployment} from './workloads.ts';

/** Phases in which the target Deployment runs as a canary next to the primary. */
const analysisPhases = new Set(['Progressing', 'Waiting', 'WaitingPromotion', 'Promoting', 'Finalising']);

/** The names Flagger derives from a Canary: its target, the primary, and the Service (and router) name. */
export function flaggerNames(canary: FlaggerCanary): {target: string; primary: string; service: string} {
	const target = typeof canary.spec?.targetRef?.name === 'string' ? canary.spec.targetRef.name : '';
	const service = typeof canary.spec?.service?.name === 'string' && canary.spec.service.name ? canary.spec.service.name : target;
	return {target, primary: `${target}-primary`, service};
}

/** Claims every object Flagger generates for this Canary, so that later steps leave them alone. */
export function claimFlaggerObjects(canary: FlaggerCanary, claims: Claims): void {
	const namespace = namespaceOf(canary);
	const {target, primary, service} = flaggerNames(canary);
	claims.claim('Canary', namespace, canary.metadata?.name ?? '');
	if (!target) return;
	claims.claim('Deployment', namespace, target);
	claims.claim('Deployment', namespace, primary);
	for (const name of [service, `${service}-primary`, `${service}-canary`]) claims.claim('Service', namespace, name);
	for (const kind of ['VirtualService', 'HTTPRoute', 'TrafficSplit']) claims.claim(kind, namespace, service);
	for (const name of [`${service}-primary`, `${service}-canary`]) claims.claim('DestinationRule', namespace, name);
}

/** The routers Flagger may generate for a Canary (named like its Service), whose weights are the ones in force. */
export interface FlaggerRouters {
	virtualServices?: readonly VirtualService[];
	httpRoutes?: readonly HttpRoute[];
}

export function analyseFlaggerCanary(
	canary: FlaggerCanary,
	deployments: ReadonlyMap<string, Deployment>,
	events: readonly CanaryEvent[],
	index: SnapshotIndex,
	routers: FlaggerRouters = {},
): ModelAnalysis {
	const name = canary.metadata?.name ?? '';
	const namespace = namespaceOf(canary);
	const label = `Canary/${name}`;
	const {target, primary} = flaggerNames(canary);
	const analysis = analysisOf(canary);
	const status = canary.status ?? {};
	const phase = typeof status.phase === 'string' && status.phase ? status.phase : 'Initializing';
	// Flagger zeroes status.canaryWeight from WaitingPromotion on while its router still sends the canary its share:
	// the router's weights are the ones in force, the status's only when there is no router to read.
	const routed = routerWeight(canary, routers);
	const canaryWeight = routed?.canary ?? clampWeight(status.canaryWeight);
	const warnings: string[] = [];
	const versions: Version[] = [];
	const model: Model = {namespace, name, router: 'flagger', routerObject: label, versions, discoveredBy: `${label} (flagger.app)`};
	if (canary.metadata?.resourceVersion) model.resourceVersion = canary.metadata.resourceVersion;
	// modeldeck.dev/* annotations of the Canary: a rollout's state (modeldeck.dev/delivery) is kept there.
	const annotations = modeldeckAnnotations([canary.metadata?.annotations]);
	if (annotations) model.annotations = annotations;
	if (routed) model.discoveredBy = `${label} (flagger.app), weights from ${routed.object}`;

	if (!target) {
		warnings.push(`${label} has no spec.targetRef.name: Flagger has nothing to run a canary on`);
	} else {
		const primaryDeployment = deployments.get(`${namespace}/${primary}`);
		const targetDeployment = deployments.get(`${namespace}/${target}`);
		// Before Flagger has created the primary, the target still serves everything.
		const stableName = primaryDeployment || phase !== 'Initializing' ? primary : target;
		const stableDeployment = stableName === primary ? primaryDeployment : targetDeployment;
		const inAnalysis = analysisPhases.has(phase) && stableName === primary;
		versions.push(flaggerVersion(stableDeployment, stableName, 'stable', inAnalysis ? 100 - canaryWeight : 100, index));
		if (inAnalysis) versions.push(flaggerVersion(targetDeployment, target, 'canary', canaryWeight, index));
		if (!primaryDeployment && phase !== 'Initializing')
			warnings.push(`Deployment/${primary} (Flagger's primary) is not among the Deployments read: its image and replicas are unknown`);
		if (canary.spec?.targetRef?.kind && canary.spec.targetRef.kind !== 'Deployment') {
			warnings.push(`${label} targets a ${canary.spec.targetRef.kind}: modeldeck reads replicas and images of Deployments only`);
		}
	}

	model.owner = {
		controller: 'Flagger',
		object: label,
		evidence: `${label} targets Deployment/${target}; Flagger generates its primary, Services and router`,
		command: `kubectl -n ${namespace} describe canary ${name}`,
	};
	model.rollout = rolloutOf(canary, phase, analysis, events, canaryWeight);
	if (warnings.length > 0) model.warnings = warnings;
	const refusals = flaggerRefusals(canary, phase, canaryWeight);
	model.owner.command = refusals.promote.command ?? model.owner.command;
	const deploymentsByVersion = Object.fromEntries(versions.map((version) => [version.name, version.name]));
	return {model, traffic: {kind: 'flagger', name, refusals: messages(refusals)}, deployments: deploymentsByVersion};
}

/** The canary's share in the router Flagger generated: its `<svc>-primary` and `<svc>-canary` entries. */
function routerWeight(canary: FlaggerCanary, routers: FlaggerRouters): {canary: number; object: string} | undefined {
	const namespace = namespaceOf(canary);
	const {service} = flaggerNames(canary);
	if (!service) return undefined;
	const share = (entries: Array<{name: string | undefined; weight: unknown}>, object: string) => {
		const weightOf = (suffix: string) => {
			const entry = entries.find((candidate) => candidate.name === `${service}-${suffix}`);
			return typeof entry?.weight === 'number' && Number.isFinite(entry.weight) && entry.weight >= 0 ? entry.weight : undefined;
		};
		const primary = weightOf('primary');
		const canaryShare = weightOf('canary');
		if (primary === undefined || canaryShare === undefined || primary + canaryShare <= 0) return undefined;
		const ratio = canaryShare / (primary + canaryShare);
		return Number.isFinite(ratio) ? {canary: clampWeight(ratio * 100), object} : undefined;
	};

	const virtualService = listOf(routers.virtualServices as VirtualService[]).find(
		(candidate) => candidate.metadata?.name === service && namespaceOf(candidate) === namespace,
	);
	const route = listOf(virtualService?.spec?.http)[0];
	if (virtualService && route) {
		const entries = listOf(route.route).map((entry) => ({
			name: resolveHost(entry?.destination?.host ?? '', namespace)?.name,
			weight: entry?.weight,
		}));
		const found = share(entries, `VirtualService/${service}`);
		if (found) return found;
	}

	const httpRoute = listOf(routers.httpRoutes as HttpRoute[]).find(
		(candidate) => candidate.metadata?.name === service && namespaceOf(candidate) === namespace,
	);
	const rule = listOf(httpRoute?.spec?.rules)[0];
	if (httpRoute && rule)
		return share(
			listOf(rule.backendRefs).map((entry) => ({name: entry?.name, weight: entry?.weight})),
			`HTTPRoute/${service}`,
		);
	return undefined;
}

function analysisOf(canary: FlaggerCanary): FlaggerAnalysis {
	const analysis = canary.spec?.analysis ?? canary.spec?.canaryAnalysis;
	return analysis && typeof analysis === 'object' ? analysis : {};
}

function clampWeight(value: unknown): number {
	return typeof value === 'number' && Number.isFinite(value) ? Math.min(100, Math.max(0, Math.round(value))) : 0;
}

function flaggerVersion(
	deployment: Deployment | undefined,
	name: string,
	track: Version['track'],
	weight: number,
	index: SnapshotIndex,
): Version {
	if (!deployment) {
		return {name, track, weight, replicasReady: 0, replicasDesired: 0, restarts: 0, image: '', created: '', object: `Deployment/${name}`};
	}

	const version = versionFromDeployment(deployment, name, index);
	version.track = track;
	version.weight = weight;
	// Flagger scales the target to zero outside an analysis; its desired replicas are what the spec says.
	version.replicasDesired = typeof deployment.spec?.replicas === 'number' ? deployment.spec.replicas : 1;
	return version;
}

function rolloutOf(
	canary: FlaggerCanary,
	phase: string,
	analysis: FlaggerAnalysis,
	events: readonly CanaryEvent[],
	canaryWeight: number,
): ControllerRollout {
	const status = canary.status ?? {};
	const rollout: ControllerRollout = {controller: 'flagger', phase};
	const promoted = listOf(status.conditions).find((condition) => condition?.type === 'Promoted');
	if (typeof promoted?.message === 'string' && promoted.message) rollout.message = promoted.message;
	const failedChecks =
		typeof status.failedChecks === 'number' && Number.isFinite(status.failedChecks) ? Math.max(0, Math.round(status.failedChecks)) : 0;
	rollout.failedChecks = failedChecks;
	if (typeof analysis.threshold === 'number' && Number.isFinite(analysis.threshold))
		rollout.failedChecksLimit = Math.round(analysis.threshold);
	if (phase === 'Waiting' || phase === 'WaitingPromotion') rollout.paused = true;
	if (analysisPhases.has(phase)) Object.assign(rollout, stepOf(analysis, canaryWeight, status.iterations));

	const checks = listOf(analysis.metrics).filter((metric): metric is FlaggerMetric => typeof metric?.name === 'string');
	// Events outlive a run: a halt is this run's only while checks are failing (or the run failed on it).
	const halt = failedChecks > 0 || phase === 'Failed' ? lastHalt(canary, events) : undefined;
	const analysisPhase =
		phase === 'Failed'
			? 'Failed'
			: phase === 'Succeeded'
				? 'Successful'
				: failedChecks > 0
					? 'Failing'
					: analysisPhases.has(phase)
						? 'Running'
						: 'Idle';
	rollout.analysis = {name: checks.length > 0 ? checks.map(describeMetric).join(', ') : 'no metric checks', phase: analysisPhase};
	if (halt) {
		rollout.analysis.failingMetric = halt.metric;
		rollout.analysis.detail = halt.message;
	}

	return rollout;
}

/** Step n of m: through `stepWeights`, `stepWeight` up to `maxWeight`, or `iterations` (A/B testing, Blue/Green). */
function stepOf(analysis: FlaggerAnalysis, weight: number, iterations: unknown): {step?: number; totalSteps?: number} {
	const steps = listOf(analysis.stepWeights).filter((step) => typeof step === 'number' && Number.isFinite(step));
	if (steps.length > 0) {
		const reached = steps.filter((step) => step <= weight).length;
		return {step: reached, totalSteps: steps.length};
	}

	if (typeof analysis.stepWeight === 'number' && analysis.stepWeight > 0) {
		const max = typeof analysis.maxWeight === 'number' && analysis.maxWeight > 0 ? analysis.maxWeight : 100;
		return {step: Math.ceil(weight / analysis.stepWeight), totalSteps: Math.ceil(max / analysis.stepWeight)};
	}

	if (typeof analysis.iterations === 'number' && analysis.iterations > 0) {
		return {
			step: typeof iterations === 'number' && Number.isFinite(iterations) ? Math.max(0, Math.round(iterations)) : 0,
			totalSteps: Math.round(analysis.iterations),
		};
	}

	return {};
}

/** `request-success-rate ≥ 99`, `request-duration ≤ 500`: a metric and the bound Flagger holds it to. */
export function describeMetric(metric: FlaggerMetric): string {
	const name = metric.name ?? '';
	const min = metric.thresholdRange?.min;
	const max = metric.thresholdRange?.max;
	const bounds: string[] = [];
	if (typeof min === 'number') bounds.push(`≥ ${min}`);
	if (typeof max === 'number') bounds.push(`≤ ${max}`);
	if (bounds.length === 0 && typeof metric.threshold === 'number')
		bounds.push(`${name === 'request-success-rate' ? '≥' : '≤'} ${metric.threshold}`);
	return bounds.length > 0 ? `${name} ${bounds.join(' ')}` : name;
}

/** The newest "Halt … advancement" Warning Flagger recorded on the Canary, with the metric (or check) it names. */
export function lastHalt(canary: FlaggerCanary, events: readonly CanaryEvent[]): {metric: string; message: string} | undefined {
	const name = canary.metadata?.name;
	const namespace = namespaceOf(canary);
	const halts = events.filter(
		(event) =>
			event?.involvedObject?.kind === 'Canary' &&
			event.involvedObject.name === name &&
			(event.involvedObject.namespace ?? event.metadata?.namespace ?? 'default') === namespace &&
			event.type === 'Warning' &&
			typeof event.message === 'string' &&
			event.message.startsWith('Halt ') &&
			!event.message.includes('waiting for'),
	);
	const newest = halts.sort((a, b) => eventTime(b).localeCompare(eventTime(a)))[0];
	if (!newest?.message) return undefined;
	return {metric: haltedMetric(newest.message), message: newest.message};
}

function eventTime(event: CanaryEvent): string {
	const time = event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp;
	return typeof time === 'string' ? time : '';
}

/** The metric or check a Halt message names, as Flagger's scheduler words them (pkg/controller/scheduler_metrics.go). */
export function haltedMetric(message: string): string {
	const noValues = /no values found for (?:[\w-]+ )?(?:custom )?metric:? ([^\s:]+)/.exec(message);
	if (noValues?.[1]) return noValues[1];
	if (/ advancement success rate /.test(message)) return 'request-success-rate';
	if (/ advancement request duration /.test(message)) return 'request-duration';
	const check = / advancement (?:pre-rollout check|external check) (\S+) failed/.exec(message);
	if (check?.[1]) return check[1];
	const custom = / advancement (\S+) -?[\d.]+(?:e[+-]?\d+)? [<>] /.exec(message);
	return custom?.[1] ?? 'analysis';
}

type Refusal = {message: string; command?: string};

/** Flagger's manual gates: a webhook of this type whose URL is the loadtester's gate, and the path that opens it. */
function gate(analysis: FlaggerAnalysis, types: string[], checkPath: string): FlaggerWebhook | undefined {
	return listOf(analysis.webhooks).find(
		(webhook) =>
			typeof webhook?.type === 'string' &&
			types.includes(webhook.type) &&
			typeof webhook.url === 'string' &&
			webhook.url.includes(checkPath),
	);
}

/** `kubectl exec` in the loadtester behind a gate URL, opening it as Flagger's docs do. */
function gateCommand(webhook: FlaggerWebhook, from: string, to: string, canary: string, namespace: string): string {
	const url = (webhook.url ?? '').replace(from, to);
	let host = '';
	try {
		host = new URL(url).hostname;
	} catch {
		host = '';
	}

	const body = JSON.stringify({name: canary, namespace});
	// A gate outside the cluster (an address, not a Service name) is opened from here.
	if (host === 'localhost' || /^[\d.]+$/.test(host) || host.includes(':')) return `curl -sd '${body}' ${url}`;
	const [service = 'flagger-loadtester', serviceNamespace = namespace] = host.split('.');
	return `kubectl -n ${serviceNamespace} exec deploy/${service} -- curl -sd '${body}' ${url}`;
}

/**
 * Why modeldeck does not make each change itself on a Flagger canary, and Flagger's own way to make it. Flagger's
 * gates are webhooks Flagger calls on its loadtester; modeldeck does not serve them and does not open them for you.
 */
export function flaggerRefusals(canary: FlaggerCanary, phase: string, canaryWeight: number): Record<TrafficAction['kind'], Refusal> {
	const name = canary.metadata?.name ?? '';
	const namespace = namespaceOf(canary);
	const label = `Canary/${name}`;
	const analysis = analysisOf(canary);
	const {target} = flaggerNames(canary);
	const failed = typeof canary.status?.failedChecks === 'number' ? canary.status.failedChecks : 0;
	const threshold = typeof analysis.threshold === 'number' ? analysis.threshold : undefined;
	const checks = threshold === undefined ? `${failed} failed checks` : `${failed}/${threshold} failed checks`;
	const now = `${label} is ${phase}, canary at ${canaryWeight}%, ${checks}`;
	const running = analysisPhases.has(phase);
	const skip = `kubectl -n ${namespace} patch canary ${name} --type merge -p '{"spec":{"skipAnalysis":true}}'`;

	const promotionGate = gate(analysis, ['confirm-promotion', 'confirm-traffic-increase', 'confirm-rollout'], '/gate/check');
	const promote: Refusal = !running
		? {message: `nothing to promote: ${now}; Flagger starts a canary when Deployment/${target}'s pod template changes`}
		: promotionGate
			? {
					message: `Flagger promotes ${label} itself (${now}); its ${promotionGate.type} gate "${promotionGate.name ?? ''}" is served by the loadtester, not by modeldeck — open it`,
					command: gateCommand(promotionGate, '/gate/check', '/gate/open', name, namespace),
				}
			: {
					message: `Flagger promotes ${label} itself when its analysis passes (${now}); it has no confirm-promotion gate — to promote without analysis`,
					command: skip,
				};

	const rollbackGate = gate(analysis, ['rollback'], '/rollback/check');
	const rollback: Refusal = !running
		? {message: `nothing to roll back: ${now}`}
		: rollbackGate
			? {
					message: `Flagger rolls ${label} back itself (${now}); its rollback gate "${rollbackGate.name ?? ''}" is served by the loadtester, not by modeldeck — open it`,
					command: gateCommand(rollbackGate, '/rollback/check', '/rollback/open', name, namespace),
				}
			: {
					message: `Flagger rolls ${label} back itself after ${threshold ?? 'its threshold of'} failed checks (${now}) and it has no rollback gate; add a webhook of type rollback to /rollback/check, or revert the target (Flagger then restarts its analysis)`,
					command: `kubectl -n ${namespace} rollout undo deployment/${target}`,
				};

	const steps = analysis.stepWeights?.length
		? `steps ${analysis.stepWeights.join(', ')}%`
		: typeof analysis.stepWeight === 'number'
			? `${analysis.stepWeight}% steps up to ${analysis.maxWeight ?? 100}%`
			: 'its analysis';
	const weight: Refusal = {
		message: `Flagger sets the weights of ${label} itself (${steps}; ${now}); a weight written to its router would be reverted — promote or roll back through Flagger instead`,
		command: promote.command ?? rollback.command,
	};
	// The Argo Rollouts commands (next step, abort, retry) are not Flagger's: Flagger's own way is the promotion above.
	const rollout: Refusal = {
		message: `${label} is a Flagger Canary, not an Argo Rollout: ${promote.message}`,
		...(promote.command ? {command: promote.command} : {}),
	};
	return {promote, rollback, 'set-weight': weight, switch: weight, rollout};
}

function messages(refusals: Record<TrafficAction['kind'], Refusal>): Record<TrafficAction['kind'], string> {
	const say = (refusal: Refusal) => (refusal.command ? `${refusal.message}: ${refusal.command}` : refusal.message);
	return {
		promote: say(refusals.promote),
		rollback: say(refusals.rollback),
		'set-weight': say(refusals['set-weight']),
		switch: say(refusals.switch),
		rollout: say(refusals.rollout),
	};
}
