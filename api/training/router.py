"""Training routes: everyone sees their own record and enrols; department managers see their department and
take attendance; training officers (and admins) manage courses, sessions and drills; e-learning platforms
send xAPI statements with an API key of role `service`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status
from sqlalchemy import or_, select

from api.deps import CsvText, Principal, SessionDep, require_roles
from api.exceptions import PermissionDeniedError
from api.pagination import Page, PageDep, paginate
from api.training import service
from api.training.dependencies import Caller, ValidCourse, ValidDrill, ValidSession
from api.training.schemas import (
    AttendanceReportRead,
    AttendanceWrite,
    CancelResult,
    CertificateRead,
    CourseCreate,
    CourseRead,
    DepartmentRead,
    DrillActionCreate,
    DrillActionDone,
    DrillActionRead,
    DrillCreate,
    DrillRead,
    EnrolmentCreate,
    EnrolmentRead,
    LicenceRead,
    MyTraining,
    ProgressRead,
    RosterLine,
    SessionCreate,
    SessionRead,
    SessionUpdate,
    StaffProfileRead,
    StaffProfileWrite,
    XapiStored,
)
from cityhall.db import utcnow
from cityhall.errors import InvalidInputError
from cityhall.models import (
    ActionStatus,
    Attendance,
    Certificate,
    Course,
    Drill,
    DrillAction,
    Enrolment,
    EnrolmentStatus,
    Role,
    SessionStatus,
    StaffProfile,
    TrainingSession,
    User,
)
from cityhall.training import attendance, catalogue, drills, reports, xapi
from cityhall.training.progress import rollup

router = APIRouter(prefix="/training", tags=["training"])

Service = Annotated[Principal, Depends(require_roles(Role.SERVICE))]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Calendar year (default: this year)")]
AsOf = Annotated[date | None, Query(description="Day progress is seen on (default: today, Asia/Taipei)")]
Department = Annotated[str | None, Query(max_length=32, description="Department code")]
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- me ---


@router.get("/me", response_model=MyTraining)
def my_training(who: Caller, session: SessionDep, year: Year = None, as_of: AsOf = None) -> MyTraining:
    """My hours against this year's targets, my certificates, and my upcoming sessions."""
    year_, day = service.year_and_day(year, as_of)
    uid = who.principal.user_id
    mine = reports.progress(session, year=year_, as_of=day, user_id=uid) if uid is not None else []
    certs = session.scalars(
        select(Certificate).where(Certificate.user_id == uid).order_by(Certificate.issued_on.desc())
    )
    enrolments = list(
        session.scalars(
            select(Enrolment)
            .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
            .where(
                Enrolment.user_id == uid,
                Enrolment.status != EnrolmentStatus.CANCELLED,
                TrainingSession.starts_at > utcnow(),
            )
            .order_by(TrainingSession.starts_at)
        )
    )
    upcoming = session.scalars(
        select(TrainingSession)
        .where(TrainingSession.starts_at > utcnow(), TrainingSession.status == SessionStatus.SCHEDULED)
        .order_by(TrainingSession.starts_at)
        .limit(20)
    )
    return MyTraining(
        progress=service.progress_read(mine[0], day) if mine else None,
        certificates=[service.certificate_read(c) for c in certs],
        upcoming=[service.session_read(session, s) for s in upcoming],
        enrolments=[service.enrolment_read(session, e) for e in enrolments],
    )


# --- staff profiles ---


@router.put("/staff/{user_id}", response_model=StaffProfileRead)
def set_profile(who: Caller, user_id: int, data: StaffProfileWrite, session: SessionDep) -> StaffProfileRead:
    """Set a person's department, service dates and duty (training officers)."""
    service.require_officer(who)
    profile = catalogue.set_profile(
        session,
        user_id=user_id,
        department_code=data.department_code,
        joined_on=data.joined_on,
        left_on=data.left_on,
        duty=data.duty,
        actor=who.actor,
    )
    return StaffProfileRead.model_validate(profile)


@router.get("/staff", response_model=Page[StaffProfileRead])
def list_profiles(
    who: Caller, session: SessionDep, page: PageDep, department: Department = None
) -> Page[StaffProfileRead]:
    """Training profiles: a manager's department, or any for officers."""
    scope = service.department_scope(who, department)
    stmt = select(StaffProfile).order_by(StaffProfile.department_code, StaffProfile.user_id)
    if scope is not None:
        stmt = stmt.where(StaffProfile.department_code == scope)
    return paginate(session, stmt, page, StaffProfileRead.model_validate)


# --- courses and sessions ---


@router.get("/courses", response_model=Page[CourseRead])
def list_courses(who: Caller, session: SessionDep, page: PageDep) -> Page[CourseRead]:
    """Active courses by code."""
    stmt = select(Course).where(Course.is_active.is_(True)).order_by(Course.code)
    return paginate(session, stmt, page, CourseRead.model_validate)


@router.post("/courses", response_model=CourseRead, status_code=status.HTTP_201_CREATED)
def create_course(who: Caller, data: CourseCreate, session: SessionDep) -> CourseRead:
    """Add a course (training officers)."""
    service.require_officer(who)
    course = catalogue.create_course(session, **data.model_dump(), actor=who.actor)
    return CourseRead.model_validate(course)


@router.get("/courses/{course_id}", response_model=CourseRead)
def get_course(who: Caller, course: ValidCourse) -> CourseRead:
    """One course."""
    return CourseRead.model_validate(course)


@router.get("/sessions", response_model=Page[SessionRead])
def list_sessions(
    who: Caller,
    session: SessionDep,
    page: PageDep,
    course_id: int | None = None,
    upcoming: Annotated[bool, Query(description="Only sessions that have not started")] = False,
) -> Page[SessionRead]:
    """Sessions in start order."""
    stmt = select(TrainingSession).order_by(TrainingSession.starts_at, TrainingSession.id)
    if course_id is not None:
        stmt = stmt.where(TrainingSession.course_id == course_id)
    if upcoming:
        stmt = stmt.where(TrainingSession.starts_at > utcnow())
    return paginate(session, stmt, page, lambda s: service.session_read(session, s))


@router.post("/sessions", response_model=SessionRead, status_code=status.HTTP_201_CREATED)
def create_session(who: Caller, data: SessionCreate, session: SessionDep) -> SessionRead:
    """Schedule a session (training officers)."""
    service.require_officer(who)
    course = session.get(Course, data.course_id)
    if course is None:
        raise InvalidInputError("unknown_course", f"no course {data.course_id}", loc=("body", "course_id"))
    row = catalogue.create_session(
        session,
        course=course,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        place=data.place,
        capacity=data.capacity,
        instructor=data.instructor,
        credit_hours=data.credit_hours,
        actor=who.actor,
    )
    return service.session_read(session, row)


@router.get("/sessions/{session_id}", response_model=SessionRead)
def get_session(who: Caller, row: ValidSession, session: SessionDep) -> SessionRead:
    """One session with its seats taken and queue length."""
    return service.session_read(session, row)


@router.patch("/sessions/{session_id}", response_model=SessionRead)
def update_session(who: Caller, row: ValidSession, data: SessionUpdate, session: SessionDep) -> SessionRead:
    """Change the seats (more seats promote from the queue) or cancel the session (training officers)."""
    service.require_officer(who)
    row = catalogue.get_session(session, row.id, lock=True)
    if data.capacity is not None:
        catalogue.change_capacity(session, row=row, capacity=data.capacity, actor=who.actor)
    if data.cancelled:
        catalogue.cancel_session(session, row=row, actor=who.actor)
    return service.session_read(session, row)


@router.post(
    "/sessions/{session_id}/enrolments", response_model=EnrolmentRead, status_code=status.HTTP_201_CREATED
)
def enrol(
    who: Caller,
    row: ValidSession,
    session: SessionDep,
    data: Annotated[EnrolmentCreate | None, Body()] = None,
) -> EnrolmentRead:
    """Enrol yourself (or, as a manager or officer, someone of yours): a seat, or a place in the queue."""
    user_id = service.target_user(session, who, data.user_id if data else None)
    enrolment = catalogue.enrol(session, training_session_id=row.id, user_id=user_id, actor=who.actor)
    return service.enrolment_read(session, enrolment)


@router.post("/sessions/{session_id}/enrolments/{user_id}/cancel", response_model=CancelResult)
def cancel_enrolment(who: Caller, row: ValidSession, user_id: int, session: SessionDep) -> CancelResult:
    """Give up a seat or a queue place; the head of the queue takes a freed seat at once."""
    user_id = service.target_user(session, who, user_id)
    promoted = catalogue.cancel_enrolment(
        session, training_session_id=row.id, user_id=user_id, actor=who.actor
    )
    cancelled = session.scalars(
        select(Enrolment).where(Enrolment.session_id == row.id, Enrolment.user_id == user_id)
    ).one()
    return CancelResult(
        cancelled=service.enrolment_read(session, cancelled),
        promoted=[service.enrolment_read(session, e) for e in promoted],
    )


# --- attendance ---


@router.get("/sessions/{session_id}/roster", response_model=list[RosterLine])
def roster(who: Caller, row: ValidSession, session: SessionDep) -> list[RosterLine]:
    """The attendance sheet: everyone enrolled, queued or recorded, with hours recorded so far."""
    service.require_attendance_taker(who)
    enrolments = {
        e.user_id: e.status
        for e in session.scalars(
            select(Enrolment).where(
                Enrolment.session_id == row.id, Enrolment.status != EnrolmentStatus.CANCELLED
            )
        )
    }
    attended = {
        a.user_id: a.attended_s
        for a in session.scalars(select(Attendance).where(Attendance.session_id == row.id))
    }
    ids = set(enrolments) | set(attended)
    users = list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.username))) if ids else []
    lines = []
    for user in users:
        profile = session.get(StaffProfile, user.id)
        if not who.access.is_officer and (profile is None or not who.access.may_see_person(profile, user.id)):
            continue  # a department manager's sheet lists their own people
        seconds = attended.get(user.id)
        lines.append(
            RosterLine(
                user_id=user.id,
                username=user.username,
                full_name=user.full_name,
                department_code=profile.department_code if profile else None,
                enrolment=enrolments.get(user.id),
                attended_hours=service.hours(seconds) if seconds is not None else None,
            )
        )
    return lines


@router.put("/sessions/{session_id}/attendance", response_model=AttendanceReportRead)
def take_attendance(
    who: Caller, row: ValidSession, data: AttendanceWrite, session: SessionDep
) -> AttendanceReportRead:
    """Record attendance taken in the app; each line is kept or rejected with its reason."""
    service.require_attendance_taker(who)
    row = catalogue.get_session(session, row.id, lock=True)
    lines = [
        attendance.AttendanceLine(row=i, username=line.username, hours=str(line.hours))
        for i, line in enumerate(data.lines, start=1)
    ]
    report = attendance.record_lines(session, row=row, lines=lines, source="app", actor=who.actor)
    return AttendanceReportRead.model_validate(report)


@router.post(
    "/sessions/{session_id}/attendance.csv",
    response_model=AttendanceReportRead,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": "username,hours\nsam,3\n"}},
        }
    },
)
def import_attendance(
    who: Caller, row: ValidSession, session: SessionDep, text: CsvText
) -> AttendanceReportRead:
    """Import attendance from CSV (columns `username`, `hours`): valid rows are kept, the rest reported per
    row; importing the same file again changes nothing."""
    service.require_attendance_taker(who)
    lines = attendance.parse_csv(text)
    locked = catalogue.get_session(session, row.id, lock=True)
    report = attendance.record_lines(session, row=locked, lines=lines, source="csv", actor=who.actor)
    return AttendanceReportRead.model_validate(report)


# --- xAPI ---


@router.post("/xapi/statements", response_model=list[XapiStored])
def receive_statements(
    who: Service,
    session: SessionDep,
    response: Response,
    body: Annotated[Any, Body(description="One xAPI 1.0.3 statement or an array of them")],
) -> list[XapiStored]:
    """Store xAPI statements and credit digital hours; the same statement again changes nothing."""
    response.headers["X-Experience-API-Version"] = "1.0.3"
    statements = body if isinstance(body, list) else [body]
    if not statements or len(statements) > 500:
        raise xapi.StatementError("invalid_batch", "send 1 to 500 statements", loc=("body",))
    outcomes = xapi.intake(session, statements, received_from=who.actor)
    return [
        XapiStored(id=o.id, stored=o.stored, credited_hours=service.hours(o.credited_s)) for o in outcomes
    ]


# --- progress ---


@router.get("/progress", response_model=list[ProgressRead])
def list_progress(
    *,
    who: Caller,
    session: SessionDep,
    year: Year = None,
    as_of: AsOf = None,
    department: Department = None,
    behind: Annotated[bool, Query(description="Only people behind on either target")] = False,
) -> list[ProgressRead]:
    """People's progress against 40 h / 5 h: a manager's department, or any for officers."""
    scope = service.department_scope(who, department)
    year_, day = service.year_and_day(year, as_of)
    people = reports.progress(session, year=year_, as_of=day, department_code=scope)
    return [service.progress_read(p, day) for p in people if p.behind or not behind]


@router.get("/progress/departments", response_model=list[DepartmentRead])
def department_rollups(
    who: Caller, session: SessionDep, year: Year = None, as_of: AsOf = None, department: Department = None
) -> list[DepartmentRead]:
    """Department roll-ups: head count, hours, how many met the targets, are behind, or will fall short."""
    scope = service.department_scope(who, department)
    year_, day = service.year_and_day(year, as_of)
    people = reports.progress(session, year=year_, as_of=day, department_code=scope)
    return [service.department_read(year_, d) for d in rollup(people)]


@router.get("/exports/hours.csv", response_class=Response)
def export_csv(
    who: Caller, session: SessionDep, year: Year = None, as_of: AsOf = None, department: Department = None
) -> Response:
    """Hours by person as CSV."""
    scope = service.department_scope(who, department)
    year_, day = service.year_and_day(year, as_of)
    people = reports.progress(session, year=year_, as_of=day, department_code=scope)
    return Response(
        reports.hours_csv(people).encode(),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="training-hours-{year_}.csv"'},
    )


@router.get("/exports/hours.xlsx", response_class=Response)
def export_xlsx(
    who: Caller, session: SessionDep, year: Year = None, as_of: AsOf = None, department: Department = None
) -> Response:
    """Hours by person and by department as an XLSX workbook."""
    scope = service.department_scope(who, department)
    year_, day = service.year_and_day(year, as_of)
    people = reports.progress(session, year=year_, as_of=day, department_code=scope)
    return Response(
        reports.hours_xlsx(year_, people, rollup(people)),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="training-hours-{year_}.xlsx"'},
    )


# --- certificates and licences ---


@router.get("/certificates", response_model=list[CertificateRead])
def list_certificates(
    who: Caller,
    session: SessionDep,
    user_id: int | None = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
) -> list[CertificateRead]:
    """Certificates of a person (default: yours), or everyone's expiring soon (officers)."""
    stmt = select(Certificate).order_by(Certificate.expires_on, Certificate.id)
    if expiring_within_days is not None and user_id is None:
        service.require_officer(who)
        today = service.today()
        stmt = stmt.where(
            Certificate.revoked_at.is_(None),
            Certificate.expires_on >= today,
            Certificate.expires_on <= today + timedelta(days=expiring_within_days),
        )
    else:
        stmt = stmt.where(Certificate.user_id == service.target_user(session, who, user_id))
    return [service.certificate_read(c) for c in session.scalars(stmt)]


@router.get("/procurement-register", response_model=list[LicenceRead])
def procurement_register(who: Caller, session: SessionDep, may_act: bool | None = None) -> list[LicenceRead]:
    """Procurement representatives' licences: level, expiry, state, and who may act as one."""
    if not (who.access.is_officer or who.access.managed_department):
        raise PermissionDeniedError(
            "forbidden", "only department managers and training officers see the register"
        )
    lines = reports.procurement_register(session, today=service.today())
    return [service.licence_read(s) for s in lines if may_act is None or s.may_act == may_act]


# --- drills ---


@router.post("/drills", response_model=DrillRead, status_code=status.HTTP_201_CREATED)
def record_drill(who: Caller, data: DrillCreate, session: SessionDep) -> DrillRead:
    """Record a drill and its outcome (training officers)."""
    service.require_officer(who)
    drill = drills.record_drill(
        session,
        outcome=drills.DrillOutcome(
            title=data.title,
            scenario=data.scenario,
            held_at=data.held_at,
            participants=data.participants,
            evacuation_s=data.evacuation_seconds,
            target_evacuation_s=data.target_evacuation_seconds,
            findings=data.findings,
            building_id=data.building_id,
            department_code=data.department_code,
        ),
        actor=who.actor,
    )
    return service.drill_read(drill)


@router.get("/drills", response_model=Page[DrillRead])
def list_drills(
    who: Caller,
    session: SessionDep,
    page: PageDep,
    open_actions: Annotated[bool, Query(description="Only drills with open follow-up actions")] = False,
) -> Page[DrillRead]:
    """Drills, latest first: everyone's for officers, their department's (and unassigned) for others."""
    stmt = select(Drill).order_by(Drill.held_at.desc(), Drill.id.desc())
    if not who.access.is_officer:
        profile = session.get(StaffProfile, who.principal.user_id) if who.principal.user_id else None
        mine = profile.department_code if profile else None
        stmt = stmt.where(or_(Drill.department_code.is_(None), Drill.department_code == mine))
    if open_actions:
        stmt = stmt.where(Drill.actions.any(DrillAction.status == ActionStatus.OPEN))
    return paginate(session, stmt, page, service.drill_read)


@router.get("/drills/{drill_id}", response_model=DrillRead)
def get_drill(who: Caller, drill: ValidDrill) -> DrillRead:
    """One drill with its actions."""
    return service.drill_read(drill)


@router.post(
    "/drills/{drill_id}/actions", response_model=DrillActionRead, status_code=status.HTTP_201_CREATED
)
def add_action(
    who: Caller, drill: ValidDrill, data: DrillActionCreate, session: SessionDep
) -> DrillActionRead:
    """Add a follow-up action to a drill (training officers)."""
    service.require_officer(who)
    action = drills.add_action(
        session,
        drill=drill,
        description=data.description,
        owner_id=data.owner_id,
        due_on=data.due_on,
        actor=who.actor,
    )
    return DrillActionRead.model_validate(action)


@router.post("/drills/{drill_id}/actions/{action_id}/complete", response_model=DrillActionRead)
def complete_action(
    who: Caller, drill: ValidDrill, action_id: int, data: DrillActionDone, session: SessionDep
) -> DrillActionRead:
    """Close a follow-up action with what was done (its owner or a training officer)."""
    action = session.get(DrillAction, action_id)
    if not who.access.is_officer and (action is None or action.owner_id != who.principal.user_id):
        raise PermissionDeniedError("forbidden", "only the action's owner or a training officer")
    done = drills.complete_action(
        session, drill=drill, action_id=action_id, outcome=data.outcome, actor=who.actor
    )
    return DrillActionRead.model_validate(done)
