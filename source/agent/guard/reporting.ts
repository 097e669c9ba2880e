/**
 * What the guard's verdicts and rollbacks become outside it: audit entries, metrics, stream events for consoles, log
 * lines and alerts to a webhook.
 */
import type {Auditor} from '../audit.ts';
import {modelObject} from '../kube-objects.ts';
import type {AgentMetrics} from '../metrics.ts';
import type {AgentCoreOptions} from '../options.ts';
import type {StreamHub} from '../stream/hub.ts';
import {alertFormatFor, postAlert} from './alerts.ts';
import {guardUser} from './guard.ts';
import type {GuardReport} from './guard.ts';
import type {GuardAuditRecord} from './rollback.ts';

export interface GuardReporterParts {
	options: Pick<AgentCoreOptions, 'alertWebhook' | 'alertFormat' | 'fetch'>;
	metrics: AgentMetrics;
	auditor: Auditor;
	hub: StreamHub;
	log: (line: string) => void;
	now: () => number;
}

export class GuardReporter {
	readonly #parts: GuardReporterParts;

	constructor(parts: GuardReporterParts) {
		this.#parts = parts;
	}

	async audit(record: GuardAuditRecord): Promise<void> {
		if (record.seconds !== undefined)
			this.#parts.metrics.actionDuration.observe({kind: 'rollback', result: record.entry.result}, record.seconds);
		await this.#parts.auditor.record(
			{time: this.#parts.now(), user: guardUser, ...record.entry},
			record.model.namespace,
			modelObject(record.model),
			record.reason,
		);
	}

	report(report: GuardReport): void {
		const {verdict, action} = report;
		this.#parts.metrics.guardEvaluations.inc({result: verdict.result});
		const acted = action.kind !== 'none';
		const rolledBack = action.kind === 'rollback' && report.error === undefined;
		if (acted) {
			this.#parts.metrics.guardRollbacks.inc({
				namespace: report.model.namespace,
				model: report.model.name,
				dry_run: String(action.kind === 'would-rollback'),
			});
		}

		// Consoles hear about every verdict that is not a plain pass, and about the return to pass.
		if (!acted && verdict.result === 'pass' && (report.previousResult === undefined || report.previousResult === 'pass')) return;
		const count = `${report.state.consecutiveFailures}/${report.settings.consecutiveFailures}`;
		const message =
			action.kind === 'rollback'
				? report.error
					? `guard failed to roll back ${report.canary}: ${report.error}`
					: `guard rolled back ${report.canary}: ${action.reason}`
				: action.kind === 'would-rollback'
					? `DRY RUN: guard would roll back ${report.canary}: ${action.reason}`
					: `${report.canary} vs ${report.stable}: ${verdict.summary}${verdict.result === 'fail' ? ` (${count} failures)` : ''}`;
		this.#parts.hub.publish({type: 'guard', model: report.model, verdict: verdict.result, message, rolledBack}, report.model.namespace);
		this.#parts.log(`guard: ${report.model.namespace}/${report.model.name}: ${message}`);
		if (acted && this.#parts.options.alertWebhook) {
			const url = this.#parts.options.alertWebhook;
			void postAlert(
				url,
				{
					model: report.model,
					canary: report.canary,
					stable: report.stable,
					rolledBack,
					dryRun: action.kind === 'would-rollback',
					reason: action.kind === 'rollback' && report.error ? `${action.reason}; the rollback failed: ${report.error}` : action.reason,
					time: this.#parts.now(),
				},
				alertFormatFor(url, this.#parts.options.alertFormat),
				this.#parts.options.fetch,
			).then((problem) => {
				if (problem) this.#parts.log(`guard: ${problem}`);
			});
		}
	}
}
