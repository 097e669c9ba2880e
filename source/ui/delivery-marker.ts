/** The fleet row's marker of a rollout going on (our own progressive delivery, domain/delivery.ts). */
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
