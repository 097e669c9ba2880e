import {describe, expect, it} from 'vitest';
import {parseAgentFlags, parseListen} from '../../../source/agent/main.ts';

describe('parseAgentFlags', () => {
	it('has safe defaults', () => {
		expect(parseAgentFlags([], {})).toEqual({
			help: false,
			flags: {
				host: '0.0.0.0',
				port: 8090,
				dbPath: ':memory:',
				retentionHours: 24,
				retentionMaxRows: 100_000,
				joinTimeoutSeconds: 30,
				allowIps: [],
				maxBodyBytes: 1_048_576,
				guard: false,
				guardDryRun: false,
				modelPort: 80,
				namespace: 'modeldeck',
				loadtestMaxLocalRps: 2000,
				noAuth: false,
			},
		});
	});

	it('reads every flag', () => {
		const {flags} = parseAgentFlags(
			['--listen', '127.0.0.1:9000', '--db', '/data/a.db', '--allow-ip', '10.0.0.0/8', '--allow-ip', 'fd00::/8', '--guard-dry-run', '--prometheus', 'http://p:9090', '--alert-webhook', 'https://hooks.slack.com/x', '--no-auth', '--retention-hours', '2'],
			{MODELDECK_INGEST_TOKEN: 'secret', POD_NAMESPACE: 'ops'},
		) as unknown as {flags: Record<string, unknown>};
		expect(flags).toMatchObject({host: '127.0.0.1', port: 9000, dbPath: '/data/a.db', retentionMaxRows: 1_000_000, allowIps: ['10.0.0.0/8', 'fd00::/8'], guard: true, guardDryRun: true, ingestToken: 'secret', namespace: 'ops', noAuth: true, retentionHours: 2});
	});

	it('says what is wrong', () => {
		expect(() => parseAgentFlags(['--listen', 'nope'], {})).toThrow(/--listen must be HOST:PORT/);
		expect(() => parseAgentFlags(['--allow-ip', '300.0.0.0/8'], {})).toThrow(/--allow-ip/);
		expect(() => parseAgentFlags(['--guard'], {})).toThrow(/--guard needs --prometheus/);
		expect(() => parseAgentFlags(['--max-body-bytes=-5'], {})).toThrow(/positive integer/);
		expect(() => parseAgentFlags(['--alert-format', 'teams'], {})).toThrow(/alertmanager or slack/);
		expect(() => parseAgentFlags(['--bogus'], {})).toThrow();
		expect(parseListen('[::1]:8090')).toEqual({host: '::1', port: 8090});
	});
});
