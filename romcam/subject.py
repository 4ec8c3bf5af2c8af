"""Subject selection and tracking: which of the people in frame is the patient, frame after frame.

Pure (no I/O, no MediaPipe): pose frames in, the subject's :class:`Pose` out.

Selection (``selector``), decided when the set starts — at the first frame with people:

- ``auto``: the prescription's posture decides when the scene makes it clear — the one person
  lying (trunk near horizontal) or seated (hips and knees flexed, trunk upright) while the others
  stand. Otherwise the largest, most visible person, and :attr:`SubjectTracker.confirmed` is False
  (the caregiver should confirm by clicking the patient) — also when a caregiver is expected
  (``people=2``), the posture tells nothing (standing) and only one person is found: it may be the
  caregiver while the model misses the patient. For about a second after an unconfirmed
  pick, a later frame that makes the scene clear still corrects it.
- ``image-left`` / ``image-right``: the person whose torso is furthest left / right **in the
  image** (not the patient's body side, which is ``--side``; frames are never mirrored).
- ``lying`` / ``seated``: the one person in that posture.
- ``X,Y``: the person at that point, in normalized image coordinates (0..1, x right, y down), e.g.
  a click on the live page: among the people whose box (widened by a tenth) holds the point, the one
  whose drawn body it is on or nearest, in pixels (:mod:`romcam.tap`: a limb before a torso where
  they overlap). Until someone's box holds the point the tracker waits (it returns None rather than
  guess).
- a person's track id (:meth:`SubjectTracker.choose`, the live page's per-person buttons): that
  track, at once. A point is matched against whoever's body holds it a frame or more after it was
  taken, when the person may have moved; where a lying patient and a caregiver leaning over them
  overlap, the point taken on the patient can by then lie on the caregiver. The id names the person,
  not a place.

Tracking: every person in frame gets a track (torso landmarks, bounding box, a constant-velocity
motion model); each frame the detections are assigned to tracks by a cost over torso landmark
distance (in torso lengths, after the velocity prediction), bounding-box overlap and size change,
with a gate. Tracking *every* person, not only the subject, is what stops a jump: when the subject
is hidden, a caregiver walking across is claimed by her own track. A subject missing for a while
keeps its identity (the gate widens a little with the time missing); the tracker never hands the
subject's identity to someone else because the subject is briefly occluded. Where torsos overlap,
the clothes decide: each pose carries a colour signature of its trunk (:mod:`romcam.appearance`,
attached by the pose stage when two people are expected), each track a running one, and a detection
is never given to a track it looks clearly less like than another, differently dressed, track.
With a caregiver expected (``people=2``), a patient known to lie or sit (``auto`` with that
posture, the ``lying``/``seated`` selector, or a tap or a button on the page choosing a person seen in
the prescription's posture) stays put: their track takes no detection in a
posture they cannot be in (standing, kneeling), and every torso point must stay near where it has
been lately, so a detection that mixes the caregiver's shoulders with the patient's hips cannot lead
it away. And ``auto`` waits up to a second to see both people before choosing from fewer.

Occlusion by the caregiver's hands: :func:`occlude_by_hands` lowers the visibility of the subject's
landmarks that another person's wrist or hand landmarks lie on, so that the angle engine reports no
angle rather than the angle of a limb it cannot see (MediaPipe keeps guessing positions, and a
caregiver's hand on the patient's wrist draws the wrist landmark toward the caregiver's arm).
"Lie on" is tight (``HAND_RADIUS``, about 2.5 cm): a hand that holds the limb beside the landmark
leaves it visible. And the model must itself doubt it sees the landmark (visibility below
``HAND_SEEN_VISIBILITY``): a hand holding the limb from behind is seen past. On the rendered
caregiver scenes a wider radius (10 cm, then 5 cm) hid wrists the camera saw plainly — none of the
120 wrists it hid in one scene was covered — and even at 2.5 cm 91% of the landmarks distance alone
flagged were in the camera's sight; the angles measured on them were as accurate
(benchmarks/results/two_person.md).
:meth:`SubjectTracker.update` applies it to the subject's pose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .appearance import distance
from .landmarks import INDEX, TORSO, Focus, Pose, PoseFrame, torso_distance, torso_length
from .tap import tap_hit, tapped

SELECTORS = ("auto", "image-left", "image-right", "lying", "seated")
POSTURE_SELECTORS = ("lying", "seated")
# a patient known to be lying or seated is never followed onto a detection in one of these postures:
# where two people overlap in the image the tracker might otherwise hand the patient's track to the
# caregiver standing or kneeling behind them (posture_of says "unclear" when it cannot tell)
NOT_THE_PATIENT = {"lying": ("standing", "seated", "kneeling"), "seated": ("standing", "lying", "kneeling")}

HANDS = [INDEX[f"{s}_{n}"] for s in ("left", "right") for n in ("wrist", "pinky", "index", "thumb")]
BODY = list(range(INDEX["left_shoulder"], len(INDEX)))  # shoulders down: the limbs and the trunk

OCCLUDED_VISIBILITY = 0.1  # below the angle engine's MIN_VISIBILITY (0.3)
HAND_RADIUS = 0.05  # in subject torso lengths (about 2.5 cm on an adult): the landmark lies on the hand
HAND_MIN_VISIBILITY = 0.3  # another person's hand landmarks below this are not trusted to occlude
HAND_SEEN_VISIBILITY = 0.8  # a subject landmark the model sees this surely is not covered by a hand on it

GATE = 0.5  # torso lengths of unexplained torso displacement, after the velocity prediction ...
GATE_SPEED = 3.0  # ... plus this many torso lengths per second since the track was last seen (a brisk walk)
GATE_MAX = 2.0
GATE_SPEED_STILL = 0.5  # ... for a patient known to be lying or seated, who does not walk about
ANCHOR_FRAMES = 15  # a still patient's detections are also held to the median of this many recent ones
MAX_SPEED = 4.0  # torso lengths per second: the velocity model never predicts faster than this
MIN_HITS_TO_LOCK = 3  # a person must be seen in this many frames before the set can lock onto them
MAX_SIZE_RATIO = 1.8  # a detection this much larger or smaller than the track is someone else
OTHER_TRACK_KEEP_S = 2.0  # non-subject tracks are forgotten after this long unseen
PREDICT_MAX_S = 0.5  # the constant-velocity prediction runs at most this long into a gap
SETTLE_S = 1.0  # an unconfirmed auto pick can still be corrected for this long
REACQUIRE_S = 2.0  # a subject lost this long is re-found when one person, seen by no other track, is alone
REACQUIRE_POSTURE_S = 0.15  # a subject chosen by posture is re-found this soon in the one person with it
# Appearance (romcam.appearance: the colours of the clothes on the trunk). On the rendered caregiver
# scenes a person's own signature lay within 0.48 of their running mean in 95% of frames, the other
# person's at 0.56 or more in 95% (benchmarks/two_person.py): a detection is never given to a track
# it looks less like than another track by APPEARANCE_MARGIN, nor to one it looks nothing like.
APPEARANCE_GATE = 0.8  # Hellinger distance beyond which a detection is someone else
APPEARANCE_MARGIN = 0.15  # ... or when it is this much nearer another established track's look
APPEARANCE_WEIGHT = 1.0  # cost per unit of distance (torso lengths of displacement) ...
APPEARANCE_FREE = 0.35  # ... beyond this much, a person's usual variation (median own distance 0.03-0.29)
APPEARANCE_DISTINCT = 0.5  # two tracks' looks this far apart are two differently dressed people
APPEARANCE_MIN_LOOKS = 5  # a track's look counts once it was seen this often
APPEARANCE_RATE = 0.1  # how fast a track's look follows the person (light, a turn)
REACQUIRE_LOOK = 0.5  # a lost subject is re-found only in someone who looks like them (within this)
REACQUIRE_SIZE_RATIO = 1.35  # ... and, lying or seated (they do not walk nearer the camera), is their size ...
SIZE_KNOWN_HITS = 10  # ... once it is known: the first few detections of a lying person are often partial
FOCUS_FRAMES = 30  # focus(): the patient's region is the union of their boxes over this many sightings ...
FOCUS_LOST_S = 1.0  # ... while they were seen this recently
WAIT_FOR_OTHERS_S = 1.0  # auto: with a caregiver expected, wait this long for both before choosing from fewer
TAP_WAIT_S = 0.5  # a tap (X,Y) waits this long for every expected person before choosing from fewer
IN_VIEW_S = 1.0  # choose(): a person seen this recently is in view (the model misses one now and then)


class SelectorError(ValueError):
    """A subject selector that is not one of ``auto|image-left|image-right|lying|seated|X,Y``."""


class PersonError(ValueError):
    """A person id (:meth:`SubjectTracker.choose`) that names nobody in view: never seen, or gone."""


@dataclass(frozen=True, slots=True)
class Selector:
    kind: str  # one of SELECTORS, "point" or "person"
    point: tuple[float, float] | None = None  # normalized image coordinates for "point"
    person: int | None = None  # the track id for "person" (SubjectTracker.choose)

    def __str__(self) -> str:
        if self.point is not None:
            return f"{self.point[0]:g},{self.point[1]:g}"
        return f"person {self.person}" if self.person is not None else self.kind


def parse_selector(value: str | Selector | tuple[float, float]) -> Selector:
    """``auto|image-left|image-right|lying|seated|X,Y`` → :class:`Selector`; raises :class:`SelectorError`."""
    if isinstance(value, Selector):
        return value
    if isinstance(value, tuple):
        x, y = (float(v) for v in value)
    else:
        text = str(value).strip().lower()
        if text in SELECTORS:
            return Selector(text)
        parts = text.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise SelectorError(
                f"subject must be one of {', '.join(SELECTORS)} or X,Y (a point in the image, 0..1 each), "
                f"got {value!r}"
            ) from None
    if not (math.isfinite(x) and math.isfinite(y) and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise SelectorError(f"subject X,Y must be a point in the image, each between 0 and 1, got {x:g},{y:g}")
    return Selector("point", (x, y))


# ---------------------------------------------------------------------------- geometry


def torso_points(pose: Pose) -> np.ndarray:
    return pose.image[TORSO, :2]


def bbox(pose: Pose) -> np.ndarray:
    """(x0, y0, x1, y1) of all 33 image landmarks, pixels."""
    xy = pose.image[:, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Angle at b (degrees) between b→a and b→c."""
    u, v = a - b, c - b
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 180.0
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(u, v) / (nu * nv))))))


def trunk_tilt(pose: Pose) -> float:
    """Degrees between the trunk (mid-hip → mid-shoulder, in the image) and image-up: 0 upright, 90 lying."""
    p = pose.image[:, :2]
    v = 0.5 * (p[TORSO[0]] + p[TORSO[1]]) - 0.5 * (p[TORSO[2]] + p[TORSO[3]])
    n = float(np.linalg.norm(v))
    if n == 0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, -v[1] / n))))


def posture_of(pose: Pose) -> str:
    """``lying``, ``seated``, ``kneeling``, ``standing`` or ``unclear`` from one pose.

    Lying: the trunk within 35° of horizontal in the image (a camera beside the bed or overhead-
    oblique). Seated: trunk upright-ish and both hips and both knees flexed below 140° (world
    landmarks, so the view matters little), unless both thighs point down in the image (kneeling: a
    caregiver beside the chair). Standing: trunk upright and hips and knees near straight.
    """
    tilt = trunk_tilt(pose)
    if 55.0 <= tilt <= 125.0:
        return "lying"
    w = pose.world
    hips = [_angle(w[INDEX[f"{s}_shoulder"]], w[INDEX[f"{s}_hip"]], w[INDEX[f"{s}_knee"]]) for s in ("left", "right")]
    knees = [_angle(w[INDEX[f"{s}_hip"]], w[INDEX[f"{s}_knee"]], w[INDEX[f"{s}_ankle"]]) for s in ("left", "right")]
    if tilt <= 50.0 and max(hips) < 140.0 and max(knees) < 140.0:
        return "kneeling" if _thighs_down(pose) else "seated"
    if tilt <= 35.0 and min(hips) > 145.0 and min(knees) > 145.0:
        return "standing"
    return "unclear"


def _thighs_down(pose: Pose) -> bool:
    """Kneeling (or squatting), not sitting, judged in the image, where down is gravity for a level
    camera: the thighs long and within 35° of straight down, or the thighs pointing down (within 60°
    of it) while the shins lie within 30° of level — on the floor. Judged on the legs the model sees
    (knee and ankle visibility 0.5 or more; seen from the side the far leg is a guess), or both when
    it sees neither. A seated person's thighs lie level (seen from the side; then a knee extension
    brings the shin level too) or point at the camera (seen from the front, so they look short), and
    their shins hang down."""
    p = pose.image[:, :2]
    size = torso_length(pose)
    sides = [s for s in ("left", "right")
             if min(pose.visibility[INDEX[f"{s}_knee"]], pose.visibility[INDEX[f"{s}_ankle"]]) >= 0.5]
    steep = shins_level = True
    for s in sides or ("left", "right"):
        thigh = p[INDEX[f"{s}_knee"]] - p[INDEX[f"{s}_hip"]]
        shin = p[INDEX[f"{s}_ankle"]] - p[INDEX[f"{s}_knee"]]
        n, m = float(np.linalg.norm(thigh)), float(np.linalg.norm(shin))
        if n < 0.6 * size:
            return False
        down = thigh[1] / n
        steep = steep and down >= math.cos(math.radians(35.0))
        level = m >= 0.4 * size and abs(shin[1]) / m <= math.sin(math.radians(30.0))
        shins_level = shins_level and down >= math.cos(math.radians(60.0)) and level
    return steep or shins_level


def occlude_by_hands(subject: Pose, others: Sequence[Pose], *, radius: float = HAND_RADIUS,
                     min_hand_visibility: float = HAND_MIN_VISIBILITY,
                     occluded_visibility: float = OCCLUDED_VISIBILITY,
                     seen_visibility: float = HAND_SEEN_VISIBILITY) -> Pose:
    """The subject's pose with the landmarks another person's hands cover marked occluded.

    A subject landmark from the shoulders down is *covered* when one of another person's wrist,
    index, pinky or thumb landmarks (visibility at least ``min_hand_visibility``) lies within
    ``radius`` subject torso lengths of it in the image, and the model itself is not sure it sees
    it (its visibility below ``seen_visibility``: a hand holding the limb from behind, seen past by
    the camera, leaves the landmark plainly visible). Covered landmarks get visibility (and
    presence) at most ``occluded_visibility`` — below the angle engine's threshold, so an angle that
    needs them is reported missing instead of measured on a point the caregiver's hand may have
    pulled off the patient's limb. Returns ``subject`` itself when nothing is covered.
    """
    if not others:
        return subject
    hands = [o.image[HANDS, :2][o.visibility[HANDS] >= min_hand_visibility] for o in others]
    hands = [h for h in hands if len(h)]
    if not hands:
        return subject
    hand_xy = np.concatenate(hands)
    r = radius * torso_length(subject)
    body_xy = subject.image[BODY, :2]
    d = np.linalg.norm(body_xy[:, None, :] - hand_xy[None, :, :], axis=2).min(axis=1)
    covered = [BODY[i] for i in np.flatnonzero(d <= r) if subject.visibility[BODY[i]] < seen_visibility]
    if not covered:
        return subject
    vis = subject.visibility.copy()
    pres = subject.presence.copy()
    vis[covered] = np.minimum(vis[covered], occluded_visibility)
    pres[covered] = np.minimum(pres[covered], occluded_visibility)
    return replace(subject, visibility=vis, presence=pres)


def covered_landmarks(before: Pose, after: Pose) -> list[str]:
    """Names of the landmarks :func:`occlude_by_hands` marked (for messages: "I can't see the wrist")."""
    from .landmarks import LANDMARK_NAMES

    changed = np.flatnonzero(after.visibility < before.visibility)
    return [LANDMARK_NAMES[i] for i in changed]


# ---------------------------------------------------------------------------- tracking


@dataclass
class _Track:
    id: int
    points: np.ndarray  # (4, 2) torso landmarks at last sight
    box: np.ndarray
    scale: float
    last_t: float
    first_t: float
    velocity: np.ndarray  # (4, 2) pixels per second
    missed: int = 0
    hits: int = 1
    born_on_other: bool = False  # appeared on top of an existing track: maybe the same person found twice
    signature: np.ndarray | None = None  # running colour signature of the trunk (romcam.appearance)
    looks: int = 0  # frames that fed the signature
    recent: list[np.ndarray] = field(default_factory=list)  # torso points over the last ANCHOR_FRAMES sightings
    boxes: list[np.ndarray] = field(default_factory=list)  # boxes over the last FOCUS_FRAMES sightings

    def anchor(self) -> np.ndarray:
        """Where the torso has been lately (the median of recent sightings): a still patient's place."""
        return np.median(np.stack(self.recent), axis=0) if self.recent else self.points

    def predict(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        dt = min(max(t - self.last_t, 0.0), PREDICT_MAX_S)
        shift = self.velocity * dt
        return self.points + shift, self.box + np.tile(shift.mean(axis=0), 2)

    def update(self, pose: Pose, t: float) -> None:
        pts = torso_points(pose)
        if torso_distance(pts, self.points) < float(np.linalg.norm(pts - self.points, axis=1).mean()):
            pts = pts[[1, 0, 3, 2]]  # keep the track's own left/right order through a flip
        dt = t - self.last_t
        if dt > 0:
            v = (pts - self.points) / dt
            speed = float(np.linalg.norm(v.mean(axis=0)))
            cap = MAX_SPEED * self.scale
            if speed > cap:
                v = v * (cap / speed)
            self.velocity = 0.7 * self.velocity + 0.3 * v
        self.points = pts
        self.recent = [*self.recent[-(ANCHOR_FRAMES - 1):], pts]
        self.box = bbox(pose)
        self.boxes = [*self.boxes[-(FOCUS_FRAMES - 1):], self.box]
        self.scale = 0.7 * self.scale + 0.3 * torso_length(pose)
        self.last_t = t
        self.missed = 0
        self.hits += 1
        self.see(pose)

    def see(self, pose: Pose) -> None:
        """Fold the pose's colour signature into the track's look."""
        if pose.signature is None:
            return
        if self.signature is None:
            self.signature = pose.signature.copy()
        else:
            rate = max(APPEARANCE_RATE, 1.0 / (self.looks + 1))
            self.signature = (1.0 - rate) * self.signature + rate * pose.signature
        self.looks += 1

    @property
    def known_look(self) -> bool:
        return self.signature is not None and self.looks >= APPEARANCE_MIN_LOOKS


def _look_cost(track: _Track, pose: Pose, tracks: Sequence[_Track]) -> float:
    """The appearance part of the cost of ``pose`` for ``track``: 0 without signatures, ``inf`` when
    the pose looks like someone else (beyond APPEARANCE_GATE, or clearly nearer another track's look)."""
    if pose.signature is None or not track.known_look:
        return 0.0
    assert track.signature is not None
    d = distance(pose.signature, track.signature)
    if d > APPEARANCE_GATE:
        return math.inf
    for other in tracks:
        if other is not track and other.known_look:
            assert other.signature is not None
            # only between people who look different: two tracks of one person (a jittery detection
            # split in two) or two people dressed alike are left to the landmarks
            if (distance(pose.signature, other.signature) + APPEARANCE_MARGIN < d
                    and distance(other.signature, track.signature) > APPEARANCE_DISTINCT):
                return math.inf
    # a person's look varies (their own arm across the trunk): only the part beyond the usual costs,
    # so a track whose look is known pays no more than one whose look is not for a typical match
    return APPEARANCE_WEIGHT * max(0.0, d - APPEARANCE_FREE)


def _same_size(candidate: _Track, subject: _Track) -> bool:
    """True unless the lost ``subject`` was seen often enough (SIZE_KNOWN_HITS) for their size to be
    known and ``candidate``'s differs from it by REACQUIRE_SIZE_RATIO or more. A subject locked on
    their first few detections (a lying patient's are often partial: half the trunk, a torso two
    thirds its length) and lost straight away has no size to hold the next detections to."""
    if subject.hits < SIZE_KNOWN_HITS:
        return True
    return max(candidate.scale / subject.scale, subject.scale / candidate.scale) < REACQUIRE_SIZE_RATIO


def _looks_alike(a: _Track, b: _Track, within: float = REACQUIRE_LOOK) -> bool:
    """True unless both tracks have a colour signature (however few sightings fed it: a lost subject
    is judged on what is known) and the two differ by more than ``within``."""
    if a.signature is None or b.signature is None:
        return True
    return distance(a.signature, b.signature) <= within


def _cost(track: _Track, pose: Pose, t: float, tracks: Sequence[_Track] = (), *, still: bool = False) -> float:
    """Assignment cost of ``pose`` to ``track``; ``inf`` outside the gate.

    The torso distance is the smaller of the distance to the constant-velocity prediction and to
    the last position (a jittery or reversing motion — jumping jacks — fools the prediction). With
    colour signatures, the look (:func:`_look_cost`) gates and adds to it: where two torsos overlap
    in the image, the clothes decide. ``still``: the track is a patient lying or seated, whose trunk
    stays put — its gate does not widen for walking speed."""
    look = _look_cost(track, pose, tracks)
    if not math.isfinite(look):
        return math.inf
    pred_pts, pred_box = track.predict(t)
    s = torso_length(pose)
    ratio = max(s / track.scale, track.scale / s)
    if ratio > MAX_SIZE_RATIO:
        return math.inf
    pts = torso_points(pose)
    d = min(torso_distance(pts, pred_pts), torso_distance(pts, track.points)) / track.scale
    if still:  # every torso point must stay near: a detection mixing the caregiver's shoulders with the
        # patient's hips (two people overlapping) moves the mean a little but one pair a lot
        # and to where the patient has been lately, so that a run of such detections cannot lead it away
        d = max(d, torso_distance(pts, track.points, worst=True) / track.scale,
                torso_distance(pts, track.anchor(), worst=True) / track.scale)
    if d > min(GATE + (GATE_SPEED_STILL if still else GATE_SPEED) * max(t - track.last_t, 0.0), GATE_MAX):
        return math.inf
    return d + 0.5 * (1.0 - max(iou(pred_box, bbox(pose)), iou(track.box, bbox(pose)))) + 0.5 * (ratio - 1.0) + look


# a second detection of the same person has their torso (within this many torso lengths where the boxes
# overlap by half, within the looser one where they overlap by 80 %). Boxes alone are not enough: a
# lying patient raising an arm toward a caregiver standing behind the bed fills the caregiver's box,
# and the model's other detection there (the caregiver's trunk on the patient's legs) has its
# shoulders 0.7-1.0 torso lengths from the patient's
DUPLICATE_TORSO_NEAR = 0.3
DUPLICATE_TORSO_FAR = 0.5


def _dedupe(poses: Sequence[Pose]) -> list[Pose]:
    """Drop a pose that is a second detection of someone already in the list (MediaPipe does that)."""
    order = sorted(poses, key=lambda p: -float(p.visibility.sum()))
    kept: list[Pose] = []
    for p in order:
        dup = False
        for k in kept:
            d = torso_distance(torso_points(p), torso_points(k)) / torso_length(k)
            overlap = iou(bbox(p), bbox(k))
            if (overlap > 0.8 and d < DUPLICATE_TORSO_FAR) or (overlap > 0.5 and d < DUPLICATE_TORSO_NEAR):
                dup = True
                break
        if not dup:
            kept.append(p)
    return kept


def _prominence(pose: Pose) -> float:
    """The "largest, most visible person" score: box area × mean visibility."""
    b = bbox(pose)
    return float((b[2] - b[0]) * (b[3] - b[1])) * float(pose.visibility.mean())


class SubjectTracker:
    """Locks onto the patient at the start of a set and follows that person frame to frame.

    ``selector``: ``auto | image-left | image-right | lying | seated | X,Y`` (see the module
    docstring). ``posture``: the prescription's posture (``standing``, ``seated``, ``lying``) that
    ``auto`` uses. ``mask_hands``: apply :func:`occlude_by_hands` to the subject's pose.
    """

    def __init__(self, selector: str | Selector = "auto", *, posture: str | None = None,
                 mask_hands: bool = True, people: int = 1, first_id: int = 0) -> None:
        self.selector = parse_selector(selector)
        self.posture = posture
        self.people = max(1, int(people))  # how many people are expected in view (2: a caregiver too)
        self._first_people_t: float | None = None
        self.mask_hands = mask_hands
        self._tracks: list[_Track] = []
        self._next_id = first_id  # track ids: a new tracker continuing an old one's numbering gives no id twice
        self.subject_id: int | None = None
        self.confirmed = False
        self.reason = ""  # how the subject was chosen (for status lines)
        self._lock_t = -math.inf
        self._t = -math.inf
        self.switches = 0  # times the subject was re-chosen after the first lock (relock, settle)
        self.last_poses: tuple[Pose, ...] = ()  # this frame's people, after de-duplication
        self.last_subject_index: int | None = None  # index into last_poses
        self.last_track_ids: tuple[int | None, ...] = ()  # each of last_poses' track id (None: a duplicate)
        self._chosen_posture: str | None = None  # the posture of the person a tap or a button chose, then

    # -------------------------------------------------------------- public

    @property
    def locked(self) -> bool:
        return self.subject_id is not None

    @property
    def next_id(self) -> int:
        """The id the next new track gets (a tracker for the next set starts there: ``first_id``)."""
        return self._next_id

    def relock(self, selector: str | Selector | tuple[float, float]) -> None:
        """Choose the subject again (a click on the live page): applied from the next frame with a match."""
        self.selector = parse_selector(selector)
        if self.subject_id is not None:
            self.switches += 1
        self.subject_id = None
        self.confirmed = False
        self._chosen_posture = None
        self._first_people_t = None  # a tap, too, waits a moment to see everyone expected

    def choose(self, person: int) -> None:
        """Follow the person whose track id is ``person`` (one of :attr:`last_track_ids`: the live page's
        button for that person) from now on, confirmed — that track, wherever the person has moved
        since, not whoever is nearest a point. Raises :class:`PersonError` for an id no track has had,
        or a person out of view for more than IN_VIEW_S (their track gone or not seen since)."""
        track = next((tr for tr in self._tracks if tr.id == person), None)
        if track is None and not 0 <= person < self._next_id:
            raise PersonError(f"person {person} is not anyone romcam has seen (the ids are the events' "
                              "subject.persons): choose again from the buttons, or tap the patient on the picture")
        if track is None or self._t - track.last_t > IN_VIEW_S:
            raise PersonError(f"person {person} is no longer in view: choose again from the buttons, or tap "
                              "the patient on the picture")
        if self.subject_id is not None and self.subject_id != person:
            self.switches += 1
        self.selector = Selector("person", person=person)
        self.subject_id, self.confirmed, self.reason = person, True, "the person chosen on the page"
        self._lock_t = self._t
        # the last frame's subject is them too (the status and its box say so before the next frame)
        self.last_subject_index = self.last_track_ids.index(person) if person in self.last_track_ids else None
        self._chosen_posture = (posture_of(self.last_poses[self.last_subject_index])
                                if self.last_subject_index is not None else None)

    def focus(self) -> Focus | None:
        """Where the patient is, for the pose stage's patient pass (:mod:`romcam.pose`): the union of
        their recent boxes, where their torso has been lately, their torso length. Only with a
        caregiver expected (``people`` 2 or more) and a patient known to lie or sit, who stays put;
        None until they are chosen, and once they have been out of sight for FOCUS_LOST_S."""
        if self.people < 2 or self.subject_id is None or self._want_posture() is None:
            return None
        subj = next((tr for tr in self._tracks if tr.id == self.subject_id), None)
        if subj is None or self._t - subj.last_t > FOCUS_LOST_S or not subj.boxes:
            return None
        b = np.stack(subj.boxes)
        box = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))
        return Focus(box=box, torso=subj.anchor(), scale=subj.scale, lying=self._want_posture() == "lying")

    def seen_within(self, seconds: float) -> bool:
        """The subject was in view during the last ``seconds`` (of frame time)."""
        subj = next((tr for tr in self._tracks if tr.id == self.subject_id), None)
        return subj is not None and self._t - subj.last_t <= seconds

    def status(self) -> dict[str, object]:
        return {"selector": str(self.selector), "locked": self.locked, "confirmed": self.confirmed,
                "reason": self.reason, "people": len(self.last_poses), "expected": self.people}

    def update(self, frame: PoseFrame) -> Pose | None:
        """The subject's pose in ``frame`` (hands-occlusion applied), or None when not visible."""
        t = frame.t if frame.t > self._t else self._t + 1e-3
        self._t = t
        poses = _dedupe(frame.poses)
        assigned = self._assign(poses, t)  # track id → pose index
        self.last_poses = tuple(poses)
        by_track = {tid: i for tid, i in assigned.items()}
        if self.subject_id is None or (not self.confirmed and self.selector.kind == "auto"
                                       and t - self._lock_t <= SETTLE_S):
            self._choose(frame, poses, by_track, t)
        elif self.subject_id not in by_track:
            self._maybe_reacquire(poses, by_track, t)
        idx = by_track.get(self.subject_id) if self.subject_id is not None else None
        self.last_subject_index = idx
        ids: list[int | None] = [None] * len(poses)
        for tid, i in by_track.items():
            ids[i] = tid
        self.last_track_ids = tuple(ids)
        if idx is None:
            return None
        pose = poses[idx]
        if self.mask_hands:
            pose = occlude_by_hands(pose, [p for i, p in enumerate(poses) if i != idx])
        return pose

    # -------------------------------------------------------------- internals

    def _assign(self, poses: list[Pose], t: float) -> dict[int, int]:
        pairs = []
        want = self._want_posture()
        # with a caregiver expected: a lying or seated patient is never followed onto someone standing or
        # kneeling, nor away from where they lie or sit
        shunned = NOT_THE_PATIENT.get(want, ()) if want is not None and self.people > 1 else ()
        postures = [posture_of(p) for p in poses] if shunned and self.subject_id is not None else []
        for ti, tr in enumerate(self._tracks):
            for di, p in enumerate(poses):
                if tr.id == self.subject_id and postures and postures[di] in shunned:
                    continue
                c = _cost(tr, p, t, self._tracks, still=bool(shunned) and tr.id == self.subject_id)
                if math.isfinite(c):
                    pairs.append((c, ti, di))
        pairs.sort()
        used_t: set[int] = set()
        used_d: set[int] = set()
        out: dict[int, int] = {}
        for _, ti, di in pairs:
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            self._tracks[ti].update(poses[di], t)
            out[self._tracks[ti].id] = di
        for ti, tr in enumerate(self._tracks):
            if ti not in used_t:
                tr.missed += 1
        existing = list(self._tracks)
        for di, p in enumerate(poses):
            if di not in used_d:
                pts, box = torso_points(p), bbox(p)
                on_other = any(iou(box, o.box) > 0.5 and torso_distance(pts, o.points) < 0.5 * o.scale
                               for o in existing)
                tr = _Track(self._next_id, pts, box, torso_length(p), t, t, np.zeros((4, 2)), born_on_other=on_other)
                tr.see(p)
                self._next_id += 1
                self._tracks.append(tr)
                out[tr.id] = di
        self._tracks = [tr for tr in self._tracks
                        if tr.id == self.subject_id or t - tr.last_t <= OTHER_TRACK_KEEP_S]
        self._merge(t)
        return {tid: di for tid, di in out.items() if any(tr.id == tid for tr in self._tracks)}

    def _merge(self, t: float) -> None:
        """Forget a track that was born on top of another and still sits on it, at the same size (the
        same person found twice): the subject's, or the older one, stays. A person who walked in from
        elsewhere is never merged away, however close they come."""
        keep: list[_Track] = []
        order = sorted(self._tracks, key=lambda tr: (tr.id != self.subject_id, tr.first_t, tr.id))
        for tr in order:
            if tr.born_on_other and tr.id != self.subject_id and any(
                    torso_distance(tr.points, k.points) < 0.3 * k.scale
                    and max(tr.scale / k.scale, k.scale / tr.scale) < 1.35 for k in keep):
                continue
            keep.append(tr)
        self._tracks = sorted(keep, key=lambda tr: tr.id)

    def _choose(self, frame: PoseFrame, poses: list[Pose], by_track: dict[int, int], t: float) -> None:
        if not poses:
            return
        if self._first_people_t is None:
            self._first_people_t = t
        hits = {tr.id: tr.hits for tr in self._tracks}
        ids = [tid for tid in by_track if hits.get(tid, 0) >= MIN_HITS_TO_LOCK]
        if not ids:
            return
        wait = {"auto": WAIT_FOR_OTHERS_S, "point": TAP_WAIT_S}.get(self.selector.kind, 0.0)
        if self.subject_id is None and len(ids) < self.people and t - self._first_people_t < wait:
            # a caregiver is expected too: the choice by posture needs to see both, and a tap on the
            # caregiver in a frame where the model missed her must not fall on the patient beside her
            return
        pick, confirmed, reason = self._select(frame, poses, by_track, ids)
        if pick is None:
            return
        if self.selector.kind == "point" and (self.subject_id is None or pick == self.subject_id or confirmed):
            self._chosen_posture = posture_of(poses[by_track[pick]])
        if self.subject_id is None:
            self._lock_t = t
        elif pick == self.subject_id:
            if confirmed and not self.confirmed:
                self.confirmed, self.reason = True, reason
            return
        elif not confirmed:  # within the settle window only a decisive choice may change the pick
            return
        else:
            self.switches += 1
        self.subject_id, self.confirmed, self.reason = pick, confirmed, reason

    def _select(self, frame: PoseFrame, poses: list[Pose], by_track: dict[int, int],
                ids: list[int]) -> tuple[int | None, bool, str]:
        sel = self.selector
        pose_of = {tid: poses[i] for tid, i in by_track.items()}
        if sel.kind == "person":  # chosen by id (choose), and that track was lost: only that person
            return (sel.person, True, "the person chosen on the page") if sel.person in ids else (None, False, "")
        if sel.kind == "point":
            assert sel.point is not None
            x, y = sel.point[0] * frame.width, sel.point[1] * frame.height
            inside = []  # whose box (widened by a tenth) holds the point; of them, whose drawn body it is on
            for tid in ids:
                b = bbox(pose_of[tid])
                mx, my = 0.1 * (b[2] - b[0]), 0.1 * (b[3] - b[1])
                if b[0] - mx <= x <= b[2] + mx and b[1] - my <= y <= b[3] + my:
                    inside.append(tid)
            if not inside:
                return None, False, ""
            pick = inside[tapped([tap_hit(pose_of[tid], x, y) for tid in inside])]
            return pick, True, f"the person at {sel}"
        if sel.kind in ("image-left", "image-right"):
            xs = [(float(torso_points(pose_of[tid])[:, 0].mean()), tid) for tid in ids]
            pick = min(xs)[1] if sel.kind == "image-left" else max(xs)[1]
            return pick, True, f"the person at the {sel.kind.removeprefix('image-')} of the image"
        largest = max(ids, key=lambda tid: _prominence(pose_of[tid]))
        postures = {tid: posture_of(pose_of[tid]) for tid in ids}
        want = sel.kind if sel.kind in POSTURE_SELECTORS else (
            self.posture if self.posture in POSTURE_SELECTORS else None)
        if want is not None:
            match = [tid for tid in ids if postures[tid] == want]
            if len(match) == 1 and (sel.kind != "auto" or all(postures[o] != want for o in ids if o != match[0])):
                return match[0], True, f"the person {want}"
            if sel.kind != "auto" and match:
                pick = max(match, key=lambda tid: _prominence(pose_of[tid]))
                return pick, False, f"the largest of {len(match)} people {want}"
        if len(ids) == 1:
            if sel.kind == "auto" and want is not None and postures[ids[0]] != want:
                # the prescription says the patient is lying or seated: a lone person who is not (the
                # caregiver, while the model misses the patient) is never taken for the patient
                return None, False, ""
            if self.people >= 2 and want is None:
                # a caregiver is expected and nothing tells the two apart (both may stand): a lone person
                # may be the caregiver while the model misses the patient, so it is measured unconfirmed
                # (the page asks the caregiver to tap the patient; analyze says to check it)
                return ids[0], False, "the only person found, though a helper is expected too"
            return ids[0], True, "the only person in view"
        return largest, False, f"the largest of {len(ids)} people (not confirmed)"

    def _want_posture(self) -> str | None:
        """The posture the subject is held to (the lying or seated patient's protections), if any: the
        selector's, the prescription's with ``auto`` — and with a tap or a button too, when the person
        chosen was seen in the prescription's posture (confirming the patient must not weaken the hold)."""
        sel = self.selector
        if sel.kind in POSTURE_SELECTORS:
            return sel.kind
        if self.posture not in POSTURE_SELECTORS:
            return None
        if sel.kind == "auto" or (sel.kind in ("point", "person") and self._chosen_posture == self.posture):
            return self.posture
        return None

    def _maybe_reacquire(self, poses: list[Pose], by_track: dict[int, int], t: float) -> None:
        """A subject lost for REACQUIRE_S comes back when exactly one person is in view and that
        person is new (not a track that existed while the subject was visible, e.g. the caregiver).

        A subject chosen by posture (lying or seated) comes back sooner, after REACQUIRE_POSTURE_S:
        when exactly one person in view has that posture, is not the track of someone seen while the
        subject was, and no one else in view has it, and has the subject's size in the image (once
        known: SIZE_KNOWN_HITS sightings). (The model's landmarks of a lying person jump from frame to
        frame, enough to leave the tracking gate; the caregiver standing or kneeling beside them never
        takes their place.) Either way the person found must look like the subject where both have a
        colour signature."""
        subj = next((tr for tr in self._tracks if tr.id == self.subject_id), None)
        if subj is None:
            return
        want = self._want_posture()
        if want is not None and t - subj.last_t >= REACQUIRE_POSTURE_S and self.reason.startswith("the person "):
            postures = {tid: posture_of(poses[i]) for tid, i in by_track.items()}
            match = [tid for tid, p in postures.items() if p == want]
            born = {tr.id: tr.first_t for tr in self._tracks}
            looks = {tr.id: tr for tr in self._tracks}
            if (len(match) == 1 and born.get(match[0], -math.inf) > subj.last_t - 1e-9
                    and all(p != want for tid, p in postures.items() if tid != match[0])
                    and _looks_alike(looks[match[0]], subj)
                    and _same_size(looks[match[0]], subj)):
                self._tracks.remove(subj)
                self.subject_id = match[0]
                return
        if t - subj.last_t < REACQUIRE_S or len(poses) != 1:
            return
        others = [tr for tr in self._tracks if tr.id != self.subject_id]
        (tid,) = by_track
        tr = next(tr for tr in others if tr.id == tid)
        if tr.first_t <= subj.last_t + 1e-9 or any(o.id != tid and t - o.last_t <= REACQUIRE_S for o in others):
            return
        if not _looks_alike(tr, subj):
            return
        self._tracks.remove(subj)
        self.subject_id = tid
