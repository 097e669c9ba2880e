/**
 * A rollout of a KServe InferenceService in serverless mode (pure: no I/O), by KServe's own canary procedure: the new
 * image goes on the predictor together with `canaryTrafficPercent: 0`, so KServe makes a new Knative revision and gives
 * it no traffic yet; modeldeck then moves canaryTrafficPercent step by step (KServe does not step by itself), removes it
 * to promote (the latest revision takes all traffic) and sets it to 0 to roll back (all traffic to the revision rolled
 * out before).
 *
 * KServe names versions after revisions, so the new version is the revision KServe will create: Knative names a
 * Configuration's revisions `<configuration>-<generation, 5 digits>`, and the predictor spec change is the next
 * generation, so the name is the latest created revision's number + 1 (`ready` checks that it was).
 */
import type {JsonPatchOperation} from '../plans.ts';
import type {InferenceService} from '../objects.ts';

/** What the predictor had before modeldeck changed it; the same annotation a Flagger target gets. */
export const kserveBeforeAnnotation = 'modeldeck.dev/delivery-before';

export interface KserveBefore {
	/** The predictor's image before; absent when a `model` predictor ran its ServingRuntime's image. */
	image?: string;
	/** The latest created revision before (the new one follows it). */
	revision: string;
	canaryTrafficPercent?: number;
}

const revisionPattern = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?-)(\d{1,15})$/;

/** `sentiment-predictor-00002` → `sentiment-predictor-00003`. Throws an Error that says why for a name that is not one. */
export function nextRevisionName(latestCreated: string): string {
	const match = revisionPattern.exec(latestCreated);
	if (!match) {
		throw new Error(
			`"${latestCreated.slice(0, 80)}" is not a Knative revision name (<configuration>-<number>, e.g. sentiment-predictor-00002): modeldeck cannot tell which revision KServe will create`,
		);
	}

	const [, prefix, digits] = match as unknown as [string, string, string];
	const next = `${prefix}${String(Number(digits) + 1).padStart(digits.length, '0')}`;
	if (next.length > 63) throw new Error(`the revision after ${latestCreated} would be longer than 63 characters`);
	return next;
}

/** Where the predictor's image is: a custom container's, or the `model`'s override of its ServingRuntime's image. */
export type PredictorImage = {path: string; image: string | undefined};

/** The predictor's image path, or a problem saying what to do instead. */
export function predictorImage(inferenceService: InferenceService): PredictorImage | {problem: string} {
	const name = `InferenceService/${inferenceService.metadata?.name ?? '?'}`;
	const predictor = inferenceService.spec?.predictor;
	const containers = predictor?.containers ?? [];
	if (containers.length > 0) return {path: '/spec/predictor/containers/0/image', image: containers[0]!.image};
	const model = predictor?.model as {image?: unknown} | undefined;
	// v1beta1's ModelSpec inlines a Container: `model.image` overrides the ServingRuntime's image.
	if (model) return {path: '/spec/predictor/model/image', image: typeof model.image === 'string' ? model.image : undefined};
	return {
		problem: `${name}'s predictor names a framework (e.g. spec.predictor.sklearn), which has no image to change: move it to spec.predictor.model (modelFormat, storageUri) or spec.predictor.containers, or set the new predictor with canaryTrafficPercent yourself (kubectl edit inferenceservice); modeldeck's weight and promote actions then move canaryTrafficPercent`,
	};
}

const pointerKey = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The JSON patch that sets IMAGE on the predictor with canaryTrafficPercent 0, the version label LABEL on its pods
 * (`[key, value]`, when the operator named the version) and what it had before in an annotation; `test`s what it was
 * planned from. Undefined when the predictor has IMAGE already (a runner repeating the effect). Throws for a predictor
 * without an image to change, or without a revision yet.
 */
export function kserveImagePatch(
	inferenceService: InferenceService,
	image: string,
	label: [string, string] | undefined,
): JsonPatchOperation[] | undefined {
	const where = predictorImage(inferenceService);
	if ('problem' in where) throw new Error(where.problem);
	if (where.image === image) return undefined;
	const predictor = inferenceService.spec?.predictor;
	const revision = inferenceService.status?.components?.predictor?.latestCreatedRevision;
	if (!revision) throw new Error(`InferenceService/${inferenceService.metadata?.name} has no revision yet: KServe has not reconciled it`);
	const current = predictor?.canaryTrafficPercent;
	const before: KserveBefore = {revision};
	if (where.image !== undefined) before.image = where.image;
	if (current !== undefined) before.canaryTrafficPercent = current;
	const labels = predictor?.['labels'];
	return [
		where.image === undefined
			? {op: 'test', path: '/spec/predictor/model', value: predictor?.model}
			: {op: 'test', path: where.path, value: where.image},
		{op: where.image === undefined ? 'add' : 'replace', path: where.path, value: image},
		...(current === undefined
			? [{op: 'add' as const, path: '/spec/predictor/canaryTrafficPercent', value: 0}]
			: [
					{op: 'test' as const, path: '/spec/predictor/canaryTrafficPercent', value: current},
					{op: 'replace' as const, path: '/spec/predictor/canaryTrafficPercent', value: 0},
				]),
		...(label === undefined
			? []
			: [
					...(labels && typeof labels === 'object' ? [] : [{op: 'add' as const, path: '/spec/predictor/labels', value: {}}]),
					{op: 'add' as const, path: `/spec/predictor/labels/${pointerKey(label[0])}`, value: label[1]},
				]),
		...(inferenceService.metadata?.annotations ? [] : [{op: 'add' as const, path: '/metadata/annotations', value: {}}]),
		{op: 'add', path: `/metadata/annotations/${pointerKey(kserveBeforeAnnotation)}`, value: JSON.stringify(before)},
	];
}

/**
 * Whether the new version (the revision PREDICTED) is ready, from the InferenceService's status: created and the
 * latest ready one. `fatal` when KServe created another revision than predicted (the predictor changed beside this
 * rollout): it will never be.
 */
export function kserveReadiness(inferenceService: InferenceService, predicted: string): {ready: boolean; detail: string; fatal?: boolean} {
	const status = inferenceService.status?.components?.predictor;
	const created = status?.latestCreatedRevision;
	const ready = status?.latestReadyRevision;
	if (created === predicted) {
		return ready === predicted
			? {ready: true, detail: `revision ${predicted} is ready`}
			: {ready: false, detail: `revision ${predicted} created, not ready yet (latest ready: ${ready ?? 'none'})`};
	}

	const [createdPrefix, createdNumber] = revisionParts(created);
	const [predictedPrefix, predictedNumber] = revisionParts(predicted);
	if (created === undefined || (createdPrefix === predictedPrefix && createdNumber < predictedNumber)) {
		return {ready: false, detail: `waiting for KServe to create revision ${predicted} (latest created: ${created ?? 'none'})`};
	}

	return {
		ready: false,
		fatal: true,
		detail: `KServe created revision ${created}, not ${predicted}: the predictor was changed beside this rollout; canaryTrafficPercent is 0, so the revision rolled out before keeps all traffic — look at kubectl get revisions, then start again`,
	};
}

function revisionParts(revision: string | undefined): [string, number] {
	const match = revision === undefined ? null : revisionPattern.exec(revision);
	return match ? [match[1]!, Number(match[2])] : ['', Number.NaN];
}
