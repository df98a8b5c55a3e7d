"""Declarations: a key the session does not have is a typed workflow error, and
the bureau answers only the employer a declaration belongs to (docs/bureau.md)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from pension_collect.adapters.local_transport import LocalTransport
from pension_collect.model import Employer
from pension_collect.ports.storage import RecordKind
from pension_collect.ports.transport import (
    BureauError,
    DeclarationKind,
    DeclarationStatus,
    UnknownDeclaration,
)
from pension_collect.workflow import CollectionSession, UnknownDeclarationKey, WorkflowError
from workflow_fixtures import Setup, make_setup, to_declared

OTHER_UNIT = "20098765"


@pytest.fixture
def s() -> Setup:
    return make_setup()


def _other_employer(s: Setup) -> CollectionSession:
    """A second employer at the same bureau, with its own session on the same store."""
    employer = Employer(unit_no=OTHER_UNIT, name="威海另一家有限公司")
    s.bureau.add_employer(employer)
    other = CollectionSession(
        s.storage,
        s.session.transport,
        unit_no=OTHER_UNIT,
        actor="clerk-b",
        host=s.host,
        as_of=s.dossier.as_of,
        clock=s.clock,
    )
    other.start()
    other.sync()
    other.collect_employer(employer)
    return other


class TestAnUnknownKey:
    def test_refresh_of_an_unknown_key_is_a_workflow_error(self, s: Setup) -> None:
        """refresh() of a key the session has no declaration under: a typed
        workflow error with a code, the paragraph and what to do, in English
        and Chinese; still a LookupError, as before."""
        to_declared(s)
        with pytest.raises(UnknownDeclarationKey) as info:
            s.session.refresh("workers-7")
        error = info.value
        assert isinstance(error, WorkflowError)
        assert isinstance(error, LookupError)
        assert (error.code, error.procedure) == ("workflow.unknown-declaration", "P3.7")
        assert "declarations()" in error.message
        assert "申报" in error.message_zh
        assert str(error).startswith("workflow.unknown-declaration [P3.7]: ")

    def test_declaration_of_an_unknown_key_is_the_same_error(self, s: Setup) -> None:
        """declaration() refuses the same way; a known key still answers."""
        to_declared(s)
        with pytest.raises(UnknownDeclarationKey):
            s.session.declaration("employer-2")
        assert s.session.declaration("employer-1").kind is DeclarationKind.EMPLOYER

    def test_an_identity_number_given_as_the_key_is_not_shown(self, s: Setup) -> None:
        """A clerk passing a worker's key by mistake does not see it echoed."""
        to_declared(s)
        key = s.keys[0]
        with pytest.raises(UnknownDeclarationKey) as info:
            s.session.refresh(key)
        assert key not in str(info.value)
        assert key not in repr(info.value)


class TestTheBureauAnswersOnlyTheOwner:
    def _declared(self, s: Setup) -> DeclarationStatus:
        to_declared(s)
        decl = s.session.declaration("employer-1")
        assert decl.bureau_id is not None
        return s.bureau.status(decl.bureau_id)

    def test_the_owner_is_answered(self, s: Setup) -> None:
        """The employer the declaration belongs to gets its state."""
        status = self._declared(s)
        unit = s.dossier.employer.unit_no
        assert s.bureau.status(status.id, unit_no=unit) == status
        assert s.session.transport.status(status.id, unit_no=unit) == status

    def test_another_employer_gets_the_answer_for_no_declaration(self, s: Setup) -> None:
        """Another employer's declaration is refused with exactly the error of a
        number that does not exist, so numbers cannot be probed."""
        status = self._declared(s)
        s.bureau.add_employer(Employer(unit_no=OTHER_UNIT, name="另一家"))
        with pytest.raises(UnknownDeclaration) as theirs:
            s.bureau.status(status.id, unit_no=OTHER_UNIT)
        with pytest.raises(UnknownDeclaration) as missing:
            s.bureau.status("D999999", unit_no=OTHER_UNIT)
        assert str(theirs.value) == str(missing.value)
        assert status.id not in str(theirs.value)
        assert isinstance(theirs.value, BureauError)

    def test_the_local_transport_passes_the_employer_on(self, s: Setup) -> None:
        """Through local:, another employer is refused too."""
        status = self._declared(s)
        transport = s.session.transport
        assert isinstance(transport, LocalTransport)
        with pytest.raises(UnknownDeclaration):
            transport.status(status.id, unit_no=OTHER_UNIT)

    def test_every_sequential_number_is_refused_to_a_prober(self, s: Setup) -> None:
        """Walking the sequence D000001, D000002 ... from another employer finds nothing."""
        self._declared(s)
        unit = s.dossier.employer.unit_no
        ids = [d.id for d in s.bureau.declarations(unit)]
        assert ids
        for n in range(1, len(ids) + 3):
            with pytest.raises(UnknownDeclaration):
                s.bureau.status(f"D{n:06d}", unit_no=OTHER_UNIT)

    def test_a_session_asks_as_its_own_employer(self, s: Setup) -> None:
        """A declaration record pointed at another employer's declaration (a
        store edited by hand): refresh is refused by the bureau, the other
        employer's state is never read or recorded."""
        status = self._declared(s)
        other = _other_employer(s)
        decl = other.submit_employer_declaration()
        with s.storage.transaction() as tx:
            rec = tx.get(RecordKind.DECLARATION, OTHER_UNIT, decl.key)
            assert rec is not None
            data: dict[str, Any] = {**rec.data, "bureau_id": status.id}
            tx.put(RecordKind.DECLARATION, OTHER_UNIT, decl.key, data, expected_version=rec.version)
        with pytest.raises(UnknownDeclaration):
            other.refresh(decl.key)
        assert other.declaration(decl.key).state is decl.state

    def test_a_session_reads_its_own_declaration(self, s: Setup) -> None:
        """Two employers at one bureau each follow their own declaration."""
        self._declared(s)
        other = _other_employer(s)
        decl = other.submit_employer_declaration()
        s.bureau.settle()
        assert other.refresh(decl.key).state.concluded
        assert s.session.refresh("employer-1").state.concluded

    def test_a_link_to_another_employers_declaration_is_refused(self, s: Setup) -> None:
        """submit(linked_to=...) cannot name another employer's declaration."""
        status = self._declared(s)
        s.bureau.add_employer(Employer(unit_no=OTHER_UNIT, name="另一家"))
        with pytest.raises(UnknownDeclaration) as theirs:
            s.bureau.submit(
                OTHER_UNIT, DeclarationKind.WORKERS, {}, idempotency_key="k", linked_to=status.id
            )
        with pytest.raises(UnknownDeclaration) as missing:
            s.bureau.submit(
                OTHER_UNIT, DeclarationKind.WORKERS, {}, idempotency_key="k", linked_to="D999999"
            )
        assert str(theirs.value) == str(missing.value)
        assert s.bureau.declarations(OTHER_UNIT) == []

    def test_the_bureau_itself_reads_every_declaration(self, s: Setup) -> None:
        """unit_no=None is the bureau's own back office (and the tests)."""
        status = self._declared(s)
        assert attrs.asdict(s.bureau.status(status.id)) == attrs.asdict(status)
