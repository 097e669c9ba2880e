/**
 * A rollout of a model a Flagger Canary owns (pure: no I/O). modeldeck sets the new image on the Canary's target
 * Deployment — the one Flagger watches — and Flagger runs its canary analysis against its primary. What the target had
 * before (its image, and the revision Flagger had applied, `status.lastAppliedSpec`) is kept in an annotation on the
 * target in the same patch, so that:
 * - the Succeeded or Failed of the previous revision is not taken for this one (Flagger writes a new lastAppliedSpec
 *   when it takes up the new image — and, from Failed, first with the phase still Failed: its scheduler syncs the
 *   status before it starts the analysis, so a Failed counts only once Flagger has written an outcome since, which its
 *   `Promoted` condition's time tells);
 * - an abort can put the target back (Flagger has no abort API: a target back on the primary's image makes it drop
 *   the analysis, send all traffic back to its primary, and analyse the primary's own image, which changes nothing).
 */
import type {DeliveryInput} from '../../../domain/delivery.ts';
import type {ControllerRollout} from '../../../domain/types.ts';
import type {Deployment} from '../objects.ts';
import type {JsonPatchOperation} from '../plans.ts';

export const flaggerBeforeAnnotation = 'modeldeck.dev/delivery-before';

/** What the target Deployment had before modeldeck set the new image. */
export interface FlaggerBefore {
	image: string;
	/** The Canary's status.lastAppliedSpec then; absent when Flagger had not written one. */
	revision?: string;
	/** When Flagger last wrote an outcome then: its `Promoted` condition's reason and lastUpdateTime. */
	outcomeAt?: string;
}

/** Flagger's last outcome as written on the Canary: its `Promoted` condition's reason and time; undefined without one. */
export function flaggerOutcomeAt(status: unknown): string | undefined {
	const conditions = field(status, 'conditions');
	if (!Array.isArray(conditions)) return undefined;
	const promoted: unknown = conditions.find((condition: unknown) => field(condition, 'type') === 'Promoted');
	const time = text(field(promoted, 'lastUpdateTime')) ?? text(field(promoted, 'lastTransitionTime'));
	return time === undefined ? undefined : `${text(field(promoted, 'reason')) ?? ''}@${time}`;
}

export function decodeFlaggerBefore(text: unknown): FlaggerBefore | undefined {
	if (typeof text !== 'string') return undefined;
	try {
		const value = JSON.parse(text) as unknown;
		if (typeof value !== 'object' || value === null) return undefined;
		const {image, revision, outcomeAt} = value as Record<string, unknown>;
		if (typeof image !== 'string') return undefined;
		return {image, ...(typeof revision === 'string' ? {revision} : {}), ...(typeof outcomeAt === 'string' ? {outcomeAt} : {})};
	} catch {
		return undefined;
	}
}

const annotationPath = `/metadata/annotations/${flaggerBeforeAnnotation.replace('/', '~1')}`;

/**
 * The JSON patch that sets IMAGE on the target's first container and records what it had; undefined when the image is
 * already set (a runner repeating the effect). Throws when the target has no container.
 */
export function flaggerImagePatch(
	target: Deployment,
	image: string,
	revision: string | undefined,
	outcomeAt?: string,
): JsonPatchOperation[] | undefined {
	const name = target.metadata?.name ?? '?';
	const containers = target.spec?.template?.spec?.containers ?? [];
	const current = containers[0]?.image;
	if (current === undefined) throw new Error(`Deployment/${name} has no container image to change`);
	if (current === image) return undefined;
	const before: FlaggerBefore = {
		image: current,
		...(revision === undefined ? {} : {revision}),
		...(outcomeAt === undefined ? {} : {outcomeAt}),
	};
	return [
		{op: 'test', path: '/spec/template/spec/containers/0/image', value: current},
		{op: 'replace', path: '/spec/template/spec/containers/0/image', value: image},
		...(target.metadata?.annotations ? [] : [{op: 'add' as const, path: '/metadata/annotations', value: {}}]),
		{op: 'add', path: annotationPath, value: JSON.stringify(before)},
	];
}

/**
 * The JSON patch that takes the target off IMAGE: back to the primary's image (what Flagger serves as stable), else, when
 * the primary already runs IMAGE or is unknown, to the target's image before; undefined when there is nothing to revert.
 */
export function flaggerRevertPatch(target: Deployment, image: string, primaryImage: string | undefined): JsonPatchOperation[] | undefined {
	const before = decodeFlaggerBefore(target.metadata?.annotations?.[flaggerBeforeAnnotation]);
	const current = target.spec?.template?.spec?.containers?.[0]?.image;
	if (current !== image) return undefined;
	const back = primaryImage && primaryImage !== image ? primaryImage : before?.image;
	if (!back) return undefined;
	return [
		{op: 'test', path: '/spec/template/spec/containers/0/image', value: current},
		{op: 'replace', path: '/spec/template/spec/containers/0/image', value: back},
		...(before ? [{op: 'remove' as const, path: annotationPath}] : []),
	];
}

export interface FlaggerObservation {
	/** The Canary as read (any shape: it comes from the cluster). */
	canary: unknown;
	/** What discovery made of it (phase, failed checks, the halt Flagger recorded). */
	rollout?: ControllerRollout;
	/** The canary's weight now, as discovery has it (the router's, else status.canaryWeight). */
	canaryWeight?: number;
	/** The primary's image now. */
	primaryImage?: string;
	before?: FlaggerBefore;
	/** The image being rolled out. */
	image: string;
}

function field(value: unknown, key: string): unknown {
	return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value ? value : undefined;
}

function count(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.round(value)) : undefined;
}

/** Flagger's progress → the delivery's: progress text, weight, and the outcome once Flagger finished with this image. */
export function flaggerProgress(observed: FlaggerObservation): Extract<DeliveryInput, {kind: 'owner'}> {
	const status = field(observed.canary, 'status');
	const phase = text(field(status, 'phase')) ?? observed.rollout?.phase ?? 'Initializing';
	const applied = text(field(status, 'lastAppliedSpec'));
	const weight = Math.min(100, count(observed.canaryWeight) ?? count(field(status, 'canaryWeight')) ?? 0);
	const failed = count(field(status, 'failedChecks')) ?? observed.rollout?.failedChecks ?? 0;
	const limit = observed.rollout?.failedChecksLimit;
	// Flagger writes a new lastAppliedSpec when it takes up a new target: until then its phase is the previous revision's.
	const seen = applied !== undefined && applied !== observed.before?.revision;
	// A Failed is this revision's once Flagger has written an outcome since the image was set (see the top of the file).
	const failedNow =
		phase === 'Failed' && (observed.before?.outcomeAt === undefined || flaggerOutcomeAt(status) !== observed.before.outcomeAt);
	const state = !seen
		? `waiting for Flagger to see the new image (${phase})`
		: phase === 'Failed' && !failedNow
			? 'waiting for Flagger to start analysing the new image (its last outcome: Failed)'
			: phase;
	const parts = [state, `canary ${weight}%`];
	if (failed > 0 || limit !== undefined) parts.push(`${failed}${limit === undefined ? '' : `/${limit}`} failed checks`);
	const progress = parts.join(' · ');
	if (seen && phase === 'Succeeded' && observed.primaryImage === observed.image) {
		return {kind: 'owner', progress, weight: 100, outcome: 'promoted'};
	}

	if (seen && failedNow) {
		const reasons = [observed.rollout?.message, observed.rollout?.analysis?.detail].filter((reason): reason is string => Boolean(reason));
		const message = reasons.length > 0 ? `Flagger: ${reasons.join('; ')}` : 'Flagger failed the canary analysis';
		return {kind: 'owner', progress, weight: 0, outcome: 'rolled-back', message};
	}

	return {kind: 'owner', progress, weight: seen ? weight : 0};
}
