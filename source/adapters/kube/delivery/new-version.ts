/**
 * The objects of a delivery's new version, pure: its Deployment from the stable one's template (the new image and
 * version label, nothing else changed) and its Service (the stable version's, selecting the new version's pods). Names
 * are the stable's with its version swapped (`fraud-v12` → `fraud-v13`), else the stable's name and the new version.
 */
import type {DeliverySpec} from '../../../domain/delivery.ts';
import type {Conventions} from '../conventions.ts';
import type {Deployment, Service} from '../objects.ts';
import {mainContainer} from '../discovery/workloads.ts';
import {PlanError} from '../plans.ts';

/** Marks objects a delivery created, with the delivery's id (for people, and for inspection after a rollback). */
export const createdByDeliveryAnnotation = 'modeldeck.dev/created-by-delivery';

/** `fraud-v12` with stable v12 and new v13 → `fraud-v13`; `fraud` → `fraud-v13`. At most 63 characters. */
export function derivedName(stableName: string, stableVersion: string, version: string): string {
	const at = stableName.lastIndexOf(stableVersion);
	const name =
		stableVersion !== '' && at > 0 && at + stableVersion.length === stableName.length
			? `${stableName.slice(0, at)}${version}`
			: `${stableName}-${version}`;
	return name.slice(0, 63).replace(/[-.]+$/, '');
}

function clone<T>(value: T): T {
	return structuredClone(value);
}

/** The new version's Deployment. Throws a PlanError when the stable one's selector would select the new pods too. */
export function newDeployment(
	stable: Deployment,
	stableVersion: string,
	spec: DeliverySpec,
	conventions: Conventions,
	id: string,
): Deployment {
	const stableName = stable.metadata?.name ?? '';
	const label = conventions.versionLabel;
	const matchLabels = stable.spec?.selector?.matchLabels ?? {};
	if (matchLabels[label] === undefined) {
		throw new PlanError(
			`Deployment/${stableName}'s selector has no ${label}: a new version's pods would be selected by it too; give each version's Deployment a selector on ${label} (or roll the new image out with kubectl set image)`,
		);
	}

	const template = clone(stable.spec?.template ?? {});
	const containers = template.spec?.containers ?? [];
	if (containers.length === 0) throw new PlanError(`Deployment/${stableName} has no containers to take the new image`);
	// The container whose image is the version's, as discovery picks it (the default-container annotation, else the first).
	const target = mainContainer(containers, template.metadata?.annotations) ?? containers[0]!;
	target.image = spec.image;
	const name = derivedName(stableName, stableVersion, spec.version);
	// Labels naming the stable Deployment (a per-Deployment selector label) name the new one.
	const renamed = (labels: Record<string, string> | undefined) =>
		Object.fromEntries(Object.entries(labels ?? {}).map(([key, value]) => [key, value === stableName ? name : value]));
	const selector = {...renamed(matchLabels), [label]: spec.version};
	// The pods carry every label the selector asks for, whatever the stable template had.
	template.metadata = {...template.metadata, labels: {...renamed(template.metadata?.labels), ...selector}};
	const labels = {...renamed(stable.metadata?.labels), [label]: spec.version};
	return {
		apiVersion: 'apps/v1',
		kind: 'Deployment',
		metadata: {
			name,
			namespace: spec.model.namespace,
			labels,
			annotations: {[createdByDeliveryAnnotation]: id},
		},
		spec: {
			replicas: Math.max(1, stable.spec?.replicas ?? 1),
			selector: {...stable.spec?.selector, matchLabels: selector},
			template,
		},
	};
}

/** The new version's Service: the stable's ports, selecting the new version. */
export function newService(stable: Service, stableVersion: string, spec: DeliverySpec, conventions: Conventions, id: string): Service {
	const stableName = stable.metadata?.name ?? '';
	const selector = stable.spec?.selector ?? {};
	if (selector[conventions.versionLabel] === undefined) {
		throw new PlanError(
			`Service/${stableName} selects no ${conventions.versionLabel}: it would send traffic to both versions; give each version a Service selecting its ${conventions.versionLabel}`,
		);
	}

	const ports = (stable.spec?.ports ?? []).map((port) => {
		const copied = clone(port) as Record<string, unknown>;
		delete copied.nodePort;
		return copied;
	});
	return {
		apiVersion: 'v1',
		kind: 'Service',
		metadata: {
			name: derivedName(stableName, stableVersion, spec.version),
			namespace: spec.model.namespace,
			labels: {...stable.metadata?.labels, [conventions.versionLabel]: spec.version},
			annotations: {[createdByDeliveryAnnotation]: id},
		},
		spec: {selector: {...selector, [conventions.versionLabel]: spec.version}, ports} as Service['spec'],
	};
}
