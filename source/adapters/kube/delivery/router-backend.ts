/**
 * Where a delivery's new version joins its model's router, pure: an HTTPRoute gets a backendRef for the new version's
 * Service; a VirtualService gets a destination, either for the new version's Service (each version has its own), or
 * for a new subset of the shared Service's DestinationRule (the stable is a subset: the new version gets one with its
 * version label). Each write is a JSON Patch with a `test` of the resourceVersion it was planned from.
 */
import type {DeliverySpec} from '../../../domain/delivery.ts';
import type {ModelAnalysis} from '../build-models.ts';
import type {Conventions} from '../conventions.ts';
import {resolveHost} from '../discovery/snapshot.ts';
import {type ResourceType, resourceTypes} from '../http.ts';
import type {DestinationRule, HttpRoute, VirtualService} from '../objects.ts';
import {type JsonPatchOperation, PlanError} from '../plans.ts';

export interface RouterWrite {
	type: ResourceType;
	name: string;
	object: string;
	change: string;
	/** Undefined when the entry is there already (a runner repeating the effect). */
	patch: JsonPatchOperation[] | undefined;
}

/** How the new version is reached: its own Service (created from the stable's), or a subset of the shared one. */
export type Reach = {kind: 'service'} | {kind: 'subset'; destinationRule: DestinationRule; host: string};

function position(pointer: string | undefined, pattern: RegExp): [number, number] | undefined {
	const match = pattern.exec(pointer ?? '');
	return match ? [Number(match[1]), Number(match[2])] : undefined;
}

function stableBackend(analysis: ModelAnalysis, stable: string) {
	if (analysis.traffic.kind !== 'httproute' && analysis.traffic.kind !== 'virtualservice') return undefined;
	return analysis.traffic.backends.find((backend) => backend.versions.length === 1 && backend.versions[0] === stable);
}

/** How a VirtualService model's stable version is reached, from its route entry and the DestinationRules. */
export function reachOf(analysis: ModelAnalysis, stable: string, router: VirtualService, rules: DestinationRule[]): Reach {
	if (analysis.traffic.kind !== 'virtualservice') return {kind: 'service'};
	const at = position(stableBackend(analysis, stable)?.pointer, /^\/spec\/http\/(\d+)\/route\/(\d+)$/);
	const entry = at ? router.spec?.http?.[at[0]]?.route?.[at[1]] : undefined;
	if (!entry?.destination?.subset) return {kind: 'service'};
	const host = entry.destination.host ?? '';
	const {namespace} = analysis.model;
	const service = resolveHost(host, namespace);
	const rule = rules.find((candidate) => {
		const ruleHost = resolveHost(candidate.spec?.host ?? '', namespace);
		return ruleHost?.name === service?.name && ruleHost?.namespace === service?.namespace;
	});
	if (!rule) throw new PlanError(`no DestinationRule in ${namespace} defines the subsets of ${host}: add one with a subset per version`);
	return {kind: 'subset', destinationRule: rule, host};
}

/** The DestinationRule write that adds the new version's subset (from the stable's labels, the version label changed). */
export function subsetWrite(
	reach: Extract<Reach, {kind: 'subset'}>,
	stable: string,
	spec: DeliverySpec,
	conventions: Conventions,
): RouterWrite {
	const rule = reach.destinationRule;
	const name = rule.metadata?.name ?? '';
	const subsets = rule.spec?.subsets ?? [];
	const base = {type: resourceTypes.destinationRules, name, object: `DestinationRule/${name}`, change: `subset ${spec.version} added`};
	if (subsets.some((subset) => subset.name === spec.version)) return {...base, patch: undefined};
	const stableSubset = subsets.find((subset) => subset.name === stable);
	if (stableSubset?.labels?.[conventions.versionLabel] === undefined) {
		throw new PlanError(
			`DestinationRule/${name}'s subset ${stable} does not select ${conventions.versionLabel}: give each version's subset that label`,
		);
	}

	return {
		...base,
		patch: [
			{op: 'test', path: '/metadata/resourceVersion', value: rule.metadata?.resourceVersion},
			{
				op: 'add',
				path: '/spec/subsets/-',
				value: {...stableSubset, name: spec.version, labels: {...stableSubset.labels, [conventions.versionLabel]: spec.version}},
			},
		],
	};
}

/** The router write that adds the new version at weight 0, after its stable's entry. */
export function backendWrite(
	analysis: ModelAnalysis,
	router: HttpRoute | VirtualService,
	stable: string,
	reach: Reach,
	newService: string,
	version: string,
): RouterWrite {
	const {traffic} = analysis;
	if (traffic.kind !== 'httproute' && traffic.kind !== 'virtualservice')
		throw new PlanError(`${analysis.model.name} has no router to add ${version} to`);
	const backend = stableBackend(analysis, stable);
	const type = traffic.kind === 'httproute' ? resourceTypes.httpRoutes : resourceTypes.virtualServices;
	const test: JsonPatchOperation = {op: 'test', path: '/metadata/resourceVersion', value: router.metadata?.resourceVersion};
	if (traffic.kind === 'httproute') {
		const at = position(backend?.pointer, /^\/spec\/rules\/(\d+)\/backendRefs\/(\d+)$/);
		if (!at) throw new PlanError(`${traffic.object} has no backend for the stable version ${stable}`);
		const refs = (router as HttpRoute).spec?.rules?.[at[0]]?.backendRefs ?? [];
		const change = `backend Service/${newService} added at 0%`;
		const there = refs.some((ref) => ref.name === newService);
		return {
			type,
			name: traffic.name,
			object: traffic.object,
			change,
			patch: there
				? undefined
				: [test, {op: 'add', path: `/spec/rules/${at[0]}/backendRefs/-`, value: {...refs[at[1]], name: newService, weight: 0}}],
		};
	}

	const at = position(backend?.pointer, /^\/spec\/http\/(\d+)\/route\/(\d+)$/);
	if (!at) throw new PlanError(`${traffic.object} has no destination for the stable version ${stable}`);
	const entries = (router as VirtualService).spec?.http?.[at[0]]?.route ?? [];
	const template = entries[at[1]] ?? {};
	const stableHost = template.destination?.host ?? '';
	// Its own Service: the stable's host with the Service's name changed (a short name or an FQDN alike).
	const destination =
		reach.kind === 'subset'
			? {...template.destination, host: reach.host, subset: version}
			: {...template.destination, host: [newService, ...stableHost.split('.').slice(1)].join('.')};
	const there = entries.some((entry) => entry.destination?.host === destination.host && entry.destination?.subset === destination.subset);
	return {
		type,
		name: traffic.name,
		object: traffic.object,
		change: `destination ${destination.host}${reach.kind === 'subset' ? `/${version}` : ''} added at 0%`,
		patch: there ? undefined : [test, {op: 'add', path: `/spec/http/${at[0]}/route/-`, value: {...template, destination, weight: 0}}],
	};
}
