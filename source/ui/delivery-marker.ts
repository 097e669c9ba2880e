/** A rollout going on (our own progressive delivery, domain/delivery.ts) on the fleet row and in the version panels. */
import {isDeliveryActive, type DeliveryState} from '../domain/delivery.ts';

/** `↗ 25% 2/4`, `‖ 25% 2/4` (paused), `↗ ready?`: the fleet row's marker of a rollout going on; empty when none. */
export function deliveryMarker(delivery: DeliveryState | undefined): string {
	if (!isDeliveryActive(delivery)) return '';
	const sign = delivery.paused ? '‖' : delivery.phase === 'rolling-back' ? '↩' : '↗';
	switch (delivery.phase) {
		case 'stepping':
		case 'promoting':
		case 'rolling-back': {
			return `${sign} ${delivery.weight}% ${Math.max(0, delivery.stepIndex + 1)}/${delivery.spec.steps.length}`;
		}

		case 'following': {
			return `${sign} ${delivery.weight}% ${delivery.ownerProgress ?? ''}`.trimEnd();
		}

		default: {
			return `${sign} ${delivery.phase.replace('-', ' ')}`;
		}
	}
}

/** The versions as shown, with the one a running rollout delivers right after the stable: its panel is never cut. */
export function withDeliveredFirst<T extends {name: string; track: string}>(versions: T[], delivery: DeliveryState | undefined): T[] {
	if (!isDeliveryActive(delivery)) return versions;
	const delivered = versions.find((version) => version.name === delivery.spec.version && version.track !== 'stable');
	if (!delivered) return versions;
	const rest = versions.filter((version) => version !== delivered);
	const stables = rest.filter((version) => version.track === 'stable');
	return [...stables, delivered, ...rest.filter((version) => version.track !== 'stable')];
}
