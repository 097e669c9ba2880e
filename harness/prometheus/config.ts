// What a Prometheus of the harness starts from: its prometheus.yml, and TSDB blocks made from an OpenMetrics file.

import {execFile} from 'node:child_process';
import {promisify} from 'node:util';
import {promtoolBinary} from './binaries.ts';

const execFileAsync = promisify(execFile);

export interface ScrapeTarget {
	/** Job name. */
	job: string;
	/** `host:port` addresses, e.g. `['127.0.0.1:8080']`. */
	targets: string[];
	/** Static labels added to every series of these targets, e.g. `{namespace: 'ml'}`. */
	labels?: Record<string, string>;
	/** Default `/metrics`. */
	metricsPath?: string;
}

/**
 * The prometheus.yml for these targets. YAML is written by hand: every value is quoted JSON, which is valid YAML.
 */
export function prometheusConfig(scrapeTargets: ScrapeTarget[], scrapeIntervalSeconds: number): string {
	const lines = [
		'global:',
		`  scrape_interval: ${Math.round(scrapeIntervalSeconds * 1000)}ms`,
		`  evaluation_interval: ${Math.round(scrapeIntervalSeconds * 1000)}ms`,
		// Prometheus durations take whole units, so milliseconds.
		`  scrape_timeout: ${Math.round(Math.max(0.5, Math.min(10, scrapeIntervalSeconds * 0.8)) * 1000)}ms`,
		'scrape_configs:',
	];
	if (scrapeTargets.length === 0) lines[lines.length - 1] = 'scrape_configs: []';
	for (const target of scrapeTargets) {
		lines.push(`  - job_name: ${JSON.stringify(target.job)}`);
		lines.push(`    metrics_path: ${JSON.stringify(target.metricsPath ?? '/metrics')}`);
		lines.push('    static_configs:');
		lines.push(`      - targets: ${JSON.stringify(target.targets)}`);
		if (target.labels && Object.keys(target.labels).length > 0) {
			lines.push('        labels:');
			for (const [name, value] of Object.entries(target.labels)) {
				lines.push(`          ${name}: ${JSON.stringify(value)}`);
			}
		}
	}
	return `${lines.join('\n')}\n`;
}

/** Turns an OpenMetrics file into TSDB blocks in `dataDir`. */
export async function createBlocks(openMetricsFile: string, dataDir: string): Promise<void> {
	const promtool = promtoolBinary();
	try {
		await execFileAsync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', openMetricsFile, dataDir], {
			maxBuffer: 16 * 1024 * 1024,
		});
	} catch (error) {
		const detail = error as {stderr?: string; message: string};
		throw new Error(`promtool could not turn ${openMetricsFile} into TSDB blocks: ${(detail.stderr || detail.message).trim()}`);
	}
}
