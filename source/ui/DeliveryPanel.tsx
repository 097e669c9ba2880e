/**
 * A model's rollout (our own progressive delivery, domain/delivery.ts) in the model view: its phase, step, weight and
 * time to the next judgement on the first line, always; then, as room allows, the last judgement with its time (so it
 * can be read against the verdict shown above it, which is newer or older), who started it, and the newest events.
 */
import type React from 'react';
import {Text} from 'ink';
import {deliverySummary, isDeliveryActive, type DeliveryState} from '../domain/delivery.ts';
import {useTheme} from './contexts.tsx';
import {formatClock} from './format.ts';
import type {Theme} from './theme.ts';

/** The lines the panel can use beyond its first: the judgement, who started it, and up to three events. */
export function deliveryDetailLines(delivery: DeliveryState): number {
	return (delivery.judgement ? 1 : 0) + 1 + Math.min(3, delivery.events.length);
}

function phaseColor(theme: Theme, delivery: DeliveryState): string | undefined {
	switch (delivery.phase) {
		case 'promoted': {
			return theme.status.ok;
		}

		case 'rolled-back':
		case 'aborted':
		case 'failed':
		case 'rolling-back': {
			return theme.status.critical;
		}

		default: {
			return delivery.paused ? theme.status.warning : theme.status.info;
		}
	}
}

function judgementColor(theme: Theme, result: string): string | undefined {
	return result === 'pass' ? theme.status.ok : result === 'fail' ? theme.status.critical : theme.status.warning;
}

export function DeliveryPanel({delivery, now, detail}: {delivery: DeliveryState; now: number; detail: number}) {
	const theme = useTheme();
	const active = isDeliveryActive(delivery);
	const {spec} = delivery;
	const lines: React.ReactNode[] = [];
	if (delivery.judgement && lines.length < detail) {
		const {judgement} = delivery;
		lines.push(
			<Text key="judgement" wrap="truncate-end" color={judgementColor(theme, judgement.result)}>
				rollout judged {spec.version} vs {delivery.stable} {judgement.result} at {formatClock(judgement.at)}: {judgement.summary}
			</Text>,
		);
	}

	if (lines.length < detail) {
		lines.push(
			<Text key="who" wrap="truncate-end" color={theme.text.muted}>
				started by {spec.requestedBy} at {formatClock(delivery.startedAt)} · {spec.image} · steps {spec.steps.join('→')}%,{' '}
				{spec.pauseSeconds}s each
			</Text>,
		);
	}

	for (const event of delivery.events.slice(-Math.max(0, detail - lines.length)).reverse()) {
		if (lines.length >= detail) break;
		lines.push(
			<Text key={`event-${event.at}-${event.message}`} wrap="truncate-end" color={theme.text.muted}>
				{'  '}
				{formatClock(event.at)} {event.message}
			</Text>,
		);
	}

	return (
		<>
			<Text wrap="truncate-end" color={phaseColor(theme, delivery)}>
				<Text bold>{active ? 'rollout' : 'last rollout'} </Text>
				{spec.version} over {delivery.stable}: {deliverySummary(delivery, now)}
				{delivery.paused && delivery.phase === 'stepping' && delivery.remainingMs !== undefined
					? ` (${Math.ceil(delivery.remainingMs / 1000)}s left when resumed)`
					: ''}
			</Text>
			{lines}
		</>
	);
}
