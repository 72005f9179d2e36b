"""The builder: runs a plan against a gateway client, concurrently, parents before children.

One bounded pool of in-flight calls serves the whole run (``concurrency``); a user's accounts open
in parallel once the user exists, and an account's cards and operations once the account exists.
Operations on one account run one after another by default, because the real gateway loses
balance updates when two land on one account at once (``parallel_operations`` lifts this). Every
call goes through the shared retry policy, and through the client's lean path
(``seeding.gateway.lean_calls``): the builder keeps ids, so it has no use for validated models.
What to create is read from the plan's tables (``SeedUsersPlan.accounts()``,
``SeedAccountsPlan.cards()/operations()``): one code path for every account kind, card type and
operation type.

Each completed user is handed to ``on_user(index, json_bytes)`` in the dump's format at once, so a
run keeps nothing in memory but the users in flight; each entity is handed to ``on_part`` as soon
as the gateway has made it, so a run stopped mid-user can complete it later (``partial``) instead
of making it again. A run that is cancelled (Ctrl-C, SIGTERM) stops sending at once but lets the
calls already sent answer for a moment (``_DRAIN``), so what the gateway made is journaled.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._exceptions import BuildError, GatewayError, OverloadedError, SeedingError, TransientGatewayError
from ..dumps._user_entry import account_entry, user_json
from ..gateway import AccountType, CardType, GatewayClient, Ref, lean_calls
from ..plan._fake_data import FakeData, OperationData
from ..plan._models import SeedAccountsPlan, SeedsPlan
from ..plan._shapes import Shapes, UserShape
from ._limits import ConcurrencyLimit, FixedLimit, limit_for
from ._options import DEFAULT_CONCURRENCY, DEFAULT_RETRIES, BuildOptions
from ._partial import PartialAccount, PartialUser, part_record
from ._reconcile import Found, adopt_accounts, adopt_cards, adopt_operations, missing_operations
from ._unanswered import Claims, maybe_made, unclaimed_account, unclaimed_card, unclaimed_operation

if TYPE_CHECKING:
    from aiolimiter import AsyncLimiter
    from tenacity import AsyncRetrying, RetryCallState

    from ..gateway import Account, AccountRef, Card, Operation, User

OnPart = Callable[[int, dict[str, Any]], None]

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_RETRIES",
    "BuildOptions",
    "BuildStats",
    "Builder",
]

T = TypeVar("T")


@dataclass
class BuildStats:
    """Live counters of a run, read by the progress display."""

    planned: int = 0  # entities (users + accounts + cards + operations) to create
    done: int = 0
    calls: int = 0
    retries: int = 0
    pushbacks: int = 0  # calls the gateway refused for load with a Retry-After / pushback: the run held off
    failures: int = 0  # calls that failed for good
    peak_in_flight: int = 0  # the most calls in flight at once (where an adaptive limit took the run)
    # The latency-aware limit's last window's mean round trip and the gateway's unloaded one (s), at the end.
    round_trip: float | None = None
    unloaded_round_trip: float | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.elapsed if self.elapsed > 0 else 0.0


class _Slots:
    """The pool of in-flight calls, served by priority rather than arrival, sized by a ``ConcurrencyLimit``.

    A call waiting with more sequential calls still behind it (a user about to open accounts, the
    first of an account's chained operations) goes before a leaf (a card issue): the run ends when
    its longest chain ends, so chains should not queue behind leaves. Ties go by arrival. Each call
    that ends tells the limit how long it took (``release(started)``); an adaptive limit may then
    let more calls in, or fewer. Users are admitted the same way (``admit``/``user_done``): at most
    as many users in progress as calls may be in flight, so a small limit does not start every
    user at once.
    """

    def __init__(self, limit: int | ConcurrencyLimit, rate: float | None = None) -> None:
        self._limit = FixedLimit(limit) if isinstance(limit, int) else limit
        self._bucket = _bucket(rate) if rate else None
        self._paused_until = 0.0
        # After a pushback, at most the calls still in flight when it came (each refusal lowers it: the
        # last of a burst leaves what the gateway took), one more per round trip of answers after: a
        # fixed limit is not met with its whole burst again at the end of each pause. ``_clear``: no
        # such ceiling.
        self._ceiling = _NO_CEILING
        self._growth = 0.0
        self._clear = True
        self._cap = self._limit.limit  # what may be in flight now: the limit, under the ceiling
        self._resume: asyncio.TimerHandle | None = None  # set while a gateway's pushback holds new calls off
        self.in_flight = 0
        self.peak_in_flight = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._users = 0
        self._admitting: deque[asyncio.Future[None]] = deque()
        self._stopping = False

    @property
    def limit(self) -> int:
        return self._cap

    @property
    def maximum(self) -> int:
        return self._limit.maximum

    @property
    def concurrency_limit(self) -> ConcurrencyLimit:
        return self._limit

    async def acquire(self, chain: int) -> float:
        """Take a slot; ``chain`` is how many calls must still follow this one, one after another.

        Returns when the call started, for ``release``. Under a rate cap the call, its slot taken,
        then waits for its turn in the token bucket (calls leave it in the order their slots were
        granted, so by priority).
        """
        if self._stopping:
            raise asyncio.CancelledError
        if self.in_flight < self._cap and not self._waiting and self._resume is None:
            self._take()
        else:
            await self._granted(chain)
        if self._bucket is not None:
            try:
                await self._bucket.acquire()
                if self._stopping:
                    raise asyncio.CancelledError
            except BaseException:
                self.release()
                raise
        return time.monotonic()

    def stop(self) -> None:
        """Send nothing more: every call or user waiting for its turn, and any later, is cancelled.

        Calls in flight go on; their tasks then meet this at their next call and end as cancelled
        (which does not cancel their siblings in a task group, as an error would).
        """
        self._stopping = True
        waiting, self._waiting = self._waiting, []
        for _, _, granted in waiting:
            granted.cancel()
        admitting, self._admitting = self._admitting, deque()
        for admitted in admitting:
            admitted.cancel()

    async def _granted(self, chain: int) -> None:
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (-chain, next(self._arrivals), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted just as we were cancelled: pass the slot on
            raise

    def release(self, started: float | None = None, *, failed: bool = False) -> None:
        """Give the slot back; with ``started``, the call's round trip (and whether it failed transiently) counts."""
        self.in_flight -= 1
        if started is not None:
            now = time.monotonic()
            if self._limit.sample(now, now - started, failed=failed, in_flight=self.in_flight):
                self._set_cap()
            if not self._clear and not failed:
                self._raise_ceiling()
        self._grant()

    def _take(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight

    def push_back(self, seconds: float) -> None:
        """Send no new call for ``seconds`` (a gateway's Retry-After or pushback): the whole run holds off.

        Calls in flight go on; those waiting (the refused one's retry among them) start when it ends.
        The first refusal of a pause also makes an adaptive limit back off (those of calls sent before
        the pause do not again), and every refusal lowers a ceiling to the calls still in flight.
        """
        if self._resume is None:
            self._limit.back_off()
        self._ceiling, self._growth, self._clear = min(self._ceiling, max(1, self.in_flight)), 0.0, False
        self._set_cap()
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        if until <= self._paused_until:
            return
        self._paused_until = until
        if self._resume is not None:
            self._resume.cancel()
        self._resume = loop.call_at(until, self._go_on)

    def _raise_ceiling(self) -> None:
        """One answer more under the pushback ceiling: a whole ceiling's worth of them raise it by one."""
        self._growth += 1 / self._ceiling
        if self._growth >= 1:
            self._ceiling, self._growth = self._ceiling + 1, 0.0
            if self._ceiling >= self._limit.limit:
                self._ceiling, self._clear = _NO_CEILING, True
            self._set_cap()

    def _set_cap(self) -> None:
        self._cap = min(self._limit.limit, self._ceiling)
        self._wake_users()

    def _go_on(self) -> None:
        self._resume = None
        self._grant()

    def _grant(self) -> None:
        if self._resume is not None:
            return
        while self._waiting and self.in_flight < self._cap:
            _, _, granted = heapq.heappop(self._waiting)
            if not granted.done():
                self._take()
                granted.set_result(None)

    async def admit(self) -> None:
        """Wait until another user may start (fewer in progress than the limit), in arrival order."""
        if self._stopping:
            raise asyncio.CancelledError
        if self._users < self._cap and not self._admitting:
            self._users += 1
            return
        admitted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._admitting.append(admitted)
        try:
            await admitted  # ``_wake_users`` counted this user in
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():
                self.user_done()  # admitted just as we were cancelled: pass the place on
            raise

    def user_done(self) -> None:
        self._users -= 1
        self._wake_users()

    def _wake_users(self) -> None:
        """Admit waiting users while there is room, first come first served.

        Only those that fit are woken: a limit that changes every few answers would otherwise wake
        every waiting worker each time (the builder starts one per user the limit may ever allow, up
        to 400), and each would only go back to waiting: dozens of wake-ups per call.
        """
        while self._admitting and self._users < self._cap:
            admitted = self._admitting.popleft()
            if not admitted.done():
                self._users += 1
                admitted.set_result(None)


_NO_CEILING = 1 << 62
_DRAIN = 1.5  # seconds the calls in flight get to answer when a run is stopped (Shutdown's grace is 3 s)


@dataclass(frozen=True)
class _Place:
    """Where an entity sits in plan user ``index``'s tree: the journal's ``at`` of its part records."""

    index: int
    account_field: str
    number: int

    @property
    def at(self) -> tuple[object, ...]:
        return (self.account_field, self.number)

    def card(self, field: str, number: int) -> _CardPlace:
        return _CardPlace(self.index, self.account_field, self.number, field, number)


@dataclass(frozen=True)
class _CardPlace(_Place):
    card_field: str = ""
    card_number: int = 0

    @property
    def at(self) -> tuple[object, ...]:
        return (self.account_field, self.number, self.card_field, self.card_number)


def _bucket(rate: float) -> AsyncLimiter:
    """``rate`` calls per second, in bursts of at most a twentieth of a second's calls (aiolimiter's
    leaky bucket: a burst as large as a second's calls would put a quota's whole second in one go)."""
    from aiolimiter import AsyncLimiter

    burst = max(1.0, rate / 20)
    return AsyncLimiter(burst, burst / rate)


class Builder:
    """Builds plan users through one client; ``run()`` may be called for any set of plan indices."""

    def __init__(self, plan: SeedsPlan, client: GatewayClient, options: BuildOptions | None = None) -> None:
        self.plan = plan
        self.client = client
        self.options = options or BuildOptions()
        self.stats = BuildStats()
        self._fake = FakeData(plan, self.options.seed)
        self._shapes = Shapes(plan, self.options.seed)
        self._slots = _Slots(limit_for(self.options.concurrency, self.options.latency_budget), self.options.rate)
        self._gateway = lean_calls(client)
        self._on_part: OnPart | None = None

    async def run(
        self,
        indices: Iterable[int],
        on_user: Callable[[int, bytes], None],
        *,
        count: int | None = None,
        partial: Mapping[int, PartialUser] | None = None,
        on_part: OnPart | None = None,
    ) -> None:
        """Build the users at ``indices``; each finished one goes to ``on_user`` straight away.

        ``indices`` is consumed lazily when ``count`` (how many it yields) is given, so a huge plan
        costs no list of its indices. ``partial``: users begun by an earlier run, completed on the
        same user. ``on_part(index, part_record)``: each entity the moment the gateway made it.
        Raises ``BuildError`` for the first user that fails for good, wherever in its tree (the
        user, an account, a card, an operation); users in flight are then cancelled (not reported
        as complete; what of them ``on_part`` saw is completed by a resumed run). An error of
        ``on_user`` or ``on_part`` (the journal's disk is full) is raised as it is.
        """
        if count is None:
            indices = list(indices)
            count = len(indices)
        self.stats.planned += count * self.plan.users.entities_per_user
        queue = iter(indices)
        begun = partial or {}
        self._on_part = on_part

        failed: list[BuildError] = []
        failing = asyncio.Event()  # set with the first failure: the watchdog below waits on it, no polling

        async def worker() -> None:
            while True:
                await self._slots.admit()
                try:
                    index = next(queue, None)  # workers share one iterator: each index is taken once
                    if index is None:
                        return
                    try:
                        user = await self._checked_user(index, begun.get(index))
                    except BuildError as exc:  # the run fails: nothing new goes out, calls in flight answer
                        failed.append(exc)
                        failing.set()
                        self._slots.stop()
                        return
                finally:
                    self._slots.user_done()
                on_user(index, user)

        async def build() -> None:
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(min(self._slots.maximum, count)):
                        group.create_task(worker())
            except BaseExceptionGroup as errors:
                raise _first_failure(errors) from None

        async def bound() -> None:  # after a failure, the calls in flight get as long as after a signal
            await failing.wait()
            await asyncio.sleep(_DRAIN)
            building.cancel()

        building = asyncio.ensure_future(build())
        watchdog = asyncio.ensure_future(bound())
        try:
            await asyncio.shield(building)
        except asyncio.CancelledError:
            if not (failed and building.done()):  # the run was stopped (not its own watchdog after a failure)
                # Nothing new goes out, and calls already sent get a moment to answer, so what the
                # gateway made is journaled (``on_part``) rather than made again by the resumed run.
                self._slots.stop()
                await asyncio.wait({building}, timeout=_DRAIN)
                building.cancel()
                with contextlib.suppress(BaseException):
                    await building
                if not failed:
                    raise
        finally:
            watchdog.cancel()
            self.stats.finished = time.monotonic()
            self.stats.peak_in_flight = self._slots.peak_in_flight
            self.stats.round_trip, self.stats.unloaded_round_trip = self.round_trips
        if failed:
            raise failed[0]

    async def _checked_user(self, index: int, begun: PartialUser | None = None) -> bytes:
        """``_user(index)``, any failure in its tree raised as the ``BuildError`` of that user."""
        try:
            return await self._user(index, begun)
        except (GatewayError, SeedingError) as exc:
            raise BuildError(index, exc) from exc
        except BaseExceptionGroup as group:  # a failure below the user: an account, card or operation
            cause = _first_failure(group)
            if isinstance(cause, SeedingError):
                raise BuildError(index, cause) from cause
            raise cause from None

    def _note(self, index: int, made: str, entity: str, at: tuple[object, ...], **extra: object) -> None:
        """One entity the gateway made for user ``index``: journaled at once (``on_part``)."""
        self.stats.done += 1
        if self._on_part is not None:
            self._on_part(index, part_record(made, entity, at, **extra))

    async def _user(self, index: int, begun: PartialUser | None = None) -> bytes:
        shape = self._shapes[index]
        if begun is not None:  # created by an earlier run: completed, never created twice
            user_id = begun.user_id
            self.stats.done += 1
            await self._reconcile(index, begun, shape)
        else:
            data = self._fake.user(index)
            user: User | Ref = await self._call(
                lambda: self._gateway.create_user(
                    email=data.fresh_email(),  # fresh on every attempt: the first may have succeeded
                    last_name=data.last_name,
                    first_name=data.first_name,
                    middle_name=data.middle_name,
                    phone_number=data.phone_number,
                ),
                chain=self.after_user(shape),
            )
            user_id = user.id
            self._note(index, "user", user_id, ())
        have = begun.accounts if begun is not None else {}
        claims = Claims.of(have.values())
        accounts = {
            name: [
                asyncio.ensure_future(
                    self._account(
                        _Place(index, name, number),
                        user_id,
                        kind,
                        plan,
                        self._fake.operations(index, name, number, plan),
                        have.get((name, number)),
                        claims,
                    )
                )
                for number, plan in enumerate(plans)
            ]
            for name, kind, plans in shape.accounts
        }
        await _settled(task for tasks in accounts.values() for task in tasks)
        return user_json(
            user_id, {name: [t.result() for t in tasks] for name, tasks in accounts.items()}, profile=shape.profile
        )

    async def _reconcile(self, index: int, begun: PartialUser, shape: UserShape) -> None:
        """Adopt what an earlier run made for this user but never journaled (``_reconcile``): journaled now."""
        listed = await self._call(lambda: self.client.get_accounts(begun.user_id))
        found = {a.id: Found(a.id, a.type, tuple((card.id, card.type) for card in a.cards)) for a in listed}
        planned = [
            (name, number, kind, (CardType.VIRTUAL, CardType.PHYSICAL) if kind.has_cards else ())
            for name, kind, plans in shape.accounts
            for number in range(len(plans))
        ]
        records = adopt_accounts(begun, planned, list(found.values()))
        for name, _, plans in shape.accounts:
            for number, plan in enumerate(plans):
                account = begun.accounts.get((name, number))
                if account is None or account.account_id not in found:
                    continue
                cards = [(field, card_type, cards.fixed_count) for field, card_type, cards in plan.cards()]
                records += adopt_cards(account, (name, number), cards, found[account.account_id])
                operations = [(op.field, op.type) for op in self._fake.operations(index, name, number, plan)]
                if operations and missing_operations(account, [field for field, _ in operations]):
                    made = await self._call(functools.partial(self.client.get_operations, account.account_id))
                    records += adopt_operations(account, (name, number), operations, [(op.id, op.type) for op in made])
        if self._on_part is not None:
            for record in records:
                self._on_part(index, record)

    async def _account(
        self,
        place: _Place,
        user_id: str,
        kind: AccountType,
        plan: SeedAccountsPlan,
        operations: list[OperationData],
        have: PartialAccount | None,
        claims: Claims,
    ) -> dict[str, Any]:
        if have is None:

            async def find() -> Account | None:
                return unclaimed_account(
                    await self._call(lambda: self.client.get_accounts(user_id)), kind, claims, place
                )

            account: Account | AccountRef = await self._placed(
                place, lambda: self._gateway.open_account(user_id, kind), find, claims, self._after_open(plan)
            )
            account_id = account.id
            opened = [(card.id, str(card.type)) for card in account.cards]
            for card_id, _ in opened:  # the account's own: never found for an unanswered IssueCard
                claims.claim(card_id, place)
            self._note(place.index, "account", account_id, place.at, opened=[list(card) for card in opened])
        else:
            account_id, opened = have.account_id, have.opened
            self.stats.done += 1
        made_cards = have.cards if have is not None else {}
        made_operations = have.made_operations([op.field for op in operations]) if have is not None else {}
        round_robin = self.plan.operations.card == "round_robin"
        card_chain = self._chained(len(operations)) if round_robin else 0  # operations wait for the cards
        first = self._first_card(account_id, kind, opened) if operations and not round_robin else ""
        cards = {
            name: [
                made_cards.get(name, {}).get(number)
                or asyncio.ensure_future(
                    self._card(place.card(name, number), user_id, account_id, ctype, card_chain, claims)
                )
                for number in range(cplan.fixed_count)
            ]
            for name, ctype, cplan in plan.cards()
        }
        self.stats.done += sum(isinstance(card, str) for tasks in cards.values() for card in tasks)  # made before
        if operations and not round_robin:
            ops = asyncio.ensure_future(
                self._operations(place, account_id, [first], operations, made_operations, claims)
            )
        await _settled(
            [task for tasks in cards.values() for task in tasks if not isinstance(task, str)]
            + ([ops] if operations and not round_robin else [])
        )
        issued = {name: [t if isinstance(t, str) else t.result() for t in tasks] for name, tasks in cards.items()}
        if operations and round_robin:
            card_ids = [card_id for card_id, _ in opened] + [c for ids in issued.values() for c in ids]
            operation_ids = await self._operations(place, account_id, card_ids, operations, made_operations, claims)
        else:
            operation_ids = ops.result() if operations else []
        return account_entry(
            account_id, issued, zip((op.field for op in operations), operation_ids, strict=True), opened=opened
        )

    def _first_card(self, account_id: str, kind: AccountType, opened: list[tuple[str, str]]) -> str:
        if opened:
            return opened[0][0]
        raise SeedingError(
            f"{self.client.target}: {kind.value} account {account_id} opened without cards; "
            "cannot make operations on it (set operations.card: round_robin to use issued cards)"
        )

    async def _card(
        self, place: _Place, user_id: str, account_id: str, card_type: CardType, chain: int, claims: Claims
    ) -> str:
        async def find() -> Ref | None:
            listed = await self._call(lambda: self.client.get_accounts(user_id))
            found = unclaimed_card(listed, account_id, card_type, claims, place)
            return None if found is None else Ref(found)

        card: Card | Ref = await self._placed(
            place, lambda: self._gateway.issue_card(user_id, account_id, card_type), find, claims, chain
        )
        self._note(place.index, "card", card.id, place.at)
        return card.id

    async def _operations(
        self,
        place: _Place,
        account_id: str,
        card_ids: list[str],
        operations: list[OperationData],
        made: Mapping[int, str],
        claims: Claims,
    ) -> list[str]:
        """Make the ``operations`` not ``made`` yet on the account, one at a time unless parallel ones are allowed."""

        async def make(number: int, op: OperationData) -> str:
            if number in made:
                self.stats.done += 1
                return made[number]
            at = (place, number)

            async def find() -> Ref | None:
                listed = await self._call(functools.partial(self.client.get_operations, account_id))
                found = unclaimed_operation(listed, op, claims, at)
                return None if found is None else Ref(found)

            operation: Operation | Ref = await self._placed(
                at,
                lambda: self._gateway.make_operation(
                    op.type,
                    account_id=account_id,
                    card_id=card_ids[number % len(card_ids)],
                    amount=op.amount,
                    status=op.status,
                    category=op.category,
                ),
                find,
                claims,
                0 if self.options.parallel_operations else len(operations) - 1 - number,
            )
            self._note(place.index, "operation", operation.id, (*place.at, number))
            return operation.id

        if not card_ids:
            raise SeedingError(f"account {account_id} has no card for its operations")
        if self.options.parallel_operations:
            made_now = [asyncio.ensure_future(make(n, op)) for n, op in enumerate(operations)]
            await _settled(made_now)
            return [task.result() for task in made_now]
        return [await make(n, op) for n, op in enumerate(operations)]

    def _chained(self, operations: int) -> int:
        """How many of an account's operations run one after another."""
        return min(operations, 1) if self.options.parallel_operations else operations

    def _after_open(self, plan: SeedAccountsPlan) -> int:
        """The longest run of calls that must follow an account's opening, one after another."""
        operations = plan.operations_per_account
        if not operations:
            return min(plan.cards_per_account, 1)
        waits_for_cards = self.plan.operations.card == "round_robin" and plan.cards_per_account > 0
        return self._chained(operations) + waits_for_cards

    @property
    def in_flight(self) -> int:
        """Calls in flight now (for the live progress line)."""
        return self._slots.in_flight

    @property
    def round_trips(self) -> tuple[float | None, float | None]:
        """The latency-aware limit's current round trip and the gateway's unloaded one (s); None without them."""
        limit = self._slots.concurrency_limit
        return getattr(limit, "round_trip", None), getattr(limit, "unloaded", None)

    @property
    def longest_chain(self) -> int:
        """Calls user 0 needs one after another: its creation and the longest run that must follow."""
        return 1 + self.after_user(self._shapes[0])

    def after_user(self, shape: UserShape) -> int:
        """The longest run of calls that must follow a user's creation."""
        return max((1 + self._after_open(plan) for _, _, plans in shape.accounts for plan in plans[:1]), default=0)

    async def _placed(
        self,
        place: object,
        make: Callable[[], Awaitable[T]],
        find: Callable[[], Awaitable[T | None]],
        claims: Claims,
        chain: int,
    ) -> T:
        """``make()`` for ``place``, looking for what an unanswered attempt made before sending it again
        (``_unanswered``); an answer whose id another place found first is traded for one found, or made again."""
        while True:
            made: Any = await self._call(make, chain, find)
            if claims.claim(made.id, place):
                return cast(T, made)
            found = await find()
            if found is not None:
                return found

    async def _call(
        self, call: Callable[[], Awaitable[T]], chain: int = 0, find: Callable[[], Awaitable[T | None]] | None = None
    ) -> T:
        """One gateway call: a slot from the shared pool per attempt, retried on transient errors.

        ``chain`` is the number of calls that must follow this one in sequence (its priority). The
        first attempt is a plain await: almost every call succeeds at once, and tenacity's machinery
        costs as much as the call. A failure enters the retry policy as its first attempt, so the
        policy (which errors, how many attempts, how long between) and the counters are the same.
        Each attempt is bounded by the transport's own deadline (``timeout``), not by a timer here.
        After a failure that may have been made all the same (``maybe_made``), ``find()`` runs before
        the next attempt: what it finds is the call's result, and the call is not sent again.
        """

        async def attempt() -> T:
            started = await self._slots.acquire(chain)
            try:
                self.stats.calls += 1
                result = await call()
            except TransientGatewayError as exc:
                self._slots.release(started, failed=True)
                if isinstance(exc, OverloadedError):
                    self.stats.pushbacks += 1
                    self._slots.push_back(exc.pushback)
                raise
            except BaseException:
                self._slots.release()
                raise
            self._slots.release(started)
            return result

        try:
            return await attempt()
        except GatewayError as first:
            failed: GatewayError | None = first

        unanswered = False

        async def again() -> T:
            nonlocal failed, unanswered
            if failed is not None:  # the first attempt, already made: its outcome, once
                error, failed = failed, None
                unanswered = find is not None and maybe_made(error)
                raise error
            if unanswered and find is not None:
                found = await find()
                if found is not None:
                    return found
            try:
                return await attempt()
            except GatewayError as exc:
                unanswered = find is not None and maybe_made(exc)
                raise

        try:
            return await self._retrying.copy()(again)
        except GatewayError:
            self.stats.failures += 1
            self._slots.stop()  # the run fails with it: nothing new goes out, the calls in flight answer
            raise

    @functools.cached_property
    def _retrying(self) -> AsyncRetrying:
        """The run's retry policy, built when a first attempt fails: tenacity is not imported before."""
        from ._retry import retry_policy

        return retry_policy(self.options.retries, on_retry=self._count_retry)

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1


async def _settled(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Wait for every task, then raise the first failure among them.

    Unlike a ``TaskGroup``, a failure does not cancel its siblings: the run stops sending
    (``_Slots.stop``), so they end at their next call, and a call of theirs already sent answers and
    is journaled instead of leaving what the gateway made unknown. Cancelled from outside, it
    cancels them all.
    """
    waiting = list(tasks)
    if not waiting:
        return
    results = await asyncio.gather(*waiting, return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors:
        raise _first_failure(BaseExceptionGroup("", errors))


def _first_failure(group: BaseExceptionGroup) -> BaseException:
    """The error to report for a failed task group: a ``BuildError`` first, then any seeding error, then the rest.

    The other leaves are cancellations and later failures that the first one caused.
    """
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for kind in (BuildError, SeedingError, Exception):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0]
