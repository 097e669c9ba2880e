/** A series' points as the detectors read them: finite values only, in time order. */
import type {Point} from './types.ts';

export function cleanPoints(points: readonly Point[]): Point[] {
	const finite = points.filter((point) => Number.isFinite(point.value) && Number.isFinite(point.time));
	// Sources return points in time order; sorting a copy keeps the detector right when one does not.
	return finite.every((point, index) => index === 0 || finite[index - 1]!.time <= point.time)
		? finite
		: [...finite].sort((a, b) => a.time - b.time);
}
