"""The final schedule of a plan: who is on call where layers and overrides meet.

An override wins over every layer (the most recently created one where
overrides overlap); among layers the highest rank (priority, then id) that
covers an instant wins; where nothing covers, there is a gap (source "none").
Everything works on plans (`rotations.plans`), never on the database.
"""

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from project.clock import ensure_aware
from rotations.plans import LayerPlan, OverridePlan, SchedulePlan
from rotations.restrictions import restriction_next_edge, restriction_prev_edge

SOURCE_OVERRIDE = "override"
SOURCE_LAYER = "layer"
SOURCE_NONE = "none"

# Longest window the shift questions answer, and how far `segment_at` looks for
# the edges of the segment containing an instant.
MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class Segment:
    """A piece of the final schedule. `user` is None for a gap (source "none")."""

    start: datetime | None
    end: datetime | None
    user: object
    source: str
    layer: object = None

    @property
    def is_gap(self) -> bool:
        return self.source == SOURCE_NONE


def override_at(plan: SchedulePlan, instant: datetime) -> OverridePlan | None:
    """The override covering `instant`; the most recently created wins."""
    best = None
    stop = bisect.bisect_right(plan._override_starts, instant)
    earliest = instant - plan._longest_override
    for i in range(stop - 1, -1, -1):
        candidate = plan.overrides[i]
        if candidate.start < earliest:
            break
        if candidate.end > instant and (best is None or candidate.order > best.order):
            best = candidate
    return best


def who_at(plan: SchedulePlan, instant: datetime) -> tuple[object, str, object]:
    """(user key, source, layer id) at `instant`; (None, "none", None) in a gap."""
    return _winner(plan, ensure_aware(instant))[:3]


def _winner(plan: SchedulePlan, instant: datetime) -> tuple[object, str, object, int]:
    """who_at() plus how many of plan.layers (by rank) can change the answer next:
    none under an override, the winner and those above it, or all of them in a gap."""
    override = override_at(plan, instant)
    if override is not None:
        return override.user, SOURCE_OVERRIDE, None, 0
    for index, layer in enumerate(plan.layers):
        user = layer.user_at(instant)
        if user is not None:
            return user, SOURCE_LAYER, layer.id, index + 1
    return None, SOURCE_NONE, None, len(plan.layers)


def final_segments(plan: SchedulePlan, start: datetime, end: datetime) -> list[Segment]:
    """The final schedule over [start, end): chronological segments that tile the window
    exactly, gaps included (source "none"), consecutive pieces with the same user,
    source and layer merged, cut at the window's edges."""
    start, end = ensure_aware(start, "start"), ensure_aware(end, "end")
    if start >= end:
        return []
    layer_segments = [layer.segments(start, end) for layer in plan.layers]
    first = bisect.bisect_left(plan._override_starts, start - plan._longest_override)
    last = bisect.bisect_left(plan._override_starts, end)
    overrides = [
        OverridePlan(max(o.start, start), min(o.end, end), o.user, o.order)
        for o in plan.overrides[first:last]
        if o.end > start
    ]
    points = {start, end}
    for segments in layer_segments:
        for s, e, _user in segments:
            points.add(s)
            points.add(e)
    for o in overrides:
        points.add(o.start)
        points.add(o.end)
    ordered = sorted(points)

    pointers = [0] * len(layer_segments)
    active: list[OverridePlan] = []
    next_override = 0
    pieces: list[list] = []
    for p, q in itertools.pairwise(ordered):
        while next_override < len(overrides) and overrides[next_override].start <= p:
            active.append(overrides[next_override])
            next_override += 1
        if active:
            active = [o for o in active if o.end > p]
        if active:
            best = max(active, key=lambda o: o.order)
            piece = (best.user, SOURCE_OVERRIDE, None)
        else:
            piece = (None, SOURCE_NONE, None)
            for number, segments in enumerate(layer_segments):
                i = pointers[number]
                while i < len(segments) and segments[i][1] <= p:
                    i += 1
                pointers[number] = i
                if i < len(segments) and segments[i][0] <= p:
                    piece = (segments[i][2], SOURCE_LAYER, plan.layers[number].id)
                    break
        if pieces and pieces[-1][1] == p and pieces[-1][2:] == list(piece):
            pieces[-1][1] = q
        else:
            pieces.append([p, q, *piece])
    return [Segment(s, e, user, source, layer) for s, e, user, source, layer in pieces]


_ONE_MICROSECOND = timedelta(microseconds=1)
_WALK_STEPS = 48


def _layer_next_edge(layer: LayerPlan, x: datetime):
    """The first instant after x where this layer's answer may change, or None."""
    if not layer.participants:
        return None
    if x < layer.starts_at:
        return layer.starts_at
    if layer.ends_at is not None and x >= layer.ends_at:
        return None
    best = layer.handoff(layer.shift_index(x) + 1)
    if layer.ends_at is not None and layer.ends_at < best:
        best = layer.ends_at
    if layer.restrictions:
        edge = restriction_next_edge(layer.restrictions, layer.tz, x)
        if edge is not None and edge < best:
            best = edge
    return best


def _layer_prev_edge(layer: LayerPlan, x: datetime):
    """The last instant at or before x where this layer's answer may have changed, or None."""
    if not layer.participants or x < layer.starts_at:
        return None
    if layer.ends_at is not None and x >= layer.ends_at:
        return layer.ends_at
    best = max(layer.handoff(layer.shift_index(x)), layer.starts_at)
    if layer.restrictions:
        edge = restriction_prev_edge(layer.restrictions, layer.tz, x)
        if edge is not None and edge > best:
            best = edge
    return best


def _next_edge(plan: SchedulePlan, x: datetime, relevant: int):
    edges = [e for e in (_layer_next_edge(layer, x) for layer in plan.layers[:relevant]) if e is not None]
    i = bisect.bisect_right(plan._override_edges, x)
    if i < len(plan._override_edges):
        edges.append(plan._override_edges[i])
    return min(edges) if edges else None


def _prev_edge(plan: SchedulePlan, x: datetime, relevant: int):
    edges = [e for e in (_layer_prev_edge(layer, x) for layer in plan.layers[:relevant]) if e is not None]
    i = bisect.bisect_right(plan._override_edges, x)
    if i > 0:
        edges.append(plan._override_edges[i - 1])
    return max(edges) if edges else None


def _walk_segment(plan: SchedulePlan, instant: datetime, horizon: timedelta) -> Segment | None:
    """The segment containing `instant`, found by stepping from edge to edge; None when
    it takes more than a few steps (then the window search is quicker)."""
    # Only the edges of what wins at x (and of what ranks above it) can change the answer.
    user, source, layer, first_relevant = _winner(plan, instant)
    key = (user, source, layer)
    end = None
    x, relevant = instant, first_relevant
    for _step in range(_WALK_STEPS):
        edge = _next_edge(plan, x, relevant)
        if edge is None or edge >= instant + horizon:
            break
        *there, relevant = _winner(plan, edge)
        if tuple(there) != key:
            end = edge
            break
        x = edge
    else:
        return None
    start = None
    x, relevant = instant, first_relevant
    for _step in range(_WALK_STEPS):
        edge = _prev_edge(plan, x, relevant)
        if edge is None or edge <= instant - horizon:
            break
        *there, relevant = _winner(plan, edge - _ONE_MICROSECOND)
        if tuple(there) != key:
            start = edge
            break
        x = edge - _ONE_MICROSECOND
    else:
        return None
    return Segment(start, end, user, source, layer)


def segment_at(plan: SchedulePlan, instant: datetime, *, horizon: timedelta = MAX_WINDOW) -> Segment:
    """The merged final-schedule segment containing `instant`. An edge further than
    `horizon` away is None (e.g. a one-person layer with no end)."""
    instant = ensure_aware(instant)
    found = _walk_segment(plan, instant, horizon)
    if found is not None:
        return found
    return _segment_by_window(plan, instant, horizon)


def _segment_by_window(plan: SchedulePlan, instant: datetime, horizon: timedelta) -> Segment:
    reach = timedelta(days=1)
    while True:
        reach = min(reach, horizon)
        segments = final_segments(plan, instant - reach, instant + reach)
        found = next(s for s in segments if s.start <= instant < s.end)
        open_start = found.start == instant - reach
        open_end = found.end == instant + reach
        if not (open_start or open_end):
            return found
        if reach >= horizon:
            return Segment(
                None if open_start else found.start,
                None if open_end else found.end,
                found.user,
                found.source,
                found.layer,
            )
        reach *= 4


def split_gaps(segments: Iterable[Segment]) -> tuple[list[Segment], list[Segment]]:
    """(shifts, gaps) of a list of final segments."""
    shifts, gaps = [], []
    for segment in segments:
        (gaps if segment.is_gap else shifts).append(segment)
    return shifts, gaps
