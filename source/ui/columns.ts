/**
 * Fleet table columns as data: header, width, priority and a pure render to text plus a semantic tone.
 * Narrow terminals drop the lowest-priority columns first; wide ones widen the flexible columns.
 */
import type {FleetRow} from '../state/selectors.ts';
import {worstSeverity} from '../state/selectors.ts';
import type {Thresholds} from '../domain/thresholds.ts';
import {deliveryMarker} from './delivery-marker.ts';
import {formatBytes, formatCores, formatMs, formatPercent, formatRps, NO_DATA} from './format.ts';

export type Tone = 'normal' | 'muted' | 'ok' | 'warning' | 'critical' | 'stable' | 'canary' | 'bar' | 'badge';

export interface Cell {
	text: string;
	tone: Tone;
	/** A badge's colour (tone `badge`): a colour name from the settings. */
	color?: string;
}

export interface Column {
	id: string;
	header: string;
	width: number;
	/** Lower numbers stay longest. */
	priority: number;
	align: 'left' | 'right';
	/** Extra width taken from a wide terminal, as a share. */
	grow?: number;
	render: (row: FleetRow, limits: Thresholds) => Cell;
}

function toneFor(value: number | null | undefined, warn: number, critical: number): Tone {
	if (value === null || value === undefined) return 'muted';
	if (value >= critical) return 'critical';
	if (value >= warn) return 'warning';
	return 'normal';
}

/**
 * The model's name on its first row. A rollout going on shows its marker (`↗ 25% 2/4`) on the new version's row, or
 * after the name while that version has no row of its own yet.
 */
function modelCell(row: FleetRow): Cell {
	const marker = deliveryMarker(row.model.delivery);
	if (!marker) return {text: row.firstOfModel ? row.model.name : '', tone: 'normal'};
	const version = row.model.delivery!.spec.version;
	const hasRow = row.model.versions.some((candidate) => candidate.name === version);
	if (row.firstOfModel)
		return {text: hasRow && row.version.name !== version ? row.model.name : `${row.model.name} ${marker}`, tone: 'normal'};
	return {text: row.version.name === version ? marker : '', tone: 'canary'};
}

export const columns: readonly Column[] = [
	{
		id: 'model',
		header: 'MODEL',
		width: 16,
		priority: 0,
		align: 'left',
		grow: 2,
		render: (row) => modelCell(row),
	},
	{
		id: 'namespace',
		header: 'NAMESPACE',
		width: 10,
		priority: 9,
		align: 'left',
		grow: 1,
		render: (row) => ({text: row.firstOfModel ? row.model.namespace : '', tone: 'muted'}),
	},
	{
		id: 'version',
		header: 'VERSION',
		width: 8,
		priority: 0,
		align: 'left',
		grow: 1,
		render: (row) => ({text: row.version.name, tone: row.version.track}),
	},
	{
		id: 'track',
		header: 'TRACK',
		width: 6,
		priority: 1,
		align: 'left',
		render: (row) => ({text: row.version.track, tone: row.version.track}),
	},
	{
		id: 'weight',
		header: 'WEIGHT',
		width: 10,
		priority: 1,
		align: 'left',
		render: (row) => ({text: `${row.version.weight}`, tone: 'bar'}),
	},
	{
		id: 'rps',
		header: 'RPS',
		width: 6,
		priority: 2,
		align: 'right',
		render: (row) => ({text: formatRps(row.sample?.rps), tone: row.sample?.rps === null || !row.sample ? 'muted' : 'normal'}),
	},
	{
		id: 'errors',
		header: 'ERR%',
		width: 6,
		priority: 2,
		align: 'right',
		render: (row, limits) => ({
			text: formatPercent(row.sample?.errorRatio),
			tone: toneFor(row.sample?.errorRatio, limits.errorRatio / 2, limits.errorRatio),
		}),
	},
	{
		id: 'p50',
		header: 'P50',
		width: 5,
		priority: 5,
		align: 'right',
		render: (row) => ({text: formatMs(row.sample?.p50Ms), tone: row.sample?.p50Ms == null ? 'muted' : 'normal'}),
	},
	{
		id: 'p95',
		header: 'P95',
		width: 5,
		priority: 6,
		align: 'right',
		render: (row, limits) => ({
			text: formatMs(row.sample?.p95Ms),
			tone: toneFor(row.sample?.p95Ms, limits.p99LatencyMs * 0.8, limits.p99LatencyMs * 1.5),
		}),
	},
	{
		id: 'p99',
		header: 'P99ms',
		width: 6,
		priority: 2,
		align: 'right',
		render: (row, limits) => ({
			text: formatMs(row.sample?.p99Ms),
			tone: toneFor(row.sample?.p99Ms, limits.p99LatencyMs, limits.p99LatencyMs * 1.5),
		}),
	},
	{
		id: 'cpu',
		header: 'CPU',
		width: 5,
		priority: 4,
		align: 'right',
		render: (row) => ({text: formatCores(row.sample?.cpuCores), tone: row.sample?.cpuCores == null ? 'muted' : 'normal'}),
	},
	{
		id: 'memory',
		header: 'MEM',
		width: 6,
		priority: 4,
		align: 'right',
		render: (row) => {
			const limit = row.version.resources?.memoryLimitBytes;
			const used = row.sample?.memoryBytes;
			const tone: Tone = used == null ? 'muted' : limit && used > limit * 0.9 ? 'warning' : 'normal';
			return {text: formatBytes(used), tone};
		},
	},
	{
		id: 'ready',
		header: 'READY',
		width: 5,
		priority: 3,
		align: 'right',
		render: (row) => {
			const {replicasReady: ready, replicasDesired: desired} = row.version;
			return {text: `${ready}/${desired}`, tone: ready < desired ? (ready === 0 ? 'critical' : 'warning') : 'normal'};
		},
	},
	{
		id: 'restarts',
		header: 'RST',
		width: 3,
		priority: 8,
		align: 'right',
		render: (row) =>
			row.version.podsPending
				? {text: '…', tone: 'muted'}
				: {text: String(row.version.restarts), tone: row.version.restarts > 0 ? 'warning' : 'muted'},
	},
	{
		id: 'flags',
		header: 'FLAGS',
		width: 12,
		priority: 1,
		align: 'left',
		grow: 3,
		render: (row) => {
			if (row.flags.length === 0) return {text: row.sample ? 'ok' : NO_DATA, tone: row.sample ? 'ok' : 'muted'};
			const severity = worstSeverity(row.flags);
			const kinds = [...new Set(row.flags.map((flag) => flag.kind))].join(' ');
			return {text: `${severity === 'critical' ? '✖' : '▲'} ${kinds}`, tone: severity === 'critical' ? 'critical' : 'warning'};
		},
	},
];

/** A context's label and colour from the settings (`contexts.NAME.label`, `.color`). */
export interface ClusterBadge {
	label?: string;
	color?: string;
}

/**
 * The CLUSTER column, first, shown only when several clusters are: the context's label from the settings (a `PROD`
 * badge in its colour) or its name. As wide as the longest, from 7 to 14 characters.
 */
export function clusterColumn(contexts: readonly string[], styles: Readonly<Record<string, ClusterBadge>>): Column {
	const text = (cluster: string | undefined) => (cluster === undefined ? '' : (styles[cluster]?.label ?? cluster));
	const width = Math.min(14, Math.max(7, ...contexts.map((context) => text(context).length)));
	return {
		id: 'cluster',
		header: 'CLUSTER',
		width,
		priority: 0,
		align: 'left',
		render: (row) => {
			const cluster = row.model.cluster;
			const color = cluster === undefined ? undefined : styles[cluster]?.color;
			return {
				text: row.firstOfModel ? text(cluster) : '',
				tone: styles[cluster ?? '']?.label || color ? 'badge' : 'muted',
				...(color ? {color} : {}),
			};
		},
	};
}

/** Columns that fit the width, each with its final width. One space separates columns. */
export function layoutColumns(width: number, available: readonly Column[] = columns): Column[] {
	let chosen = [...available];
	const total = (list: Column[]) => list.reduce((sum, column) => sum + column.width + 1, 1);
	while (total(chosen) > width && chosen.length > 2) {
		const drop = chosen.reduce((worst, column) => (column.priority > worst.priority ? column : worst));
		chosen = chosen.filter((column) => column !== drop);
	}

	const spare = width - total(chosen);
	const growTotal = chosen.reduce((sum, column) => sum + (column.grow ?? 0), 0);
	if (spare > 0 && growTotal > 0) {
		let remaining = spare;
		chosen = chosen.map((column) => {
			if (!column.grow) return column;
			const extra = Math.min(remaining, Math.floor((spare * column.grow) / growTotal));
			remaining -= extra;
			return {...column, width: column.width + extra};
		});
	}

	return chosen;
}
