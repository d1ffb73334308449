"""Shared value types: fast_init builds the same frozen instances as the dataclass's own __init__."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, astuple, dataclass, field, replace

import pytest

from bot.chat import Channel, User, fast_init


@dataclass(frozen=True)
class PlainUser:
    """User as dataclasses alone builds it: what fast_init must match."""

    platform: str
    workspace: str
    user_id: str
    display_name: str
    is_admin: bool = False


def test_instances_are_the_ones_the_dataclass_would_build() -> None:
    built = [User("slack", "T1", "U1", "Ann"), User("slack", "T1", "U1", "Ann", True),
             User(platform="slack", workspace="T1", user_id="U1", display_name="Ann", is_admin=True),
             User("slack", "T1", "U1", display_name="Ann")]
    plain = [PlainUser("slack", "T1", "U1", "Ann"), PlainUser("slack", "T1", "U1", "Ann", True),
             PlainUser("slack", "T1", "U1", "Ann", True), PlainUser("slack", "T1", "U1", "Ann")]
    assert [astuple(u) for u in built] == [astuple(u) for u in plain]
    assert [repr(u).replace("User", "PlainUser") for u in built] == [repr(u) for u in plain]
    assert built[0] == built[3] != built[1] == built[2]
    assert hash(built[0]) == hash(User("slack", "T1", "U1", "Ann")) and len({built[1], built[2]}) == 1
    assert replace(built[0], is_admin=True) == built[1]
    assert pickle.loads(pickle.dumps(built[1])) == built[1]
    assert vars(Channel("discord", "G1", "C1")) == {"platform": "discord", "workspace": "G1", "channel_id": "C1"}


def test_instances_stay_frozen_and_arguments_are_checked_as_before() -> None:
    user = User("slack", "T1", "U1", "Ann")
    with pytest.raises(FrozenInstanceError):
        user.display_name = "Bob"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del user.user_id  # type: ignore[misc]
    with pytest.raises(TypeError, match="display_name"):
        User("slack", "T1", "U1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        User("slack", "T1", "U1", "Ann", False, "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="nickname"):
        User("slack", "T1", "U1", "Ann", nickname="A")  # type: ignore[call-arg]


def test_classes_it_cannot_build_faithfully_are_refused_where_they_are_defined() -> None:
    with pytest.raises(TypeError, match="frozen dataclasses"):
        @fast_init
        @dataclass
        class Mutable:
            name: str

    with pytest.raises(TypeError, match="frozen dataclasses"):
        @fast_init
        @dataclass(frozen=True)
        class Checked:
            name: str

            def __post_init__(self) -> None:
                pass

    with pytest.raises(TypeError, match="tags"):
        @fast_init
        @dataclass(frozen=True)
        class Tagged:
            tags: list[str] = field(default_factory=list)
