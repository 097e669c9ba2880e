/**
 * An SMI TrafficSplit's split: each backend is a Service in the split's namespace with a weight; a backend reaches the
 * versions whose pod template labels its Service selects.
 */
import {mapSelects} from '../labels.ts';
import type {TrafficSplit} from '../objects/smi.ts';
import {parseQuantity} from '../quantity.ts';
import {listOf, namespaceOf, type SnapshotIndex} from './snapshot.ts';
import type {TrafficBackend} from './traffic.ts';
import type {VersionDraft} from './workloads.ts';

/** A backend's weight: an integer (v1alpha2, v1alpha3) or a quantity such as `500m` (v1alpha1); missing is 0. */
export function trafficSplitWeight(weight: unknown): number {
	const parsed = parseQuantity(typeof weight === 'number' || typeof weight === 'string' ? weight : undefined);
	return parsed === undefined ? 0 : Math.max(0, parsed);
}

export function trafficSplitSplit(
	split: TrafficSplit,
	drafts: VersionDraft[],
	index: SnapshotIndex,
	warnings: string[],
): {backends: TrafficBackend[]} {
	const label = `TrafficSplit/${split.metadata?.name}`;
	const namespace = namespaceOf(split);
	const entries = listOf(split.spec?.backends);
	if (entries.length === 0) {
		warnings.push(`${label} has no backends: no version receives traffic through it`);
		return {backends: []};
	}

	return {
		backends: entries.map((entry, position) => {
			const name = typeof entry?.service === 'string' ? entry.service : '';
			const backend: TrafficBackend = {
				pointer: `/spec/backends/${position}`,
				identityField: 'service',
				identityValue: name,
				target: name,
				writtenWeight: typeof entry?.weight === 'number' ? entry.weight : undefined,
				effectiveWeight: trafficSplitWeight(entry?.weight),
				versions: [],
			};
			const service = index.service(namespace, name);
			if (!service) {
				warnings.push(`${label} sends traffic to Service ${name}, which does not exist`);
				backend.explained = true;
				return backend;
			}

			backend.versions = drafts
				.filter((draft) => mapSelects(service.spec?.selector, draft.templateLabels))
				.map((draft) => draft.version.name);
			return backend;
		}),
	};
}
