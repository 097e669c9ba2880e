import {describe, expect, it, vi} from 'vitest';
import {parseAgentFlags, parseListen, runLoadtestWorker} from '../../../source/agent/main.ts';

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
				resumeBufferEvents: 100_000,
				guard: false,
				guardDryRun: false,
				modelPort: 80,
				namespace: 'modeldeck',
				loadtestMaxLocalRps: 2000,
				loadtestStartDelaySeconds: 30,
				noAuth: false,
			},
		});
	});

	it('reads every flag', () => {
		const {flags} = parseAgentFlags(
			[
				'--listen',
				'127.0.0.1:9000',
				'--db',
				'/data/a.db',
				'--allow-ip',
				'10.0.0.0/8',
				'--allow-ip',
				'fd00::/8',
				'--guard-dry-run',
				'--prometheus',
				'http://p:9090',
				'--alert-webhook',
				'https://hooks.slack.com/x',
				'--no-auth',
				'--retention-hours',
				'2',
			],
			{MODELDECK_INGEST_TOKEN: 'secret', POD_NAMESPACE: 'ops'},
		) as unknown as {flags: Record<string, unknown>};
		expect(flags).toMatchObject({
			host: '127.0.0.1',
			port: 9000,
			dbPath: '/data/a.db',
			retentionMaxRows: 1_000_000,
			allowIps: ['10.0.0.0/8', 'fd00::/8'],
			guard: true,
			guardDryRun: true,
			ingestToken: 'secret',
			namespace: 'ops',
			noAuth: true,
			retentionHours: 2,
		});
	});

	it('reads the load-test Job flags', () => {
		const parsed = parseAgentFlags(
			['--loadtest-image', 'img:1', '--loadtest-service-account', 'modeldeck-loadtest', '--loadtest-start-delay-seconds', '12'],
			{},
		);
		expect(parsed).toMatchObject({
			flags: {loadtestImage: 'img:1', loadtestServiceAccount: 'modeldeck-loadtest', loadtestStartDelaySeconds: 12},
		});
		expect(() => parseAgentFlags(['--loadtest-start-delay-seconds', '0'], {})).toThrow(
			'--loadtest-start-delay-seconds must be a positive number, got "0"',
		);
	});

	it('refuses a worker start time that is not a time', async () => {
		const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
		try {
			expect(await runLoadtestWorker(['--url', 'http://127.0.0.1:1/v2/models/m/infer', '--body', '{}', '--start-at', 'soon'])).toBe(2);
			expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^--start-at must be a time such as 2026-03-01T03:00:00.000Z, got "soon"/);
		} finally {
			stderr.mockRestore();
		}
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
