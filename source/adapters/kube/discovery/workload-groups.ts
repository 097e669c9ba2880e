/**
 * Step: Deployments that no earlier step claimed, grouped by their name label (`app.kubernetes.io/name`, else `app`)
 * in a namespace: two or more of them with different version labels (`app.kubernetes.io/version`, else `version`)
 * are one model, its weights the ratio of ready replicas. A lone Deployment is an application, not a canary: left out,
 * as is one a controller owns (controllerOwned).
 */
import type {Conventions} from '../conventions.ts';
import type {Deployment} from '../objects.ts';
import {addUnlessNameTaken, type Claims} from './claims.ts';
import {analyseDeploymentModel} from './deployments.ts';
import {guarded} from './guarded.ts';
import {type ClusterSnapshot, namespaceOf, type SnapshotIndex, sortByName} from './snapshot.ts';
import type {ModelAnalysis} from './traffic.ts';
import {controllerOwned, nameLabels, versionLabels, versionNames, workloadLabel} from './unlabelled.ts';

export function discoverWorkloadGroups(
	snapshot: ClusterSnapshot,
	index: SnapshotIndex,
	claims: Claims,
	analyses: ModelAnalysis[],
	conventions: Conventions,
): void {
	const groups = new Map<string, {namespace: string; name: string; keys: Set<string>; deployments: Deployment[]}>();
	for (const deployment of sortByName(snapshot.deployments ?? [])) {
		if (claims.hasObject('Deployment', deployment) || controllerOwned(deployment)) continue;
		const name = workloadLabel(deployment, nameLabels);
		const version = workloadLabel(deployment, versionLabels);
		if (!name || !version) continue;
		const namespace = namespaceOf(deployment);
		const key = `${namespace}/${name.value}`;
		const group = groups.get(key) ?? {namespace, name: name.value, keys: new Set<string>(), deployments: []};
		group.keys.add(`${name.key} + ${version.key}`);
		group.deployments.push(deployment);
		groups.set(key, group);
	}

	for (const group of groups.values()) {
		const versions = new Set(group.deployments.map((deployment) => workloadLabel(deployment, versionLabels)?.value));
		if (versions.size < 2) continue;
		for (const deployment of group.deployments) claims.claimObject('Deployment', deployment);
		const discoveredBy = `${[...group.keys].sort().join(', ')} labels`;
		const deploymentGroup = {
			namespace: group.namespace,
			name: group.name,
			deployments: group.deployments,
			warnings: [],
			versionOf: versionNames(group.deployments),
			discoveredBy,
		};
		addUnlessNameTaken(
			analyses,
			guarded(group.namespace, group.name, () => analyseDeploymentModel(deploymentGroup, [], index, conventions)),
			`Deployments labelled ${discoveredBy.replace(/ labels$/, '')} ${group.name}`,
		);
	}
}
