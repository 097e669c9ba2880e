import React from 'react';
import {Box, Text} from 'ink';
import type {SourceName} from '../domain/ports.ts';
import {flaggedModels} from '../state/selectors.ts';
import type {AppState, SourceHealth} from '../state/state.ts';
import {useTheme} from './contexts.tsx';
import {formatClock, truncate} from './format.ts';
import type {Theme} from './theme.ts';

function ago(now: number, then: number | undefined): string {
	if (then === undefined) return '';
	const seconds = Math.max(0, Math.round((now - then) / 1000));
	return seconds < 120 ? `${seconds}s` : `${Math.round(seconds / 60)}m`;
}

/** `ok`, `stale 12s`, `down`, `off` — short enough for 80 columns; the reason follows on the second line. */
export function healthLabel(health: SourceHealth, now: number): string {
	switch (health.status) {
		case 'ok': {
			return 'ok';
		}

		case 'connecting': {
			return '…';
		}

		case 'stale': {
			return `stale ${ago(now, health.lastOk)}`;
		}

		case 'down': {
			return 'down';
		}

		case 'absent': {
			return 'off';
		}
	}
}

function healthColor(theme: Theme, health: SourceHealth): string | undefined {
	if (health.status === 'ok') return theme.status.ok;
	if (health.status === 'stale') return theme.status.stale;
	if (health.status === 'down') return theme.status.critical;
	return theme.text.muted;
}

const sourceLabels: Record<SourceName, string> = {cluster: 'cluster', metrics: 'prom', agent: 'agent'};

/**
 * What the header's second line tells: sources stale or down, then what the console works without (no agent means
 * direct changes and no prediction log; the cluster is never absent), the agent first: it decides how a change is made.
 */
function notes(state: AppState) {
	const sources = (Object.keys(state.health) as SourceName[]).map((source) => ({
		source: sourceLabels[source],
		health: state.health[source],
	}));
	// With several clusters shown, each context's own problem (the cluster source stays ok while any context is).
	const contexts = Object.entries(state.clusters).map(([context, health]) => ({source: context, health}));
	// And each context whose Prometheus failed while the others answered: its rows have no figures.
	for (const [context, message] of Object.entries(state.clusterMetrics))
		contexts.push({source: `prom ${context}`, health: {status: 'down', message}});
	const problems = [...sources, ...contexts].filter(({health}) => health.status === 'stale' || health.status === 'down');
	const absent = sources
		.filter(({source, health}) => health.status === 'absent' && source !== sourceLabels.cluster)
		.sort((a, b) => Number(b.source === sourceLabels.agent) - Number(a.source === sourceLabels.agent));
	// A Prometheus the console found by itself is named (which one, and how it was found) while it answers.
	const found = state.metricsFound && state.health.metrics.status === 'ok' ? `prometheus: ${state.metricsFound}` : undefined;
	return {problems, absent, found};
}

/** The contexts on screen that the settings give a label or a colour, as badges (`PROD` in red). */
function styledContexts(state: AppState): Array<{context: string; label: string; color?: string}> {
	const shown = Object.keys(state.clusters);
	return (shown.length > 0 ? shown : [state.context]).flatMap((context) => {
		const style = state.clusterStyles[context];
		if (!style || (style.label === undefined && style.color === undefined)) return [];
		return [{context, label: style.label ?? context, ...(style.color ? {color: style.color} : {})}];
	});
}

/** The header's height: a second line when it has something to say. */
export function headerLines(state: AppState): number {
	const {problems, absent, found} = notes(state);
	return problems.length > 0 || absent.length > 0 || found ? 2 : 1;
}

export function Header({state, width}: {state: AppState; width: number}) {
	const theme = useTheme();
	const {problems, absent, found} = notes(state);
	const flagged = flaggedModels(state).length;
	// Flagged models counted where the eye starts, not only as pink text in the table's right-most column.
	const flaggedLabel = flagged > 0 ? ` · ${flagged} flagged` : '';
	// The first line is one line at any width: the clock goes first when it is short, then the context is cut.
	const sources = (Object.keys(state.health) as SourceName[]).map(
		(source) => ` ${sourceLabels[source]}:${healthLabel(state.health[source], state.now)}`,
	);
	const contextBadges = styledContexts(state);
	const badges =
		'modeldeck'.length +
		(state.demo ? ' DEMO '.length : 0) +
		(state.readOnly ? ' READ-ONLY'.length : 0) +
		contextBadges.reduce((sum, badge) => sum + badge.label.length + 1, 0) +
		1;
	const right = sources.join('').length;
	const clock = width - badges - right - 9 >= 16;
	const contextWidth = Math.max(4, width - badges - right - (clock ? 9 : 0) - flaggedLabel.length);
	return (
		<Box flexDirection="column">
			<Box height={1} overflow="hidden">
				<Text bold color={theme.text.accent}>
					modeldeck
				</Text>
				{state.demo ? (
					<Text bold inverse color={theme.badge.demo}>
						{' DEMO '}
					</Text>
				) : null}
				{state.readOnly ? (
					<Text bold color={theme.badge.readOnly}>
						{' READ-ONLY'}
					</Text>
				) : null}
				{contextBadges.map((badge) => (
					<Text key={badge.context}>
						{' '}
						<Text bold inverse={theme.name !== 'none' && badge.color !== undefined} color={theme.name === 'none' ? undefined : badge.color}>
							{badge.label}
						</Text>
					</Text>
				))}
				<Text> </Text>
				<Text wrap="truncate-end">{truncate(`${state.context} · ${state.namespace ?? 'all namespaces'}`, contextWidth)}</Text>
				{flaggedLabel ? <Text color={theme.status.critical}>{flaggedLabel}</Text> : null}
				<Box flexGrow={1} />
				{(Object.keys(state.health) as SourceName[]).map((source) => (
					<Text key={source}>
						{' '}
						<Text color={theme.text.muted}>{sourceLabels[source]}:</Text>
						<Text color={healthColor(theme, state.health[source])}>{healthLabel(state.health[source], state.now)}</Text>
					</Text>
				))}
				{clock ? <Text color={theme.text.muted}> {formatClock(state.now)}</Text> : null}
			</Box>
			{problems.length > 0 || absent.length > 0 || found ? (
				<Text wrap="truncate-end">
					<Text color={theme.status.warning}>
						{problems
							.map(({source, health}) =>
								health.status === 'stale'
									? `${source} stale since ${formatClock(health.lastOk ?? state.now)}${health.hasData ? ' (last data kept)' : ''}: ${health.message ?? ''}`
									: `${source} down: ${health.message ?? ''}`,
							)
							.join(' · ')}
					</Text>
					<Text color={theme.text.muted}>
						{problems.length > 0 && absent.length > 0 ? ' · ' : ''}
						{absent
							.map(({source, health}) =>
								source === sourceLabels.agent
									? `no agent: direct changes, no prediction log — ${health.message ?? 'none found'}`
									: `${source}: ${health.message ?? 'off'}`,
							)
							.join(' · ')}
						{found ? `${problems.length > 0 || absent.length > 0 ? ' · ' : ''}${found}` : ''}
					</Text>
				</Text>
			) : null}
		</Box>
	);
}
