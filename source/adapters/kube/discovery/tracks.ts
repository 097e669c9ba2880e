/**
 * Which version is stable (a fact about the model, never a consequence of today's weights), which versions are
 * retired, and the modeldeck annotations a model carries.
 */
import type {Version} from '../../../domain/types.ts';
import type {Deployment} from '../objects.ts';

/** The annotation naming a model's stable version: on its router, or on a Deployment naming its own version. */
export const stableAnnotation = 'modeldeck.dev/stable';

/** The version a Deployment declares stable of itself (the newest such, when several do). */
export function selfDeclaredStable(entries: Array<{version: Version; deployment: Deployment}>): string | undefined {
	return entries
		.filter((entry) => entry.deployment.metadata?.annotations?.[stableAnnotation] === entry.version.name)
		.map((entry) => entry.version)
		.sort((a, b) => b.created.localeCompare(a.created))[0]?.name;
}

/**
 * Stable = the declared version when there is one; else the oldest version with traffic or replicas (the one that was
 * stable before the canary started); else the oldest. Every other version is a canary. Stable first, then by age.
 */
export function assignTracks(versions: Version[], declared: string | undefined): Version[] {
	if (versions.length === 0) return versions;
	const byAge = [...versions].sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
	const stable =
		versions.find((version) => version.name === declared) ??
		byAge.find((version) => version.weight > 0 || version.replicasDesired > 0) ??
		byAge[0]!;
	for (const version of versions) version.track = version === stable ? 'stable' : 'canary';
	return [stable, ...byAge.filter((version) => version !== stable)];
}

/**
 * A version no newer than stable with no traffic and no replicas is what a promote leaves behind (the old stable, scaled
 * to zero): listed as a canary it would be the target of `+`, `p` and `r`, and traffic shifted to it would find no
 * pods. It is left out of the versions, and a warning says it is there.
 */
export function withoutRetired(versions: Version[], warnings: string[]): Version[] {
	const stable = versions[0];
	if (!stable) return versions;
	const retired = versions.filter(
		(version) => version !== stable && version.weight === 0 && version.replicasDesired === 0 && version.created <= stable.created,
	);
	for (const version of retired) {
		warnings.push(
			`${version.name} is retired (no traffic, scaled to zero; ${version.object ?? 'its workload'} is kept for you to delete) and not listed`,
		);
	}

	return retired.length === 0 ? versions : versions.filter((version) => !retired.includes(version));
}

/** The `modeldeck.dev/` annotations of some objects, later ones winning; undefined when there are none. */
export function modeldeckAnnotations(sources: ReadonlyArray<Record<string, string> | undefined>): Record<string, string> | undefined {
	const found: Record<string, string> = {};
	for (const source of sources) {
		for (const [key, value] of Object.entries(source ?? {})) {
			if (key.startsWith('modeldeck.dev/')) found[key] = value;
		}
	}

	return Object.keys(found).length > 0 ? found : undefined;
}
