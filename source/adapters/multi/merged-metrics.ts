/**
 * Figures for several clusters shown at once: one MetricsPort per context (its Prometheus from the flag or the
 * settings, else the one found in that cluster), each asked only about its own context's versions, without the cluster tag, and its answers keyed back
 * under the tagged versions. A context without a Prometheus has no figures. One Prometheus failing does not take the
 * others' figures away: the merged answer fails only when every Prometheus asked failed, and `problems()` names the
 * contexts whose Prometheus failed.
 */
import {type MetricsPort, type MetricTarget, SourceAbsentError, type SourceError, type TimeRange} from '../../domain/ports.ts';
import {versionKey, type MetricName, type VersionKey} from '../../domain/types.ts';
import {untagged} from './merged-cluster.ts';

export interface MetricsMember {
	context: string;
	port: MetricsPort;
}

/** Targets grouped by the member of their context; targets of a context without a member are left out. */
export function routeTargets(
	members: readonly MetricsMember[],
	targets: readonly MetricTarget[],
): Array<{member: MetricsMember; targets: MetricTarget[]}> {
	const groups = new Map<string, {member: MetricsMember; targets: MetricTarget[]}>();
	for (const target of targets) {
		const member = members.find((candidate) => candidate.context === target.cluster);
		if (!member) continue;
		let group = groups.get(member.context);
		if (!group) {
			group = {member, targets: []};
			groups.set(member.context, group);
		}

		group.targets.push(target);
	}

	return [...groups.values()];
}

export class MergedMetricsPort implements MetricsPort {
	readonly #members: MetricsMember[];
	/** Each context's Prometheus that failed in its last answer, and why. */
	readonly #problems = new Map<string, string>();

	constructor(members: MetricsMember[]) {
		this.#members = members;
	}

	get label(): string {
		return this.#members.map((member) => `${member.context}: ${member.port.label}`).join(', ');
	}

	sample(targets: MetricTarget[], windowSeconds: number) {
		return this.#ask(targets, (port, own) => port.sample(own, windowSeconds));
	}

	history(targets: MetricTarget[], range: TimeRange) {
		return this.#ask(targets, (port, own) => port.history(own, range));
	}

	problems(): SourceError[] {
		return [...this.#problems].map(([cluster, message]) => ({source: 'metrics', cluster, message}));
	}

	explain(target: MetricTarget, metric: MetricName): string {
		const member = this.#members.find((candidate) => candidate.context === target.cluster);
		if (!member)
			return `no Prometheus for context ${target.cluster ?? '(none)'}: set contexts.${target.cluster ?? 'NAME'}.prometheusUrl in settings`;
		return member.port.explain(untagged(target), metric);
	}

	async #ask<T>(
		targets: MetricTarget[],
		ask: (port: MetricsPort, targets: MetricTarget[]) => Promise<Map<VersionKey, T>>,
	): Promise<Map<VersionKey, T>> {
		const groups = routeTargets(this.#members, targets);
		const answers = await Promise.allSettled(
			groups.map(async ({member, targets: own}) => {
				const answer = await ask(
					member.port,
					own.map((target) => untagged(target)),
				);
				const keyed = new Map<VersionKey, T>();
				for (const target of own) {
					const value = answer.get(versionKey(untagged(target)));
					if (value !== undefined) keyed.set(versionKey(target), value);
				}

				return keyed;
			}),
		);
		const merged = new Map<VersionKey, T>();
		const failures: string[] = [];
		const absent: string[] = [];
		answers.forEach((answer, index) => {
			const {context} = groups[index]!.member;
			if (answer.status === 'fulfilled') {
				for (const [key, value] of answer.value) merged.set(key, value);
				this.#problems.delete(context);
			} else if (answer.reason instanceof SourceAbsentError) {
				// None configured and none found in that cluster: its rows have no figures, which is not a failure.
				this.#problems.delete(context);
				absent.push(`${context}: ${answer.reason.message}`);
			} else {
				const message = answer.reason instanceof Error ? answer.reason.message : String(answer.reason);
				this.#problems.set(context, message);
				failures.push(`${context}: ${message}`);
			}
		});
		if (groups.length > 0 && absent.length === groups.length) throw new SourceAbsentError(absent.join('; '));
		if (groups.length > 0 && failures.length + absent.length === groups.length && failures.length > 0) throw new Error(failures.join('; '));
		return merged;
	}
}
