/**
 * Step: routers without modeldeck's annotation. An HTTPRoute, Istio VirtualService (with its DestinationRule subsets)
 * or SMI TrafficSplit whose backends reach two or more Deployments no earlier step claimed is a model: named after the
 * router (or its `modeldeck.dev/model` annotation), its versions the Deployments reached, its weights the router's.
 */
import type {Conventions} from '../conventions.ts';
import {mapSelects} from '../labels.ts';
import type {Deployment, HttpRoute, VirtualService} from '../objects.ts';
import type {TrafficSplit} from '../objects/smi.ts';
import {addUnlessNameTaken, type Claims} from './claims.ts';
import {analyseDeploymentModel, type DeploymentRouter} from './deployments.ts';
import {guarded} from './guarded.ts';
import {type ClusterSnapshot, listOf, namespaceOf, resolveHost, type SnapshotIndex, sortByName} from './snapshot.ts';
import type {ModelAnalysis} from './traffic.ts';
import {controllerOwned, versionNames} from './unlabelled.ts';

/** The pod selectors a router's backends send traffic to (Service selector, plus an Istio subset's labels). */
export function routerSelectors(router: DeploymentRouter, index: SnapshotIndex): Array<Record<string, string>> {
	const namespace = namespaceOf(router);
	const selectors: Array<Record<string, string>> = [];
	const serviceSelector = (name: string) => index.service(namespace, name)?.spec?.selector;
	if (router.kind === 'HTTPRoute') {
		for (const rule of listOf((router as HttpRoute).spec?.rules)) {
			for (const reference of listOf(rule?.backendRefs)) {
				if ((reference?.kind ?? 'Service') !== 'Service' || (reference?.group ?? '') !== '') continue;
				if ((reference?.namespace ?? namespace) !== namespace) continue;
				const selector = serviceSelector(reference?.name ?? '');
				if (selector) selectors.push(selector);
			}
		}
	} else if (router.kind === 'VirtualService') {
		for (const route of listOf((router as VirtualService).spec?.http)) {
			for (const entry of listOf(route?.route)) {
				const resolved = resolveHost(entry?.destination?.host ?? '', namespace);
				if (!resolved || resolved.namespace !== namespace) continue;
				const selector = serviceSelector(resolved.name);
				if (!selector) continue;
				const subset = entry?.destination?.subset;
				const subsetLabels = subset ? index.subset(namespace, resolved.name, subset) : {};
				if (subsetLabels) selectors.push({...selector, ...subsetLabels});
			}
		}
	} else if (router.kind === 'TrafficSplit') {
		for (const backend of listOf((router as TrafficSplit).spec?.backends)) {
			const selector = serviceSelector(typeof backend?.service === 'string' ? backend.service : '');
			if (selector) selectors.push(selector);
		}
	}

	return selectors;
}

/** The Deployments of the router's namespace that no earlier step claimed and whose pods its backends select. */
export function deploymentsReached(
	router: DeploymentRouter,
	snapshot: ClusterSnapshot,
	index: SnapshotIndex,
	claims: Claims,
	inNamespace?: Deployment[],
): Deployment[] {
	const namespace = namespaceOf(router);
	const selectors = routerSelectors(router, index);
	const candidates = inNamespace ?? sortByName((snapshot.deployments ?? []).filter((deployment) => namespaceOf(deployment) === namespace));
	return candidates.filter(
		(deployment) =>
			!claims.hasObject('Deployment', deployment) &&
			!controllerOwned(deployment) &&
			selectors.some((selector) => mapSelects(selector, deployment.spec?.template?.metadata?.labels)),
	);
}

export function discoverRouterModels(
	snapshot: ClusterSnapshot,
	index: SnapshotIndex,
	claims: Claims,
	analyses: ModelAnalysis[],
	conventions: Conventions,
): void {
	const byNamespace = new Map<string, Deployment[]>();
	for (const deployment of sortByName(snapshot.deployments ?? [])) {
		const namespace = namespaceOf(deployment);
		byNamespace.set(namespace, [...(byNamespace.get(namespace) ?? []), deployment]);
	}

	const routers: DeploymentRouter[] = [
		...sortByName(snapshot.httpRoutes ?? []).map((route) => ({...route, kind: 'HTTPRoute'})),
		...sortByName(snapshot.virtualServices ?? []).map((service) => ({...service, kind: 'VirtualService'})),
		...sortByName(snapshot.trafficSplits ?? []).map((split) => ({...split, kind: 'TrafficSplit'})),
	];
	for (const router of routers) {
		const kind = router.kind ?? '';
		if (claims.hasObject(kind, router)) continue;
		const namespace = namespaceOf(router);
		const reached = deploymentsReached(router, snapshot, index, claims, byNamespace.get(namespace) ?? []);
		if (reached.length < 2) continue;
		const routerName = router.metadata?.name ?? '';
		const name = router.metadata?.annotations?.[conventions.routerAnnotation] || routerName;
		claims.claimObject(kind, router);
		for (const deployment of reached) claims.claimObject('Deployment', deployment);
		const group = {
			namespace,
			name,
			deployments: reached,
			warnings: [],
			versionOf: versionNames(reached),
			discoveredBy: `${kind}/${routerName} backends`,
		};
		addUnlessNameTaken(
			analyses,
			guarded(namespace, name, () => analyseDeploymentModel(group, [router], index, conventions)),
			`${kind}/${routerName}`,
		);
	}
}
