/**
 * A version from its workload: replicas, restarts, image, resources, autoscaler and the pod problems worth showing.
 */
import type {Resources, Version} from '../../../domain/types.ts';
import type {Container, Deployment, Pod} from '../objects.ts';
import {parseQuantity} from '../quantity.ts';
import {listOf, namespaceOf, sortByName, type SnapshotIndex} from './snapshot.ts';

/** A version being built, with the Deployment behind it and the labels its pods carry. */
export interface VersionDraft {
	version: Version;
	deployment: Deployment;
	templateLabels: Record<string, string>;
}

const podProblemReasons = new Set([
	'CrashLoopBackOff',
	'OOMKilled',
	'ImagePullBackOff',
	'ErrImagePull',
	'InvalidImageName',
	'CreateContainerConfigError',
	'CreateContainerError',
	'RunContainerError',
	'Evicted',
]);

export function versionFromDeployment(deployment: Deployment, versionName: string, index: SnapshotIndex): Version {
	const name = deployment.metadata?.name ?? '';
	const template = deployment.spec?.template;
	const containers = listOf(template?.spec?.containers);
	const main = mainContainer(containers, template?.metadata?.annotations);
	const pods = index.podsOfDeployment(deployment);
	const version: Version = {
		name: versionName,
		track: 'stable',
		weight: 0,
		replicasReady: deployment.status?.readyReplicas ?? 0,
		replicasDesired: deployment.spec?.replicas ?? 1,
		restarts: countRestarts(pods),
		image: main?.image ?? '',
		created: deployment.metadata?.creationTimestamp ?? '',
		object: `Deployment/${name}`,
	};
	const resources = resourcesOf(containers);
	if (resources) version.resources = resources;
	const autoscaler = index.autoscalerFor(namespaceOf(deployment), name);
	if (autoscaler) version.autoscaler = autoscaler;
	const problems = podProblems(pods);
	if (problems.length > 0) version.problems = problems;
	return version;
}

export function mainContainer(containers: Container[], annotations: Record<string, string> | undefined): Container | undefined {
	const preferred = annotations?.['kubectl.kubernetes.io/default-container'];
	return (
		containers.find((container) => preferred !== undefined && container.name === preferred) ??
		containers.find((container) => container.name === 'kserve-container') ??
		containers[0]
	);
}

/** Requests and limits of one pod: the sum over its containers. */
export function resourcesOf(containers: Container[]): Resources | undefined {
	const resources: Resources = {};
	const add = (key: keyof Resources, value: string | number | undefined) => {
		const parsed = parseQuantity(value);
		if (parsed === undefined) return;
		resources[key] = (resources[key] ?? 0) + parsed;
	};

	for (const container of containers) {
		add('cpuRequestCores', container.resources?.requests?.cpu);
		add('cpuLimitCores', container.resources?.limits?.cpu);
		add('memoryRequestBytes', container.resources?.requests?.memory);
		add('memoryLimitBytes', container.resources?.limits?.memory);
	}

	return Object.keys(resources).length > 0 ? resources : undefined;
}

export function countRestarts(pods: Pod[]): number {
	let restarts = 0;
	for (const pod of pods) {
		for (const status of listOf(pod.status?.containerStatuses)) restarts += status.restartCount ?? 0;
	}

	return restarts;
}

export function podReady(pod: Pod): boolean {
	return listOf(pod.status?.conditions).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/**
 * `fraud-v13-7d9 CrashLoopBackOff, OOMKilled` per pod (current and last state), or
 * `fraud-v13-7d9 and 2 more: CrashLoopBackOff` when several pods share the same reasons.
 */
export function podProblems(pods: Pod[]): string[] {
	const podsByReasons = new Map<string, string[]>();
	for (const pod of sortByName(pods)) {
		const reasons: string[] = [];
		const note = (reason: string | undefined) => {
			if (reason && podProblemReasons.has(reason) && !reasons.includes(reason)) reasons.push(reason);
		};

		note(pod.status?.reason);
		for (const status of [...listOf(pod.status?.initContainerStatuses), ...listOf(pod.status?.containerStatuses)]) {
			note(status.state?.waiting?.reason);
			note(status.state?.terminated?.reason);
			note(status.lastState?.terminated?.reason);
		}

		if (reasons.length === 0) continue;
		const key = reasons.join(', ');
		podsByReasons.set(key, [...(podsByReasons.get(key) ?? []), pod.metadata?.name ?? '?']);
	}

	return [...podsByReasons].map(([reasons, names]) =>
		names.length === 1 ? `${names[0]} ${reasons}` : `${names[0]} and ${names.length - 1} more: ${reasons}`,
	);
}
