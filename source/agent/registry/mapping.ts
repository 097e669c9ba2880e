/**
 * From a model version an alias points at to the delivery it starts: the image and version name rendered from the
 * followed alias's templates, the rollout's steps and pause, and who asked (`mlflow fraud-detector@champion → 14`).
 * Pure.
 */
import {deliverySpecProblems} from '../../domain/delivery.ts';
import type {DeliverySpec} from '../../domain/delivery.ts';
import type {FollowedAlias} from './settings.ts';

/** What the registry says about a model version (MLflow's `model_version`, the parts the watcher uses). */
export interface RegistryModelVersion {
	/** The registered model's name. */
	name: string;
	version: string;
	tags: Record<string, string>;
	runId?: string;
}

/** Renders a template; an error names the placeholder the model version cannot fill and says how to fix it. */
export function renderTemplate(
	template: string,
	version: RegistryModelVersion,
	alias: string,
	what: string,
): {text: string} | {error: string} {
	let missing: string | undefined;
	const text = template.replaceAll(/\{([^{}]*)\}/g, (whole, name: string) => {
		if (name === 'version') return version.version;
		if (name === 'name') return version.name;
		if (name === 'alias') return alias;
		if (name === 'run_id') {
			if (version.runId) return version.runId;
			missing ??= `version ${version.version} of ${version.name} has no run, which ${what} "${template}" needs for {run_id}: register it from a run, or change the template`;
			return whole;
		}

		if (name.startsWith('tag.')) {
			const key = name.slice(4);
			const value = version.tags[key];
			if (value !== undefined && value.trim() !== '') return value.trim();
			missing ??= `version ${version.version} of ${version.name} has no tag "${key}", which ${what} "${template}" needs: set it (MlflowClient().set_model_version_tag("${version.name}", "${version.version}", "${key}", …)) or change the template in the registry settings`;
			return whole;
		}

		missing ??= `${what} "${template}" has an unknown placeholder {${name}}`;
		return whole;
	});
	return missing === undefined ? {text} : {error: missing};
}

export function requestedByFor(follow: FollowedAlias, version: string): string {
	return `mlflow ${follow.registeredModel}@${follow.alias} → ${version}`;
}

/** The delivery for VERSION of FOLLOW's alias, or why there cannot be one (a missing tag, a bad image or name). */
export function deliverySpecFor(follow: FollowedAlias, version: RegistryModelVersion): {spec: DeliverySpec} | {error: string} {
	const image = renderTemplate(follow.image, version, follow.alias, 'the image template');
	if ('error' in image) return image;
	if (/\s/.test(image.text) || image.text === '')
		return {
			error: `the image "${image.text.slice(0, 120)}" made from "${follow.image}" is empty or has spaces: fix the tag or the template`,
		};
	const name = renderTemplate(follow.version, version, follow.alias, 'the version template');
	if ('error' in name) return name;
	const spec: DeliverySpec = {
		model: follow.model,
		image: image.text,
		version: name.text.toLowerCase(),
		steps: [...follow.steps],
		pauseSeconds: follow.pauseSeconds,
		readyTimeoutSeconds: follow.readyTimeoutSeconds,
		maxHolds: follow.maxHolds,
		requestedBy: requestedByFor(follow, version.version),
	};
	const problems = deliverySpecProblems(spec);
	if (problems.length > 0) return {error: `version ${version.version} of ${version.name} cannot be rolled out: ${problems.join('; ')}`};
	return {spec};
}
