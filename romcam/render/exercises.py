"""How the figure performs each catalog motion: the pose for a commanded angle (pure).

Each exercise maps the goniometric angle it commands (degrees, the catalog's definition) to the
figure's degrees of freedom (:class:`~romcam.render.skeleton.JointAngles`); everything not named
stays at the posture's neutral. Defaults for rest and peak are realistic values for a person with
some loss of range (about 80 % of normal), per posture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .skeleton import MOTIONS, BodyDims, JointAngles, SideAngles

POSTURES = ("standing", "seated", "lying")


def neutral_pose(posture: str) -> JointAngles:
    """The posture's resting pose: standing straight, sitting (hips and knees 90°) or supine."""
    if posture == "standing" or posture == "lying":
        return JointAngles()
    if posture == "seated":
        s = SideAngles(hip_flex=90.0, knee_flex=90.0)
        return JointAngles(left=s, right=s)
    raise ValueError(f"posture must be one of {', '.join(POSTURES)}, got {posture!r}")


@dataclass(frozen=True)
class Exercise:
    """One motion as the figure performs it.

    ``view`` is the camera view the motion needs ("front" or "side"); ``rest``/``peak`` map a
    posture to the default angles (degrees); ``pose(angle, side, posture)`` gives the figure's pose.
    """

    id: str
    view: str
    rest: dict[str, float]
    peak: dict[str, float]
    pose: Callable[[float, str, str], JointAngles]
    postures: tuple[str, ...] = POSTURES

    def check_posture(self, posture: str) -> None:
        """``ValueError`` if the figure cannot perform this motion in ``posture``."""
        if posture not in self.postures:
            raise ValueError(
                f"{self.id} is not rendered {posture}; postures: {', '.join(self.postures)}"
            )


def _natural_abd_rest() -> float:
    dims = BodyDims()
    return dims.natural_arm_abd


def _all(v: float) -> dict[str, float]:
    return {p: v for p in POSTURES}


def _side(**changes: float) -> Callable[[float, str, str], JointAngles]:
    """A pose function setting the moving side's DOFs; values may be callables of the angle."""

    def pose(angle: float, side: str, posture: str) -> JointAngles:
        base = neutral_pose(posture)
        vals = {k: (v(angle, posture) if callable(v) else v) for k, v in changes.items()}
        return base.with_side(side, **vals)

    return pose


def _angle(a: float, _p: str) -> float:
    return a


def _hip_knee_chest_knee(a: float, posture: str) -> float:
    # Knee-to-chest: the knee flexes with the hip, capped at 110; seated it stays at least 90.
    k = min(max(a, 0.0), 110.0)
    return max(k, 90.0) if posture == "seated" else k


def _knee_hip(a: float, posture: str) -> float:
    # Standing: hip stays 0. Seated: thigh on the seat (90). Lying: heel slide, foot on the bed
    # (equal thigh and shank lengths put the ankle level with the hip when hip = knee / 2).
    return {"standing": 0.0, "seated": 90.0, "lying": a / 2.0}[posture]


EXERCISES: dict[str, Exercise] = {
    e.id: e
    for e in (
        Exercise(
            "shoulder_flexion", "side", _all(0.0), _all(140.0), _side(shoulder_flex=_angle)
        ),
        Exercise(
            "shoulder_abduction",
            "front",
            _all(_natural_abd_rest()),
            _all(140.0),
            _side(shoulder_abd=_angle),
        ),
        Exercise(
            "shoulder_external_rotation",
            "side",
            _all(0.0),
            _all(70.0),
            _side(shoulder_abd=90.0, elbow_flex=90.0, shoulder_rot=_angle),
        ),
        Exercise("elbow_flexion", "side", _all(0.0), _all(130.0), _side(elbow_flex=_angle)),
        Exercise(
            "hip_flexion",
            "side",
            {"standing": 0.0, "seated": 90.0, "lying": 0.0},
            {"standing": 90.0, "seated": 115.0, "lying": 100.0},
            _side(hip_flex=_angle, knee_flex=_hip_knee_chest_knee),
        ),
        Exercise(
            "hip_flexion_straight_leg",
            "side",
            {"standing": 0.0, "seated": 90.0, "lying": 0.0},
            {"standing": 50.0, "seated": 105.0, "lying": 70.0},
            _side(hip_flex=_angle, knee_flex=0.0),
        ),
        # Seated, the thigh points forward and its frontal-plane angle is undefined.
        Exercise(
            "hip_abduction",
            "front",
            _all(0.0),
            _all(35.0),
            _side(hip_abd=_angle),
            postures=("standing", "lying"),
        ),
        Exercise(
            "knee_flexion",
            "side",
            {"standing": 0.0, "seated": 90.0, "lying": 0.0},
            {"standing": 110.0, "seated": 120.0, "lying": 110.0},
            _side(knee_flex=_angle, hip_flex=_knee_hip),
        ),
        Exercise(
            "knee_extension",
            "side",
            _all(90.0),
            _all(10.0),
            _side(knee_flex=_angle, hip_flex=_knee_hip),
        ),
        Exercise(
            "ankle_dorsiflexion",
            "side",
            _all(-30.0),
            _all(15.0),
            # knee straight; standing lifts the foot off the floor (hip 20), seated holds the leg
            # out straight, lying the heel rests on the bed
            _side(
                ankle_dorsi=_angle,
                knee_flex=0.0,
                hip_flex=lambda a, p: {"standing": 20.0, "seated": 90.0, "lying": 0.0}[p],
            ),
        ),
        Exercise(
            "ankle_dorsiflexion_knee_bent",
            "side",
            _all(-30.0),
            _all(15.0),
            _side(
                ankle_dorsi=_angle,
                knee_flex=40.0,
                hip_flex=lambda a, p: {"standing": 40.0, "seated": 90.0, "lying": 20.0}[p],
            ),
        ),
        Exercise(
            "neck_lateral_flexion",
            "front",
            _all(0.0),
            _all(35.0),
            lambda a, side, posture: _neck(posture, side, lat=a),
        ),
        Exercise(
            "neck_rotation",
            "front",
            _all(0.0),
            _all(55.0),
            lambda a, side, posture: _neck(posture, side, rot=a),
        ),
    )
}

assert tuple(EXERCISES) == MOTIONS


def _neck(posture: str, side: str, lat: float = 0.0, rot: float = 0.0) -> JointAngles:
    from dataclasses import replace

    return replace(neutral_pose(posture), neck_lat=lat, neck_rot=rot, neck_side=side)


def get_exercise(exercise: str) -> Exercise:
    """The exercise by catalog id; ``ValueError`` naming the known ids otherwise."""
    try:
        return EXERCISES[exercise]
    except KeyError:
        raise ValueError(
            f"unknown exercise {exercise!r}; expected one of {', '.join(EXERCISES)}"
        ) from None
