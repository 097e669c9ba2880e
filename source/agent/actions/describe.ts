/** Words for the audit trail: a model's weights, and the Kubernetes Event reason of each kind of action. */
import type {Action, Model} from '../../domain/types.ts';

export const auditReasons: Record<Action['kind'], string> = {
	'set-weight': 'ModeldeckSetWeight',
	promote: 'ModeldeckPromote',
	rollback: 'ModeldeckRollback',
	switch: 'ModeldeckSwitch',
	rollout: 'ModeldeckRolloutCommand',
	deliver: 'ModeldeckDeliver',
	delivery: 'ModeldeckDeliveryCommand',
	'smoke-test': 'ModeldeckSmokeTest',
	'load-test': 'ModeldeckLoadTest',
};

/**
 * `v1 stable 90%, v2 canary 10%`. With `previous`, the versions it had that `model` no longer lists are named too:
 * a promoted model's old stable, scaled to zero, is retired (the source lists it no more; its warning says so).
 */
export function describeWeights(model: Model | undefined, previous?: Model): string {
	if (!model) return 'unknown';
	const listed = model.versions.map((version) => `${version.name} ${version.track} ${version.weight}%`);
	for (const version of previous?.versions ?? []) {
		if (model.versions.some((candidate) => candidate.name === version.name)) continue;
		const retired = model.warnings?.some((warning) => warning.startsWith(`${version.name} is retired`));
		listed.push(retired ? `${version.name} retired 0%` : `${version.name} gone`);
	}

	return listed.join(', ');
}
