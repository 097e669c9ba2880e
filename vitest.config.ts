import {defineConfig} from 'vitest/config';

// Three projects: fast unit and component tests in parallel; integration tests (real control plane, real
// Prometheus, real sockets) one file at a time on a 2-core machine; end-to-end tests of the built program in a pty.
// `npm test` runs the three one after the other (projects given together would run side by side, and two control
// planes plus Prometheus on 2 cores make timing-sensitive tests flaky).
export default defineConfig({
	test: {
		projects: [
			{
				test: {
					name: 'unit',
					include: ['test/unit/**/*.test.{ts,tsx}', 'test/components/**/*.test.{ts,tsx}'],
					testTimeout: 20_000,
				},
			},
			{
				test: {
					name: 'integration',
					include: ['test/integration/**/*.test.{ts,tsx}'],
					fileParallelism: false,
					testTimeout: 180_000,
					hookTimeout: 600_000,
				},
			},
			{
				test: {
					name: 'e2e',
					include: ['test/e2e/**/*.test.{ts,tsx}'],
					fileParallelism: false,
					testTimeout: 60_000,
					hookTimeout: 120_000,
				},
			},
		],
	},
});
