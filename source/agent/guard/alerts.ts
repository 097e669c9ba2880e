/**
 * Alert payloads for the guard's webhook: Alertmanager's API (`POST /api/v2/alerts`, a list of alerts with labels,
 * annotations and startsAt) or a Slack incoming webhook (`{text}`), chosen by the URL or `--alert-format`.
 */
import type {ModelRef} from '../../domain/types.ts';

export type AlertFormat = 'alertmanager' | 'slack';

export interface GuardAlert {
	model: ModelRef;
	canary: string;
	stable?: string;
	/** True when the guard rolled back; false in dry-run (it would have) or when rolling back failed. */
	rolledBack: boolean;
	/** True in dry-run. When false and not rolled back, the rollback failed. Default: !rolledBack. */
	dryRun?: boolean;
	reason: string;
	/** Epoch ms. */
	time: number;
	/** Where a person can look, e.g. the agent's URL. */
	generatorUrl?: string;
}

export function alertFormatFor(url: string, explicit?: AlertFormat): AlertFormat {
	if (explicit) return explicit;
	try {
		return new URL(url).hostname === 'hooks.slack.com' ? 'slack' : 'alertmanager';
	} catch {
		return 'alertmanager';
	}
}

function dryRun(alert: GuardAlert): boolean {
	return alert.dryRun ?? !alert.rolledBack;
}

export function alertmanagerPayload(alert: GuardAlert): unknown[] {
	const what = alert.rolledBack ? 'rolled back' : dryRun(alert) ? 'would roll back (dry run)' : 'FAILED to roll back';
	return [
		{
			labels: {
				alertname: 'ModeldeckCanaryRolledBack',
				severity: dryRun(alert) ? 'warning' : 'critical',
				namespace: alert.model.namespace,
				model: alert.model.name,
				canary: alert.canary,
				source: 'modeldeck-agent',
				dry_run: String(dryRun(alert)),
			},
			annotations: {
				summary: `modeldeck guard ${what} canary ${alert.canary} of ${alert.model.namespace}/${alert.model.name}`,
				description: alert.reason,
			},
			startsAt: new Date(alert.time).toISOString(),
			...(alert.generatorUrl ? {generatorURL: alert.generatorUrl} : {}),
		},
	];
}

export function slackPayload(alert: GuardAlert): {text: string} {
	const what = alert.rolledBack
		? ':rotating_light: rolled back'
		: dryRun(alert)
			? ':warning: would roll back (dry run)'
			: ':rotating_light: FAILED to roll back';
	return {text: `modeldeck guard ${what} canary *${alert.canary}* of *${alert.model.namespace}/${alert.model.name}*: ${alert.reason}`};
}

export function alertPayload(alert: GuardAlert, format: AlertFormat): unknown {
	return format === 'slack' ? slackPayload(alert) : alertmanagerPayload(alert);
}

/** Posts an alert; resolves with an error message instead of throwing (alerts are best effort, and logged). */
export async function postAlert(
	url: string,
	alert: GuardAlert,
	format: AlertFormat,
	fetchImpl: typeof fetch = fetch,
): Promise<string | undefined> {
	try {
		const response = await fetchImpl(url, {
			method: 'POST',
			headers: {'content-type': 'application/json'},
			body: JSON.stringify(alertPayload(alert, format)),
			signal: AbortSignal.timeout(10_000),
		});
		await response.arrayBuffer();
		return response.ok ? undefined : `the alert webhook answered HTTP ${response.status}`;
	} catch (error) {
		return `the alert webhook could not be reached: ${(error as Error).message}`;
	}
}
