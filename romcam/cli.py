"""The ``romcam`` command line. User mistakes become one-line messages and distinct exit codes
(see :mod:`romcam.errors`), never tracebacks."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import InsecureBindError, LinkNotCheckedError, LinkRefusedError, RomcamError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session as DB

    from .live.capture import LiveOptions
    from .store import Store
    from .store.models import Patient
    from .sync.config import LinkConfig


class _Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, a few lines otherwise)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last_quarter = -1

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * 30)
            line = f"{self.label} [{bar:<30}] {done}/{total} frames"
            if self.tty:
                print(f"\r{line}", end="", file=sys.stderr, flush=True)
            elif int(frac * 4) > self._last_quarter:
                self._last_quarter = int(frac * 4)
                print(line, file=sys.stderr, flush=True)
        elif self.tty:
            print(f"\r{self.label} {done} frames", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def _write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a full disk leaves no half file). A symbolic link
    is written through (its target is replaced, not the link), a device or a pipe (``/dev/stdout``) is
    written to as it is, and a new file gets the usual permissions (the umask's), not a temporary's."""
    try:
        if os.path.exists(path) and not os.path.isfile(path):  # a device, a pipe (/dev/stdout): nothing to replace
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            return
        target = Path(os.path.realpath(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        if "tmp" in locals() and os.path.exists(tmp):
            os.unlink(tmp)
        raise RomcamError(f"cannot write {path}: {exc.strerror or exc} — {_write_fix(exc)}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_fix(exc: OSError) -> str:
    """What to do about a file that could not be written."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "free some space or choose another place"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "choose a place you may write to"
    return "choose another place"


def _check_outputs(args: argparse.Namespace) -> None:
    """Before the video is read: no output may be the input video or the other output (writing it would
    replace the patient's recording)."""
    outputs = [(flag, value) for flag, value in (("--json", args.json), ("--csv", args.csv)) if value]
    video = os.path.realpath(args.video)
    seen: dict[str, str] = {}
    for flag, value in outputs:
        where = os.path.realpath(value)
        if where == video:
            raise UsageError(f"{flag} {value} is the video being analysed: writing it would replace the recording; "
                             "choose another file name")
        if where in seen:
            raise UsageError(f"{seen[where]} and {flag} are the same file ({value}): give each its own")
        seen[where] = flag


# the file names `romcam render` can write its video under: OpenCV writes render_clip's 'mp4v' into these
# containers (WebM takes only VP8/VP9/AV1; under any other name it writes nothing)
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv")

NO_SUCH_PATIENT = "no such patient in this database (the dashboard's patient page, or GET /api/patients, gives ids)"


@dataclass(frozen=True)
class PlanLink:
    """The patient's active prescription an analysed video is filed under (``analyze --save``)."""

    prescription_id: uuid.UUID
    version: int
    target_min: float
    target_max: float
    safe_max: float | None = None
    safe_min: float | None = None  # optional: the PT's limit at the low end (over-straightening)


def _refuse_in_memory(db: str | None, what: str) -> None:
    """A command that stores refuses an in-memory database (``--db sqlite://``): what it stored (an account,
    a token, a session) would be gone when romcam exits, after romcam said it was stored."""
    from .store.db import is_in_memory, resolve_url

    if is_in_memory(resolve_url(db)):
        raise UsageError(f"{what} needs a database file: an in-memory database is gone when romcam exits "
                         "(give --db sqlite:///PATH, or leave --db out for the default)")


def _refuse_missing_database(db: str | None, what: str) -> None:
    """A command that works on the clinic's accounts or patients (``user password``, ``user list``, ``token
    create``...) refuses a SQLite file that is not there, instead of creating an empty database beside the real
    one and saying "no such account" (a mistyped ``--db``)."""
    from sqlalchemy.engine import make_url

    from .store.db import is_in_memory, resolve_url

    url = resolve_url(db)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or is_in_memory(url):
        return
    path = Path(str(parsed.database)).expanduser()
    if not path.exists():
        raise UsageError(f"{what}: there is no database at {path}: give --db (or ROMCAM_DB) the clinic server's "
                         "database")


@contextmanager
def _clinic_database(db: str | None, what: str) -> Iterator[Store]:
    """The database of a command on the clinic's accounts or patients (``what``: "user list"...), once it is
    known to be a file that is there (:func:`_refuse_in_memory`, :func:`_refuse_missing_database`); closed after."""
    from .store import Store

    _refuse_in_memory(db, what)
    _refuse_missing_database(db, what)
    store = Store(db)
    try:
        yield store
    finally:
        store.close()


def _patient_words(db: DB, patient: Patient) -> str:
    """The patient as the PT knows them, for what ``analyze --save`` prints: their name ("Ann Lee"), with their
    id when another patient of this database has the same name; the laptop's own patient as such."""
    from sqlalchemy import func, select

    from .store.db import LOCAL_PATIENT_NAME
    from .store.models import Patient

    name, pid = patient.name.strip(), patient.id
    if patient.is_local:
        return "this laptop's own patient" + ("" if name in ("", LOCAL_PATIENT_NAME) else f" ({name})")
    if not name:
        return f"the patient with id {pid}"
    same = db.scalar(select(func.count()).select_from(Patient)
                     .where(func.lower(func.trim(Patient.name)) == name.lower()))
    return f"{name} (id {pid}: another patient has the same name)" if (same or 0) > 1 else name


def _link_file() -> LinkConfig | None:
    """The link ``romcam link`` wrote (at the default path), or None: none written, or one ``romcam serve`` refuses
    too (and says why)."""
    from .sync.config import default_config_path, read_config

    path = default_config_path()
    if not path.exists():
        return None
    try:
        return read_config(path)
    except UsageError:
        return None


def _plan_is_another_links(db: DB) -> bool:
    """Whether the plan stored for the laptop's own patient is another device token's patient's: the link file
    (``romcam link``'s, at the default path) names a token the clinic has not answered yet — else the token romcam
    last ran with — and the plan was pulled for the one it answered before (romcam.sync.plan.plan_withheld)."""
    from .store.models import LinkState
    from .sync.plan import plan_withheld

    link = _link_file()
    fp = link.fingerprint if link is not None else None
    if fp is None:
        state = db.get(LinkState, 1)
        fp = state.started_fp if state is not None else None
    return plan_withheld(db, fp)


def _open_store_for_save(args: argparse.Namespace) -> tuple[PlanLink | None, str]:
    """With ``--save``, before the video is read: the patient id is a UUID, the database opens and the
    patient is in it (a minutes-long analysis should not end in 'patient not found'). Returns the
    patient's active prescription of this exercise, side, mode and posture, when there is one (the
    session is filed under it, as the live coach files its sets, and the PT reads it with its target),
    and the patient in words (:func:`_patient_words`)."""
    from .store import Store
    from .store.errors import NotFoundError
    from .store.service import active_prescriptions, get_patient

    patient_id = None
    if args.patient:
        patient_id = _uuid_arg(args.patient, "--patient")
    _refuse_in_memory(args.db, "--save")
    store = Store(args.db)
    try:
        with store.session() as db:
            try:
                patient = get_patient(db, patient_id or store.local_patient_id)
            except NotFoundError:
                raise UsageError(f"--patient {patient_id}: {NO_SUCH_PATIENT}; leave --patient out for this "
                                 "laptop's own patient") from None
            who = _patient_words(db, patient)
            if patient.is_local and _plan_is_another_links(db):
                print(f"for {who}: filed under no prescription: this laptop was linked again and the clinic has "
                      "not accepted its key yet, so the plan stored here is the patient's linked before, not this "
                      "one's (measured only, no target; the clinic takes the session once it accepts the key)",
                      file=sys.stderr)
                return None, who
            for rx, v in active_prescriptions(db, patient):
                if (v.exercise, v.side, v.mode, v.posture) == (args.exercise, args.side, args.mode, args.posture):
                    return PlanLink(rx.id, v.version, v.target_min, v.target_max, v.safe_max, v.safe_min), who
    finally:
        store.close()
    return None, who


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze_video
    from .report import samples_csv, summary_text
    from .subject import SelectorError, parse_selector

    side_given = args.side is not None
    args.side = args.side or "left"
    if not args.save:  # a --patient or --db without --save would be ignored: the caregiver would think it stored
        for flag, value, what in (("--patient", args.patient, "whose session to store"),
                                  ("--db", args.db, "the database to store the session in")):
            if value is not None:
                raise UsageError(f"{flag} goes with --save ({what}), and nothing is stored without it: add --save "
                                 f"to store this analysis as a session, or leave {flag} out")
    try:
        parse_selector(args.subject)  # a malformed --subject fails before the video is opened
    except SelectorError as exc:
        raise UsageError(f"--subject: {exc}") from None
    _check_limits(args.target, args.safe_max, args.safe_min, {"target": True, "safe_max": True, "safe_min": True})
    from .catalog import get_motion
    from .pose import check_model

    try:  # an unknown exercise is exit 3 (UnknownExerciseError); a posture it is not done in, a usage error
        args.posture = get_motion(args.exercise).posture_or_default(args.posture)
    except ValueError as exc:
        raise UsageError(f"--posture: {exc}") from None
    check_model(args.model)  # a wrong --model fails at once, before the video is read
    _check_outputs(args)
    plan, who = _open_store_for_save(args) if args.save else (None, "")
    given = {flag: getattr(args, flag) is not None for flag in ("target", "safe_max", "safe_min")}
    if plan is not None:  # the PT's target and safe limits, as the live coach would follow them, unless given
        if args.target is None:
            args.target = plan.target_min if get_motion(args.exercise).works == "max" else plan.target_max
        if args.safe_max is None:
            args.safe_max = plan.safe_max
        if args.safe_min is None:
            args.safe_min = plan.safe_min
        limits = "".join(f", safe {name} {v:g}°" for name, v in (("maximum", plan.safe_max),
                                                                 ("minimum", plan.safe_min)) if v is not None)
        print(f"for {who}: filed under the plan's {args.exercise.replace('_', ' ')} ({args.side}, {args.mode}, "
              f"{args.posture}), version {plan.version}: target {plan.target_min:g}° to {plan.target_max:g}°{limits}",
              file=sys.stderr)
    _check_limits(args.target, args.safe_max, args.safe_min, given)

    progress = None if args.quiet else _Progress(f"analyzing {Path(args.video).name}")
    try:
        # a caregiver in frame (passive or assisted ROM) or a chosen subject: look for two people
        people = 2 if args.mode != "active" or args.subject != "auto" else 1
        result = analyze_video(args.video, args.exercise, args.side, target=args.target,
                               safe_max=args.safe_max, safe_min=args.safe_min, model_path=args.model,
                               progress=progress, subject=args.subject, posture=args.posture, people=people,
                               mode=args.mode)
    finally:
        if progress:
            progress.done()
    # every output is tried, whatever happened to the others: one that cannot be written loses no other
    failed: list[RomcamError] = []
    steps = [lambda: print(summary_text(result), end="", flush=True)]
    if args.json:
        steps.append(lambda: _write_text(args.json, json.dumps(result.to_document(), indent=1) + "\n"))
    if args.csv:
        steps.append(lambda: _write_text(args.csv, samples_csv(result)))
    if args.save:
        steps.append(lambda: _save_analysis(result.to_document(), args, plan, who))
    for step in steps:
        try:
            step()
        except RomcamError as exc:
            failed.append(exc)
        except OSError as exc:  # the summary on a standard output that cannot be written (a full disk)
            failed.append(RomcamError(f"cannot print the summary: {exc.strerror or exc}"))
    if result.error is not None:
        print(f"romcam: {result.error}", file=sys.stderr)
    # a right arm's video measured on the default left side reads as no reps (a limb never measured says so itself)
    if not side_given and not result.reps and any(smp.angle is not None for smp in result.samples):
        print("romcam: no repetition found on the left side, the one measured when --side is not given: if the "
              "patient moved the right side, run it again with --side right", file=sys.stderr)
    for exc in failed:
        print(f"romcam: {exc}", file=sys.stderr)
    if failed:  # the results were not all kept: that matters more than why the video stopped
        return failed[0].exit_code
    return result.error.exit_code if result.error is not None else 0


def _check_limits(target: float | None, safe_max: float | None, safe_min: float | None,
                  given: dict[str, bool]) -> None:
    """The PT's safe limits hold the target between them, as a prescription's do: ``safe_min`` below
    ``safe_max``, and the target from ``safe_min`` to ``safe_max``. ``given``: which came from the command line
    (``target``, ``safe_max``, ``safe_min``); the others are the plan's, and the message says so."""
    def name(key: str, value: float) -> str:
        flag = "--" + key.replace("_", "-")
        words = {"target": "target", "safe_max": "safe maximum", "safe_min": "safe minimum"}[key]
        return f"{flag} {value:g}°" if given.get(key) else f"the plan's {words} ({value:g}°)"

    if safe_max is not None and safe_min is not None and not safe_min < safe_max:
        raise UsageError(f"{name('safe_min', safe_min)} is not below {name('safe_max', safe_max)}: the safe minimum "
                         "guards the low end of the range, the safe maximum the high end; give a safe minimum below "
                         "the safe maximum")
    if target is not None and safe_max is not None and target > safe_max:
        raise UsageError(f"{name('target', target)} is past {name('safe_max', safe_max)}: a target must be within "
                         "the PT's safe limits; give a target at or below the safe maximum")
    if target is not None and safe_min is not None and target < safe_min:
        raise UsageError(f"{name('target', target)} is past {name('safe_min', safe_min)}: a target must be within "
                         "the PT's safe limits; give a target at or above the safe minimum")


def _save_analysis(document: dict, args: argparse.Namespace, plan: PlanLink | None = None, who: str = "") -> None:
    """Store the analysis as a one-set session (the same document and service as POST /api/sessions), under
    the plan's prescription when it has one of this motion; it ended now (not the video's length from now).
    ``who``: the patient in words (:func:`_patient_words`), said with the session id."""
    from datetime import UTC, datetime, timedelta

    patient_id = uuid.UUID(args.patient) if args.patient else None  # checked before the analysis
    fps, frames = document.get("fps") or 0.0, document.get("frames") or 0
    started = datetime.now(UTC) - timedelta(seconds=math.ceil(frames / fps) if fps else 0)
    link = {"prescription_id": plan.prescription_id, "prescription_version": plan.version} if plan else {}
    session_id, patient_id, _ = _store_session(document, db_url=args.db, patient_id=patient_id, mode=args.mode,
                                               posture=args.posture, started_at=started, **link)
    print(f"saved as session {session_id} of {who or f'patient {patient_id}'}{_queue_for_link(args.db, session_id)}",
          file=sys.stderr)


def _queue_for_link(db_url: str | None, session_id: uuid.UUID) -> str:
    """A session ``analyze --save`` stored for the laptop's own patient is queued at once under the device token
    of the link file (``romcam link``): the token the laptop is linked with now names its patient. Left to
    ``romcam serve`` otherwise (no link file, or one it will refuse too): it queues it under the token it ran
    with before (docs/sync.md). What to add to the "saved" line."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import SQLAlchemyError

    from .store import Store
    from .sync.outbox import enqueue_session

    link = _link_file()
    if link is None:
        return ""
    store = Store(db_url)
    try:
        with store.session() as db:
            queued = enqueue_session(db, session_id, patient_id=store.local_patient_id, link_fp=link.fingerprint,
                                     now=datetime.now(UTC))
    except (SQLAlchemyError, OSError):  # the session is stored: romcam serve queues it when it starts
        return f" (not queued for {link.clinic} yet: `romcam serve` queues it when it starts)"
    finally:
        store.close()
    return (f"; queued for {link.clinic}, the clinic this laptop is linked to (sent once it answers this laptop's "
            "device token and the patient consents on the coach page)") if queued else ""


def _store_session(document: dict, *, db_url: str | None, patient_id: object = None, mode: str = "active",
                   posture: str = "standing", **extra: object) -> tuple:
    """Ingest one analysed video as a session; returns (session id, patient id, created)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from .input_checks import first_problem
    from .session_doc import from_analysis
    from .store import Store
    from .store.errors import STORAGE_FIX, StoreError, storage_cause
    from .store.service import ingest_session

    store = Store(db_url)
    try:
        patient_id = patient_id or store.local_patient_id
        doc = from_analysis(document, patient_id=patient_id, mode=mode, posture=posture, **extra)
        with store.session() as db:
            session_id, created = ingest_session(db, doc)
    except (SQLAlchemyError, OSError) as exc:  # one transaction: nothing of the session was stored
        cause = storage_cause(exc)
        raise StoreError(f"could not save the session: {cause or exc}. Nothing of it was stored; "
                         f"{STORAGE_FIX.get(cause or '', 'fix that')}, then run the same command again") from None
    except ValidationError as exc:  # the document itself is refused, as the API would refuse it
        raise StoreError(f"could not save the session: {first_problem(exc)}. Nothing of it was stored") from None
    finally:
        store.close()
    return session_id, patient_id, created


def _live_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """What ``romcam serve`` captures: ``--source``, else camera 0, else (one line says so) the demo clip."""
    from .catalog import get_motion
    from .live.capture import LiveOptions, is_live_spec, quiet_opencv
    from .source import open_source, parse_source
    from .subject import SelectorError, parse_selector

    if args.exercise:
        try:  # a clear error for an unknown exercise, or a posture it is not done in
            args.posture = get_motion(args.exercise).posture_or_default(args.posture)
        except ValueError as exc:
            raise UsageError(f"--posture: {exc}") from None
    elif args.side:
        raise UsageError("--side goes with --exercise (the plan's prescriptions give each exercise its side)")
    if (args.mode != "active" or args.posture) and not args.exercise:
        raise UsageError("--mode and --posture go with --exercise (a prescription gives each exercise its own)")
    try:
        parse_selector(args.subject)
    except SelectorError as exc:
        raise UsageError(f"--subject: {exc}") from None
    from .pose import check_model

    model = check_model(args.model)  # a wrong --model fails before the server starts
    options = LiveOptions(source=None, exercise=args.exercise, side=args.side, every_frame=args.every_frame,
                          model_path=str(model), loop=args.loop, subject=args.subject, mode=args.mode,
                          posture=args.posture, auto_start=args.auto_start)
    if args.source is not None:
        spec = parse_source(args.source)
        quiet_opencv()
        source = open_source(spec)  # SourceNotFoundError, NotAVideoError, CameraError: one line, exit code
        source.close()
        options.source = spec
        return options
    quiet_opencv()
    try:
        open_source(0).close()
        options.source = 0
    except RomcamError:
        print("romcam: no camera could be opened (camera 0) — serving a rendered demo video instead. To exercise "
              "on the camera: plug it in, or close the program using it, then stop romcam (Ctrl-C) and start it "
              "again", file=sys.stderr)
        options.demo = True
        options.loop = True
    assert options.demo or is_live_spec(options.source)
    return options


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from .input_checks import first_problem
    from .server.app import create_app
    from .server.settings import Settings

    if args.source is not None and re.fullmatch(r"-\d+", args.source.strip()) and not os.path.exists(args.source):
        raise UsageError(f"--source {args.source}: a camera index must be 0 or more (0 is the first camera); "
                         "or give a video file or a stream URL")  # not "video not found"
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("db", args.db), ("auth", args.auth))
                 if v is not None}
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise UsageError(f"--{first_problem(exc)}") from None
    problem = settings.bind_problem()
    if problem:
        raise InsecureBindError(problem)
    _refuse_in_memory(settings.db_url, "serve")
    if settings.clinic and settings.secret_is_default:  # loopback only (bind_problem): a trial, but say it
        print("romcam: warning: no ROMCAM_SECRET_KEY of this server's own: the audit log's patient pseudonyms use "
              "the public default key, so a deleted patient's audit rows could be tied back to them. Set "
              "ROMCAM_SECRET_KEY before keeping real patients here (python3 -c 'import secrets; "
              "print(secrets.token_urlsafe(48))').", file=sys.stderr)
    _check_port_free(settings.host, settings.port)
    from .sync.config import link_file, resolve_link

    link = resolve_link(args.upload_to, args.token, args.config)
    live = None if args.no_live else _live_options(args)
    # on a clinic server there is no link to follow (it is the clinic)
    follow = None if settings.clinic else link_file(args.upload_to, args.token, args.config)
    app = create_app(settings, live=live, link=link, link_file=follow)
    # the app holds its lock while it runs; a rekey moving the audit log right now would otherwise stop it
    # inside uvicorn's start-up, as a traceback: say so in one line first (store/server_lock.py)
    from .store import server_lock

    server_lock.take(settings.db_url, "shared").release()
    for line in serving_lines(settings.host, settings.port, settings.db_url, live=live, link=link):
        print(line, file=sys.stderr)
    print("romcam: press Ctrl-C here to stop it", file=sys.stderr)  # uvicorn's own line is below the log level
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


def serving_lines(host: str, port: int, db_url: str, *, live: LiveOptions | None = None,
                  link: LinkConfig | None = None) -> list[str]:
    """What ``romcam serve`` prints on start: addresses a browser opens (on this machine the loopback one when
    bound to every interface, then a line saying so, with this machine's network address and name)."""
    from .server.addresses import all_interfaces_line, binds_all, local_url

    base = local_url(host, port)
    what = ""
    if live is not None:  # the patient opens the coach, not the PT's dashboard at the bare address
        on = "the demo video" if live.demo else str(live.source)
        what = f" — live coach on {on}: the patient opens {base}/coach, the dashboard is {base}/"
    if link is not None:
        what += f" — linked to the clinic {link.url}"
    lines = [f"romcam serving on {base} (database {db_url.split('@')[-1]}){what}"]
    if binds_all(host):
        lines.append(all_interfaces_line(host, port))
    return lines


def _port_problem(host: str, port: int) -> OSError | None:
    """Why ``romcam serve`` could not bind ``host:port`` now (None: it could)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closing port is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _check_port_free(host: str, port: int) -> None:
    """Fail before loading anything when another program already listens on ``host:port``, naming a port
    that is free and how to give it, to ``romcam serve`` and to ``make run`` (which passes no options)."""
    from .server.addresses import local_url

    exc = _port_problem(host, port)
    if exc is None:
        return
    free = next((p for p in range(port + 1, min(port + 50, 65536)) if _port_problem(host, p) is None), None)
    other = (f"choose another port: --port {free} (with make run: ROMCAM_PORT={free} make run)" if free is not None
             else "choose another port with --port (with make run: ROMCAM_PORT=PORT make run)")
    raise RomcamError(f"cannot serve on {host}:{port}: {exc.strerror or exc} — another romcam serve may be running "
                      f"there (open {local_url(host, port)}), or another program uses that port: {other}")


# romcam link cannot tell whether a romcam serve runs: what one that does makes of the file (romcam.sync.follow)
FOLLOWS = (". A romcam already running takes the new link within a few seconds (no restart), unless it was started "
           "with --upload-to/--token")


def cmd_link(args: argparse.Namespace) -> int:
    """Write the link file that a plain `romcam serve` (or `make run`) then uses (``--remove``: remove it)."""
    from .sync.config import TOKEN_HOWTO, LinkConfig, check_token, check_url, default_config_path, write_config

    if args.remove:
        if args.upload_to or args.token or args.no_check:
            raise UsageError("--remove takes no --upload-to, --token or --no-check: it unlinks this laptop "
                             "(`romcam link --remove`, with --config PATH for a link file elsewhere)")
        return unlink(Path(args.config).expanduser() if args.config else default_config_path())
    if not args.upload_to:
        raise UsageError("give the clinic's address with --upload-to URL (the PT has it, beside the device token), "
                         "or unlink this laptop with --remove")
    url = check_url(args.upload_to)  # a mistyped address is said before the token is asked for and pasted
    token = args.token
    if token is None:
        if sys.stdin.isatty():
            import getpass

            token = getpass.getpass("device token (romcam_dt_..., not shown): ")
        else:
            token = sys.stdin.readline()
    if not token.strip():  # nothing typed or piped: not a "malformed" token
        raise UsageError(f"no device token given: {TOKEN_HOWTO}; then give it with --token, paste it when asked, "
                         "or pipe it on standard input")
    link = LinkConfig(url, check_token(token))
    path = Path(args.config).expanduser() if args.config else default_config_path()
    try:
        write_config(path, link)
    except OSError as exc:
        raise RomcamError(f"cannot write {path}: {exc.strerror or exc}") from None
    if args.no_check:
        print(f"saved the link to {link.url} in {path} (mode 0600), not checked with the clinic (--no-check): "
              "`romcam serve` uploads there once the clinic answers and the patient consents on the coach page"
              f"{FOLLOWS}", file=sys.stderr)
        return 0
    patient = check_link(link, path)
    print(f"linked to {link.clinic} as {patient}: saved in {path} (mode 0600); `romcam serve` now uploads there "
          f"once the patient consents on the coach page{FOLLOWS}", file=sys.stderr)
    return 0


def unlink(path: Path) -> int:
    """Remove the link file at ``path``: this laptop is no longer linked (its sessions stay here). Nothing there
    is no error: it was not linked."""
    from .sync.config import read_config

    if not path.exists() and not path.is_symlink():
        print(f"this laptop is not linked: there is no link file at {path}", file=sys.stderr)
        return 0
    try:
        clinic = f" from {read_config(path).clinic}"
    except UsageError:  # half-written, others may read it: removed all the same, it was no usable link
        clinic = ""
    try:
        path.unlink()
    except OSError as exc:
        raise RomcamError(f"cannot remove the link file {path}: {exc.strerror or exc}; this laptop is still "
                          "linked") from None
    print(f"unlinked this laptop{clinic}: removed {path}. The sessions recorded here stay on this laptop and nothing "
          "more is sent to the clinic; a romcam already running stops sending within a few seconds (no restart), "
          "unless it was started with --upload-to/--token. To link again: `romcam link --upload-to URL`",
          file=sys.stderr)
    return 0


def check_link(link: LinkConfig, path: Path, *, timeout: float = 10.0) -> str:
    """Ask the clinic once (``GET /api/device``, as the sync client does) whether it knows the link's token;
    the patient's name there when it does. The link is saved at ``path`` either way: a clinic that does not
    answer is :class:`LinkNotCheckedError` (exit 12), one that refuses the token :class:`LinkRefusedError`
    (exit 13), each saying what to do."""
    from .sync.client import ClinicClient, ClinicError

    try:
        device = ClinicClient(link, timeout=timeout).device()
    except ClinicError as exc:
        why = exc.message.removesuffix("; trying again later")
        if exc.kind == "offline":
            raise LinkNotCheckedError(
                f"saved in {path}, but the clinic did not answer: {why}. Check the address with the PT (the "
                "clinic's dashboard shows it beside the device token); a laptop not online yet stays linked: "
                "`romcam serve` keeps trying (`romcam link --no-check` saves without asking)") from None
        if exc.kind == "auth":
            raise LinkRefusedError(f"saved in {path}, but {why}; then run `romcam link` again with the new token"
                                   ) from None
        raise LinkRefusedError(f"saved in {path}, but {why}: is {link.url} the clinic's romcam server? Check the "
                               "address with the PT, then run `romcam link` again") from None
    name = device.get("patient_name") if isinstance(device, dict) else None
    if not isinstance(name, str):
        raise LinkRefusedError(f"saved in {path}, but {link.url} answered /api/device without a patient: is it a "
                               "romcam clinic server? Check the address with the PT")
    return name


def cmd_exercises(args: argparse.Namespace) -> int:
    from .catalog import default_catalog

    catalog = default_catalog()
    if args.markdown:
        from .catalog import conventions_table

        print(conventions_table(catalog), end="")
        return 0
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(m) for m in catalog], indent=1))
        return 0
    for m in catalog:
        print(f"{m.id:<30} {m.display_name:<46} {m.view:>5} view  normal {m.normal.min:.0f}..{m.normal.max:.0f}°")
        if m.experimental:
            print(f"{'':<30} experimental: {m.experimental_reason}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .render import RenderSpec, render_clip

    view: str | float = 0.0 if args.view == "required" else args.view  # 0° away from the required view
    try:
        view = float(view)
    except ValueError:
        pass
    if isinstance(view, float) and not (math.isfinite(view) and abs(view) <= 180):
        raise UsageError(f"--view {args.view}: give required, front, side, oblique, or degrees from -180 to 180")
    spec = RenderSpec(exercise=args.exercise, side=args.side, view=view, posture=args.posture, reps=args.reps,
                      fps=args.fps, width=args.width, height=args.height, seed=args.seed,
                      background=args.background, noise=args.noise, hold_s=args.hold,
                      short_reps=tuple(args.short or ()), body=args.body, rep_s=args.rep_seconds,
                      peak=args.peak, rest=args.rest_angle, camera_height=args.camera_height,
                      camera_tilt=args.camera_tilt, caregiver=args.caregiver or args.crossing,
                      crossing=args.crossing)
    from .catalog import get_motion

    motion = get_motion(args.exercise)  # a clear error for an unknown exercise
    for flag, angle in (("--peak", args.peak), ("--rest-angle", args.rest_angle)):
        if angle is not None and angle not in motion.possible:  # no body does it: the truth would be a fiction
            raise UsageError(f"{flag} {angle:g}: {motion.name} goes from {motion.possible.min:g}° to "
                             f"{motion.possible.max:g}° at most (what the joint can do at all)")
    bad = [i for i in args.short or () if not 0 <= i < args.reps]
    if bad:  # the reps are numbered from 0
        raise UsageError(f"--short {' '.join(map(str, bad))}: give rep numbers from 0 to {args.reps - 1} "
                         f"(the first of the {args.reps} reps is 0)")
    out = Path(args.out)
    if out.is_dir():  # before the rendering: OpenCV would only say it cannot write to the folder above
        raise RomcamError(f"cannot write {args.out}: it is a folder — give the clip a file name in it, "
                          f"e.g. --out {out / 'clip.mp4'}")
    if out.suffix.lower() not in VIDEO_SUFFIXES:  # OpenCV would blame the folder
        kind = f"{out.suffix} is not a video file extension" if out.suffix else "it has no video file extension"
        raise UsageError(f"--out {args.out}: {kind} — end the name with one of {', '.join(VIDEO_SUFFIXES)}, "
                         f"e.g. --out {out.with_suffix('.mp4')}")
    try:
        truth = render_clip(spec, out)
    except FileNotFoundError as exc:  # the MakeHuman assets are not on this machine
        raise RomcamError(str(exc)) from None
    except OSError as exc:
        raise RomcamError(f"cannot write {args.out}: {exc.strerror or exc} — choose a place you may write to") from None
    except json.JSONDecodeError as exc:  # a damaged asset file
        raise RomcamError(f"the body's asset files are damaged ({exc}): copy them again") from None
    except ValueError as exc:  # options that do not fit together (a short rep beyond --reps, a view)
        raise UsageError(str(exc)) from None
    print(f"wrote {args.out} ({len(truth.times)} frames, {len(truth.reps)} reps) and its truth file")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Render a demo clip of a patient (once: kept in ``--out-dir``), analyse it and store it as a demo
    session in the local database (one per clip, dated by the clip's making)."""
    from datetime import UTC, datetime

    from .analysis import analyze_video
    from .catalog import get_motion
    from .pose import check_model
    from .render import RenderSpec, render_clip
    from .report import summary_text
    from .store.db import data_dir
    from .store.errors import ConflictError

    get_motion(args.exercise)  # an unknown exercise fails before anything is rendered (exit 3)
    check_model(args.model)
    if not args.no_save:
        _refuse_in_memory(args.db, "demo")
        from .store import Store

        Store(args.db).close()  # a database that does not open fails now, not after a minute of rendering
    out_dir = Path(args.out_dir) if args.out_dir else data_dir() / "demo"  # this user's, as `serve`'s demo
    clip = out_dir / f"demo_{args.exercise}.mp4"
    if not clip.exists():
        print(f"rendering a demo clip of {args.exercise.replace('_', ' ')} → {clip}", file=sys.stderr)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            render_clip(RenderSpec(exercise=args.exercise, side="left", reps=3, seed=1), clip)
        except OSError as exc:
            raise RomcamError(f"cannot write the demo clip to {clip}: {exc.strerror or exc} — give --out-dir "
                              "(or ROMCAM_DATA) a folder romcam may write to") from None
    else:
        print(f"the demo clip rendered before: {clip}", file=sys.stderr)
    progress = _Progress("analyzing the demo clip")
    try:
        result = analyze_video(clip, args.exercise, "left", progress=progress, model_path=args.model)
    finally:
        progress.done()
    print("demo video (rendered, not a real patient):")
    print(summary_text(result), end="")
    if args.no_save:
        return 0
    # one demo session per clip: the same clip stored twice is the same session, never a duplicate
    session_id = uuid.uuid5(uuid.NAMESPACE_URL, f"romcam-demo:{clip.name}:{clip.stat().st_mtime_ns}")
    started = datetime.fromtimestamp(clip.stat().st_mtime, UTC)
    try:
        _, patient_id, created = _store_session(result.to_document(), db_url=args.db, demo=True,
                                                started_at=started, session_id=session_id)
    except ConflictError:
        created, patient_id = False, None
    if created:
        print(f"stored as a demo session of the local patient ({patient_id})", file=sys.stderr)
    return 0


# --- accounts and device tokens (issue 7) ----------------------------------------------------------

def _read_password(prompt: str) -> str:
    """From a prompt on a terminal (asked twice), else the first line of standard input."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise UsageError("the two passwords differ: run the command again")
        return first
    line = sys.stdin.readline()
    if not line:  # nothing piped in (< /dev/null, a script without a terminal): not a "too short" password
        raise UsageError("no password given: run the command in a terminal to be asked for it, or give it as the "
                         "first line of standard input")
    return line.rstrip("\r\n")


def _account_problem(exc) -> UsageError:  # type: ignore[no-untyped-def]
    """A field the store refused, said as this command's own flag or its password prompt, not as the API's
    body field (``body.password``, ``patient_id``: flags the command does not have)."""
    field = str(exc.loc[-1])
    message = exc.message.replace("--patient / patient_id", "--patient").replace("patient_id", "--patient")
    if field == "password":
        return UsageError(f"the password is too short: {message}; run the command again")
    flag = {"patient_id": "--patient"}.get(field, f"--{field}")
    return UsageError(f"{flag}: {message}")


def cmd_user_create(args: argparse.Namespace) -> int:
    """Every argument is checked (the database opens, the email is free, the patient is there) before the
    password is asked for: a mistake is said at once, not after the admin typed a password twice."""
    from .store import Store, accounts
    from .store.errors import ConflictError, InvalidError, NotFoundError

    patient_id = _uuid_arg(args.patient, "--patient") if args.patient else None
    _refuse_in_memory(args.db, "user create")
    store = Store(args.db)
    try:
        with store.session() as db:
            try:
                email = accounts.check_new_user(db, email=args.email, role=args.role, patient_id=patient_id)
            except InvalidError as exc:
                raise _account_problem(exc) from None
            except NotFoundError:
                raise UsageError(f"--patient {patient_id}: {NO_SUCH_PATIENT}") from None
            except ConflictError as exc:
                raise ConflictError(f"{exc}: give another --email, or set its password with `romcam user password "
                                    f"--email {accounts.normalize_email(args.email)}`") from None
        password = _read_password(f"password for {email} (at least {accounts.MIN_PASSWORD} characters): ")
        with store.session() as db:
            try:
                user = accounts.create_user(db, email=args.email, password=password, role=args.role,
                                            name=args.name or "", patient_id=patient_id)
            except InvalidError as exc:  # its field as the flag that gave it, not the API's body.email
                raise _account_problem(exc) from None
            except NotFoundError:
                raise UsageError(f"--patient {patient_id}: {NO_SUCH_PATIENT}") from None
            print(f"created {user.role} {user.email} ({uuid.UUID(str(user.id))})", file=sys.stderr)
            print(user.id)
    finally:
        store.close()
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    """A new password for an account whose owner forgot theirs (nobody else can reset it: the API's
    password change needs the old one); every login session of the account ends."""
    from .store import accounts, service
    from .store.errors import InvalidError

    with _clinic_database(args.db, "user password") as store:
        with store.session() as db:  # before the prompt: an unknown email is said at once
            email = _account_by_email(db, args.email).email
        password = _read_password(f"new password for {email} (at least {accounts.MIN_PASSWORD} characters): ")
        with store.session() as db:
            user = accounts.get_user_by_email(db, email)
            try:
                accounts.set_password(db, user, password, now=service.now_utc())
            except InvalidError as exc:
                raise _account_problem(exc) from None
            note = "" if user.active else "; the account is deactivated, so it still cannot log in"
            print(f"password of {user.role} {user.email} set, its login sessions ended{note}", file=sys.stderr)
    return 0


def _account_by_email(db, email: str):  # type: ignore[no-untyped-def]
    """The account with this email (any case), or a usage error that says where to look."""
    from .store import accounts
    from .store.errors import NotFoundError

    try:
        return accounts.get_user_by_email(db, email)
    except NotFoundError:
        raise UsageError(f"--email {email}: no account has this email in this database (check the spelling, and "
                         "--db / ROMCAM_DB; `romcam user list` shows every account)") from None


def _patients_note(count: int, deactivated: bool) -> str:
    """What a clinician's (de)activation does to their patients: the API leaves them the clinician's own."""
    if not count:
        return ""
    them = "its patient" if count == 1 else f"its {count} patients"
    if deactivated:
        return (f"; {them} {'stays' if count == 1 else 'stay'} its own, so no PT sees them now: hand each to another "
                "clinician on the patient's dashboard page (the admin's patient list flags them)")
    return f"; it sees {them} again"


def cmd_user_deactivate(args: argparse.Namespace) -> int:
    """The account can no longer log in and its login sessions end (``DELETE /api/users/{id}`` does the same,
    through the same store function); its rows stay, and ``romcam user activate`` undoes it."""
    from .store import accounts

    with _clinic_database(args.db, "user deactivate") as store, store.session() as db:
        user = _account_by_email(db, args.email)
        was_active = user.active
        accounts.deactivate_user(db, user)
        if not was_active:
            print(f"{user.role} {user.email} was deactivated already: no change", file=sys.stderr)
            return 0
        note = _patients_note(accounts.patients_of(db, user), deactivated=True)
        print(f"deactivated {user.role} {user.email}: it can no longer log in, its login sessions ended{note} "
              f"(`romcam user activate --email {user.email}` undoes it)", file=sys.stderr)
    return 0


def cmd_user_activate(args: argparse.Namespace) -> int:
    """A deactivated account may log in again, with the password it had (``POST /api/users/{id}/activate``)."""
    from .store import accounts

    with _clinic_database(args.db, "user activate") as store, store.session() as db:
        user = _account_by_email(db, args.email)
        if user.active:
            print(f"{user.role} {user.email} is active already: no change", file=sys.stderr)
            return 0
        accounts.activate_user(db, user)
        note = _patients_note(accounts.patients_of(db, user), deactivated=False)
        print(f"activated {user.role} {user.email}: it may log in again with the password it had (`romcam user "
              f"password --email {user.email}` sets a new one){note}", file=sys.stderr)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    """Every account, deactivated ones too, by role then email: a table, or ``--json``."""
    from .store import accounts
    from .store.models import Patient

    with _clinic_database(args.db, "user list") as store, store.session() as db:
        rows = []
        for user in accounts.list_users(db):
            patient = db.get(Patient, user.patient_id) if user.patient_id else None
            rows.append({"id": str(user.id), "email": user.email, "name": user.name, "role": user.role,
                         "active": bool(user.active),
                         "patient_id": str(user.patient_id) if user.patient_id else None,
                         "patient_name": patient.name if patient else None,
                         "created_at": user.created_at.isoformat() if user.created_at else None})
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(_accounts_table(rows))
    if not rows:
        print("no accounts in this database (check --db / ROMCAM_DB): make the first admin with `romcam user "
              "create --email E --role admin`", file=sys.stderr)
    return 0


def _accounts_table(rows: list[dict]) -> str:
    """Email, name, role, active, and the patient a patient or caregiver account acts for, in columns."""
    table = [("EMAIL", "NAME", "ROLE", "ACTIVE", "PATIENT")]
    for r in rows:
        patient = f"{r['patient_name'] or 'no such patient'} ({r['patient_id']})" if r["patient_id"] else ""
        table.append((r["email"], r["name"] or "", r["role"], "yes" if r["active"] else "no, deactivated", patient))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
                     for row in table)


def _uuid_arg(value: str, flag: str):  # type: ignore[no-untyped-def]
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a patient id: it is the UUID at the end of the patient's page "
                         "address on the dashboard (…/patients/<id>), or in GET /api/patients") from None


def cmd_token_create(args: argparse.Namespace) -> int:
    from .store import accounts, service
    from .store.errors import NotFoundError

    patient_id = _uuid_arg(args.patient, "--patient")
    with _clinic_database(args.db, "token create") as store, store.session() as db:
        try:
            patient = service.get_patient(db, patient_id)
        except NotFoundError:
            raise UsageError(f"--patient {patient_id}: {NO_SUCH_PATIENT}") from None
        row, plaintext = accounts.create_device_token(db, patient, label=args.label or "", now=service.now_utc())
        print(f"device token {row.id} for {patient.name}: shown this once, keep it on the patient's machine",
              file=sys.stderr)
        print(plaintext)
    return 0


def cmd_audit_rekey(args: argparse.Namespace) -> int:
    """Move the audit log to a new secret key (docs/deploy.md): the keys come from the environment, never
    from arguments (a process list or a shell history would keep them)."""
    from .server.settings import MIN_SECRET_KEY
    from .store import Store, audit, server_lock
    from .store.db import parse_url, resolve_url
    from .store.errors import AuditKeyChangedError

    old = os.environ.get("ROMCAM_OLD_SECRET_KEY", "")
    new = os.environ.get("ROMCAM_SECRET_KEY", "")
    if not old or not new:
        raise UsageError("set ROMCAM_OLD_SECRET_KEY to the key the server ran with and ROMCAM_SECRET_KEY to the new "
                         "one (from the environment, not arguments)")
    if old == new:
        raise UsageError("ROMCAM_OLD_SECRET_KEY and ROMCAM_SECRET_KEY are the same key: nothing to move")
    if len(new) < MIN_SECRET_KEY:
        raise UsageError(f"ROMCAM_SECRET_KEY: at least {MIN_SECRET_KEY} characters (python3 -c 'import secrets; "
                         "print(secrets.token_urlsafe(48))')")
    url = resolve_url(args.db)
    parsed = parse_url(url)  # a mistyped --db is said in one line, not a traceback
    where = parsed.render_as_string()  # the password hidden
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and not Path(database).expanduser().exists():
        # opening it would make a new, empty database and "move" its empty log
        raise AuditKeyChangedError(f"{where}: no such database: nothing to move. Give --db (or ROMCAM_DB) the "
                                   "clinic server's database")
    try:
        # alone on the database: a server still running on the previous key would go on writing rows under it
        with server_lock.exclusive(url):
            store = Store(url)
            try:
                with store.session() as db:
                    done = audit.rekey(db, old_key=old, new_key=new)
            finally:
                store.close()
    except (AuditKeyChangedError, server_lock.DatabaseInUseError) as exc:
        raise type(exc)(f"{where}: {exc}") from None
    if done.already:  # run again after it succeeded (a retried script): the log is where it was meant to be
        late = (f"; {done.rows} rows of {done.patients} patients still under the previous key moved too"
                if done.rows else "")
        print(f"audit log of {where} is already on this ROMCAM_SECRET_KEY: nothing left to move{late}. Start the "
              "server with the new ROMCAM_SECRET_KEY.", file=sys.stderr)
        return 0
    left = (f"; {done.left} rows of patients deleted since stay under the previous key (nobody can tie them to "
            "anyone)") if done.left else ""
    print(f"audit log of {where} moved to the new key: {done.rows} rows of {done.patients} patients{left}. Start "
          "the server with the new ROMCAM_SECRET_KEY.", file=sys.stderr)
    return 0


def _account_parsers(sub) -> None:  # type: ignore[no-untyped-def]
    u = sub.add_parser("user", help="clinic accounts: `romcam user create` makes the first admin or clinician")
    usub = u.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    uc = usub.add_parser("create", help="create an account (password from a prompt, or stdin's first line)")
    uc.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    uc.add_argument("--email", required=True, help="the login name")
    uc.add_argument("--role", required=True, choices=("admin", "clinician", "patient", "caregiver"),
                    help="admin (accounts), clinician (the PT: their patients), or patient / caregiver (one "
                         "patient's own plan and sessions: give --patient)")
    uc.add_argument("--patient", metavar="ID", help="with --role patient or caregiver: the patient they act for")
    uc.add_argument("--name", type=_text("users.name"), help="display name")
    uc.set_defaults(func=cmd_user_create)
    up = usub.add_parser("password", help="set an account's password when its owner forgot it (from a prompt, or "
                         "stdin's first line); its login sessions end")
    up.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    up.add_argument("--email", required=True, help="the account's login name")
    up.set_defaults(func=cmd_user_password)
    ud = usub.add_parser("deactivate", help="the account can no longer log in and its login sessions end (a "
                         "caregiver who left, a PT who moved clinics, a lost phone's login); a clinician's patients "
                         "stay theirs, unseen by any PT until handed to another")
    ud.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    ud.add_argument("--email", required=True, help="the account's login name")
    ud.set_defaults(func=cmd_user_deactivate)
    ua = usub.add_parser("activate", help="a deactivated account may log in again, with the password it had")
    ua.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    ua.add_argument("--email", required=True, help="the account's login name")
    ua.set_defaults(func=cmd_user_activate)
    ul = usub.add_parser("list", help="every account, deactivated ones too: email, name, role, active, and the "
                         "patient of a patient or caregiver account")
    ul.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    ul.add_argument("--json", action="store_true", help="a JSON list instead of the table")
    ul.set_defaults(func=cmd_user_list)

    a = sub.add_parser("audit", help="the audit log: `romcam audit rekey` moves it to a new ROMCAM_SECRET_KEY")
    asub = a.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    ar = asub.add_parser("rekey", help="move the audit log from ROMCAM_OLD_SECRET_KEY to ROMCAM_SECRET_KEY (both "
                         "from the environment); stop the server first: it refuses while one uses the database")
    ar.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    ar.set_defaults(func=cmd_audit_rekey)

    t = sub.add_parser("token", help="device tokens: a patient's machine uploads to the clinic with one")
    tsub = t.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    tc = tsub.add_parser("create", help="create a device token for a patient; prints only the token on stdout")
    tc.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    tc.add_argument("--patient", required=True, metavar="ID", help="the patient's id")
    tc.add_argument("--label", type=_text("device_tokens.label"), help="which machine, e.g. 'living-room laptop'")
    tc.set_defaults(func=cmd_token_create)


def _angle(value: str) -> float:
    """An argparse type: a finite angle in degrees, -360 to 360."""
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of degrees") from None
    if not math.isfinite(x) or abs(x) > 360:
        raise argparse.ArgumentTypeError(f"{value} is not an angle: give degrees from -360 to 360")
    return x


def _text(column: str):  # type: ignore[no-untyped-def]
    """An argparse type: text that fits the database column ``table.column`` (PostgreSQL refuses longer
    text with an error; SQLite would store it)."""
    def parse(value: str) -> str:
        from .store.models import Base

        table, name = column.split(".")
        limit = Base.metadata.tables[table].c[name].type.length
        if limit is not None and len(value) > limit:
            raise argparse.ArgumentTypeError(f"at most {limit} characters ({len(value)} given)")
        return value
    return parse


def _number(low: float, high: float, kind: type = float):  # type: ignore[no-untyped-def]
    """An argparse type: a finite ``kind`` (float or int) from ``low`` to ``high``."""
    def parse(value: str):  # type: ignore[no-untyped-def]
        try:
            x = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {'a whole number' if kind is int else 'a number'}") \
                from None
        if not (math.isfinite(x) and low <= x <= high):
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {low:g} to {high:g}")
        return x
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="romcam", description="Range-of-motion coach: measures joint angles "
                                "from video against the PT's target range.")
    p.add_argument("--version", action="version", version=f"romcam {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("analyze", help="measure an exercise in a video: angles, reps, range")
    a.add_argument("video", help="path of the video file")
    a.add_argument("--exercise", required=True, help="catalog id, e.g. shoulder_abduction (see `romcam exercises`)")
    a.add_argument("--side", choices=("left", "right"),
                   help="the patient's body side that moves (default left)")
    a.add_argument("--subject", default="auto", metavar="WHO",
                   help="which person is the patient: auto (default; the prescription's --posture decides when "
                        "the scene is clear), image-left, image-right, lying, seated, or X,Y (a point on the patient, "
                        "0..1 from the image's top-left; image positions, not the patient's --side)")
    a.add_argument("--target", type=_angle, help="the PT's target angle in degrees: reps short of it are flagged")
    a.add_argument("--safe-max", type=_angle, metavar="DEG",
                   help="the PT's safe maximum in degrees: reps that went above it are flagged (with --save, the "
                        "plan's unless given)")
    a.add_argument("--safe-min", type=_angle, metavar="DEG",
                   help="the PT's safe minimum in degrees (optional: exercises that work the low end, such as "
                        "knee_extension): reps that went below it are flagged")
    a.add_argument("--json", metavar="OUT", help="write the full result document (JSON) here")
    a.add_argument("--csv", metavar="OUT", help="write the per-frame samples (CSV) here")
    a.add_argument("--model", metavar="PATH", help="pose model bundle (default: the bundled full model)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a.add_argument("--save", action="store_true", help="store the result as a session in the database")
    a.add_argument("--patient", metavar="ID", help="with --save: the patient's id (default: the local patient)")
    a.add_argument("--mode", choices=("active", "active_assisted", "passive"), default="active",
                   help="who moved the limb (default %(default)s); passive or assisted: a caregiver is in frame too "
                        "(and, with --save, recorded with the set)")
    a.add_argument("--posture", choices=("standing", "seated", "lying"),
                   help="the patient's posture (default: standing, or the one the exercise is done in)")
    a.add_argument("--db", metavar="URL", help="with --save: the database URL (default: $ROMCAM_DB or SQLite in "
                   "$ROMCAM_DATA)")
    a.set_defaults(func=cmd_analyze)

    e = sub.add_parser("exercises", help="list the exercise catalog")
    shown = e.add_mutually_exclusive_group()  # one format on standard output, not one silently dropped
    shown.add_argument("--json", action="store_true", help="the full catalog as JSON")
    shown.add_argument("--markdown", action="store_true", help="the angle-conventions table (markdown)")
    e.set_defaults(func=cmd_exercises)

    r = sub.add_parser("render", help="render a synthetic patient doing an exercise, with ground truth",
                       description="Render a synthetic patient doing an exercise to a video, with a .truth.json "
                       "beside it (every catalog angle per frame, every rep).")
    r.add_argument("--exercise", required=True, help="catalog id, e.g. knee_flexion (see `romcam exercises`)")
    r.add_argument("--side", choices=("left", "right"), default="left",
                   help="the patient's body side that moves: left or right (default %(default)s)")
    r.add_argument("--view", default="required", metavar="VIEW",
                   help="where the camera looks from: required (the view the exercise is measured in, as "
                        "`romcam exercises` lists it), front, side (the moving side), oblique (45° toward it), or a "
                        "number of degrees (-180 to 180) away from the required view (default %(default)s)")
    r.add_argument("--posture", choices=("standing", "seated", "lying"), default="standing",
                   help="the patient's posture: standing, seated or lying (default %(default)s)")
    r.add_argument("--reps", type=_number(1, 100, int), default=3, metavar="N",
                   help="number of repetitions, 1 to 100 (default %(default)s)")
    r.add_argument("--short", type=int, nargs="*", metavar="I",
                   help="reps that fall short, numbered from 0 (e.g. --short 1 for the second; default none)")
    r.add_argument("--hold", type=_number(0, 60), default=0.5, metavar="S",
                   help="hold at the peak, seconds, 0 to 60 (default %(default)s)")
    r.add_argument("--rep-seconds", type=_number(0.2, 120), default=3.0, metavar="S",
                   help="one rep's rise and return, seconds, 0.2 to 120: the speed (default %(default)s)")
    r.add_argument("--peak", type=_angle, metavar="DEG",
                   help="peak angle of each rep, degrees, within what the joint can do (default: per exercise)")
    r.add_argument("--rest-angle", type=_angle, metavar="DEG",
                   help="angle between reps, degrees, within what the joint can do (default: per exercise)")
    r.add_argument("--camera-height", type=_number(0, 10), metavar="M",
                   help="camera height above the floor, metres, 0 to 10, still aimed at the patient (default: "
                        "placed to frame the patient)")
    r.add_argument("--camera-tilt", type=_number(-89, 89), default=0.0, metavar="DEG",
                   help="camera pitch, degrees, -89 to 89, positive up (default %(default)s)")
    r.add_argument("--fps", type=_number(1, 240), default=30.0,
                   help="frames per second, 1 to 240 (default %(default)s)")
    r.add_argument("--width", type=_number(32, 7680, int), default=640, metavar="PX",
                   help="frame width, pixels, 32 to 7680 (default %(default)s)")
    r.add_argument("--height", type=_number(32, 4320, int), default=480, metavar="PX",
                   help="frame height, pixels, 32 to 4320 (default %(default)s)")
    r.add_argument("--seed", type=int, default=0, metavar="N",
                   help="random seed: the figure's clothes and looks, the scene and the noise (default %(default)s)")
    r.add_argument("--background", choices=("plain", "textured", "room"), default="plain",
                   help="behind the patient: plain, textured or room (default %(default)s)")
    r.add_argument("--noise", type=_number(0, 100), default=0.0, metavar="STD",
                   help="sensor noise, standard deviation in 8-bit levels, 0 to 100 (default %(default)s)")
    r.add_argument("--body", choices=("procedural", "makehuman"), default="procedural",
                   help="procedural shapes, or the MakeHuman CC0 mesh (needs ../shared/media/makehuman; default "
                        "%(default)s)")
    r.add_argument("--caregiver", action="store_true",
                   help="passive ROM: a caregiver holds and moves the patient's limb (two people in frame)")
    r.add_argument("--crossing", action="store_true",
                   help="with a caregiver (implies --caregiver): after the first rep they walk across behind "
                   "the patient and come back")
    r.add_argument("--out", required=True, metavar="VIDEO",
                   help=f"the video to write ({', '.join(VIDEO_SUFFIXES)}); the truth goes beside it "
                        "(NAME.truth.json)")
    r.set_defaults(func=cmd_render)

    d = sub.add_parser("demo", help="render a demo clip, analyse it and store it as a demo session")
    d.add_argument("--exercise", default="shoulder_abduction",
                   help="catalog id of the exercise shown (default %(default)s; see `romcam exercises`)")
    d.add_argument("--out-dir", help="where the demo clip is kept (default: demo/ in ROMCAM_DATA, "
                   "~/.local/share/romcam)")
    d.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    d.add_argument("--no-save", action="store_true", help="only print the analysis; store nothing")
    d.add_argument("--model", metavar="PATH", help="pose model bundle (default: the bundled full model)")
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", help="serve the live coach, the REST API and the dashboard (FastAPI under uvicorn)")
    s.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=_number(1, 65535, int), help="port (default 8000)")
    s.add_argument("--db", metavar="URL", help="database URL (default: $ROMCAM_DB or SQLite in $ROMCAM_DATA)")
    s.add_argument("--source", metavar="0|PATH|URL",
                   help="camera index, video file or stream URL for the live coach (default: camera 0, else a "
                        "rendered demo video)")
    s.add_argument("--exercise", help="run this one exercise (measure only) instead of today's plan")
    s.add_argument("--side", choices=("left", "right"), help="with --exercise: the side that moves (default left)")
    s.add_argument("--every-frame", action="store_true",
                   help="process every frame of a file as fast as possible (default: play at its own frame rate)")
    s.add_argument("--loop", action="store_true", help="play a --source video file again each time it ends")
    s.add_argument("--auto-start", action="store_true",
                   help="hands-free: start the session by itself once the patient is in place, after a spoken "
                        "5-second countdown (the page's \"Start by itself\" switch does the same)")
    s.add_argument("--model", metavar="PATH", help="pose model bundle (default: the bundled full model)")
    s.add_argument("--no-live", action="store_true", help="serve the API and dashboard only, no capture")
    s.add_argument("--subject", default="auto", metavar="WHO",
                   help="which person is the patient: auto (default), image-left, image-right, lying, seated or X,Y (a "
                        "point in the image, 0..1); the caregiver can also tap the patient on /coach")
    s.add_argument("--mode", choices=("active", "active_assisted", "passive"), default="active",
                   help="with --exercise: who moves the limb (default %(default)s; passive: a caregiver; the cues "
                        "speak to them)")
    s.add_argument("--posture", choices=("standing", "seated", "lying"),
                   help="with --exercise: the patient's posture (camera setup, subject choice)")
    s.add_argument("--auth", choices=("local", "clinic"),
                   help="local (default: this laptop's user, no login, loopback only) or clinic (accounts and "
                        "login; also ROMCAM_AUTH); any --host but loopback needs clinic and ROMCAM_SECRET_KEY")
    s.add_argument("--upload-to", metavar="URL", help="link this laptop to a clinic server: upload every session "
                   "there (after the patient consents on the page) and take the plan from it (docs/sync.md)")
    s.add_argument("--token", metavar="TOKEN", help="with --upload-to: this laptop's device token from the clinic")
    s.add_argument("--config", metavar="PATH", help="the link file (upload_to, token; mode 0600) instead of "
                   "--upload-to/--token (default: ~/.config/romcam/link.toml when it exists)")
    s.set_defaults(func=cmd_serve)
    lk = sub.add_parser("link", help="save this laptop's link to a clinic (URL and device token) in a 0600 file")
    lk.add_argument("--upload-to", metavar="URL", help="the clinic server's address (https://...)")
    lk.add_argument("--token", metavar="TOKEN", help="the device token (default: read from standard input)")
    lk.add_argument("--config", metavar="PATH", help="where to write it (default: ~/.config/romcam/link.toml)")
    lk.add_argument("--no-check", action="store_true",
                    help="save without asking the clinic whether it knows the token (a laptop not online yet)")
    lk.add_argument("--remove", action="store_true",
                    help="unlink this laptop: remove the link file (its sessions stay here; nothing more is sent)")
    lk.set_defaults(func=cmd_link)
    _account_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RomcamError as exc:
        print(f"romcam: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("romcam: interrupted", file=sys.stderr)
        return 130




if __name__ == "__main__":
    sys.exit(main())
