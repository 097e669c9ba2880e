/**
 * The layers of docs/ARCHITECTURE.md, kept by a test: every relative import under source/ is read and each edge between
 * top-level parts must be in the table below. A new edge fails with the file, the import and what to do instead.
 *
 * Known leaks are listed one file at a time with the reason; an exception that no longer occurs fails too, so the list
 * only shrinks.
 */
import {readdirSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';

const sourceRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../source');

/** Part -> the parts it may import. A part is a top-level folder or file of source/. */
const allowed: Record<string, readonly string[]> = {
	// Pure: types, rules, statistics. No I/O, no React, nothing above it.
	domain: [],
	// The simulated fleet implements the ports; only the composition root picks it. Its rollouts run on the runner.
	demo: ['domain', 'delivery'],
	// The outside world: Kubernetes, Prometheus, the agent's HTTP/WebSocket API.
	adapters: ['domain', 'protocol'],
	// The wire protocol shared by the agent and its client.
	protocol: ['domain'],
	// The console's state: its shape, the actions that change it and the selectors that read it.
	state: ['domain'],
	// Keys and commands: read the state, describe what to do.
	keymap: ['domain', 'state'],
	// The reducer and the console's controller, which runs the commands.
	console: ['domain', 'state', 'keymap'],
	// Screens: render state, never call a source.
	ui: ['domain', 'keymap', 'state', 'console'],
	'app.tsx': ['domain', 'keymap', 'state', 'console', 'ui'],
	settings: ['domain', 'flags'],
	// Flags from a table: the parser and the help text every program's flags are made from.
	flags: [],
	'cli-flags': ['domain', 'flags'],
	// The README's Usage and Flags sections, made from the flag tables.
	'cli-docs.ts': ['cli-flags'],
	// One-shot commands (status, weight, promote …) over the same ports.
	commands: ['domain', 'adapters', 'settings', 'cli-flags', 'flags', 'delivery'],
	// The in-cluster agent: a program of its own over the same adapters.
	agent: ['domain', 'adapters', 'protocol', 'settings', 'flags', 'delivery'],
	'model-server': ['domain', 'flags'],
	// Progressive delivery's runner: application layer over the domain, given its ports and callbacks.
	delivery: ['domain'],
	// Runbooks: a front end of their own over the console (its store, controller, keymap and screens), on the demo.
	runbook: ['domain', 'keymap', 'state', 'console', 'ui', 'app.tsx', 'demo', 'flags'],
	// The terminal recorder (--record): tees what is drawn into an asciinema file; picked by the composition root.
	recording: [],
	// The composition root: wires everything.
	'cli.tsx': ['*'],
	// The subcommands' dispatch, part of the composition root.
	'cli-subcommands.ts': ['*'],
};

/** Known leaks, to be moved away; each names the file, the part it reaches and why it is still there. */
const exceptions: ReadonlyArray<{from: string; to: string; reason: string}> = [];

interface Edge {
	from: string;
	to: string;
	specifier: string;
}

function filesUnder(directory: string): string[] {
	return readdirSync(directory, {withFileTypes: true}).flatMap((entry) => {
		const full = path.join(directory, entry.name);
		if (entry.isDirectory()) return filesUnder(full);
		return /\.(ts|tsx)$/.test(entry.name) ? [full] : [];
	});
}

/** Relative imports and re-exports, static and dynamic, of one file. */
function relativeImports(text: string): string[] {
	const found: string[] = [];
	const pattern =
		/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
	for (const match of text.matchAll(pattern)) found.push((match[1] ?? match[2] ?? match[3])!);
	return found;
}

function partOf(relative: string): string {
	return relative.split('/')[0]!;
}

function edges(): Edge[] {
	return filesUnder(sourceRoot).flatMap((file) => {
		const from = path.relative(sourceRoot, file).split(path.sep).join('/');
		return relativeImports(readFileSync(file, 'utf8')).map((specifier) => ({
			from,
			to: path
				.relative(sourceRoot, path.resolve(path.dirname(file), specifier))
				.split(path.sep)
				.join('/'),
			specifier,
		}));
	});
}

function violations(all: Edge[]): string[] {
	return all
		.filter((edge) => partOf(edge.from) !== partOf(edge.to))
		.filter((edge) => {
			const rule = allowed[partOf(edge.from)];
			if (rule === undefined) return true;
			return !rule.includes('*') && !rule.includes(partOf(edge.to));
		})
		.filter((edge) => !exceptions.some((exception) => exception.from === edge.from && exception.to === edge.to))
		.map((edge) => {
			const rule = allowed[partOf(edge.from)];
			const may = rule === undefined ? 'is not in the table of layers' : `may import only ${rule.join(', ') || 'itself'}`;
			return `source/${edge.from} imports '${edge.specifier}' (${partOf(edge.to)}), but ${partOf(edge.from)} ${may}: move the shared code down to a part both may import (see docs/ARCHITECTURE.md), or add the edge to the table in test/unit/architecture/import-rules.test.ts if the layering itself changes`;
		});
}

describe('layers', () => {
	it('reads imports of every form', () => {
		const text = [
			"import {a} from '../domain/types.ts';",
			"import type {B} from './b.ts';",
			"export {c} from '../store/c.ts';",
			"export * from './d.ts';",
			"const e = await import('../demo/index.ts');",
			"import './side-effect.ts';",
			"import chalk from 'chalk';",
			'const text = \'import x from "./not-code.ts"\';',
		].join('\n');
		expect(relativeImports(text)).toEqual([
			'../domain/types.ts',
			'./b.ts',
			'../store/c.ts',
			'./d.ts',
			'../demo/index.ts',
			'./side-effect.ts',
		]);
	});

	it('every part of source/ is in the table of layers', () => {
		const parts = new Set(filesUnder(sourceRoot).map((file) => partOf(path.relative(sourceRoot, file).split(path.sep).join('/'))));
		expect([...parts].filter((part) => allowed[part] === undefined)).toEqual([]);
	});

	it('no import crosses the layers except those listed', () => {
		expect(violations(edges())).toEqual([]);
	});

	it('a forbidden import is reported with the file and what to do', () => {
		const messages = violations([{from: 'domain/judge.ts', to: 'adapters/kube/index.ts', specifier: '../adapters/kube/index.ts'}]);
		expect(messages).toHaveLength(1);
		expect(messages[0]).toContain(
			"source/domain/judge.ts imports '../adapters/kube/index.ts' (adapters), but domain may import only itself",
		);
	});

	it('every listed exception still occurs (fixed leaks are taken off the list)', () => {
		const all = edges();
		expect(exceptions.filter((exception) => !all.some((edge) => edge.from === exception.from && edge.to === exception.to))).toEqual([]);
	});

	it('the domain does no I/O and draws nothing', () => {
		const impure = filesUnder(path.join(sourceRoot, 'domain')).filter((file) =>
			/from\s*['"](?:node:|ink|react|@kubernetes|ws|prometheus-query)/.test(readFileSync(file, 'utf8')),
		);
		expect(impure.map((file) => path.relative(sourceRoot, file))).toEqual([]);
	});
});
