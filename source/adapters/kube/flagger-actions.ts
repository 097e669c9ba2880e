/**
 * Flagger canaries in actions: the fresh read an action plans from (the Canary, its target and primary Deployments,
 * and the Events Flagger recorded on it), and the refusal of every change modeldeck would otherwise write itself —
 * Flagger sets its canary's weights and promotes or rolls back on its own, so a write to its router would be reverted.
 */
import type {TrafficAction} from '../../domain/plan.ts';
import type {ModelAnalysis} from './discovery/traffic.ts';
import {actionError, statusOf} from './errors.ts';
import {type KubeHttp, resourcePath, resourceTypes} from './http.ts';
import type {KubeList} from './objects.ts';
import type {CanaryEvent, FlaggerCanary} from './objects/flagger.ts';
import {PlanError} from './plans.ts';

export interface FlaggerRead {
	canaries: FlaggerCanary[];
	events: CanaryEvent[];
}

/**
 * The Canary named like the model, if Flagger's CRD is installed and there is one, and its Events. Its target and
 * primary Deployments are among the namespace's Deployments the caller lists anyway.
 */
export async function readFlaggerCanary(http: KubeHttp, namespace: string, name: string): Promise<FlaggerRead> {
	const none: FlaggerRead = {canaries: [], events: []};
	const optional = async <T>(read: () => Promise<T>, fallback: T, context: {verb: string; resource: string; name?: string}): Promise<T> => {
		try {
			return await read();
		} catch (error) {
			const status = statusOf(error);
			if (status === 404 || status === 403) return fallback;
			throw actionError(error, {...context, namespace, server: http.server, user: http.user});
		}
	};

	const canary = await optional<FlaggerCanary | undefined>(
		() => http.get<FlaggerCanary>(resourcePath(resourceTypes.canaries, namespace, name)),
		undefined,
		{verb: 'get', resource: 'canaries.flagger.app', name},
	);
	if (!canary) return none;
	const events = await optional<CanaryEvent[]>(
		async () =>
			(
				await http.get<KubeList<CanaryEvent>>(resourcePath(resourceTypes.events, namespace), {
					query: {fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${name}`},
				})
			)?.items ?? [],
		[],
		{verb: 'list', resource: 'events'},
	);
	return {canaries: [canary], events};
}

/** Throws a PlanError with the reason and the controller's own way when the model's traffic is a controller's. */
export function refuseControllerOwned(analysis: ModelAnalysis, kind: TrafficAction['kind']): void {
	if (analysis.traffic.kind === 'flagger') throw new PlanError(analysis.traffic.refusals[kind]);
}
