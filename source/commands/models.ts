/** Finding the models a command names among those the cluster reports. */
import type {ClusterPort} from '../domain/ports.ts';
import type {Model} from '../domain/types.ts';
import {Refusal} from './refusals.ts';

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

export function findModel(models: Model[], spec: string, namespace: string | undefined): Model {
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
