/**
 * How a router's split becomes version weights: the backends of an HTTPRoute rule or a VirtualService http route, the
 * versions each reaches (through its Service's selector and, for Istio, a DestinationRule subset), and each version's
 * share of the total.
 */
import type {TrafficAction} from '../../../domain/plan.ts';
import type {Model, ModelOwner} from '../../../domain/types.ts';
import {weightsFromReplicas} from '../../../domain/weights.ts';
import {mapSelects} from '../labels.ts';
import type {HttpRoute, VirtualService} from '../objects.ts';
import {listOf, namespaceOf, resolveHost, type SnapshotIndex} from './snapshot.ts';
import type {VersionDraft} from './workloads.ts';
import type {RolloutControl} from './argo-rollouts.ts';

/** One entry of the split a router applies: an HTTPRoute backendRef or a VirtualService destination. */
export interface TrafficBackend {
	/** True when a warning already explains why this entry reaches no version. */
	explained?: boolean;
	/** JSON Pointer to the entry in the router object, e.g. `/spec/rules/0/backendRefs/1`. */
	pointer: string;
	/** The field that identifies the entry (tested before a write so an index still names the same backend). */
	identityField: string;
	identityValue: string;
	/** What the router names, for messages: a Service, or `host` / `host/subset`. */
	target: string;
	/** Weight as written in the object; undefined when the field is absent (the router applies a default). */
	writtenWeight: number | undefined;
	/** Weight the router applies. */
	effectiveWeight: number;
	/** Versions the entry reaches. */
	versions: string[];
}

export type TrafficControl =
	| {
			/** A router object whose entries carry weights: also an SMI TrafficSplit and a Seldon Experiment's candidates. */
			kind: 'httproute' | 'virtualservice' | 'trafficsplit' | 'seldon';
			/** `HTTPRoute/name`, `VirtualService/name`, `TrafficSplit/name` or `Experiment/name`. */
			object: string;
			name: string;
			resourceVersion?: string;
			backends: TrafficBackend[];
			/** False when the object has no annotations at all (a stable mark then writes the whole map). */
			annotated?: boolean;
	  }
	| {
			kind: 'kserve';
			name: string;
			resourceVersion?: string;
			canary?: string;
			stable?: string;
			canaryTrafficPercent?: number;
			/** RawDeployment (Standard) mode: one Deployment, no revisions, no canary. */
			raw?: boolean;
	  }
	| {
			/** Flagger sets the weights itself: every action is refused with Flagger's own way (discovery/flagger.ts). */
			kind: 'flagger';
			name: string;
			refusals: Record<TrafficAction['kind'], string>;
	  }
	| {kind: 'replicas'}
	/** Argo Rollouts: the controller owns the split; modeldeck acts only through the Rollout (see argo-rollouts.ts). */
	| {kind: 'argo-rollouts'; name: string; control: RolloutControl};

/** A model together with what actions need to change it. */
export interface ModelAnalysis {
	model: Model;
	traffic: TrafficControl;
	/** Version name -> Deployment name (empty for KServe). */
	deployments: Record<string, string>;
	/**
	 * Objects of this model that a controller owns, by `Kind/name` (`VirtualService/fraud`, `Deployment/fraud-primary`),
	 * found by the ownership pass (ownership.ts): modeldeck never patches them, it acts through the owner or refuses.
	 */
	owned?: Record<string, ModelOwner>;
}

export function httpRouteSplit(
	route: HttpRoute,
	drafts: VersionDraft[],
	index: SnapshotIndex,
	warnings: string[],
): {backends: TrafficBackend[]} {
	const label = `HTTPRoute/${route.metadata?.name}`;
	const namespace = namespaceOf(route);
	const rules = listOf(route.spec?.rules);
	const withBackends = rules.map((rule, position) => ({rule, position})).filter(({rule}) => listOf(rule.backendRefs).length > 0);
	const chosen = withBackends.find(({rule}) => listOf(rule.backendRefs).length > 1) ?? withBackends[0];
	if (!chosen) {
		warnings.push(`${label} has no backendRefs: no version receives traffic through it`);
		return {backends: []};
	}

	if (withBackends.length > 1) {
		warnings.push(`${label} has ${withBackends.length} rules with backends: modeldeck shows and changes rule ${chosen.position + 1} only`);
	}

	const backends: TrafficBackend[] = [];
	listOf(chosen.rule.backendRefs).forEach((reference, position) => {
		const pointer = `/spec/rules/${chosen.position}/backendRefs/${position}`;
		const name = reference.name ?? '';
		const writtenWeight = typeof reference.weight === 'number' ? reference.weight : undefined;
		const backend: TrafficBackend = {
			pointer,
			identityField: 'name',
			identityValue: name,
			target: name,
			writtenWeight,
			effectiveWeight: Math.max(0, writtenWeight ?? 1),
			versions: [],
		};
		backends.push(backend);
		const kind = reference.kind ?? 'Service';
		const group = reference.group ?? '';
		if (kind !== 'Service' || group !== '') {
			warnings.push(
				`${label} backend ${name} is a ${group ? `${group}/` : ''}${kind}, not a Service: its traffic is not attributed to a version`,
			);
			backend.explained = true;
			return;
		}

		const serviceNamespace = reference.namespace ?? namespace;
		const service = index.service(serviceNamespace, name);
		if (!service) {
			warnings.push(
				`${label} sends traffic to Service ${serviceNamespace === namespace ? '' : `${serviceNamespace}/`}${name}, which does not exist`,
			);
			backend.explained = true;
			return;
		}

		if (serviceNamespace !== namespace) {
			warnings.push(`${label} backend ${serviceNamespace}/${name} is in another namespace: its traffic is not attributed to a version`);
			backend.explained = true;
			return;
		}

		backend.versions = drafts
			.filter((draft) => mapSelects(service.spec?.selector, draft.templateLabels))
			.map((draft) => draft.version.name);
	});
	return {backends};
}

export function virtualServiceSplit(
	virtualService: VirtualService,
	drafts: VersionDraft[],
	index: SnapshotIndex,
	warnings: string[],
): {backends: TrafficBackend[]} {
	const label = `VirtualService/${virtualService.metadata?.name}`;
	const namespace = namespaceOf(virtualService);
	const routes = listOf(virtualService.spec?.http);
	const withDestinations = routes.map((route, position) => ({route, position})).filter(({route}) => listOf(route.route).length > 0);
	const chosen = withDestinations.find(({route}) => listOf(route.route).length > 1) ?? withDestinations[0];
	if (!chosen) {
		warnings.push(`${label} has no http routes with destinations: no version receives traffic through it`);
		return {backends: []};
	}

	if (withDestinations.length > 1) {
		warnings.push(
			`${label} has ${withDestinations.length} http routes with destinations: modeldeck shows and changes route ${chosen.position + 1} only`,
		);
	}

	const destinations = listOf(chosen.route.route);
	const backends: TrafficBackend[] = [];
	destinations.forEach((entry, position) => {
		const host = entry.destination?.host ?? '';
		const subset = entry.destination?.subset;
		const writtenWeight = typeof entry.weight === 'number' ? entry.weight : undefined;
		// Istio: a lone destination gets all traffic; among several, a missing weight is 0.
		const effectiveWeight = Math.max(0, writtenWeight ?? (destinations.length === 1 ? 100 : 0));
		const backend: TrafficBackend = {
			pointer: `/spec/http/${chosen.position}/route/${position}`,
			identityField: 'destination/host',
			identityValue: host,
			target: subset ? `${host}/${subset}` : host,
			writtenWeight,
			effectiveWeight,
			versions: [],
		};
		backends.push(backend);
		const resolved = resolveHost(host, namespace);
		const service = resolved ? index.service(resolved.namespace, resolved.name) : undefined;
		if (!resolved || !service) {
			warnings.push(`${label} sends traffic to host ${host}, which is not a Service in ${resolved?.namespace ?? namespace}`);
			backend.explained = true;
			return;
		}

		if (resolved.namespace !== namespace) {
			warnings.push(`${label} destination ${host} is in another namespace: its traffic is not attributed to a version`);
			backend.explained = true;
			return;
		}

		let subsetLabels: Record<string, string> = {};
		if (subset) {
			const found = index.subset(namespace, resolved.name, subset);
			if (!found) {
				warnings.push(`${label} routes to subset ${subset} of ${host}, but no DestinationRule in ${namespace} defines it`);
				backend.explained = true;
				return;
			}

			subsetLabels = found;
		}

		const selector = {...service.spec?.selector, ...subsetLabels};
		backend.versions = drafts.filter((draft) => mapSelects(selector, draft.templateLabels)).map((draft) => draft.version.name);
	});
	return {backends};
}

/** Give each version its share of the router's total weight, and say what does not add up. */
export function applySplit(backends: TrafficBackend[], drafts: VersionDraft[], label: string, warnings: string[]): void {
	for (const draft of drafts) draft.version.weight = 0;
	if (backends.length === 0) return;
	const total = backends.reduce((sum, backend) => sum + backend.effectiveWeight, 0);
	if (total === 0) {
		warnings.push(`${label} sends no traffic: every backend weight is 0`);
		return;
	}

	const anyWritten = backends.some((backend) => backend.writtenWeight !== undefined);
	if (anyWritten && backends.length > 1 && total !== 100) {
		warnings.push(`${label} weights add up to ${total}, not 100: shown as shares of the total`);
	}

	const percents = weightsFromReplicas(backends.map((backend) => backend.effectiveWeight));
	backends.forEach((backend, position) => {
		const percent = percents[position] ?? 0;
		const reached = drafts.filter((draft) => backend.versions.includes(draft.version.name));
		if (reached.length === 0) {
			if (percent > 0 && !backend.explained) {
				warnings.push(`${label} sends ${percent}% to ${backend.target}, which selects no version of this model`);
			}

			return;
		}

		if (reached.length === 1) {
			reached[0]!.version.weight += percent;
			return;
		}

		warnings.push(
			`${backend.target} in ${label} selects several versions (${reached.map((draft) => draft.version.name).join(', ')}): its ${percent}% is split by ready pods`,
		);
		const shares = weightsFromReplicas(reached.map((draft) => draft.version.replicasReady));
		reached.forEach((draft, reachedPosition) => {
			draft.version.weight += Math.round(((shares[reachedPosition] ?? 0) * percent) / 100);
		});
	});
}
